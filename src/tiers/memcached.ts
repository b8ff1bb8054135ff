/**
 * The Memcached tier, on the `memcached` client (2.2.2), with each of that client's known defects
 * neutralized here:
 *
 * - Its `timeout` does not end a `get` to a stalled (SIGSTOP'd) server: every call here has its own
 *   deadline (`timeout`), and a node whose calls keep missing it is skipped for a while (per-node breaker).
 * - By default one error marks a server unavailable for 30 s, and after 5 errors it waits 5 hours, then
 *   spawns the `ping` program (a missing `ping` crashes the process). Here: `retry` and `reconnect` are 1 s
 *   (a failed node is tried again a second later), `remove: false` (keys are never rehashed to other
 *   nodes), and `failures` is so large that the count never runs out. Configuration alone is not enough: a
 *   second error while a retry is pending also takes the client's reconnect path (reproduced in the tests),
 *   so each of this client's issue logs gets a reconnect that does not spawn `ping` and simply lets the
 *   next request try a real connection (see `guardReconnect`).
 * - Its size check counts the value only, so a value just under 1 MiB fails on the server and marks the
 *   server unavailable: here value + key + item overhead is checked against `maxValueBytes` before sending;
 *   a larger value throws `ValueTooLargeError` (the engine skips this tier for it and reports it).
 * - It checks key length in characters and lets control characters through: here any key over 250 bytes,
 *   with whitespace or control characters (or starting with `#`) is sent as
 *   `prefix + generation + ':#' + base64url(sha256(key))`, never raw or truncated.
 * - Memcached reads TTLs over 30 days as absolute Unix times: longer TTLs are converted to an absolute time
 *   on the server's clock (offset read from `stats` `time` on first need; until then the local clock).
 * - It has its own typed-value encoding (JSON, numbers, "binary" through a lossy UTF-8 round trip) and
 *   escapes CR/LF in a way that is not reversible: here only text without CR/LF is stored as is
 *   (`'s' + text`); other text and bytes are stored as base64 (`'t'`/`'b'` + base64).
 *
 * `clear()` bumps a generation number that is part of every key (memcached has no delete-by-prefix, and
 * `flush_all` would empty the whole server); older keys age out by their TTL. The generation is stored at
 * `<prefix>#gen` and at sibling keys placed so that every server holds one copy (the largest value wins), so
 * a node down or restarted does not lose it. When no copy is left (every node restarted, or evicted) a new
 * one is made from the current time, so old entries never come back. Other processes see a `clear()` within
 * `generationCheckInterval`.
 */
import { createHash } from 'node:crypto'
import Memcached from 'memcached'
import { TimeoutError, ValueTooLargeError } from '../errors.js'
import type { Payload, RemoteTier } from './types.js'

export interface MemcachedTierOptions {
  /** `host:port` of each server (`'127.0.0.1:11211'`), as an array or comma-separated. Keys spread by consistent hashing. */
  servers: string[] | string
  /**
   * Namespace of every key this tier writes (printable ASCII, no spaces).
   * @default 'tc:'
   */
  prefix?: string
  /** Name used in stats, events and errors. @default 'memcached' */
  name?: string
  /**
   * The tier's own deadline on every call, ms (the cache adds its shorter read/write deadlines on top).
   * @default 1000
   */
  timeout?: number
  /**
   * Connect (socket) timeout of the client, ms.
   * @default 1000
   */
  connectTimeout?: number
  /**
   * After a connection error, how long the client treats that node as down (its keys miss) before trying it
   * again, ms.
   * @default 1000
   */
  retry?: number
  /**
   * The server's item size limit (memcached `-I`), bytes. Value + key + item overhead above it is refused
   * locally with `ValueTooLargeError`.
   * @default 1048576
   */
  maxValueBytes?: number
  /**
   * Consecutive missed deadlines after which one node is skipped (its keys miss at once) for
   * `nodeBreakDuration`, then probed. Only with several servers; with one, the cache's breaker does this.
   * @default 3
   */
  nodeFailureThreshold?: number
  /** How long a node that keeps missing deadlines is skipped, ms. @default 2000 */
  nodeBreakDuration?: number
  /**
   * How often (ms, at most) the generation number bumped by `clear()` is re-read, so a `clear()` from another
   * process is seen within this time.
   * @default 1000
   */
  generationCheckInterval?: number
}

