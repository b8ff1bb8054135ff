/**
 * The `http` suite: requests/s of a 1 KB JSON route in Express, Koa, Fastify and Hono, bare, behind
 * `cached({ ttl: 60 })` on a hit, behind apicache (Express) and koa-cash (Koa), and a bare `node:http`
 * server writing the same bytes (the ceiling). Load comes from autocannon in this process; every server
 * runs in its own child process (`bench/http-server.ts`), so they never share an event loop.
 *
 * Method: all servers start first, each is checked (status, body, `Cache-Status`) and warmed up; then
 * every round runs each server once (short autocannon runs, 10 connections, no pipelining), in an order
 * that rotates and alternates direction from round to round. Ratios are throughput ratios computed within
 * each round (higher is faster); we report their median and spread over the rounds.
 *
 * Correctness: every response must be a 200 with the exact body (autocannon `expectBody`, no errors or
 * timeouts), a cached route must answer with `Cache-Status: ...; hit` once warm, and the handler behind
 * tiercache, apicache or koa-cash must have run exactly once (the warm-up miss) in the whole run.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { request } from 'node:http'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Row } from './engine.js'
import {
  BODY_TEXT,
  FRAMEWORKS,
  hasVariant,
  REQUEST_PATH,
  type ServerKind,
  SLOW_MS,
  VARIANTS,
  type Variant,
} from './http-server.js'
import { median, quantile, roundOrder, sleep } from './lib.js'

export const HTTP_SUITE = 'http'

// -------------------------------------------------------------------------------------------------------
// Report rows
// -------------------------------------------------------------------------------------------------------

/** A throughput target: the row's ratio must be at least (`>=`) or above (`>`) `value`. */
export interface HttpTarget {
  op: '>=' | '>'
  value: number
}

/** A row of the http suite: like the engine's `Row`, but in requests/s and with throughput ratios. */
export interface HttpRow extends Omit<Row, 'ns' | 'unit' | 'target'> {
  unit: 'req/s'
  /** Median requests per second over the rounds. */
  rps: number
  /** Median per-round (case req/s) / (baseline req/s): above 1 is faster than the baseline. */
  ratio: number
  target?: HttpTarget
}

export function httpMeets(ratio: number, t: HttpTarget): boolean {
  return t.op === '>=' ? ratio >= t.value : ratio > t.value
}

export function formatRps(rps: number): string {
  return Number.isFinite(rps) ? `${Math.round(rps).toLocaleString('en-US')} req/s` : '-'
}

export function formatHttpTarget(t: HttpTarget | undefined): string {
  return t === undefined ? '' : `${t.op === '>=' ? '≥' : '>'} ${t.value.toFixed(1)}x`
}

// -------------------------------------------------------------------------------------------------------
// Server children
// -------------------------------------------------------------------------------------------------------

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER_FILE = fileURLToPath(new URL('./http-server.ts', import.meta.url))

export interface ServerStats {
  count: number
  /** User + system CPU time of the server process, in microseconds. */
  cpuMicros: number
}

function isStats(m: unknown): m is ServerStats {
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof (m as ServerStats).count === 'number' &&
    typeof (m as ServerStats).cpuMicros === 'number'
  )
}

/** A server running in a child process. */
export interface ServerHandle {
  kind: ServerKind
  variant: Variant
  port: number
  url: string
  child: ChildProcess
  /** How many times the route handler ran, and the CPU time the server process used, so far. */
  stats(): Promise<ServerStats>
  /** How many times the route handler ran, so far. */
  count(): Promise<number>
  close(): Promise<void>
}

export interface StartOptions {
  /** Extra node flags for the child (e.g. `--cpu-prof`). */
  execArgv?: string[]
  /** Milliseconds to wait for the port line. @default 30000 */
  timeoutMs?: number
}

