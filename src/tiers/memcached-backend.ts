import type Memcached from 'memcached'
import { TimeoutError } from '../errors.js'
import type { MemcachedTierOptions } from './memcached.js'
import { type Callback, createClient, type Raw, THIRTY_DAYS_S } from './memcached-client.js'
import { BAD_KEY_CHAR, serverKeyFor } from './memcached-keys.js'
import { encodeValue } from './memcached-values.js'
import type { Payload } from './types.js'

export const noop = (): void => {}

/**
 * The client, configured and wrapped: promises with deadlines, safe keys, our payload encoding, generations,
 * long TTLs. Shared by `memcachedTier` and `memcachedStore`.
 */
/** How often the server's clock is read again (with a generation load), ms. */
const CLOCK_CHECK_MS = 30_000

export class MemcachedBackend {
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
  /** The server's clock minus ours, whole seconds (`stats` `time`); undefined until read. */
  #clockOffset: number | undefined
  #clockRead: Promise<void> | undefined
  #nextClock = 0
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
    this.client = createClient(servers, retry, positive(o.connectTimeout, 'connectTimeout', 1000), this.limit)
    this.raw = this.client as unknown as Raw
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
      // operations wait for the generation, so entry times are converted with a known clock offset
      if (Date.now() >= this.#nextClock) await this.#readServerClock()
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
    return serverKeyFor(base, key)
  }

  /** Memcached lifetime for a relative TTL: seconds, or an absolute time on the server's clock beyond 30 days. */
  lifetime(ttlMs: number): number {
    if (ttlMs === Number.POSITIVE_INFINITY) return 0
    const s = Math.max(1, Math.ceil(ttlMs / 1000))
    if (s <= THIRTY_DAYS_S) return s
    if (this.#clockOffset === undefined) this.#readServerClock().catch(noop)
    return Math.floor(Date.now() / 1000) + (this.#clockOffset ?? 0) + s
  }

  /**
   * The server's clock minus ours in ms for entry times (see RemoteTier.clockOffset): 0 until read, and
   * under 2 s, which memcached's one-second clock cannot tell from rounding.
   */
  clockOffsetMs(): number {
    const s = this.#clockOffset ?? 0
    return Math.abs(s) < 2 ? 0 : s * 1000
  }

  /** Reads the server's clock (`stats` `time`); again at most every CLOCK_CHECK_MS when generations load. */
  #readServerClock(): Promise<void> {
    if (this.#clockRead !== undefined) return this.#clockRead
    this.#nextClock = Date.now() + CLOCK_CHECK_MS
    const p = this.call<Array<Record<string, unknown>>>('stats', undefined, (cb) => this.raw.stats(cb)).then(
      (stats) => {
        const time = Number(stats.find((s) => s.time !== undefined)?.time)
        if (Number.isFinite(time) && time > 0) this.#clockOffset = time - Math.floor(Date.now() / 1000)
      },
      noop,
    )
    this.#clockRead = p
    p.then(() => {
      this.#clockRead = undefined
    })
    return p
  }

  /** Encodes a payload and checks the item size; throws `ValueTooLargeError`. */
  encode(cacheKey: string, serverKey: string, value: Payload): string {
    return encodeValue(cacheKey, serverKey, value, this.limit, this.name)
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
