import { type Duration, optionalMs, toMs } from './duration.js'
import type { TierStackOptions } from './stack.js'
import type { Tier } from './tiers/types.js'

/** Freshness and loading options: set on the cache as defaults, overridden per call. */
export interface EntryOptions {
  /**
   * How long a value is fresh. A number is seconds; strings take a unit (`'500ms'`, `'5m'`).
   * `0` coalesces concurrent loads but stores nothing; `Infinity` never expires.
   * @default 60
   */
  ttl?: Duration
  /**
   * After `ttl`, how long a stale value is still served at once while one background refresh runs.
   * @default 0
   */
  staleWhileRevalidate?: Duration
  /**
   * After `ttl`, how long a stale value is served when the loader fails (or passes `softTimeout`).
   * @default 0
   */
  staleIfError?: Duration
  /**
   * When a stale value (within `staleIfError`) exists and the loader takes longer than this, the stale
   * value is returned and the load goes on in the background to refresh the cache.
   * @default undefined (wait for the loader)
   */
  softTimeout?: Duration
  /**
   * Callers give up on the loader after this long with a `LoaderTimeoutError`; the load goes on and may
   * still fill the cache. The loader's `signal` is aborted.
   * @default undefined (no limit)
   */
  hardTimeout?: Duration
  /**
   * Spread expiries: each fresh TTL is scaled by a random factor in `[1 - jitter, 1 + jitter]` so keys
   * written together do not expire together. `0` turns it off.
   * @default 0.1
   */
  jitter?: number
  /**
   * Probabilistic early refresh (XFetch, Vattani et al., VLDB 2015): a hit near expiry starts a background
   * refresh with a probability that grows as expiry nears and with the loader's measured duration.
   * `true` uses beta 1, a number sets beta (higher refreshes earlier), `false` turns it off.
   * @default true
   */
  earlyRefresh?: boolean | number
  /** Tags of the entry, for `invalidateTags`. */
  tags?: readonly string[]
  /**
   * Cache loader errors for which `isNegative(error)` is true, for this long. Other errors are never cached.
   * @default undefined (errors are never cached)
   */
  negativeTtl?: Duration
  /** Which loader errors `negativeTtl` applies to. @default () => false */
  isNegative?: (error: unknown) => boolean
  /**
   * Keep this entry in the in-process tier only: it is neither written to nor read from shared tiers
   * (for per-user data that must not leave the process).
   * @default false
   */
  localOnly?: boolean
}

/** Options of `createCache`. Every {@link EntryOptions} field sets the default for all calls. */
export interface CacheOptions extends EntryOptions, TierStackOptions {
  /**
   * The tiers, fastest first. The first tier is usually a `memoryTier()` (L1).
   * @default [memoryTier()]
   */
  tiers?: readonly Tier[]
  /**
   * Return a structured clone of the value from memory hits (and store a clone), so that callers who
   * mutate results do not change the cached value. Off by default: a hit returns the stored object.
   * @default false
   */
  clone?: boolean
  /**
   * How many background refreshes (stale-while-revalidate, early refresh, soft-timeout loads) run at once
   * across the cache. More wait their turn.
   * @default 10
   */
  refreshConcurrency?: number
  /**
   * After a load fails and a stale value was served instead, wait this long before trying the loader again
   * for that key (stale values keep being served meanwhile).
   * @default '5s'
   */
  graceBackoff?: Duration
  /**
   * Reject calls when a tier fails instead of treating the failure as a miss or skipping the write.
   * @default false
   */
  throwOnTierError?: boolean
}

/** Options resolved to milliseconds. */
export interface Resolved {
  ttl: number
  swr: number
  sie: number
  soft: number
  hard: number
  jitter: number
  beta: number
  tags: readonly string[] | undefined
  negativeTtl: number
  isNegative: ((error: unknown) => boolean) | undefined
  localOnly: boolean
}

const NONE = Number.POSITIVE_INFINITY

export function resolveEntryOptions(o: EntryOptions | undefined, base: Resolved): Resolved {
  if (o === undefined) return base
  if (o === null || typeof o !== 'object')
    throw new TypeError(`Expected options to be an object, got ${String(o)}`)
  const jitter = o.jitter === undefined ? base.jitter : checkJitter(o.jitter)
  const beta = o.earlyRefresh === undefined ? base.beta : checkEarly(o.earlyRefresh)
  if (o.tags !== undefined) checkTags(o.tags, 'tags')
  if (o.isNegative !== undefined && typeof o.isNegative !== 'function') {
    throw new TypeError(`Expected \`isNegative\` to be a function, got ${typeof o.isNegative}`)
  }
  return {
    ttl: optionalMs(o.ttl, 'ttl', base.ttl),
    swr: optionalMs(o.staleWhileRevalidate, 'staleWhileRevalidate', base.swr),
    sie: optionalMs(o.staleIfError, 'staleIfError', base.sie),
    soft: o.softTimeout === undefined ? base.soft : positive(o.softTimeout, 'softTimeout'),
    hard: o.hardTimeout === undefined ? base.hard : positive(o.hardTimeout, 'hardTimeout'),
    jitter,
    beta,
    tags: o.tags === undefined ? base.tags : o.tags,
    negativeTtl: optionalMs(o.negativeTtl, 'negativeTtl', base.negativeTtl),
    isNegative: o.isNegative ?? base.isNegative,
    localOnly: o.localOnly === undefined ? base.localOnly : o.localOnly === true,
  }
}

export const ROOT_DEFAULTS: Resolved = {
  ttl: 60_000,
  swr: 0,
  sie: 0,
  soft: NONE,
  hard: NONE,
  jitter: 0.1,
  beta: 1,
  tags: undefined,
  negativeTtl: 0,
  isNegative: undefined,
  localOnly: false,
}

function positive(value: unknown, option: string): number {
  const ms = toMs(value, option)
  if (ms === 0) throw new TypeError(`Expected \`${option}\` to be greater than 0, got 0`)
  return ms
}

function checkJitter(value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new TypeError(`Expected \`jitter\` to be a number from 0 (off) to below 1, got ${String(value)}`)
  }
  return value
}

function checkEarly(value: unknown): number {
  if (value === true) return 1
  if (value === false) return 0
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
  throw new TypeError(
    `Expected \`earlyRefresh\` to be a boolean or a non-negative number (beta), got ${String(value)}`,
  )
}

export function checkTags(tags: unknown, option: string): asserts tags is readonly string[] {
  if (!Array.isArray(tags))
    throw new TypeError(`Expected \`${option}\` to be an array of strings, got ${typeof tags}`)
  for (const t of tags) {
    if (typeof t !== 'string' || t.length === 0) {
      throw new TypeError(
        `Expected \`${option}\` to hold non-empty strings, got ${JSON.stringify(t) ?? String(t)}`,
      )
    }
  }
}

export function checkPositiveInt(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`Expected \`${option}\` to be a positive integer, got ${String(value)}`)
  }
  return value
}

/** Options of `cache.set`. */
export interface SetOptions
  extends Pick<
    EntryOptions,
    'ttl' | 'staleWhileRevalidate' | 'staleIfError' | 'jitter' | 'tags' | 'localOnly'
  > {
  /**
   * When the value's source was read (epoch ms, e.g. `Date.now()` taken before the read). The write is
   * skipped, resolving `false`, if the cache was cleared, one of the entry's tags was invalidated, or a
   * newer value of the key was stored at or after that time: a slow producer never writes back stale data.
   * @default undefined (always write)
   */
  since?: number
}