/** Spawns `node --import tsx bench/http-server.ts <kind> <variant>` and waits for its port. */
export function spawnServer(kind: ServerKind, variant: Variant, o: StartOptions = {}): Promise<ServerHandle> {
  const child = spawn(
    process.execPath,
    [...(o.execArgv ?? []), '--import', 'tsx', SERVER_FILE, kind, variant],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  )
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const handle = (port: number): ServerHandle => {
    const stats = (): Promise<ServerStats> =>
      new Promise<ServerStats>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.off('message', onMessage)
          reject(new Error(`${kind} ${variant}: no answer to 'count'`))
        }, 5000)
        const onMessage = (m: unknown): void => {
          if (!isStats(m)) return
          clearTimeout(timer)
          child.off('message', onMessage)
          resolve(m)
        }
        child.on('message', onMessage)
        child.send('count')
      })
    return {
      kind,
      variant,
      port,
      url: `http://127.0.0.1:${port}${REQUEST_PATH}`,
      child,
      stats,
      count: async () => (await stats()).count,
      close: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          if (child.connected) child.send('exit')
          else child.kill('SIGTERM')
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
          await exited
          clearTimeout(timer)
        }
      },
    }
  }
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${kind} ${variant}: no port within ${o.timeoutMs ?? 30_000} ms\n${stderr}`))
    }, o.timeoutMs ?? 30_000)
    const onData = (s: string): void => {
      out += s
      const nl = out.indexOf('\n')
      if (nl < 0) return
      child.stdout?.off('data', onData)
      clearTimeout(timer)
      child.off('exit', onEarlyExit)
      const port = (JSON.parse(out.slice(0, nl)) as { port?: unknown }).port
      if (typeof port !== 'number') {
        child.kill('SIGKILL')
        reject(new Error(`${kind} ${variant}: unexpected first line ${out.slice(0, nl)}`))
      } else resolve(handle(port))
    }
    const onEarlyExit = (code: number | null): void => {
      clearTimeout(timer)
      reject(new Error(`${kind} ${variant}: exited (${code}) before listening\n${stderr}`))
    }
    child.stdout?.setEncoding('utf8').on('data', onData)
    child.once('exit', onEarlyExit)
  })
}

export interface Probe {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** One GET on a fresh connection. */
export function probe(url: string): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (s: string) => {
        body += s
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on('error', reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: GET ${url}`)))
    req.on('error', reject)
    req.end()
  })
}

/** The `Cache-Status` header of a probe, '' when absent. */
export function cacheStatus(p: Probe): string {
  const v = p.headers['cache-status']
  return Array.isArray(v) ? v.join(', ') : (v ?? '')
}

/** Whether a `Cache-Status` value says tiercache answered from the cache. */
export function isHit(status: string): boolean {
  return /(^|,)\s*tiercache\s*;(.*;)?\s*hit\s*(;|,|$)/.test(status)
}

// -------------------------------------------------------------------------------------------------------
// Load (autocannon has no types: the part of its programmatic API used here)
// -------------------------------------------------------------------------------------------------------

interface CannonOptions {
  url: string
  connections: number
  pipelining: number
  duration: number
  expectBody: string
  timeout: number
}
interface CannonResult {
  duration: number
  errors: number
  timeouts: number
  mismatches: number
  non2xx: number
  '2xx': number
  requests: { total: number }
}
type Autocannon = (o: CannonOptions) => Promise<CannonResult>
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const CONNECTIONS = 10
const PIPELINING = 1

interface Tally {
  requests: number
  ok: number
  errors: number
  timeouts: number
  mismatches: number
  non2xx: number
}

interface Run {
  rps: number
  requests: number
  /** CPU time of this process (the load generator) / wall time, during the run. */
  clientCpuShare: number
}

async function load(url: string, seconds: number, tally: Tally): Promise<Run> {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    pipelining: PIPELINING,
    duration: seconds,
    expectBody: BODY_TEXT,
    timeout: 10,
  })
  tally.requests += r.requests.total
  tally.ok += r['2xx']
  tally.errors += r.errors
  tally.timeouts += r.timeouts
  tally.mismatches += r.mismatches
  tally.non2xx += r.non2xx
  const cpu = process.cpuUsage(cpu0)
  return {
    rps: r.duration > 0 ? r.requests.total / r.duration : Number.NaN,
    requests: r.requests.total,
    clientCpuShare: (cpu.user + cpu.system) / 1000 / (performance.now() - t0),
  }
}

