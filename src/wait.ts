import { collecting, noteTags } from './context.js'
import type { Core } from './core.js'
import type { Entry } from './entry.js'
import { CacheClosedError, LoaderTimeoutError } from './errors.js'
import type { Flight } from './flight.js'
import type { Resolved } from './options.js'

/*
 * One caller waiting for a flight it did not settle at once: within its stale windows, a soft timeout or a
 * failure serves the stale value, and a hard timeout rejects with `LoaderTimeoutError` (or serves stale).
 */

const NONE = Number.POSITIVE_INFINITY

/**
 * Waits for a flight as one caller. With a stale entry inside its windows, a soft timeout or a failure
 * returns the stale value; a hard timeout rejects with `LoaderTimeoutError` (or serves stale).
 */
export async function awaitFlight<T>(
  core: Core,
  flight: Flight,
  key: string,
  stale: Entry | undefined,
  o: Resolved,
): Promise<T> {
  let s = stale
  if (s === undefined && flight.lowerRead !== undefined) {
    s = await flight.lowerRead
    const now = Date.now()
    if (s !== undefined && now >= s.f && now < s.w) return core.serveStale<T>(s, key, 'revalidate')
  }
  const soft = s !== undefined && o.soft !== NONE && Date.now() < s.s
  if (!soft && o.hard === NONE) {
    try {
      const v = (await flight.done) as T
      if (collecting && flight.resultTags !== undefined) noteTags(flight.resultTags)
      return own(core, v)
    } catch (err) {
      return fallback<T>(core, err, s, key, flight)
    }
  }
  return new Promise<T>((resolve, reject) => {
    let softTimer: NodeJS.Timeout | undefined
    let hardTimer: NodeJS.Timeout | undefined
    let settled = false
    const finish = (): boolean => {
      if (settled) return false
      settled = true
      clearTimeout(softTimer)
      clearTimeout(hardTimer)
      core.timed.delete(onClose)
      return true
    }
    const onClose = (): void => {
      if (finish()) reject(new CacheClosedError())
    }
    core.timed.add(onClose)
    if (soft) {
      softTimer = setTimeout(() => {
        if (finish()) resolve(core.serveStale<T>(s!, key, 'timeout'))
      }, o.soft)
    }
    if (o.hard !== NONE) {
      hardTimer = setTimeout(() => {
        if (!finish()) return
        const err = new LoaderTimeoutError(key, o.hard)
        core.counters.loadErrors++
        flight.abort(err)
        // A later call starts a new load; this one may still finish and fill the cache.
        if (core.inflight.get(flight.k) === flight) {
          core.inflight.delete(flight.k)
          core.orphans.add(flight)
        }
        fallback<T>(core, err, s, key, flight).then(resolve, reject)
      }, o.hard)
    }
    flight.done.then(
      (v) => {
        if (!finish()) return
        if (collecting && flight.resultTags !== undefined) noteTags(flight.resultTags)
        resolve(own(core, v as T))
      },
      (err: unknown) => {
        if (finish()) fallback<T>(core, err, s, key, flight).then(resolve, reject)
      },
    )
  })
}

/** With `clone`, each caller of a shared load gets its own copy (the flight's value is shared). */
function own<T>(core: Core, v: T): T {
  return core.clone && v !== null && typeof v === 'object' ? structuredClone(v) : v
}

function fallback<T>(
  core: Core,
  err: unknown,
  s: Entry | undefined,
  key: string,
  flight: Flight,
): Promise<T> {
  const now = Date.now()
  if (s !== undefined && s.x === undefined && now < s.s) {
    core.backoff.enter(flight.k, now)
    core.report(err, 'load', key)
    return core.serveStale<T>(s, key, 'error')
  }
  return Promise.reject(err)
}
