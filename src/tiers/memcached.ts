/**
 * The Memcached tier, on the `memcached` client (2.2.2), with each of that client's known defects
 * neutralized in this tier's modules (`memcached-client.ts`, `memcached-backend.ts`, `memcached-keys.ts`,
 * `memcached-values.ts`):
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
import type Memcached from 'memcached'
import { MemcachedBackend, noop } from './memcached-backend.js'
import { decodeValue } from './memcached-values.js'
import type { Payload, RemoteTier } from './types.js'

export { MemcachedStore, memcachedStore } from './memcached-store.js'

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
/**
 * A Memcached tier: `memcachedTier({ servers: ['127.0.0.1:11211'] })`. Construction never throws for
 * unreachable servers and never blocks; the client connects on first use.
 */
export function memcachedTier(options: MemcachedTierOptions): MemcachedTier {
  const m = new MemcachedBackend(options)
  const raw = m.raw
  const get = (base: string, key: string): Promise<Payload | undefined> => {
    const sk = m.serverKeyFor(base, key)
    return m.call<unknown>('get', sk, (cb) => raw.get(sk, cb)).then(decodeValue)
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
    return sks.map((sk) => decodeValue(found?.[sk]))
  }
  const tier: MemcachedTier = {
    kind: 'remote',
    name: m.name,
    client: m.client,
    maxValueBytes: m.limit,
    clockOffset: () => m.clockOffsetMs(),
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
