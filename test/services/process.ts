/**
 * Process plumbing shared by the Redis and Memcached launchers: locating binaries, spawning
 * servers on loopback ports, readiness with identity checks, signals, and making sure no child
 * outlives the test process (exit/signal hooks, plus a parent-death signal when `setpriv` exists).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { accessSync, constants, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, isAbsolute, join } from 'node:path'
import { freePort } from './ports.js'

export const STOP_GRACE_MS = 2_000
const DEFAULT_START_TIMEOUT_MS = 10_000
const OUTPUT_TAIL_BYTES = 8_192

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Resolves an executable name against PATH (or checks it directly when it contains a slash). */
export function findBinary(name: string, pathEnv: string | undefined = process.env.PATH): string | undefined {
  const isExecutable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK)
      return true
    } catch {
      return false
    }
  }
  if (name.includes('/')) return isExecutable(name) ? name : undefined
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    if (isExecutable(candidate)) return isAbsolute(candidate) ? candidate : join(process.cwd(), candidate)
  }
  return undefined
}

/** The message every launcher uses when a server binary is missing. */
export function missingBinaryMessage(binary: string, aptPackage: string, envVar: string): string {
  return `${binary} not found; install it with \`apt-get install -y ${aptPackage}\` (or run .ci/install-services.sh), or set ${envVar}.`
}

// ---------------------------------------------------------------------------------------------
// Tracking of everything spawned by this process, cleaned up synchronously on exit.

interface Registry {
  pids: Set<number>
  dirs: Set<string>
  hooksInstalled: boolean
}

// One registry per process, even if this module is evaluated more than once (test isolation),
// so there is a single set of exit hooks and every spawned pid is in it.
const REGISTRY_KEY = Symbol.for('tiercache.test.services.registry')
const globalRegistry = globalThis as typeof globalThis & { [REGISTRY_KEY]?: Registry }
globalRegistry[REGISTRY_KEY] ??= { pids: new Set(), dirs: new Set(), hooksInstalled: false }
const registry: Registry = globalRegistry[REGISTRY_KEY]
const trackedPids = registry.pids
const trackedDirs = registry.dirs

/** SIGKILLs every tracked child and removes tracked temp dirs. Synchronous: safe in 'exit'. */
export function killAllTrackedSync(): void {
  for (const pid of trackedPids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  trackedPids.clear()
  for (const dir of trackedDirs) {
    try {
      rmSync(dir, { recursive: true, force: true })
    } catch {
      // best effort
    }
  }
  trackedDirs.clear()
}

/** Pids of live children spawned by the harness in this process (for tests of the harness). */
export function trackedChildPids(): number[] {
  return [...trackedPids]
}

function installExitHooks(): void {
  if (registry.hooksInstalled) return
  registry.hooksInstalled = true
  process.on('exit', killAllTrackedSync)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllTrackedSync()
      // If nobody else handles this signal, keep the default behaviour (die by the signal).
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal)
        process.kill(process.pid, signal)
      }
    }
    process.on(signal, onSignal)
  }
}

export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  trackedDirs.add(dir)
  return dir
}

export async function removeTempDir(dir: string): Promise<void> {
  trackedDirs.delete(dir)
  await rm(dir, { recursive: true, force: true })
}

// `setpriv --pdeathsig KILL` makes the kernel kill the server if this process dies without
// running its exit hooks (e.g. a SIGKILLed Vitest worker). It execs, so the pid is the server's.
let setprivPath: string | null | undefined
function pdeathsigWrapper(): string | null {
  if (setprivPath !== undefined) return setprivPath
  setprivPath = null
  if (process.platform !== 'linux' || process.env.TIERCACHE_TEST_NO_PDEATHSIG) return setprivPath
  const candidate = findBinary('setpriv')
  if (candidate) {
    const probe = spawnSync(candidate, ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' })
    if (probe.status === 0) setprivPath = candidate
  }
  return setprivPath
}

// ---------------------------------------------------------------------------------------------

function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).charAt(0)
  } catch {
    return undefined
  }
}

async function waitForState(pid: number, stopped: boolean): Promise<void> {
  const deadline = Date.now() + 1_000
  while (Date.now() < deadline) {
    const state = processState(pid)
    if (state === undefined) return // no /proc, or the process is gone
    const isStopped = state === 'T' || state === 't'
    if (isStopped === stopped) return
    await sleep(5)
  }
}

export interface ServerProcessSpec {
  /** Name used in messages, e.g. `redis-server`. */
  label: string
  /** Resolved path of the executable. */
  binaryPath: string
  /** Full argument list for a given port and private temp dir. */
  buildArgs: (port: number, dir: string) => string[]
  /** True once the server on `port` answers and reports `pid` as its own process id. */
  probe: (port: number, pid: number) => Promise<boolean>
  startTimeoutMs?: number
  /** Fixed port; otherwise a free one is picked (and re-picked if the bind fails). */
  port?: number
  /** Existing dir to use; otherwise a fresh temp dir is created (unless `needsDir` is false). */
  dir?: string
  /** False for servers that write no files: they run in the OS temp dir, nothing is created. */
  needsDir?: boolean
  tempPrefix?: string
}

interface Running {
  child: ChildProcess
  exited: Promise<void>
  hasExited: boolean
}

/** One server process that can be stopped, killed, paused, resumed and restarted on its port. */
export class ServerProcess {
  port = 0
  dir = ''
  private current: Running | undefined
  private lastPid = -1
  private output = ''
  private ownsDir = false

