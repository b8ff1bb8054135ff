import { collecting, noteTags } from './context.js'
import type { Core } from './core.js'

/*
 * `cache.get` and `cache.has`: reads that never load. L1 first, then the tiers below, whose hit backfills
 * the tiers above (unless a delete or set of the key happened during the read).
 */

/** The fresh value of internal key `k` (`key` as the caller gave it), or `undefined`. */
export async function readFresh<T>(core: Core, k: string, key: string): Promise<T | undefined> {
  const now = Date.now()
  const e = core.peek(k, now)
  if (e !== undefined && now < e.f) {
    if (e.x !== undefined) return undefined
    core.counters.hits++
    core.counters.byTier[0]!++
    if (collecting && e.g !== undefined) noteTags(e.g)
    if (core.events.wantsHit()) core.events.emit('hit', { key, tier: core.tierNames[0]! })
    return (core.clone ? structuredClone(e.v) : e.v) as T
  }
  if (core.lower !== undefined) {
    const cancels = core.cancels
    const found = await core.lower.get(k)
    if (found !== undefined) {
      const f = found.entry
      const t = Date.now()
      if (t < f.f && core.usable(f) && f.x === undefined) {
        core.counters.hits++
        core.counters.byTier[found.tier]!++
        if (collecting && f.g !== undefined) noteTags(f.g)
        if (core.events.wantsHit()) core.events.emit('hit', { key, tier: core.tierNames[found.tier]! })
        if (cancels === core.cancels) {
          core.l1?.set(k, f, f.s - t)
          if (found.tier > (core.l1 === undefined ? 0 : 1))
            core.lower.backfill(k, f, found.tier).catch(() => {})
        }
        return (core.clone ? structuredClone(f.v) : f.v) as T
      }
    }
  }
  core.counters.misses++
  if (core.events.wantsMiss()) core.events.emit('miss', { key })
  return undefined
}

/** Whether internal key `k` has a fresh value in some tier. */
export async function hasFresh(core: Core, k: string): Promise<boolean> {
  const now = Date.now()
  const e = core.peek(k, now)
  if (e !== undefined && now < e.f && e.x === undefined) return true
  if (core.lower === undefined) return false
  const found = await core.lower.get(k)
  return (
    found !== undefined &&
    Date.now() < found.entry.f &&
    found.entry.x === undefined &&
    core.usable(found.entry)
  )
}
