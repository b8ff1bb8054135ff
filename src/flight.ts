import { type Duration, toMs } from './duration.js'
import type { Entry } from './entry.js'
import { checkTags } from './options.js'

/**
 * One load in progress for one key, and the context its loader receives (one object for both). Every
 * caller of that key while it runs shares `done`: the lower-tier read, the loader and the writes happen
 * once. It is removed from the in-flight map when it settles.
 */
export class Flight implements LoaderContext<unknown> {
  /** The internal (scoped) key. */
  readonly k: string
  /** The key as the caller gave it (what the loader sees). */
  readonly key: string
  /** When the load started (epoch ms). Invalidations at or after it win over its result. */
  readonly start: number
  /** Set by `delete`/`set` of the key while the load runs: the result is returned but not stored. */
  cancelled = false
  readonly background: boolean
  /** The lower-tier read, when there are lower tiers: resolves with a usable entry (fresh or stale) or undefined. */
  lowerRead: Promise<Entry | undefined> | undefined = undefined
  /** Settles with the value for callers; rejects with a `LoaderError` (or a negative entry's error). */
  done!: Promise<unknown>
  /** Set when every caller gave up on it (hardTimeout): a newer load may have stored meanwhile. */
  orphaned = false
  /** Set when the loader returned a plain value synchronously: `value` holds it, `done` is resolved. */
  settled = false
  value: unknown = undefined
  /** The scoped tags of the result, for callers collecting request tags. */
  resultTags: string[] | undefined = undefined
  /** Loader overrides: `setTtl`, `setTags`, `skipCache`. */
  ttl: number | undefined = undefined
  tags: readonly string[] | undefined = undefined
  skipped = false
  stale: unknown = undefined
  hasStale = false
  #controller: AbortController | undefined = undefined
  #abortReason: unknown = undefined

  constructor(k: string, key: string, start: number, background: boolean) {
    this.k = k
    this.key = key
    this.start = start
    this.background = background
  }

  /** Hands the stale entry being replaced to the loader. */
  replacing(stale: Entry | undefined): this {
    if (stale !== undefined && stale.x === undefined) {
      this.hasStale = true
      this.stale = stale.v
    }
    return this
  }

  /** The loader's signal, created on first use so loaders that ignore it cost nothing. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason)
    }
    return this.#controller.signal
  }

  abort(reason: unknown): void {
    if (this.#abortReason !== undefined) return
    this.#abortReason = reason
    this.#controller?.abort(reason)
  }

  setTtl(ttl: Duration): void {
    this.ttl = toMs(ttl, 'ttl')
  }

  setTags(tags: readonly string[]): void {
    checkTags(tags, 'tags')
    this.tags = [...tags]
  }

  skipCache(): void {
    this.skipped = true
  }
}

/** What a loader receives. */
export interface LoaderContext<T = unknown> {
  /** The key being loaded (as the caller gave it, without namespace). */
  readonly key: string
  /** Aborted when callers give up (`hardTimeout`) or the cache closes. */
  readonly signal: AbortSignal
  /** The stale value being replaced, if any (e.g. to revalidate with an ETag). */
  readonly stale: T | undefined
  /** Whether `stale` holds a value (it may legitimately be `null`). */
  readonly hasStale: boolean
  /** Overrides this entry's `ttl`. */
  setTtl(ttl: Duration): void
  /** Replaces this entry's tags. */
  setTags(tags: readonly string[]): void
  /** Returns the value to callers without storing it. */
  skipCache(): void
}