  private constructor(private readonly spec: ServerProcessSpec) {}

  static async launch(spec: ServerProcessSpec): Promise<ServerProcess> {
    installExitHooks()
    const server = new ServerProcess(spec)
    if (spec.dir) {
      server.dir = spec.dir
    } else if (spec.needsDir === false) {
      server.dir = tmpdir()
    } else {
      server.dir = await makeTempDir(spec.tempPrefix ?? 'tiercache-svc-')
      server.ownsDir = true
    }
    const attempts = spec.port === undefined ? 4 : 1
    let lastError: unknown
    for (let attempt = 0; attempt < attempts; attempt++) {
      server.port = spec.port ?? (await freePort())
      try {
        await server.spawnAndWait()
        return server
      } catch (err) {
        lastError = err
      }
    }
    if (server.ownsDir) await removeTempDir(server.dir)
    throw lastError
  }

  get pid(): number {
    return this.lastPid
  }

  get running(): boolean {
    return this.current !== undefined && !this.current.hasExited
  }

  /** Last lines the server printed (stdout + stderr), for error messages. */
  get recentOutput(): string {
    return this.output
  }

  private appendOutput(chunk: Buffer): void {
    this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES)
  }

  private async spawnAndWait(): Promise<void> {
    mkdirSync(this.dir, { recursive: true })
    if (this.ownsDir) trackedDirs.add(this.dir)
    const args = this.spec.buildArgs(this.port, this.dir)
    const wrapper = pdeathsigWrapper()
    const [command, argv] = wrapper
      ? [wrapper, ['--pdeathsig', 'KILL', '--', this.spec.binaryPath, ...args]]
      : [this.spec.binaryPath, args]
    this.output = ''
    const child = spawn(command, argv, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] })
    const running: Running = { child, hasExited: false, exited: Promise.resolve() }
    running.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        running.hasExited = true
        if (child.pid !== undefined) trackedPids.delete(child.pid)
        resolve()
      })
      child.once('error', (err) => {
        running.hasExited = true
        this.output += `\nspawn error: ${err.message}`
        resolve()
      })
    })
    child.stdout?.on('data', (chunk: Buffer) => this.appendOutput(chunk))
    child.stderr?.on('data', (chunk: Buffer) => this.appendOutput(chunk))
    // Never keep the test process alive because of a server: exit hooks kill what is left.
    child.unref()
    const unrefStream = (stream: unknown): void => {
      const maybe = stream as { unref?: () => void } | null
      maybe?.unref?.()
    }
    unrefStream(child.stdout)
    unrefStream(child.stderr)
    this.current = running
    if (child.pid !== undefined) {
      trackedPids.add(child.pid)
      this.lastPid = child.pid
    }

    const deadline = Date.now() + (this.spec.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS)
    while (true) {
      if (running.hasExited || child.pid === undefined) {
        await running.exited
        throw new Error(
          `${this.spec.label} exited before it was ready on 127.0.0.1:${this.port} (code ${child.exitCode}, signal ${child.signalCode}). Output:\n${this.output.trim()}`,
        )
      }
      if (await this.spec.probe(this.port, child.pid)) return
      if (Date.now() > deadline) {
        child.kill('SIGKILL')
        await running.exited
        throw new Error(
          `${this.spec.label} did not become ready on 127.0.0.1:${this.port} within ${this.spec.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS} ms. Output:\n${this.output.trim()}`,
        )
      }
      await sleep(25)
    }
  }

  private signal(signal: NodeJS.Signals): void {
    const current = this.current
    if (!current || current.hasExited) return
    try {
      current.child.kill(signal)
    } catch {
      // raced with exit
    }
  }

  /** SIGTERM, then SIGKILL after 2 s; resolves once the process has exited. */
  async stop(): Promise<void> {
    const current = this.current
    if (current && !current.hasExited) {
      this.signal('SIGCONT') // a stopped process would not act on SIGTERM
      this.signal('SIGTERM')
      const timer = setTimeout(() => this.signal('SIGKILL'), STOP_GRACE_MS)
      await current.exited
      clearTimeout(timer)
    }
  }

  /** SIGKILL; resolves once the process has exited. */
  async kill(): Promise<void> {
    const current = this.current
    if (current && !current.hasExited) {
      this.signal('SIGKILL')
      await current.exited
    }
  }

  /** SIGSTOP; resolves once the kernel reports the process as stopped. */
  async pause(): Promise<void> {
    this.signal('SIGSTOP')
    if (this.running) await waitForState(this.lastPid, true)
  }

  /** SIGCONT; resolves once the process runs again. */
  async resume(): Promise<void> {
    this.signal('SIGCONT')
    if (this.running) await waitForState(this.lastPid, false)
  }

  /** Stops the process if it runs, then starts it again on the same port and waits until ready. */
  async restart(): Promise<void> {
    await this.stop()
    // The port may be held for a moment (e.g. by a previous bind); retry on the same port.
    const deadline = Date.now() + (this.spec.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS)
    while (true) {
      try {
        await this.spawnAndWait()
        return
      } catch (err) {
        if (Date.now() > deadline) throw err
        await sleep(100)
      }
    }
  }

  /** Stops the process and removes its temp dir. */
  async dispose(): Promise<void> {
    await this.stop()
    if (this.ownsDir) await removeTempDir(this.dir)
  }
}