/** A Memcached tier. */
export interface MemcachedTier extends RemoteTier {
  /** The underlying `memcached` client. */
  readonly client: Memcached
  /** The key the tier sends for a cache key (for tests and debugging). */
  serverKey(key: string): Promise<string>
  /** Calls sent and not yet answered (abandoned ones to a stalled server included). */
  readonly pending: number
}

/** Memcached item overhead beyond key and value (item header, CAS, flags/length suffix, CRLF), rounded up. */
const ITEM_OVERHEAD = 96
const MAX_KEY_BYTES = 250
const THIRTY_DAYS_S = 2_592_000
/** Whitespace or control characters (C0, DEL, C1): never sent raw in a memcached key. */
const BAD_KEY_CHAR = /[\s\p{Cc}]/u
const noop = (): void => {}

type Callback<T> = (err: unknown, result: T) => void

/** The parts of the client used here (its typings are loose). */
interface Raw {
  get(key: string, cb: Callback<unknown>): void
  getMulti(keys: string[], cb: Callback<Record<string, unknown>>): void
  set(key: string, value: string, lifetime: number, cb: Callback<boolean>): void
  add(key: string, value: string, lifetime: number, cb: Callback<boolean>): void
  del(key: string, cb: Callback<boolean>): void
  incr(key: string, amount: number, cb: Callback<number | boolean>): void
  stats(cb: Callback<Array<Record<string, unknown>>>): void
  end(): void
  on(event: string, listener: (...args: unknown[]) => void): unknown
  HashRing?: { get(key: string): string }
  servers: string[]
}

/**
 * The client, configured and wrapped: promises with deadlines, safe keys, our payload encoding, generations,
 * long TTLs. Shared by `memcachedTier` and `memcachedStore`.
 */
class MemcachedBackend {
  readonly raw: Raw
  readonly client: Memcached
  readonly prefix: string
  readonly name: string
  readonly limit: number
  readonly #timeout: number
  readonly #multi: boolean
  readonly #nodeThreshold: number
  readonly #nodeBreak: number
  readonly #genInterval: number
  readonly #nodes = new Map<string, { failures: number; until: number; probing: boolean }>()
  readonly #gens = new Map<string, { value: string; nextCheck: number }>()
  readonly #loading = new Map<string, Promise<string>>()
  readonly #genKeyCache = new Map<string, string[]>()
  #clockOffset: number | undefined
  #clockLoading = false
  pending = 0
  closed = false

