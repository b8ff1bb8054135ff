/**
 * The tiers below L1. Reads go top-down and stop at the first usable entry; writes go to every tier.
 * Every remote call has a deadline; a failure or timeout is a miss for reads and `false` for writes.
 * Each remote tier has a circuit breaker: after `threshold` consecutive failures it is skipped for
 * `breakDuration`, then one probe decides. A tier that says which node holds a key (`nodeOf`) also has one
 * breaker per node, which the calls for its keys go through (see `NodeBreakers`). Deadlines and breakers are
 * applied in `tier-calls.ts`; the envelope of an entry in a remote tier is `remote-entry.ts`. Invalidations a
 * remote tier did not acknowledge wait in its retry queue (`retry-queue.ts`).
 */
import type { BreakerState } from './breaker.js'
import type { Entry } from './entry.js'
import { TierError } from './errors.js'
import { decodeRemote, encodeRemote } from './remote-entry.js'
import { RetryQueue } from './retry-queue.js'
import { checkRetryQueueSize, type EntryCodec } from './stack-options.js'
import { FAILED, TierCalls, TOO_LARGE } from './tier-calls.js'
import type { Payload, RemoteTier, Tier } from './tiers/types.js'

export { Breaker, type BreakerState, isNodeFailure, isWriteRefusal, NodeBreakers } from './breaker.js'
export { decodeEntry } from './remote-entry.js'
export { RETRY_QUEUE_SIZE } from './retry-queue.js'
export {
  type BreakerOptions,
  type EntryCodec,
  type ResolvedStackOptions,
  resolveTierStackOptions,
  type TierStackOptions,
} from './stack-options.js'

export interface LowerOptions {
  /** Index in the cache's tier list of the first tier handled here. */
  offset: number
  codec: EntryCodec
  /** Deadline of a remote read, ms. */
  readTimeout: number
  /** Deadline of a remote write or delete, ms. */
  writeTimeout: number
  /** Breaker settings, or `false` for none. @default { threshold: 5, breakDuration: 2000 } */
  breaker?: { threshold: number; breakDuration: number } | false
  /** Called for every tier failure (already counted by the caller of `onError`). */
  onError: (error: TierError, key: string | undefined) => void
  /** Called when a tier's breaker changes state (`node` set for the breaker of one node of a multi-node tier). */
  onBreaker?: ((tier: string, state: BreakerState, node?: string) => void) | undefined
  /** Bound of each remote tier's retry queue; 0 for none (see {@link TierStackOptions.retryQueueSize}). @default 10000 */
  retryQueueSize?: number
}

/** An entry read from a lower tier, with the index of that tier in the cache's tier list. */
export interface Found {
  entry: Entry
  tier: number
}

/** `Lower.get`'s `then` for a caller that awaits the found entry itself. */
const asFound = (found: Found | undefined): Found | undefined => found

export class Lower {
  readonly #tiers: readonly Tier[]
  readonly #o: LowerOptions
  /** Unacknowledged invalidations of each remote tier (created on first use). */
  readonly #retry: (RetryQueue | undefined)[]
  readonly #retryLimit: number
  /** The calls to the tiers, with deadlines and breakers. */
  readonly #calls: TierCalls
  #closed = false

