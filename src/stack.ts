import { Breaker, type BreakerState, isNodeFailure, isWriteRefusal, NodeBreakers } from './breaker.js'
import { Deadlines, type Pending } from './deadlines.js'
import { ENTRY_VERSION, type Entry } from './entry.js'
import { TierError, TimeoutError, ValueTooLargeError } from './errors.js'
import { RetryQueue } from './retry-queue.js'
import { checkRetryQueueSize, type EntryCodec } from './stack-options.js'
import type { Payload, RemoteTier, Tier } from './tiers/types.js'

export { Breaker, type BreakerState, isNodeFailure, isWriteRefusal, NodeBreakers } from './breaker.js'
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

/**
 * The tiers below L1. Reads go top-down and stop at the first usable entry; writes go to every tier.
 * Every remote call has a deadline; a failure or timeout is a miss for reads and `false` for writes.
 * Each remote tier has a circuit breaker: after `threshold` consecutive failures it is skipped for
 * `breakDuration`, then one probe decides. A tier that says which node holds a key (`nodeOf`) also has one
 * breaker per node, which the calls for its keys go through (see {@link NodeBreakers}).
 */
/** An entry read from a lower tier, with the index of that tier in the cache's tier list. */
export interface Found {
  entry: Entry
  tier: number
}

export class Lower {
  readonly #tiers: readonly Tier[]
  readonly #o: LowerOptions
  /** One per tier (undefined for local tiers or without breaker). */
  readonly #breakers: (Breaker | undefined)[]
  /** Per-node breakers of each tier with `nodeOf` (undefined for the others or without breaker). */
  readonly #nodes: (NodeBreakers | undefined)[]
  /** Unacknowledged invalidations of each remote tier (created on first use). */
  readonly #retry: (RetryQueue | undefined)[]
  readonly #retryLimit: number
  /** The deadlines of pending remote calls (one timer per duration, not per call). */
  readonly #deadlines = new Deadlines()
  #closed = false

