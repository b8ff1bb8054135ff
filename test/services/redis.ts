/**
 * Real `redis-server` processes for tests, on free loopback ports, with fault controls
 * (kill, pause/resume via SIGSTOP/SIGCONT, restart on the same port) and raw RESP commands.
 */
import { spawnSync } from 'node:child_process'
import { findBinary, missingBinaryMessage, ServerProcess } from './process.js'
import { decodeResp, encodeCommand, type RespValue, respReplyLength } from './resp.js'
import { type RawRequestOptions, rawRequest } from './socket.js'

export { RespError, type RespValue } from './resp.js'
export { ServiceTimeoutError } from './socket.js'

export const REDIS_MISSING_MESSAGE = missingBinaryMessage('redis-server', 'redis-server', 'REDIS_URL')

export interface StartRedisOptions {
  /** Extra `redis-server` arguments, appended after the defaults (later ones win). */
  args?: string[]
  /** Fixed port (default: a free one). */
  port?: number
  /** Executable name or path (default `redis-server`). */
  binary?: string
  /** PATH used to find the executable (default `process.env.PATH`). */
  searchPath?: string
  /** Existing directory for `--dir` (default: a new temp dir, removed by `stop()`). */
  dir?: string
  startTimeoutMs?: number
}

export interface RedisServer {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string
  readonly host: string
  readonly port: number
  /** Pid of the current process (changes after `restart()`). */
  readonly pid: number
  /** The server's `--dir`. */
  readonly dir: string
  readonly running: boolean
  /** SIGTERM, SIGKILL after 2 s; waits for exit and removes the temp dir. */
  stop(): Promise<void>
  /** SIGKILL; waits for exit. */
  kill(): Promise<void>
  /** SIGSTOP: connections stay open but nothing is answered. */
  pause(): Promise<void>
  /** SIGCONT */
  resume(): Promise<void>
  /** Stops it if running, starts again on the same port, resolves when it answers. */
  restart(): Promise<void>
  /** One command over a fresh socket; resolves with the raw reply, e.g. `+PONG\r\n`. */
  command(...args: string[]): Promise<string>
  /** Like `command` but decoded (`'PONG'`, `3`, `null`, arrays, `RespError`). */
  call(...args: string[]): Promise<RespValue>
}

/** Sends one command to 127.0.0.1:port on a fresh socket and resolves with the raw reply text. */
export async function respCommand(
  port: number,
  args: readonly string[],
  options: RawRequestOptions = {},
): Promise<string> {
  const reply = await rawRequest(port, encodeCommand(args), respReplyLength, options)
  return reply.toString('utf8')
}

/** Sends one command and resolves with the decoded reply. */
export async function respCall(
  port: number,
  args: readonly string[],
  options: RawRequestOptions = {},
): Promise<RespValue> {
  const reply = await rawRequest(port, encodeCommand(args), respReplyLength, options)
  const decoded = decodeResp(reply)
  if (!decoded) throw new Error('incomplete RESP reply')
  return decoded.value
}

/** True when a Redis on `port` answers and its INFO reports `pid` (not some other server). */
export async function redisAnswersAs(port: number, pid: number): Promise<boolean> {
  try {
    const info = await respCall(port, ['INFO', 'server'], { timeoutMs: 500 })
    return typeof info === 'string' && new RegExp(`^process_id:${pid}\\r?$`, 'm').test(info)
  } catch {
    return false
  }
}

export function resolveRedisBinary(
  binary = 'redis-server',
  searchPath?: string,
  missingEnvVar = 'REDIS_URL',
): string {
  const found = findBinary(binary, searchPath ?? process.env.PATH)
  if (!found) {
    throw new Error(
      binary === 'redis-server' && missingEnvVar === 'REDIS_URL'
        ? REDIS_MISSING_MESSAGE
        : missingBinaryMessage(binary, 'redis-server', missingEnvVar),
    )
  }
  return found
}

const versions = new Map<string, number>()

/** Major version of a `redis-server` binary (0 if it cannot be read). Cached per path. */
export function redisMajorVersion(binaryPath: string): number {
  let major = versions.get(binaryPath)
  if (major === undefined) {
    const out = spawnSync(binaryPath, ['--version'], { encoding: 'utf8' })
    major = Number(/v=(\d+)\./.exec(out.stdout ?? '')?.[1] ?? 0)
    versions.set(binaryPath, major)
  }
  return major
}

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const binaryPath = resolveRedisBinary(options.binary, options.searchPath)
  // Redis 7 refuses DEBUG (e.g. DEBUG SLEEP for slow-server tests) unless enabled.
  const versionArgs = redisMajorVersion(binaryPath) >= 7 ? ['--enable-debug-command', 'local'] : []
  const proc = await ServerProcess.launch({
    label: options.binary ?? 'redis-server',
    binaryPath,
    port: options.port,
    dir: options.dir,
    tempPrefix: 'tiercache-redis-',
    startTimeoutMs: options.startTimeoutMs,
    buildArgs: (port, dir) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--protected-mode',
      'no',
      '--dir',
      dir,
      ...versionArgs,
      ...(options.args ?? []),
    ],
    probe: redisAnswersAs,
  })
  const port = proc.port
  return {
    url: `redis://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    get pid() {
      return proc.pid
    },
    get dir() {
      return proc.dir
    },
    get running() {
      return proc.running
    },
    stop: () => proc.dispose(),
    kill: () => proc.kill(),
    pause: () => proc.pause(),
    resume: () => proc.resume(),
    restart: () => proc.restart(),
    command: (...args: string[]) => respCommand(port, args),
    call: (...args: string[]) => respCall(port, args),
  }
}