  constructor(o: MemcachedTierOptions) {
    if (o === null || typeof o !== 'object') {
      throw new TypeError(`Expected memcached options to be an object, got ${String(o)}`)
    }
    const servers = (typeof o.servers === 'string' ? o.servers.split(',') : (o.servers ?? []))
      .map((s) => String(s).trim())
      .filter((s) => s !== '')
    if (servers.length === 0) {
      throw new TypeError('Expected `servers` to name at least one memcached server (`host:port`)')
    }
    const prefix = o.prefix ?? 'tc:'
    if (typeof prefix !== 'string' || BAD_KEY_CHAR.test(prefix) || Buffer.byteLength(prefix) > 100) {
      throw new TypeError(
        `Expected \`prefix\` to be printable text without spaces, at most 100 bytes, got ${JSON.stringify(prefix)}`,
      )
    }
    this.prefix = prefix
    this.name = o.name ?? 'memcached'
    this.#timeout = positive(o.timeout, 'timeout', 1000)
    this.limit = positive(o.maxValueBytes, 'maxValueBytes', 1_048_576)
    this.#nodeThreshold = positive(o.nodeFailureThreshold, 'nodeFailureThreshold', 3)
    this.#nodeBreak = positive(o.nodeBreakDuration, 'nodeBreakDuration', 2000)
    this.#genInterval = positive(o.generationCheckInterval, 'generationCheckInterval', 1000)
    this.#multi = servers.length > 1
    const retry = positive(o.retry, 'retry', 1000)
    const config = {
      // A failed node is retried after `retry` ms and never removed or rehashed.
      retry,
      remove: false,
      // So large that the "dead server" path (reconnect after `reconnect` ms by spawning `ping`) is never taken.
      failures: Number.MAX_SAFE_INTEGER,
      failuresTimeout: retry,
      reconnect: retry,
      timeout: positive(o.connectTimeout, 'connectTimeout', 1000),
      // The connection pool must not retry with its own backoff (1 s, 3 s, 9 s... by default).
      retries: 0,
      minTimeout: 0,
      maxTimeout: 0,
      idle: 30_000,
      // Keys are made safe here, values sized here.
      keyCompression: false,
      maxKeySize: MAX_KEY_BYTES,
      maxValue: this.limit * 2,
      maxExpiration: THIRTY_DAYS_S,
      poolSize: 10,
    }
    // `failuresTimeout` is a real client option missing from its typings.
    this.client = new Memcached(servers, config as Memcached.options)
    this.raw = this.client as unknown as Raw
    guardReconnect(this.raw)
    // The client emits 'failure'/'issue'/'reconnecting' events; none of them is 'error', but keep it quiet.
    this.raw.on('error', noop)
  }

