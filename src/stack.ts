import { type Duration, optionalMs } from './duration.js'
import { ENTRY_VERSION, type Entry } from './entry.js'
import { TierError, TimeoutError, ValueTooLargeError } from './errors.js'
import type { Serializer } from './serializer/types.js'
import { defaultSerializer } from './serializer.js'
import type { Payload, RemoteTier, Tier } from './tiers/types.js'

/** How entries become payloads for remote tiers. */
export interface EntryCodec {
  serialize(value: unknown): Payload
  deserialize(data: Payload): unknown
}

/** Circuit breaker of each remote tier. */
export interface BreakerOptions {
  /**
   * Consecutive failures (errors or missed deadlines) of a tier that open its breaker. While open, the tier
   * is skipped: reads are misses, writes and deletes report `false`, nothing is sent.
   * @default 5
   */
  threshold?: number
  /**
   * How long an open breaker skips the tier. Then exactly one call goes through as a probe (half-open): its
   * success closes the breaker, its failure opens it for another `breakDuration`. Also the window in which a
   * tier that refuses writes (Redis `OOM`, `READONLY`, memcached out of memory) gets no more writes and
   * its error is reported once.
   * A number is seconds.
   * @default '2s'
   */
  breakDuration?: Duration
}

/**
 * Options of the remote part of a tier stack. Part of the cache options.
 */
export interface TierStackOptions {
  /**
   * Deadline of every remote read (Redis, Memcached, Keyv). A read that misses it is a miss: the next tier
   * or the loader answers, and the late reply is discarded. A number is seconds.
   * @default '100ms'
   */
  readTimeout?: Duration
  /**
   * Deadline of every remote write and delete (`clear()` gets ten times this). A number is seconds.
   * @default '1s'
   */
  writeTimeout?: Duration
  /**
   * Circuit breaker of each remote tier, or `false` to call failing tiers every time.
   * @default { threshold: 5, breakDuration: '2s' }
   */
  breaker?: BreakerOptions | false
  /**
   * How entries are turned into bytes or text for remote tiers.
   * @default the tagged-JSON serializer (`jsonSerializer`)
   */
  serializer?: Serializer
}

/** {@link TierStackOptions} resolved to the parts of {@link LowerOptions} they set. */
export interface ResolvedStackOptions {
  codec: EntryCodec
  readTimeout: number
  writeTimeout: number
  breaker: { threshold: number; breakDuration: number } | false
}

/** Validates and resolves {@link TierStackOptions}; throws a `TypeError` naming a bad option. */
export function resolveTierStackOptions(o: TierStackOptions = {}): ResolvedStackOptions {
  const readTimeout = optionalMs(o.readTimeout, 'readTimeout', 100)
  const writeTimeout = optionalMs(o.writeTimeout, 'writeTimeout', 1000)
  if (readTimeout <= 0) throw new TypeError('Expected `readTimeout` to be above 0')
  if (writeTimeout <= 0) throw new TypeError('Expected `writeTimeout` to be above 0')
  let breaker: ResolvedStackOptions['breaker'] = false
  if (o.breaker !== false) {
    const b = o.breaker ?? {}
    if (b === null || typeof b !== 'object') {
      throw new TypeError(`Expected \`breaker\` to be an object or false, got ${String(b)}`)
    }
    const threshold = b.threshold ?? 5
    if (!Number.isInteger(threshold) || threshold < 1) {
      throw new TypeError(`Expected \`breaker.threshold\` to be a positive integer, got ${String(threshold)}`)
    }
    const breakDuration = optionalMs(b.breakDuration, 'breaker.breakDuration', 2000)
    if (breakDuration <= 0 || breakDuration === Number.POSITIVE_INFINITY) {
      throw new TypeError('Expected `breaker.breakDuration` to be a finite duration above 0')
    }
    breaker = { threshold, breakDuration }
  }
  const serializer = o.serializer ?? defaultSerializer
  if (
    serializer === null ||
    typeof serializer !== 'object' ||
    typeof serializer.serialize !== 'function' ||
    typeof serializer.deserialize !== 'function'
  ) {
    throw new TypeError('Expected `serializer` to be an object with `serialize` and `deserialize` functions')
  }
  return { codec: serializer, readTimeout, writeTimeout, breaker }
}

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
  /** Called when a tier's breaker changes state. */
  onBreaker?: ((tier: string, state: BreakerState) => void) | undefined
  /**
   * Most keys kept per remote tier whose delete that tier did not acknowledge (failed, timed out, or skipped
   * by an open breaker). Beyond it the oldest are dropped and reported.
   * @default 10000
   */
  retryQueueSize?: number
}