  constructor(tiers: readonly Tier[], options: LowerOptions) {
    this.#tiers = tiers
    this.#o = options
    this.#retry = tiers.map(() => undefined)
    this.#retryLimit = checkRetryQueueSize(options.retryQueueSize)
    const b = options.breaker === undefined ? { threshold: 5, breakDuration: 2000 } : options.breaker
    this.#breakers = tiers.map((t) =>
      t.kind === 'remote' && b !== false
        ? new Breaker(b.threshold, b.breakDuration, (state) => options.onBreaker?.(t.name, state))
        : undefined,
    )
    this.#nodes = tiers.map((t, i) =>
      t.kind === 'remote' && b !== false && typeof t.nodeOf === 'function'
        ? new NodeBreakers(b.threshold, b.breakDuration, (node, state) => {
            options.onBreaker?.(t.name, state, node)
            // The node answers again: replay what it missed now (a replay does not wait on failing nodes).
            if (state === 'closed') this.#retry[i]?.kick(true)
          })
        : undefined,
    )
  }

  /** The breaker state of each tier handled here (`undefined` for local tiers). */
  breakerStates(): (BreakerState | undefined)[] {
    return this.#breakers.map((b) => b?.state)
  }

  /** The state of each node's breaker, for each tier handled here (`undefined` for tiers without nodes). */
  nodeBreakerStates(): (Record<string, BreakerState> | undefined)[] {
    return this.#nodes.map((n) => n?.states())
  }

  /**
   * Invalidations waiting for each tier handled here (keys to delete, plus 1 for a pending `clear()`);
   * 0 for local tiers.
   */
  retryQueueSizes(): number[] {
    return this.#retry.map((q) => q?.size ?? 0)
  }

  /** The first entry found top-down, with the index of its tier in the cache's tier list. */
  get(key: string): Promise<Found | undefined> {
    return this.#getBelow(0, key)
  }

  /** `get` from tier `i` down (no `async`: a hit in the first tier costs no extra promise steps). */
  #getBelow(i: number, key: string): Promise<Found | undefined> {
    return this.#getFrom(i, key).then((entry): Found | undefined | Promise<Found | undefined> => {
      if (entry !== undefined) return { entry, tier: i + this.#o.offset }
      return i + 1 < this.#tiers.length ? this.#getBelow(i + 1, key) : undefined
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
        const r = await this.#guard(i, 'clear', undefined, this.#o.writeTimeout * 10, () => t.clear())
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
    const r = await this.#guard(i, 'delete', key, this.#o.writeTimeout, () => t.delete(key))
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
        breakDuration: this.#breakers[i]?.breakDuration,
        route: t.nodeOf === undefined ? undefined : (key) => t.nodeOf?.(key),
        closed: () => this.#closed,
        clear: () =>
          this.#guard(i, 'clear', undefined, this.#o.writeTimeout * 10, () => t.clear(), true).then(
            acknowledged,
          ),
        delete: (keys) =>
          this.#guard(
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
          ).then(acknowledged),
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

  #getFrom(i: number, key: string): Promise<Entry | undefined> {
    const t = this.#tiers[i]!
    if (t.kind === 'local') return Promise.resolve(t.get(key))
    // A key whose delete this tier has not acknowledged is not read from it.
    const q = this.#retry[i]
    if (q !== undefined && (q.clear || (q.keys.size !== 0 && q.keys.has(key)))) {
      q.arm()
      return Promise.resolve(undefined)
    }
    return this.#guard(i, 'get', key, this.#o.readTimeout, () => t.get(key)).then((data) => {
      if (data === FAILED || data === TOO_LARGE || data === undefined) return undefined
      try {
        const entry = decodeEntry(this.#o.codec.deserialize(data))
        const offset = t.clockOffset?.() ?? 0
        return offset === 0 ? entry : shiftTimes(entry, -offset)
      } catch (err) {
        this.#o.onError(new TierError(t.name, 'decode', err, key), key)
        // A corrupt, foreign or old-format entry is a miss; remove it so it is rewritten.
        this.#guard(i, 'delete', key, this.#o.writeTimeout, () => t.delete(key)).catch(() => {})
        return undefined
      }
    })
  }

  #encode(t: RemoteTier, key: string, entry: Entry): Payload | typeof FAILED {
    try {
      const offset = t.clockOffset?.() ?? 0
      return this.#o.codec.serialize([ENTRY_VERSION, offset === 0 ? entry : shiftTimes({ ...entry }, offset)])
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
    const b = this.#breakerFor(i, key)
    if (b !== undefined && !b.allowWrite()) return false
    const payload = encoded === undefined ? this.#encode(t, key, entry) : encoded
    if (payload === FAILED) return false
    const limit = t.maxValueBytes
    if (limit !== undefined) {
      const size = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength
      if (size > limit) return this.#tooLarge(i, t, key, new ValueTooLargeError(key, size, limit, t.name))
    }
    // The new value replaces what a queued delete of the key was for: taken out of the queue while the write
    // is in flight (so no replay deletes the new value after it), put back if the write fails.
    const q = this.#retry[i]
    const queued = q !== undefined && q.keys.size !== 0 && q.keys.delete(key)
    const r = await this.#guard(i, 'set', key, this.#o.writeTimeout, () => t.set(key, payload, ttl))
    if (r === TOO_LARGE) return false
    if (r === FAILED) {
      if (queued) this.#enqueue(i, key)
      return false
    }
    b?.writeAccepted()
    return true
  }

  /** The value is skipped for this tier; an older value of the key there must not outlive it. */
  #tooLarge(i: number, t: RemoteTier, key: string, err: ValueTooLargeError): false {
    this.#o.onError(new TierError(t.name, 'set', err, key), key)
    this.#deleteFrom(i, key).catch(() => {})
    return false
  }

  /**
   * The breaker a call for `key` on tier `i` goes through: the breaker of the node holding the key when the
   * tier says which one, else the tier's.
   */
  #breakerFor(i: number, key: string | undefined): Breaker | undefined {
    const nodes = this.#nodes[i]
    if (nodes === undefined || key === undefined) return this.#breakers[i]
    const node = (this.#tiers[i] as RemoteTier).nodeOf?.(key)
    return node === undefined ? this.#breakers[i] : nodes.of(node)
  }

  /**
   * Runs a tier call with a deadline and the breaker of `route` (see `#breakerFor`; `key` unless a batch of
   * keys on one node, reported without a key, gives one of them); failures are reported and become `FAILED`.
   * A call skipped by an open breaker is `FAILED` without a report (the opening was reported).
   * One promise per call, and a slot in a shared deadline queue instead of a timer: this is on the path of
   * every remote read.
   */
  #guard<R>(
    i: number,
    op: string,
    key: string | undefined,
    ms: number,
    call: () => R | Promise<R>,
    replay = false,
    route = key,
  ): Promise<R | typeof FAILED | typeof TOO_LARGE> {
    const t = this.#tiers[i]!
    if (t.kind === 'local') {
      try {
        return Promise.resolve(call())
      } catch (err) {
        this.#o.onError(err instanceof TierError ? err : new TierError(t.name, op, err, key), key)
        return Promise.resolve(FAILED)
      }
    }
    const b = this.#breakerFor(i, route)
    if (b !== undefined && !b.allow()) return SKIPPED
    let p: Promise<R>
    try {
      p = Promise.resolve(call())
    } catch (err) {
      return Promise.resolve(this.#failed(i, b, op, key, err))
    }
    if (ms === Number.POSITIVE_INFINITY) {
      return p.then(
        (r) => {
          b?.success()
          const q = replay ? undefined : this.#retry[i]
          if (q !== undefined && q.size !== 0) q.kick()
          return r
        },
        (err: unknown) => this.#failed(i, b, op, key, err),
      )
    }
    const q = replay ? undefined : this.#retry[i]
    return new Promise((resolve) => {
      const pending: Pending = {
        done: false,
        at: 0,
        queue: undefined,
        expire: () => {
          const err = new TimeoutError(`${t.name} ${op} took over ${ms} ms`, ms, { code: 'E_TIER_TIMEOUT' })
          resolve(this.#failed(i, b, op, key, err))
        },
      }
      this.#deadlines.add(pending, ms)
      p.then(
        (r) => {
          if (!this.#deadlines.settle(pending)) return
          b?.success()
          // The tier answers again: send what it missed.
          if (q !== undefined && q.size !== 0) q.kick()
          resolve(r)
        },
        (err: unknown) => {
          if (this.#deadlines.settle(pending)) resolve(this.#failed(i, b, op, key, err))
        },
      )
    })
  }

  /** Classifies and reports a failed remote call; updates the tier's breaker. */
  #failed(
    i: number,
    b: Breaker | undefined,
    op: string,
    key: string | undefined,
    err: unknown,
  ): typeof FAILED | typeof TOO_LARGE {
    const t = this.#tiers[i]! as RemoteTier
    if (err instanceof ValueTooLargeError) {
      // The value's fault, not the tier's: no breaker failure.
      b?.success()
      this.#tooLarge(i, t, key ?? '', err)
      return TOO_LARGE
    }
    if (op === 'set' && isWriteRefusal(err)) {
      // The tier answers but refuses writes (out of memory): reads go on, writes pause for a window,
      // and the refusal is reported once per window instead of once per write.
      b?.success()
      if (b === undefined || b.writeRefused()) this.#o.onError(new TierError(t.name, op, err, key), key)
      return FAILED
    }
    // One node of a multi-node tier failing (the tier fails its keys fast by itself) is not the tier failing.
    if (!isNodeFailure(err)) b?.failure()
    this.#o.onError(err instanceof TierError ? err : new TierError(t.name, op, err, key), key)
    return FAILED
  }
}

const TOO_LARGE = Symbol('too large')

const FAILED = Symbol('failed')
const SKIPPED: Promise<typeof FAILED> = Promise.resolve(FAILED)

/** Checks the envelope of a decoded remote entry; anything else is an error (read as a miss). */
export function decodeEntry(decoded: unknown): Entry {
  if (!Array.isArray(decoded) || decoded.length !== 2) throw new TypeError('not a tiercache entry')
  if (decoded[0] !== ENTRY_VERSION)
    throw new TypeError(`entry format ${String(decoded[0])} is not ${ENTRY_VERSION}`)
  const e = decoded[1] as Entry
  if (
    e === null ||
    typeof e !== 'object' ||
    typeof e.c !== 'number' ||
    typeof e.f !== 'number' ||
    typeof e.s !== 'number'
  ) {
    throw new TypeError('malformed tiercache entry')
  }
  if (typeof e.w !== 'number') e.w = e.f
  if (typeof e.d !== 'number') e.d = 0
  return e
}

/**
 * Moves an entry's times by `ms` (in place): between this process's clock and a store server's
 * (`RemoteTier.clockOffset`). Infinite times stay infinite.
 */
function shiftTimes(e: Entry, ms: number): Entry {
  e.c += ms
  e.f += ms
  e.w += ms
  e.s += ms
  return e
}