// -------------------------------------------------------------------------------------------------------
// The suite
// -------------------------------------------------------------------------------------------------------

export interface HttpMode {
  rounds: number
  /** Length of one measured run, in seconds. */
  seconds: number
  /** Length of one warm-up run before the first round, in seconds (JIT warm-up). */
  warmupSeconds: number
  /**
   * Most warm-up runs per server. Warm-up stops earlier once a run is less than 5% faster than the best
   * before it (at least two runs when more than one is allowed): on this machine a server takes several
   * seconds of load to reach its steady throughput.
   */
  warmupRuns: number
}

export const HTTP_MODES = {
  full: { rounds: 5, seconds: 3, warmupSeconds: 1, warmupRuns: 8 },
  quick: { rounds: 1, seconds: 1, warmupSeconds: 1, warmupRuns: 1 },
} satisfies Record<string, HttpMode>

/** The mode for this run: BENCH_QUICK=1 gives the quick one; BENCH_HTTP_ROUNDS / BENCH_HTTP_SECONDS override. */
export function httpMode(quick: boolean): HttpMode {
  const m: HttpMode = { ...(quick ? HTTP_MODES.quick : HTTP_MODES.full) }
  const rounds = Number(process.env.BENCH_HTTP_ROUNDS)
  const seconds = Number(process.env.BENCH_HTTP_SECONDS)
  if (Number.isInteger(rounds) && rounds > 0) m.rounds = rounds
  if (Number.isFinite(seconds) && seconds > 0) m.seconds = seconds
  return m
}

const LABEL: Record<ServerKind, string> = {
  node: 'node:http',
  express: 'Express',
  koa: 'Koa',
  fastify: 'Fastify',
  hono: 'Hono',
}

interface Subject {
  kind: ServerKind
  variant: Variant
  name: string
  /** tiercache is in front of the handler (the hit header is checked). */
  tiercache: boolean
  /** A cache is in front of the handler: it must run exactly once. */
  cachedHandler: boolean
}

const FLOOR_NOTE =
  "a hit's headers and body written to Node's response from the route, skipping the framework's reply " +
  'path: the most any cache on the route can reach'

function subjectName(kind: ServerKind, variant: Variant): string {
  if (kind === 'node') return 'node:http, fixed bytes (ceiling)'
  const l = LABEL[kind]
  if (variant === 'bare') return `${l} bare route`
  if (variant === 'cached') return `${l} cached hit`
  if (variant === 'cached-slow') return `${l} cached hit, ${SLOW_MS} ms handler`
  if (variant === 'cached-app') return `${l} cached hit, app.use`
  if (variant === 'floor') return `${l} floor: prepared bytes from the route`
  return kind === 'express' ? 'Express apicache hit' : 'Koa koa-cash hit'
}

function subjects(): Subject[] {
  const list: Subject[] = []
  const kinds: ServerKind[] = ['node', ...FRAMEWORKS]
  for (const kind of kinds) {
    for (const variant of VARIANTS) {
      if (!hasVariant(kind, variant)) continue
      list.push({
        kind,
        variant,
        name: subjectName(kind, variant),
        tiercache: variant !== 'bare' && variant !== 'peer' && variant !== 'floor',
        cachedHandler: variant !== 'bare' && variant !== 'floor',
      })
    }
  }
  return list
}

/** Checks one probe response; returns the problems found. */
function checkProbe(s: Subject, p: Probe, expectHit: boolean, when: string): string[] {
  const problems: string[] = []
  if (p.status !== 200) problems.push(`${when}: status ${p.status}`)
  if (p.body !== BODY_TEXT) problems.push(`${when}: body differs (${p.body.length} bytes)`)
  if (s.tiercache && expectHit && !isHit(cacheStatus(p)))
    problems.push(`${when}: Cache-Status is '${cacheStatus(p)}', not a hit`)
  return problems
}

