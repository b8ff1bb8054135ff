import type { Entry } from '../entry.js'

/** A tier in the process: stores entries as objects, answers synchronously, never serializes. */
export interface LocalTier {
  readonly kind: 'local'
  readonly name: string
  /** The entry, or `undefined`. Must not allocate on a hit. */
  get(key: string): Entry | undefined
  /** Stores the entry; `ttlMs` is when the tier may drop it (the entry's stale-until), `Infinity` for never. */
  set(key: string, entry: Entry, ttlMs: number): void
  delete(key: string): void
  clear(): void
  /** Number of entries held. */
  readonly size: number
  /** Called by the engine with every key the tier drops to stay within its bounds. */
  onEvict?: ((key: string) => void) | undefined
  close?(): void | Promise<void>
}

/** Bytes or text as a remote tier stores them. */
export type Payload = Uint8Array | string

/**
 * A tier behind the network (Redis, Memcached, any Keyv store). Dumb: get/set/delete with a TTL.
 * The engine serializes, puts deadlines on calls and skips the tier when its breaker is open.
 */
export interface RemoteTier {
  readonly kind: 'remote'
  readonly name: string
  get(key: string): Promise<Payload | undefined>
  getMany?(keys: readonly string[]): Promise<(Payload | undefined)[]>
  /** `ttlMs` is relative (the store enforces it with its own clock); `Infinity` for no expiry. */
  set(key: string, value: Payload, ttlMs: number): Promise<void>
  delete(key: string): Promise<void>
  deleteMany?(keys: readonly string[]): Promise<void>
  /** Removes every key this tier wrote (its own prefix only; never a whole-server flush). */
  clear(): Promise<void>
  /**
   * For a tier whose keys live on several servers: the server that holds `key` now (a stable name, such as the
   * `host:port` of the Redis Cluster master owning the key's slot), or `undefined` when not known (yet). The
   * engine then keeps one circuit breaker per server, so one server failing skips only its own keys. Called on
   * every call for a key: no I/O.
   */
  nodeOf?(key: string): string | undefined
  /**
   * The store server's clock minus this process's clock, in ms, as last measured (0 until measured, or
   * when smaller than the measurement can tell). The engine writes entry times on the server's clock and
   * reads them back on its own, so processes whose clocks disagree agree on an entry's freshness (RELIABILITY
   * 30). Called on every read and write: no I/O.
   */
  clockOffset?(): number
  /** Largest payload the tier accepts, in bytes, if it has a limit. */
  readonly maxValueBytes?: number | undefined
  close(): Promise<void>
}

export type Tier = LocalTier | RemoteTier
