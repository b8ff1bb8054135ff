/**
 * Real `memcached` processes for tests, on free loopback ports, with fault controls
 * (kill, pause/resume via SIGSTOP/SIGCONT, restart on the same port) and raw text-protocol commands.
 */
import { findBinary, missingBinaryMessage, ServerProcess } from './process.js'
import { type RawRequestOptions, rawRequest } from './socket.js'

export { ServiceTimeoutError } from './socket.js'

export const MEMCACHED_MISSING_MESSAGE = missingBinaryMessage('memcached', 'memcached', 'MEMCACHED_SERVERS')

export interface StartMemcachedOptions {
  /** Item memory in MB (`-m`, default 64). */
  memoryMb?: number
  /** Extra `memcached` arguments, appended after the defaults. */
  args?: string[]
  /** Fixed port (default: a free one). */
  port?: number
  /** Executable name or path (default `memcached`). */
  binary?: string
  /** PATH used to find the executable (default `process.env.PATH`). */
  searchPath?: string
  startTimeoutMs?: number
}

export interface MemcachedServer {
  /** `127.0.0.1:PORT`, the form memcached clients take. */
  readonly address: string
  readonly host: string
  readonly port: number
  /** Pid of the current process (changes after `restart()`). */
  readonly pid: number
  readonly running: boolean
  /** SIGTERM, SIGKILL after 2 s; waits for exit. */
  stop(): Promise<void>
  /** SIGKILL; waits for exit. */
  kill(): Promise<void>
  /** SIGSTOP: connections stay open but nothing is answered. */
  pause(): Promise<void>
  /** SIGCONT */
  resume(): Promise<void>
  /** Stops it if running, starts again (empty) on the same port, resolves when it answers. */
  restart(): Promise<void>
  /**
   * Sends one text-protocol command on a fresh socket and resolves with the raw reply:
   * through `END\r\n` for get/stats-like commands, else the first line (`STORED\r\n`, ...).
   * With `data`, sends `line\r\ndata\r\n` (storage commands). `noreply` commands resolve with ''.
   */
  command(line: string, data?: string | Buffer): Promise<string>
}

const SINGLE_LINE =
  /^(STORED|NOT_STORED|EXISTS|NOT_FOUND|DELETED|TOUCHED|OK|END|ERROR|RESET|BUSY|BADCLASS|NOSPARE|NOTFULL|UNSAFE|SAME|VERSION( .*)?|CLIENT_ERROR( .*)?|SERVER_ERROR( .*)?|\d+|HD( .*)?|NF( .*)?|NS( .*)?|EX( .*)?|EN( .*)?|MN( .*)?|ME .*)$/

/** Length of one complete text-protocol reply in `buf`, or `undefined` if incomplete. */
export function memcachedReplyLength(buf: Buffer): number | undefined {
  let offset = 0
  while (true) {
    const idx = buf.indexOf('\r\n', offset)
    if (idx === -1) return undefined
    const line = buf.toString('latin1', offset, idx)
    const next = idx + 2
    const valueMatch = /^(VALUE \S+ \d+ (\d+)|VA (\d+))( .*)?$/.exec(line)
    if (valueMatch) {
      const bytes = Number(valueMatch[2] ?? valueMatch[3])
      const end = next + bytes + 2
      if (buf.length < end) return undefined
      if (valueMatch[3] !== undefined) return end // meta get: one value, no END
      offset = end
      continue
    }
    if (offset === 0 && SINGLE_LINE.test(line)) return next
    if (line === 'END' || line.startsWith('SERVER_ERROR') || line.startsWith('CLIENT_ERROR')) return next
    offset = next
  }
}

/** Length of everything up to and including the `MN\r\n` sent after a noreply command. */
function untilMetaNoop(buf: Buffer): number | undefined {
  const text = buf.toString('latin1')
  const idx = text.startsWith('MN\r\n') ? 0 : text.indexOf('\r\nMN\r\n')
  if (idx === -1) return undefined
  return idx === 0 ? 4 : idx + 6
}

/** Sends one raw text-protocol command to 127.0.0.1:port and resolves with the raw reply. */
export async function memcachedCommand(
  port: number,
  line: string,
  data?: string | Buffer,
  options: RawRequestOptions = {},
): Promise<string> {
  const head = line.endsWith('\r\n') ? line : `${line}\r\n`
  const parts: Buffer[] = [Buffer.from(head, 'utf8')]
  if (data !== undefined)
    parts.push(Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'), Buffer.from('\r\n'))
  const firstLine = head.slice(0, head.indexOf('\r\n'))
  const noreply = / noreply$/.test(firstLine)
  if (noreply) parts.push(Buffer.from('mn\r\n'))
  const reply = await rawRequest(
    port,
    Buffer.concat(parts),
    noreply ? untilMetaNoop : memcachedReplyLength,
    options,
  )
  const text = reply.toString('utf8')
  return noreply ? text.slice(0, -4) : text
}

/** True when a memcached on `port` answers and its stats report `pid` (not some other server). */
export async function memcachedAnswersAs(port: number, pid: number): Promise<boolean> {
  try {
    const version = await memcachedCommand(port, 'version', undefined, { timeoutMs: 500 })
    if (!version.startsWith('VERSION ')) return false
    const stats = await memcachedCommand(port, 'stats', undefined, { timeoutMs: 500 })
    return new RegExp(`^STAT pid ${pid}\\r?$`, 'm').test(stats)
  } catch {
    return false
  }
}

export function resolveMemcachedBinary(binary = 'memcached', searchPath?: string): string {
  const found = findBinary(binary, searchPath ?? process.env.PATH)
  if (!found) {
    throw new Error(
      binary === 'memcached'
        ? MEMCACHED_MISSING_MESSAGE
        : missingBinaryMessage(binary, 'memcached', 'MEMCACHED_SERVERS'),
    )
  }
  return found
}

export async function startMemcached(options: StartMemcachedOptions = {}): Promise<MemcachedServer> {
  const binaryPath = resolveMemcachedBinary(options.binary, options.searchPath)
  // memcached refuses to run as root without -u; staying root keeps the parent-death signal.
  const userArgs = typeof process.getuid === 'function' && process.getuid() === 0 ? ['-u', 'root'] : []
  const proc = await ServerProcess.launch({
    label: options.binary ?? 'memcached',
    binaryPath,
    port: options.port,
    needsDir: false,
    startTimeoutMs: options.startTimeoutMs,
    buildArgs: (port) => [
      '-p',
      String(port),
      '-l',
      '127.0.0.1',
      '-U',
      '0',
      '-m',
      String(options.memoryMb ?? 64),
      ...userArgs,
      ...(options.args ?? []),
    ],
    probe: memcachedAnswersAs,
  })
  const port = proc.port
  return {
    address: `127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    get pid() {
      return proc.pid
    },
    get running() {
      return proc.running
    },
    stop: () => proc.dispose(),
    kill: () => proc.kill(),
    pause: () => proc.pause(),
    resume: () => proc.resume(),
    restart: () => proc.restart(),
    command: (line: string, data?: string | Buffer) => memcachedCommand(port, line, data),
  }
}