/** Default bound of each remote tier's retry queue. */
export const RETRY_QUEUE_SIZE = 10_000
/** Keys sent per replayed delete call (`deleteMany` when the tier has it). */
const RETRY_BATCH = 100
/** Replays are retried at this interval (ms) when the tier has no breaker. */
const RETRY_INTERVAL = 1000

/**
 * The invalidations a remote tier did not acknowledge, replayed when it answers again: deleted keys (in the
 * order they failed; a key deleted again moves to the end) and a pending `clear()`.
 */
class RetryQueue {
  /** Key -> sequence number of its latest enqueue (a replay removes a key only if not enqueued again since). */
  readonly keys = new Map<string, number>()
  clear = false
  seq = 0
  replaying = false
  kicked = false
  timer: NodeJS.Timeout | undefined
  dropped = 0
  lastDropReport = 0

  get size(): number {
    return this.keys.size + (this.clear ? 1 : 0)
  }
}

export type BreakerState = 'closed' | 'open' | 'half-open'

/**
 * The circuit breaker of one remote tier, plus a write gate for tiers that refuse writes while reads work
 * (out of memory): writes stop for a window and the refusal is reported once per window.
 */
export class Breaker {
  state: BreakerState = 'closed'
  failures = 0
  #until = 0
  #probing = false
  #writesUntil = 0
  #writeProbing = false
  constructor(
    readonly threshold: number,
    readonly breakDuration: number,
    readonly onChange: (state: BreakerState) => void,
  ) {}

