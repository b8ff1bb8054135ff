/** Counters returned by `cache.stats()`. */
export interface CacheStats {
  /** Fresh hits, all tiers. */
  hits: number
  /** Fresh hits per tier name. */
  hitsByTier: Record<string, number>
  /** Lookups that found no usable value. */
  misses: number
  /** Stale values served (stale-while-revalidate, stale-if-error, soft timeout, backoff). */
  staleHits: number
  /** Callers that joined a load already in flight instead of starting one. */
  coalesced: number
  /** Loader runs (foreground and background). */
  loads: number
  /** Loader runs that failed or timed out. */
  loadErrors: number
  /** Background refreshes started. */
  refreshes: number
  /** Tier operations that failed or timed out. */
  tierErrors: number
  /** Entries the memory tier dropped to stay within bounds. */
  evictions: number
  /** Loads whose result was not stored because an invalidation landed while they ran. */
  staleSetsPrevented: number
  /** Loads in flight now. */
  inFlight: number
}

export class Counters {
  hits = 0
  misses = 0
  staleHits = 0
  coalesced = 0
  loads = 0
  loadErrors = 0
  refreshes = 0
  tierErrors = 0
  evictions = 0
  staleSetsPrevented = 0
  readonly byTier: number[]
  constructor(tiers: number) {
    this.byTier = new Array<number>(tiers).fill(0)
  }

  /** The public view: hits per tier name (tiers of one name add up), plus the loads in flight now. */
  snapshot(tierNames: readonly string[], inFlight: number): CacheStats {
    const hitsByTier: Record<string, number> = {}
    tierNames.forEach((n, i) => {
      hitsByTier[n] = (hitsByTier[n] ?? 0) + this.byTier[i]!
    })
    return {
      hits: this.hits,
      hitsByTier,
      misses: this.misses,
      staleHits: this.staleHits,
      coalesced: this.coalesced,
      loads: this.loads,
      loadErrors: this.loadErrors,
      refreshes: this.refreshes,
      tierErrors: this.tierErrors,
      evictions: this.evictions,
      staleSetsPrevented: this.staleSetsPrevented,
      inFlight,
    }
  }
}