  /** Runs a client call with the tier's deadline; marks node failures when there are several nodes. */
  call<T>(op: string, serverKey: string | undefined, fn: (cb: Callback<T>) => void): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${this.name} is closed`))
    const node = this.#multi && serverKey !== undefined ? this.#node(serverKey) : undefined
    if (node !== undefined && !this.#allowNode(node)) {
      return Promise.reject(nodeDown(`${this.name}: node ${node} is skipped after repeated timeouts`))
    }
    this.pending++
    return new Promise<T>((resolve, reject) => {
      let settled = false
      const timer = setTimeout(() => {
        if (settled) return
        settled = true
        this.pending--
        if (node !== undefined) this.#nodeFailed(node)
        const err = new TimeoutError(`${this.name} ${op} took over ${this.#timeout} ms`, this.#timeout, {
          code: 'E_TIER_TIMEOUT',
        })
        reject(node === undefined ? err : markNode(err))
      }, this.#timeout)
      try {
        fn((err, result) => {
          if (settled) return
          settled = true
          this.pending--
          clearTimeout(timer)
          if (err !== undefined && err !== null && err !== false) {
            const e = err instanceof Error ? err : new Error(String(err))
            if (node !== undefined && /not available|connect|ECONN|socket|readyState/i.test(e.message)) {
              reject(markNode(e))
            } else reject(e)
            return
          }
          if (node !== undefined) this.#nodeOk(node)
          resolve(result)
        })
      } catch (err) {
        settled = true
        this.pending--
        clearTimeout(timer)
        reject(err)
      }
    })
  }

  #node(serverKey: string): string | undefined {
    try {
      return this.raw.HashRing?.get(serverKey)
    } catch {
      return undefined
    }
  }

  #allowNode(node: string): boolean {
    const n = this.#nodes.get(node)
    if (n === undefined || n.until === 0) return true
    if (Date.now() < n.until || n.probing) return false
    n.probing = true
    return true
  }

  #nodeFailed(node: string): void {
    let n = this.#nodes.get(node)
    if (n === undefined) this.#nodes.set(node, (n = { failures: 0, until: 0, probing: false }))
    if (n.probing || ++n.failures >= this.#nodeThreshold) {
      n.until = Date.now() + this.#nodeBreak
      n.failures = 0
    }
    n.probing = false
  }

  #nodeOk(node: string): void {
    if (this.#nodes.size !== 0) this.#nodes.delete(node)
  }

  /** The key prefix with the current generation of `scope` (re-read lazily every `generationCheckInterval`). */
  base(scope: string): string | Promise<string> {
    const g = this.#gens.get(scope)
    if (g !== undefined) {
      if (Date.now() >= g.nextCheck && !this.#loading.has(scope)) this.#loadGen(scope).catch(noop)
      return g.value
    }
    return this.#loadGen(scope)
  }

  /**
   * The keys holding the generation of `scope`: one per server (names chosen so the hash ring puts one on
   * each node, the same in every process), so one node down or restarted does not lose the generation.
   * The generation is the largest value found.
   */
  #genKeys(scope: string): string[] {
    let keys = this.#genKeyCache.get(scope)
    if (keys !== undefined) return keys
    const base = scope === '' ? `${this.prefix}#gen` : this.serverKeyFor(`${this.prefix}#gen:`, scope)
    keys = [base]
    const ring = this.raw.HashRing
    if (this.#multi && ring !== undefined) {
      const wanted = new Set(this.raw.servers)
      const seen = new Set<string>([ring.get(base)])
      for (let i = 1; i < 256 && seen.size < wanted.size; i++) {
        const k = `${base}:${i}`
        const node = ring.get(k)
        if (!seen.has(node)) {
          seen.add(node)
          keys.push(k)
        }
      }
    }
    this.#genKeyCache.set(scope, keys)
    return keys
  }

  /** The largest generation stored, or undefined when none of the generation keys could be read. */
  async #readGen(keys: string[]): Promise<{ max: number | undefined; read: number }> {
    const values = await Promise.allSettled(
      keys.map((k) => this.call<unknown>('get', k, (cb) => this.raw.get(k, cb))),
    )
    let max: number | undefined
    let read = 0
    for (const r of values) {
      if (r.status !== 'fulfilled') continue
      read++
      const n = Number(r.value)
      if (
        r.value !== undefined &&
        r.value !== false &&
        Number.isSafeInteger(n) &&
        (max === undefined || n > max)
      )
        max = n
    }
    return { max, read }
  }

  #useGen(scope: string, n: number): string {
    const value = `${this.prefix}${scope === '' ? '' : `${this.serverKeyFor('', scope)}:`}${n}:`
    const g = this.#gens.get(scope)
    if (g === undefined) this.#gens.set(scope, { value, nextCheck: Date.now() + this.#genInterval })
    else {
      g.value = value
      g.nextCheck = Date.now() + this.#genInterval
    }
    return value
  }

  #loadGen(scope: string): Promise<string> {
    const current = this.#loading.get(scope)
    if (current !== undefined) return current
    const keys = this.#genKeys(scope)
    const p = (async () => {
      let { max, read } = await this.#readGen(keys)
      if (read === 0) throw new Error(`${this.name}: no server answered for the generation`)
      if (max === undefined) {
        // None stored (first start, or every node restarted): a new generation from the clock. Another
        // process may add first: then ours is refused and the re-read returns theirs.
        const v = String(Date.now())
        await Promise.allSettled(
          keys.map((k) => this.call<boolean>('add', k, (cb) => this.raw.add(k, v, 0, cb))),
        )
        ;({ max } = await this.#readGen(keys))
        if (max === undefined) throw new Error(`${this.name}: generation not stored`)
      }
      return this.#useGen(scope, max)
    })()
    this.#loading.set(scope, p)
    const done = (): void => {
      this.#loading.delete(scope)
      const g = this.#gens.get(scope)
      // After a failed re-read keep the known generation and try again an interval later.
      if (g !== undefined && Date.now() >= g.nextCheck) g.nextCheck = Date.now() + this.#genInterval
    }
    p.then(done, done)
    return p
  }

  /** Starts a new generation of `scope`: every key written before is no longer read. */
  async bump(scope: string): Promise<void> {
    const keys = this.#genKeys(scope)
    const { max, read } = await this.#readGen(keys)
    if (read === 0) throw new Error(`${this.name}: no server answered for the generation`)
    const next = Math.max((max ?? 0) + 1, Date.now())
    const v = String(next)
    const results = await Promise.allSettled(
      keys.map((k) => this.call<boolean>('set', k, (cb) => this.raw.set(k, v, 0, cb))),
    )
    if (!results.some((r) => r.status === 'fulfilled' && r.value === true)) {
      throw new Error(`${this.name}: the new generation was not stored`)
    }
    this.#useGen(scope, next)
  }

  /** The key sent to memcached for `key` under `base`: raw when safe, else hashed. */
  serverKeyFor(base: string, key: string): string {
    const full = base + key
    if (
      (full.length * 3 <= MAX_KEY_BYTES || Buffer.byteLength(full) <= MAX_KEY_BYTES) &&
      !BAD_KEY_CHAR.test(full) &&
      key.charCodeAt(0) !== 0x23 /* '#': reserved for hashed keys */
    ) {
      return full
    }
    return `${base}#${createHash('sha256').update(key, 'utf8').digest('base64url')}`
  }

  /** Memcached lifetime for a relative TTL: seconds, or an absolute time on the server's clock beyond 30 days. */
  lifetime(ttlMs: number): number {
    if (ttlMs === Number.POSITIVE_INFINITY) return 0
    const s = Math.max(1, Math.ceil(ttlMs / 1000))
    if (s <= THIRTY_DAYS_S) return s
    if (this.#clockOffset === undefined) this.#readServerClock()
    return Math.floor(Date.now() / 1000) + (this.#clockOffset ?? 0) + s
  }

  #readServerClock(): void {
    if (this.#clockLoading) return
    this.#clockLoading = true
    this.call<Array<Record<string, unknown>>>('stats', undefined, (cb) => this.raw.stats(cb)).then(
      (stats) => {
        const time = Number(stats.find((s) => s.time !== undefined)?.time)
        if (Number.isFinite(time) && time > 0) this.#clockOffset = time - Math.floor(Date.now() / 1000)
        this.#clockLoading = false
      },
      () => {
        this.#clockLoading = false
      },
    )
  }

  /** Encodes a payload and checks the item size; throws `ValueTooLargeError`. */
  encode(cacheKey: string, serverKey: string, value: Payload): string {
    let stored: string
    if (typeof value === 'string') {
      stored =
        value.indexOf('\r') === -1 && value.indexOf('\n') === -1
          ? `s${value}`
          : `t${Buffer.from(value, 'utf8').toString('base64')}`
    } else {
      stored = `b${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}`
    }
    // Fast path: even at 3 bytes per UTF-16 unit and the longest key it fits.
    if (stored.length * 3 + MAX_KEY_BYTES + ITEM_OVERHEAD <= this.limit) return stored
    const item = Buffer.byteLength(stored, 'utf8') + Buffer.byteLength(serverKey, 'utf8') + ITEM_OVERHEAD
    if (item > this.limit) throw new ValueTooLargeError(cacheKey, item, this.limit, this.name)
    return stored
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    try {
      this.raw.end()
    } catch {
      // already ended
    }
  }
}

interface IssueLogLike {
  failed: boolean
  locked: boolean
  isScheduledToReconnect: boolean
  failures: number
  config: { failures: number }
  attemptReconnect: () => void
  emit(event: string, ...args: unknown[]): boolean
}

/**
 * Replaces, on this client instance only, the reconnect step of each server's issue log: the client's own
 * spawns `ping` (and crashes the process when `ping` is missing). Ours marks the server usable again, so
 * the next request to it opens a real connection (which fails fast and logs a new issue if it is still down).
 */
function guardReconnect(raw: Raw): void {
  const client = raw as unknown as {
    connectionIssue: (error: unknown, stream: { serverAddress?: string }) => void
    issues: Record<string, IssueLogLike>
  }
  const original = client.connectionIssue
  if (typeof original !== 'function' || typeof client.issues !== 'object') {
    throw new Error(
      'memcached client internals changed: cannot guard its ping-based reconnect; pin memcached@2.2.2',
    )
  }
  client.connectionIssue = function guardedConnectionIssue(error, stream) {
    const server = stream?.serverAddress
    const known = server !== undefined && server in client.issues
    if (server !== undefined && !known) {
      // Let the client create the issue log, then patch it before its first timer can fire.
      original.call(this, error, stream)
      const issue = client.issues[server]
      if (issue !== undefined) issue.attemptReconnect = reconnectWithoutPing
      return
    }
    original.call(this, error, stream)
  }
}

function reconnectWithoutPing(this: IssueLogLike): void {
  this.failed = false
  this.locked = false
  this.isScheduledToReconnect = false
  this.failures = this.config.failures
  this.emit('reconnected', {})
}

function decode(stored: unknown): Payload | undefined {
  if (stored === undefined || stored === null || stored === false) return undefined
  if (typeof stored !== 'string' || stored.length === 0) {
    // Not written by this tier (the client decoded someone else's JSON/number/binary flag): a foreign
    // value; handed on as text, the engine reads it as a miss and reports it.
    return typeof stored === 'string' ? stored : (JSON.stringify(stored) ?? String(stored))
  }
  switch (stored.charCodeAt(0)) {
    case 0x73 /* s */:
      return stored.slice(1)
    case 0x74 /* t */:
      return Buffer.from(stored.slice(1), 'base64').toString('utf8')
    case 0x62 /* b */:
      return Buffer.from(stored.slice(1), 'base64')
    default:
      return stored
  }
}

/**
 * A Memcached tier: `memcachedTier({ servers: ['127.0.0.1:11211'] })`. Construction never throws for
 * unreachable servers and never blocks; the client connects on first use.
 */
export function memcachedTier(options: MemcachedTierOptions): MemcachedTier {
  const m = new MemcachedBackend(options)
  const raw = m.raw
  const get = (base: string, key: string): Promise<Payload | undefined> => {
    const sk = m.serverKeyFor(base, key)
    return m.call<unknown>('get', sk, (cb) => raw.get(sk, cb)).then(decode)
  }
  const set = (base: string, key: string, value: Payload, ttlMs: number): Promise<void> => {
    const sk = m.serverKeyFor(base, key)
    const stored = m.encode(key, sk, value)
    const life = m.lifetime(ttlMs)
    return m
      .call<boolean>('set', sk, (cb) => raw.set(sk, stored, life, cb))
      .then((ok) => {
        if (ok !== true) throw new Error(`${m.name} did not store ${JSON.stringify(key)}`)
      })
  }
  const del = (base: string, key: string): Promise<void> => {
    const sk = m.serverKeyFor(base, key)
    return m.call<boolean>('delete', sk, (cb) => raw.del(sk, cb)).then(noop)
  }
  const getMany = async (base: string, keys: readonly string[]): Promise<(Payload | undefined)[]> => {
    const sks = keys.map((k) => m.serverKeyFor(base, k))
    const found = await m.call<Record<string, unknown>>('getMany', undefined, (cb) => raw.getMulti(sks, cb))
    return sks.map((sk) => decode(found?.[sk]))
  }
  const tier: MemcachedTier = {
    kind: 'remote',
    name: m.name,
    client: m.client,
    maxValueBytes: m.limit,
    get pending() {
      return m.pending
    },
    async serverKey(key) {
      return m.serverKeyFor(await m.base(''), key)
    },
    get(key) {
      const b = m.base('')
      return typeof b === 'string' ? get(b, key) : b.then((s) => get(s, key))
    },
    getMany(keys) {
      if (keys.length === 0) return Promise.resolve([])
      const b = m.base('')
      return typeof b === 'string' ? getMany(b, keys) : b.then((s) => getMany(s, keys))
    },
    set(key, value, ttlMs) {
      if (!(ttlMs > 0)) return Promise.resolve()
      const b = m.base('')
      try {
        return typeof b === 'string' ? set(b, key, value, ttlMs) : b.then((s) => set(s, key, value, ttlMs))
      } catch (err) {
        return Promise.reject(err)
      }
    },
    delete(key) {
      const b = m.base('')
      return typeof b === 'string' ? del(b, key) : b.then((s) => del(s, key))
    },
    async deleteMany(keys) {
      await Promise.all(keys.map((k) => tier.delete(k)))
    },
    clear: () => m.bump(''),
    close: () => m.close(),
  }
  return tier
}

/**
 * The same client and safety measures as a Keyv storage adapter: `new Keyv({ store: memcachedStore({ servers }) })`.
 * Values are what Keyv hands over (its serialized strings; Buffers kept as bytes). `clear()` clears the Keyv
 * namespace only (a generation per namespace).
 */
export function memcachedStore(options: MemcachedTierOptions): MemcachedStore {
  return new MemcachedStore(options)
}

type Listener = (...args: unknown[]) => void

/** A Keyv storage adapter on Memcached. */
export class MemcachedStore {
  /** Set by Keyv to its namespace. */
  namespace: string | undefined
  readonly opts: { dialect: 'memcached'; servers: string[] | string; prefix: string }
  readonly #m: MemcachedBackend
  readonly #listeners = new Map<string, Listener[]>()

  constructor(options: MemcachedTierOptions) {
    this.#m = new MemcachedBackend(options)
    this.opts = { dialect: 'memcached', servers: options.servers, prefix: this.#m.prefix }
  }

  /** The underlying `memcached` client. */
  get client(): Memcached {
    return this.#m.client
  }

  on(event: string, listener: Listener): this {
    const list = this.#listeners.get(event) ?? []
    list.push(listener)
    this.#listeners.set(event, list)
    return this
  }

  #emitError(err: unknown): void {
    for (const l of this.#listeners.get('error') ?? []) l(err)
  }

  async #key(key: string): Promise<string> {
    const scope = this.namespace ?? ''
    return this.#m.serverKeyFor(await this.#m.base(scope), key)
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    const sk = await this.#key(key)
    const v = decode(await this.#m.call<unknown>('get', sk, (cb) => this.#m.raw.get(sk, cb)))
    return v as Value | undefined
  }

  async getMany<Value>(keys: string[]): Promise<Array<Value | undefined>> {
    return Promise.all(keys.map((k) => this.get<Value>(k)))
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const sk = await this.#key(key)
    const payload: Payload =
      typeof value === 'string' || value instanceof Uint8Array ? value : (JSON.stringify(value) ?? 'null')
    const stored = this.#m.encode(key, sk, payload)
    const life = typeof ttl === 'number' && ttl > 0 ? this.#m.lifetime(ttl) : 0
    return this.#m
      .call<boolean>('set', sk, (cb) => this.#m.raw.set(sk, stored, life, cb))
      .then((ok) => ok === true)
  }

  async delete(key: string): Promise<boolean> {
    const sk = await this.#key(key)
    try {
      return (await this.#m.call<boolean>('delete', sk, (cb) => this.#m.raw.del(sk, cb))) === true
    } catch (err) {
      this.#emitError(err)
      return false
    }
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    const results = await Promise.all(keys.map((k) => this.delete(k)))
    return results.some(Boolean)
  }

  async clear(): Promise<void> {
    await this.#m.bump(this.namespace ?? '')
  }

  async disconnect(): Promise<void> {
    await this.#m.close()
  }
}

function positive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value > 0)) {
    throw new TypeError(`Expected \`${name}\` to be a positive number, got ${String(value)}`)
  }
  return value
}

function markNode<E extends Error>(err: E): E {
  ;(err as E & { nodeFailure: boolean }).nodeFailure = true
  return err
}

function nodeDown(message: string): Error {
  return markNode(new Error(message))
}