  /** Whether a call may go to the tier now; in half-open, true once (the probe). */
  allow(): boolean {
    if (this.state === 'closed') return true
    if (this.state === 'open') {
      if (Date.now() < this.#until) return false
      this.#set('half-open')
    }
    if (this.#probing) return false
    this.#probing = true
    return true
  }

  success(): void {
    this.failures = 0
    this.#probing = false
    if (this.state !== 'closed') this.#set('closed')
  }

  failure(): void {
    this.#probing = false
    if (this.state === 'half-open' || ++this.failures >= this.threshold) {
      this.#until = Date.now() + this.breakDuration
      this.failures = 0
      this.#set('open')
    }
  }

  /** Whether a write may go to the tier (false inside a write-refusal window but for one probe after it). */
  allowWrite(): boolean {
    if (this.#writesUntil === 0) return true
    if (Date.now() < this.#writesUntil || this.#writeProbing) return false
    this.#writeProbing = true
    return true
  }

  /** A write was refused; true when this opens a new window (report it), false inside one. */
  writeRefused(): boolean {
    this.#writeProbing = false
    this.#writesUntil = Date.now() + this.breakDuration
    return this.#reportedWindow()
  }

  writeAccepted(): void {
    this.#writeProbing = false
    this.#writesUntil = 0
    this.#lastReport = 0
  }

  #lastReport = 0
  #reportedWindow(): boolean {
    const now = Date.now()
    if (now - this.#lastReport < this.breakDuration) return false
    this.#lastReport = now
    return true
  }

  #set(state: BreakerState): void {
    this.state = state
    this.onChange(state)
  }
}

/**
 * The tiers below L1. Reads go top-down and stop at the first usable entry; writes go to every tier.
 * Every remote call has a deadline; a failure or timeout is a miss for reads and `false` for writes.
 * Each remote tier has a circuit breaker: after `threshold` consecutive failures it is skipped for
 * `breakDuration`, then one probe decides.
 */
export class Lower {
  readonly #tiers: readonly Tier[]
  readonly #o: LowerOptions
  /** One per tier (undefined for local tiers or without breaker). */
  readonly #breakers: (Breaker | undefined)[]
  /** Unacknowledged invalidations of each remote tier (created on first use). */
  readonly #retry: (RetryQueue | undefined)[]
  readonly #retryLimit: number
  #closed = false

  constructor(tiers: readonly Tier[], options: LowerOptions) {
    this.#tiers = tiers
    this.#o = options
    this.#retry = tiers.map(() => undefined)
    const limit = options.retryQueueSize ?? RETRY_QUEUE_SIZE
    if (!Number.isInteger(limit) || limit < 0) {
      throw new TypeError(`Expected \`retryQueueSize\` to be an integer >= 0, got ${String(limit)}`)
    }
    this.#retryLimit = limit
    const b = options.breaker === undefined ? { threshold: 5, breakDuration: 2000 } : options.breaker
    this.#breakers = tiers.map((t) =>
      t.kind === 'remote' && b !== false
        ? new Breaker(b.threshold, b.breakDuration, (state) => options.onBreaker?.(t.name, state))
        : undefined,
    )
  }

  /** The breaker state of each tier handled here (`undefined` for local tiers). */
  breakerStates(): (BreakerState | undefined)[] {
    return this.#breakers.map((b) => b?.state)
  }

  /**
   * Invalidations waiting for each tier handled here (keys to delete, plus 1 for a pending `clear()`);
   * 0 for local tiers.
   */
  retryQueueSizes(): number[] {
    return this.#retry.map((q) => q?.size ?? 0)
  }

  /** The first entry found top-down, with the index of its tier in the cache's tier list. */
  async get(key: string): Promise<{ entry: Entry; tier: number } | undefined> {
    for (let i = 0; i < this.#tiers.length; i++) {
      const entry = await this.#getFrom(i, key)
      if (entry !== undefined) return { entry, tier: i + this.#o.offset }
    }
    return undefined
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
    // Serialize once for all remote tiers.
    const jobs: Promise<boolean>[] = []
    for (let i = 0; i < tiers.length; i++) {
      if (tiers[i]!.kind === 'remote' && payload === undefined) payload = this.#encode(tiers[i]!, key, entry)
      jobs.push(this.#setTo(i, key, entry, payload))
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
            this.#idle(q)
          }
          return true
        }
        if (t.kind === 'remote' && !this.#closed) {
          const q = this.#queue(i)
          q.keys.clear()
          q.clear = true
          this.#arm(i, q)
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
      if (q === undefined) continue
      q.keys.clear()
      q.clear = false
      clearTimeout(q.timer)
      q.timer = undefined
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

  #queue(i: number): RetryQueue {
    let q = this.#retry[i]
    if (q === undefined) this.#retry[i] = q = new RetryQueue()
    return q
  }

  /** Queues the delete of `key` on tier `i` (bounded: the oldest key is dropped and reported). */
  #enqueue(i: number, key: string): void {
    if (this.#closed) return
    const q = this.#queue(i)
    if (q.clear) return // the pending clear() removes it anyway
    q.keys.delete(key)
    q.keys.set(key, ++q.seq)
    if (q.keys.size > this.#retryLimit) {
      let oldest: string | undefined
      for (const k of q.keys.keys()) {
        oldest = k
        break
      }
      if (oldest !== undefined) q.keys.delete(oldest)
      q.dropped++
      const now = Date.now()
      // Reported at most once a second, with the count dropped since the last report.
      if (now - q.lastDropReport >= 1000) {
        const t = this.#tiers[i]!
        const n = q.dropped
        q.dropped = 0
        q.lastDropReport = now
        const err = new Error(
          `retry queue full (${this.#retryLimit} keys): dropped ${n} unacknowledged delete${n === 1 ? '' : 's'}, the oldest of ${JSON.stringify(oldest)}`,
        )
        this.#o.onError(new TierError(t.name, 'retry', err, oldest), oldest)
      }
    }
    this.#arm(i, q)
  }

  /** Makes sure a replay of tier `i`'s queue is attempted later (unref'ed timer; also after any success). */
  #arm(i: number, q: RetryQueue): void {
    if (q.timer !== undefined || q.replaying || this.#closed || q.size === 0) return
    const b = this.#breakers[i]
    const wait = b === undefined ? RETRY_INTERVAL : Math.min(b.breakDuration, RETRY_INTERVAL * 5)
    q.timer = setTimeout(() => {
      q.timer = undefined
      this.#replay(i)
    }, wait)
    q.timer.unref()
  }

  /**
   * Replays tier `i`'s queue soon after a successful call. Deferred, so that the caller of that call (a
   * `set` of a queued key removes it from the queue) runs first: a replay never deletes a newer value.
   */
  #kick(i: number, q: RetryQueue): void {
    if (q.replaying || q.kicked) return
    q.kicked = true
    setImmediate(() => {
      q.kicked = false
      this.#replay(i)
    })
  }

  #idle(q: RetryQueue): void {
    if (q.size === 0 && q.timer !== undefined) {
      clearTimeout(q.timer)
      q.timer = undefined
    }
  }

  /**
   * Sends tier `i`'s queued invalidations, in batches, through the same deadline and breaker as any call
   * (the first batch is the breaker's probe when it is half-open). Stops at the first failure and tries
   * again later. Never throws.
   */
  #replay(i: number): void {
    const q = this.#retry[i]
    if (q === undefined || q.replaying || this.#closed || q.size === 0) return
    q.replaying = true
    const t = this.#tiers[i]! as RemoteTier
    const run = async (): Promise<void> => {
      while (!this.#closed && q.size !== 0) {
        if (q.clear) {
          const r = await this.#guard(i, 'clear', undefined, this.#o.writeTimeout * 10, () => t.clear(), true)
          if (r === FAILED) return
          q.clear = false
          q.keys.clear()
          continue
        }
        const batch: Array<[string, number]> = []
        for (const entry of q.keys) {
          batch.push(entry)
          if (batch.length === RETRY_BATCH) break
        }
        const keys = batch.map(([k]) => k)
        const r = await this.#guard(
          i,
          'delete',
          keys.length === 1 ? keys[0] : undefined,
          this.#o.writeTimeout,
          () =>
            t.deleteMany !== undefined && keys.length > 1
              ? t.deleteMany(keys)
              : Promise.all(keys.map((k) => t.delete(k))).then(() => undefined),
          true,
        )
        if (r === FAILED) return
        // Keys deleted again meanwhile stay queued: their latest delete was not the one replayed.
        for (const [k, n] of batch) if (q.keys.get(k) === n) q.keys.delete(k)
      }
    }
    run()
      .catch(() => {})
      .finally(() => {
        q.replaying = false
        if (q.size === 0) this.#idle(q)
        else this.#arm(i, q)
      })
  }

  async #getFrom(i: number, key: string): Promise<Entry | undefined> {
    const t = this.#tiers[i]!
    if (t.kind === 'local') return t.get(key)
    // A key whose delete this tier has not acknowledged is not read from it.
    const q = this.#retry[i]
    if (q !== undefined && (q.clear || (q.keys.size !== 0 && q.keys.has(key)))) {
      this.#arm(i, q)
      return undefined
    }
    const data = await this.#guard(i, 'get', key, this.#o.readTimeout, () => t.get(key))
    if (data === FAILED || data === TOO_LARGE || data === undefined) return undefined
    try {
      return decodeEntry(this.#o.codec.deserialize(data))
    } catch (err) {
      this.#o.onError(new TierError(t.name, 'decode', err, key), key)
      // A corrupt, foreign or old-format entry is a miss; remove it so it is rewritten.
      this.#guard(i, 'delete', key, this.#o.writeTimeout, () => t.delete(key)).catch(() => {})
      return undefined
    }
  }

  #encode(t: Tier, key: string, entry: Entry): Payload | typeof FAILED {
    try {
      return this.#o.codec.serialize([ENTRY_VERSION, entry])
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
    const b = this.#breakers[i]
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
   * Runs a tier call with a deadline and the tier's breaker; failures are reported and become `FAILED`.
   * A call skipped by an open breaker is `FAILED` without a report (the opening was reported).
   * One promise and one timer per call: this is on the path of every remote read.
   */
  #guard<R>(
    i: number,
    op: string,
    key: string | undefined,
    ms: number,
    call: () => R | Promise<R>,
    replay = false,
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
    const b = this.#breakers[i]
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
          if (q !== undefined && q.size !== 0) this.#kick(i, q)
          return r
        },
        (err: unknown) => this.#failed(i, b, op, key, err),
      )
    }
    const q = replay ? undefined : this.#retry[i]
    return new Promise((resolve) => {
      let settled = false
      const timer = setTimeout(() => {
        if (settled) return
        settled = true
        const err = new TimeoutError(`${t.name} ${op} took over ${ms} ms`, ms, { code: 'E_TIER_TIMEOUT' })
        resolve(this.#failed(i, b, op, key, err))
      }, ms)
      p.then(
        (r) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          b?.success()
          // The tier answers again: send what it missed.
          if (q !== undefined && q.size !== 0) this.#kick(i, q)
          resolve(r)
        },
        (err: unknown) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          resolve(this.#failed(i, b, op, key, err))
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

/**
 * A tier marks an error `nodeFailure: true` when one node of several failed (its keys miss, the others
 * work): reported, but not counted by the tier's breaker.
 */
export function isNodeFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { nodeFailure?: unknown }).nodeFailure === true
}

/** Errors of a reachable server that refuses writes: Redis OOM / READONLY, memcached out of memory. */
export function isWriteRefusal(err: unknown): boolean {
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : ''
  return /^(OOM|READONLY)\b|out of memory|SERVER_ERROR out of memory/i.test(message)
}

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