  constructor(tiers: readonly Tier[], options: LowerOptions) {
    this.#tiers = tiers
    this.#o = options
    this.#retry = tiers.map(() => undefined)
    this.#retryLimit = checkRetryQueueSize(options.retryQueueSize)
    this.#calls = new TierCalls(tiers, this.#retry, options, (i, key) => {
      this.#deleteFrom(i, key).catch(() => {})
    })
  }

  /** The breaker state of each tier handled here (`undefined` for local tiers). */
  breakerStates(): (BreakerState | undefined)[] {
    return this.#calls.breakerStates()
  }

  /** The state of each node's breaker, for each tier handled here (`undefined` for tiers without nodes). */
  nodeBreakerStates(): (Record<string, BreakerState> | undefined)[] {
    return this.#calls.nodeBreakerStates()
  }

  /**
   * Invalidations waiting for each tier handled here (keys to delete, plus 1 for a pending `clear()`);
   * 0 for local tiers.
   */
  retryQueueSizes(): number[] {
    return this.#retry.map((q) => q?.size ?? 0)
  }

  /**
   * The first entry found top-down, with the index of its tier in the cache's tier list, handed to `then`
   * (`undefined`: in no tier) in the step that settles the read: no promise step per tier or per layer.
   */
  get(key: string): Promise<Found | undefined>
  get<U>(key: string, then: (found: Found | undefined) => U | Promise<U>): Promise<U>
  get<U>(key: string, then?: (found: Found | undefined) => U | Promise<U>): Promise<U | Found | undefined> {
    return this.#getBelow<U | Found | undefined>(0, key, then ?? asFound)
  }

  #getBelow<U>(i: number, key: string, then: (found: Found | undefined) => U | Promise<U>): Promise<U> {
    return this.#getFrom(i, key, (entry) => {
      if (entry !== undefined) return then({ entry, tier: i + this.#o.offset })
      return i + 1 < this.#tiers.length ? this.#getBelow(i + 1, key, then) : then(undefined)
    })
  }

  /** Writes `entry` to the lower tiers above `tier` (a cache-list index), after a hit in `tier`. */
  async backfill(key: string, entry: Entry, tier: number): Promise<void> {
    const upto = tier - this.#o.offset
    const jobs: Promise<boolean>[] = []
    for (let i = 0; i < upto; i++) jobs.push(this.#setTo(i, key, entry, undefined))
    await Promise.all(jobs)
  }

  /** Writes to every lower tier; true when all acknowledged. */
  async set(key: string, entry: Entry): Promise<boolean> {
    const tiers = this.#tiers
    let payload: Payload | undefined | typeof FAILED
    if (tiers.length === 1) return this.#setTo(0, key, entry, undefined)
    // Serialize once for all remote tiers (that share a clock offset).
    let payloadOffset = 0
    const jobs: Promise<boolean>[] = []
    for (let i = 0; i < tiers.length; i++) {
      const t = tiers[i]!
      if (t.kind === 'remote') {
        const offset = t.clockOffset?.() ?? 0
        if (payload === undefined || offset !== payloadOffset) {
          payload = this.#encode(t, key, entry)
          payloadOffset = offset
        }
      }
      jobs.push(this.#setTo(i, key, entry, t.kind === 'remote' ? payload : undefined))
    }
    const results = await Promise.all(jobs)
    return results.every(Boolean)
  }

  /**
   * Deletes from every lower tier; true when all acknowledged. A remote tier that did not (error, timeout,
   * open breaker) gets the key in its retry queue, replayed when it answers again.
   */
  async delete(key: string): Promise<boolean> {
    const tiers = this.#tiers
    if (tiers.length === 1) return this.#deleteFrom(0, key)
    const results = await Promise.all(tiers.map((_, i) => this.#deleteFrom(i, key)))
    return results.every(Boolean)
  }

  /**
   * Clears every lower tier; true when all acknowledged. A remote tier that did not gets a pending
   * `clear()` in its retry queue (which also makes the deletes queued before it unnecessary).
   */
  async clear(): Promise<boolean> {
    const results = await Promise.all(
      this.#tiers.map(async (t, i) => {
        const r = await this.#calls.guard(i, 'clear', undefined, this.#o.writeTimeout * 10, () => t.clear())
        if (r !== FAILED) {
          const q = this.#retry[i]
          if (q !== undefined) {
            q.keys.clear()
            q.clear = false
            q.idle()
          }
          return true
        }
        if (t.kind === 'remote' && !this.#closed && this.#retryLimit !== 0) {
          const q = this.#queue(i)
          q.keys.clear()
          q.clear = true
          q.arm()
        }
        return false
      }),
    )
    return results.every(Boolean)
  }

  /** Closes the tiers; pending retries are dropped. */
  async close(): Promise<void> {
    this.#closed = true
    for (const q of this.#retry) {
      if (q !== undefined) q.drop()
    }
    await Promise.allSettled(this.#tiers.map((t) => t.close?.()))
  }

  /** Deletes `key` from tier `i`; on failure the key goes to the tier's retry queue. */
  async #deleteFrom(i: number, key: string): Promise<boolean> {
    const t = this.#tiers[i]!
    const r = await this.#calls.guard(i, 'delete', key, this.#o.writeTimeout, () => t.delete(key))
    if (r !== FAILED) {
      // Acknowledged: a queued older delete of the key is done too.
      const q = this.#retry[i]
      if (q !== undefined && q.keys.size !== 0) q.keys.delete(key)
      return true
    }
    if (t.kind === 'remote') this.#enqueue(i, key)
    return false
  }

  /** Tier `i`'s retry queue (created on first use). */
  #queue(i: number): RetryQueue {
    let q = this.#retry[i]
    if (q === undefined) {
      const t = this.#tiers[i]! as RemoteTier
      const acknowledged = (r: unknown): boolean => r !== FAILED
      this.#retry[i] = q = new RetryQueue({
        name: t.name,
        limit: this.#retryLimit,
        breakDuration: this.#calls.breakers[i]?.breakDuration,
        route: t.nodeOf === undefined ? undefined : (key) => t.nodeOf?.(key),
        closed: () => this.#closed,
        clear: () =>
          this.#calls
            .guard(i, 'clear', undefined, this.#o.writeTimeout * 10, () => t.clear(), true)
            .then(acknowledged),
        delete: (keys) =>
          this.#calls
            .guard(
              i,
              'delete',
              keys.length === 1 ? keys[0] : undefined,
              this.#o.writeTimeout,
              () =>
                t.deleteMany !== undefined && keys.length > 1
                  ? t.deleteMany(keys)
                  : Promise.all(keys.map((k) => t.delete(k))).then(() => undefined),
              true,
              keys[0],
            )
            .then(acknowledged),
        onError: (error, key) => this.#o.onError(error, key),
      })
    }
    return q
  }

  /** Queues the delete of `key` on tier `i` (bounded: the oldest key is dropped and reported; none with size 0). */
  #enqueue(i: number, key: string): void {
    if (this.#closed || this.#retryLimit === 0) return
    this.#queue(i).enqueue(key)
  }

  #getFrom<U>(i: number, key: string, then: (entry: Entry | undefined) => U | Promise<U>): Promise<U> {
    const t = this.#tiers[i]!
    if (t.kind === 'local') return Promise.resolve(t.get(key)).then(then)
    // A key whose delete this tier has not acknowledged is not read from it.
    const q = this.#retry[i]
    if (q !== undefined && (q.clear || (q.keys.size !== 0 && q.keys.has(key)))) {
      q.arm()
      return Promise.resolve(undefined).then(then)
    }
    return this.#calls.read(
      i,
      key,
      this.#o.readTimeout,
      () => t.get(key),
      (data) =>
        then(
          data === FAILED || data === TOO_LARGE || data === undefined
            ? undefined
            : this.#decode(i, t, key, data),
        ),
    )
  }

  /** A remote tier's payload as an entry; a corrupt, foreign or old-format one is reported, deleted, and a miss. */
  #decode(i: number, t: RemoteTier, key: string, data: Payload): Entry | undefined {
    try {
      return decodeRemote(this.#o.codec, t, data)
    } catch (err) {
      this.#o.onError(new TierError(t.name, 'decode', err, key), key)
      // Removed so that it is rewritten.
      this.#calls.guard(i, 'delete', key, this.#o.writeTimeout, () => t.delete(key)).catch(() => {})
      return undefined
    }
  }

  #encode(t: RemoteTier, key: string, entry: Entry): Payload | typeof FAILED {
    try {
      return encodeRemote(this.#o.codec, entry, t.clockOffset?.() ?? 0)
    } catch (err) {
      this.#o.onError(new TierError(t.name, 'encode', err, key), key)
      return FAILED
    }
  }

  async #setTo(
    i: number,
    key: string,
    entry: Entry,
    encoded: Payload | undefined | typeof FAILED,
  ): Promise<boolean> {
    const t = this.#tiers[i]!
    const ttl = entry.s - Date.now()
    if (ttl <= 0) return true
    if (t.kind === 'local') {
      t.set(key, entry, ttl)
      return true
    }
    const b = this.#calls.breakerFor(i, key)
    if (b !== undefined && !b.allowWrite()) return false
    const payload = encoded === undefined ? this.#encode(t, key, entry) : encoded
    if (payload === FAILED) return false
    if (this.#calls.oversized(i, key, payload)) return false
    // The new value replaces what a queued delete of the key was for: taken out of the queue while the write
    // is in flight (so no replay deletes the new value after it), put back if the write fails.
    const q = this.#retry[i]
    const queued = q !== undefined && q.keys.size !== 0 && q.keys.delete(key)
    const r = await this.#calls.guard(i, 'set', key, this.#o.writeTimeout, () => t.set(key, payload, ttl))
    if (r === TOO_LARGE) return false
    if (r === FAILED) {
      if (queued) this.#enqueue(i, key)
      return false
    }
    b?.writeAccepted()
    return true
  }
}
