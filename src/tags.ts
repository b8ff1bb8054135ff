import type { Entry } from './entry.js'

/**
 * Tag invalidation in O(number of tags): each invalidated tag records when it was invalidated, and an
 * entry is valid only if it was loaded after every one of its tags' invalidations. No key is scanned.
 *
 * The record of a tag can be dropped once no entry this process wrote that is older than it can still exist
 * (`maxLifetime`); `floor` then rises to its time, because lower tiers may hold older entries written by
 * others with longer lifetimes. If more than `maxRecords` tags are recorded, the oldest are dropped and
 * `floor` rises the same way: any tagged entry loaded at or before the floor counts as invalid (conservative).
 */
export class TagRegistry {
  readonly #times = new Map<string, number>()
  #floor = Number.NEGATIVE_INFINITY
  /** Longest stale-until lifetime of any entry written so far, in ms. */
  maxLifetime = 0
  readonly #maxRecords: number

  constructor(maxRecords = 100_000) {
    this.#maxRecords = maxRecords
  }

  get size(): number {
    return this.#times.size
  }

  /** True when the entry's tags were all invalidated before its load started. */
  isValid(entry: Entry): boolean {
    const tags = entry.g
    if (tags === undefined) return true
    if (entry.c <= this.#floor) return false
    if (this.#times.size === 0) return true
    for (let i = 0; i < tags.length; i++) {
      const t = this.#times.get(tags[i]!)
      if (t !== undefined && t >= entry.c) return false
    }
    return true
  }

  /** True when any of `tags` was invalidated at or after `since` (a load start time). */
  invalidatedSince(tags: readonly string[] | undefined, since: number): boolean {
    if (tags === undefined) return false
    if (since <= this.#floor) return true
    for (const tag of tags) {
      const t = this.#times.get(tag)
      if (t !== undefined && t >= since) return true
    }
    return false
  }

  /** Records an invalidation of `tags` at time `at` (epoch ms). Later times win. */
  invalidate(tags: readonly string[], at: number): void {
    for (const tag of tags) {
      const prev = this.#times.get(tag)
      if (prev !== undefined) this.#times.delete(tag)
      this.#times.set(tag, prev !== undefined && prev > at ? prev : at)
    }
    if (this.#times.size > this.#maxRecords) this.#compact(at)
  }

  /** The recorded invalidation time of a tag, if any. */
  timeOf(tag: string): number | undefined {
    return this.#times.get(tag)
  }

  /**
   * Drops records that no entry written here can predate. The floor rises to the dropped times, so a
   * tagged entry from before them (e.g. still in a lower tier, written by another process) stays invalid.
   */
  prune(now: number): void {
    if (this.maxLifetime === Number.POSITIVE_INFINITY) return
    const horizon = now - this.maxLifetime
    for (const [tag, t] of this.#times) {
      if (t < horizon) {
        this.#times.delete(tag)
        if (t > this.#floor) this.#floor = t
      }
    }
  }

  clear(): void {
    this.#times.clear()
    this.#floor = Number.NEGATIVE_INFINITY
  }

  #compact(now: number): void {
    this.prune(now)
    if (this.#times.size <= this.#maxRecords) return
    // Map iteration is insertion order and invalidate() re-inserts, so the first records are the oldest.
    let drop = this.#times.size - Math.floor(this.#maxRecords / 2)
    for (const [tag, t] of this.#times) {
      if (drop-- <= 0) break
      if (t > this.#floor) this.#floor = t
      this.#times.delete(tag)
    }
  }
}
