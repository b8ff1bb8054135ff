import { type Duration, optionalMs } from './duration.js'
import { RETRY_QUEUE_SIZE } from './retry-queue.js'
import type { Serializer } from './serializer/types.js'
import { defaultSerializer } from './serializer.js'
import type { Payload } from './tiers/types.js'

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
   * Most keys kept in each remote tier's retry queue: the deletes that tier did not acknowledge (error, missed
   * `writeTimeout`, or skipped by an open breaker), replayed when it answers again; while a key is queued it is
   * not read from that tier. Beyond the bound the oldest key is dropped (its old value can be read from that
   * tier again until its TTL) and reported as an `error` event with `operation: 'tier:retry'`, at most once a
   * second. A failed `clear()` is kept as one pending clear that replaces the queued deletes.
   * `0` turns the queue off: an unacknowledged delete or `clear()` is reported and returned as `false` (or
   * rejected under `throwOnTierError`), and nothing is replayed or kept.
   * @default 10000
   */
  retryQueueSize?: number
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
  retryQueueSize: number
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
  const retryQueueSize = checkRetryQueueSize(o.retryQueueSize)
  return { codec: serializer, readTimeout, writeTimeout, breaker, retryQueueSize }
}

/** `retryQueueSize` validated: an integer >= 0 (`Infinity` is refused: the queue is always bounded). */
export function checkRetryQueueSize(value: unknown): number {
  if (value === undefined) return RETRY_QUEUE_SIZE
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(
      `Expected \`retryQueueSize\` to be an integer >= 0 (0 turns the retry queue off), got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
    )
  }
  return value
}