export interface HttpResult {
  rows: HttpRow[]
  /** Lines describing the run (settings, versions), for the report. */
  info: string[]
}

/** Runs the http suite. `log` receives progress lines. */
export async function runHttpSuite(
  mode: HttpMode,
  log: (line: string) => void = () => {},
): Promise<HttpResult> {
  const list = subjects()
  const problems = list.map((): string[] => [])
  const tallies = list.map(
    (): Tally => ({ requests: 0, ok: 0, errors: 0, timeouts: 0, mismatches: 0, non2xx: 0 }),
  )
  const rps = list.map((): number[] => [])
  const serverCpu = list.map((): number[] => []) // µs of server CPU per request, per round
  const clientCpu: number[] = []
  const handlerRuns = list.map(() => 0)
  const handles: (ServerHandle | undefined)[] = list.map(() => undefined)
  log(`running http: starting ${list.length} servers ...`)
  try {
    // two at a time: the machine has two cores and tsx start-up is CPU-bound
    for (let i = 0; i < list.length; i += 2) {
      await Promise.all(
        list.slice(i, i + 2).map(async (s, k) => {
          handles[i + k] = await spawnServer(s.kind, s.variant)
        }),
      )
    }
    // first request (the miss of cached routes), then a hit, then the JIT warm-up under load
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!
      const h = handles[i]!
      problems[i]!.push(...checkProbe(s, await probe(h.url), false, 'first request'))
      problems[i]!.push(...checkProbe(s, await probe(h.url), true, 'second request'))
      let best = 0
      for (let w = 0; w < mode.warmupRuns; w++) {
        const { rps: v } = await load(h.url, mode.warmupSeconds, tallies[i]!)
        if (w >= 1 && v < best * 1.05) break
        best = Math.max(best, v)
      }
      if (s.cachedHandler) {
        const n = await h.count() // the fill is seconds old: far from the 60 s TTL
        if (n !== 1) problems[i]!.push(`handler ran ${n} times by the end of the warm-up, expected once`)
      }
    }
    for (let r = 0; r < mode.rounds; r++) {
      log(`  http round ${r + 1}/${mode.rounds}`)
      const row: number[] = new Array(list.length)
      for (const i of roundOrder(list.length, r)) {
        const h = handles[i]!
        await sleep(100) // let the previous run's sockets close
        const before = await h.stats()
        const run = await load(h.url, mode.seconds, tallies[i]!)
        const after = await h.stats()
        row[i] = run.rps
        serverCpu[i]!.push((after.cpuMicros - before.cpuMicros) / run.requests)
        // the 60 s TTL can expire at most once within a run: one refill (coalesced by tiercache; apicache
        // and koa-cash do not coalesce, so up to one per connection)
        const runs = after.count - before.count
        const allowed = list[i]!.tiercache ? 1 : CONNECTIONS
        if (list[i]!.cachedHandler && runs > allowed)
          problems[i]!.push(
            `round ${r + 1}: handler ran ${runs} times in one run (at most ${allowed} expected)`,
          )
        clientCpu.push(run.clientCpuShare)
      }
      for (let i = 0; i < list.length; i++) rps[i]!.push(row[i]!)
    }
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!
      const h = handles[i]!
      // the entry may just have expired (the run outlasts the TTL): the second request must be a hit
      problems[i]!.push(...checkProbe(s, await probe(h.url), false, 'after the rounds'))
      problems[i]!.push(...checkProbe(s, await probe(h.url), true, 'after the rounds, second request'))
      const t = tallies[i]!
      if (t.requests === 0) problems[i]!.push('no request completed')
      if (t.ok !== t.requests) problems[i]!.push(`${t.requests - t.ok} of ${t.requests} responses not 2xx`)
      if (t.non2xx > 0) problems[i]!.push(`${t.non2xx} non-2xx responses`)
      if (t.mismatches > 0) problems[i]!.push(`${t.mismatches} bodies differ from the 1 KB item`)
      if (t.errors > 0) problems[i]!.push(`${t.errors} errors (${t.timeouts} timeouts)`)
      if (s.cachedHandler) handlerRuns[i] = await h.count()
    }
  } finally {
    await Promise.all(handles.map((h) => h?.close()))
  }

  const index = (kind: ServerKind, variant: Variant): number =>
    list.findIndex((s) => s.kind === kind && s.variant === variant)
  const rows: HttpRow[] = []
  const cpuNote = (i: number): string =>
    `server CPU ${median(serverCpu[i]!).toFixed(0)} µs/req` +
    (list[i]!.cachedHandler ? `; handler runs in the whole run: ${handlerRuns[i]}` : '')
  const add = (c: number, b: number, target?: HttpTarget, note?: string): void => {
    const ratios = rps[c]!.map((v, r) => v / rps[b]![r]!)
    rows.push({
      suite: HTTP_SUITE,
      name: list[c]!.name,
      unit: 'req/s',
      rps: median(rps[c]!),
      ratio: median(ratios),
      ratioP25: quantile(ratios, 0.25),
      ratioP75: quantile(ratios, 0.75),
      baseline: list[b]!.name,
      target,
      problems: c === b ? problems[c]! : [...problems[c]!, ...problems[b]!.map((p) => `baseline: ${p}`)],
      note,
    })
  }
  const ceiling = index('node', 'bare')
  for (let i = 0; i < list.length; i++) add(i, ceiling, undefined, cpuNote(i))
  for (const f of FRAMEWORKS) {
    const bare = index(f, 'bare')
    add(index(f, 'cached'), bare, { op: '>=', value: 1 })
    add(index(f, 'cached-slow'), bare, { op: '>=', value: 0.9 })
    add(index(f, 'floor'), bare, undefined, FLOOR_NOTE)
  }
  add(
    index('express', 'peer'),
    index('express', 'bare'),
    undefined,
    "apicache.middleware('1 minute') on the route",
  )
  add(index('express', 'cached'), index('express', 'peer'), { op: '>=', value: 1.5 })
  add(
    index('express', 'floor'),
    index('express', 'peer'),
    undefined,
    'the bound of the row above: no cache on the route can pass the floor',
  )
  add(
    index('koa', 'peer'),
    index('koa', 'bare'),
    undefined,
    'koaCash({ get, set }) over an lru-cache, app.use before the router',
  )
  add(index('koa', 'cached'), index('koa', 'peer'), { op: '>', value: 1 })
  // koa-cash can only be mounted app-wide (before the router): the same mount for tiercache
  add(
    index('koa', 'cached-app'),
    index('koa', 'peer'),
    { op: '>', value: 1 },
    'both app.use before the router',
  )
  const info = [
    `http: ${mode.rounds} interleaved rounds of ${mode.seconds} s per server (warm-up: up to ${mode.warmupRuns} ` +
      `runs of ${mode.warmupSeconds} s, until throughput stops rising), ` +
      `autocannon ${CONNECTIONS} connections, pipelining ${PIPELINING}, GET ${REQUEST_PATH} on 127.0.0.1, ` +
      `each server in its own process`,
    `http: "cached hit, ${SLOW_MS} ms handler" routes sleep ${SLOW_MS} ms in the handler (run once, on the warm-up miss); ` +
      `their baseline is the same framework's bare route with a 0 ms handler`,
    `http: responses checked: ${tallies.reduce((n, t) => n + t.requests, 0).toLocaleString('en-US')} ` +
      `(status 200 and the exact ${BODY_TEXT.length}-byte body)`,
    `http: the load generator used ${(100 * median(clientCpu)).toFixed(0)}% of a core during runs (median; ` +
      `near 100% means it, not the server, set the pace); "server CPU" notes: the server's CPU time per request`,
  ]
  return { rows, info }
}
