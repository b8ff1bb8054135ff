import { now as clock } from './clock.js'
import { collecting, noteTags } from './context.js'
import type { Core, Loader } from './core.js'
import type { Entry } from './entry.js'
import { LoaderError } from './errors.js'
import { channels } from './events.js'
import type { Flight, LoaderContext } from './flight.js'
import type { Resolved } from './options.js'
import { entryTags, type Scope } from './scope.js'

/*
 * Running a loader for a flight and storing what it returns: the second half of the miss path
 * (`Core.miss` decides who loads; this runs the load). Functions of the core rather than methods, so
 * the engine reads in two files of one concept each.
 */

const NONE = Number.POSITIVE_INFINITY
const noop = (): void => {}

/**
 * Calls the loader synchronously. A plain value (or a synchronous throw) settles the flight at once,
 * without promises; a promise is awaited as usual. Either way the flight leaves the map when settled.
 */
export function invoke<T>(
  core: Core,
  flight: Flight,
  loader: Loader<T>,
  o: Resolved,
  scope: Scope,
  stale: Entry | undefined,
): void {
  const k = flight.k
  if (channels.load.hasSubscribers) {
    core.inflight.set(k, flight)
    const run = async (): Promise<T> => {
      try {
        return await load(core, flight, loader, o, scope, stale)
      } finally {
        if (core.inflight.get(k) === flight) core.inflight.delete(k)
      }
    }
    flight.done = run()
    flight.done.catch(noop)
    return
  }
  const ctx = flight.replacing(stale)
  const t0 = clock()
  core.counters.loads++
  let result: T | PromiseLike<T>
  // While the loader runs synchronously, `cancel` finds this flight here instead of in the map.
  core.syncFlights.push(flight)
  try {
    result = loader(ctx as LoaderContext<T>)
  } catch (cause) {
    core.syncFlights.pop()
    flight.done = Promise.reject(failed(core, flight, cause, o, scope))
    flight.done.catch(noop)
    return
  }
  core.syncFlights.pop()
  if (!isThenable(result)) {
    complete(core, flight, result, t0, o, scope)
    // Nobody can wait on a flight that settled synchronously, so it gets no promise.
    flight.settled = true
    flight.value = result
    return
  }
  core.inflight.set(k, flight)
  flight.done = Promise.resolve(result).then(
    (value) => {
      if (core.inflight.get(k) === flight) core.inflight.delete(k)
      complete(core, flight, value, t0, o, scope)
      return value
    },
    (cause: unknown) => {
      if (core.inflight.get(k) === flight) core.inflight.delete(k)
      throw failed(core, flight, cause, o, scope)
    },
  )
  flight.done.catch(noop)
}

export async function load<T>(
  core: Core,
  flight: Flight,
  loader: Loader<T>,
  o: Resolved,
  scope: Scope,
  stale: Entry | undefined,
): Promise<T> {
  const key = flight.key
  const ctx = flight.replacing(stale)
  const t0 = clock()
  core.counters.loads++
  let value: T
  try {
    value = channels.load.hasSubscribers
      ? await channels.load.tracePromise(async () => loader(ctx as LoaderContext<T>), { key })
      : await loader(ctx as LoaderContext<T>)
  } catch (cause) {
    throw failed(core, flight, cause, o, scope)
  }
  complete(core, flight, value, t0, o, scope)
  return value
}

/** A load failed: counts it, stores a negative entry when configured, returns the error for callers. */
export function failed(core: Core, flight: Flight, cause: unknown, o: Resolved, scope: Scope): LoaderError {
  core.counters.loadErrors++
  const err = new LoaderError(flight.key, cause)
  if (o.negativeTtl > 0 && o.isNegative !== undefined && safePredicate(o.isNegative, cause)) {
    const now = Date.now()
    const tags = entryTags(scope, flight.tags ?? o.tags)
    const e: Entry = { v: err, c: flight.start, f: now + o.negativeTtl, w: 0, s: 0, d: 0, g: tags, x: 1 }
    e.w = e.s = e.f
    storeLoaded(core, flight, flight.k, e, true)
  }
  return err
}

/** A load succeeded: stores its value (unless ttl 0, `undefined`, skipped, or invalidated meanwhile). */
export function complete<T>(
  core: Core,
  flight: Flight,
  value: T,
  t0: number,
  o: Resolved,
  scope: Scope,
): void {
  const k = flight.k
  const duration = clock() - t0
  const ttl = flight.ttl ?? o.ttl
  const tags = entryTags(scope, flight.tags ?? o.tags)
  flight.resultTags = tags
  if (collecting && tags !== undefined) noteTags(tags)
  let stored = false
  if (value !== undefined && !flight.skipped && ttl > 0) {
    const e = newEntry(core, value, flight.start, clock(), ttl, duration, tags, o)
    stored = storeLoaded(core, flight, k, e, o.localOnly)
  }
  core.backoff.delete(k)
  if (core.events.wantsLoad())
    core.events.emit('load', { key: flight.key, duration, stored, background: flight.background })
}

/**
 * The entry of a value stored at `now` (a load's result or `cache.set`): fresh for `ttl` ms, give or take
 * the `jitter` fraction, then within the stale windows of `o`; a copy of the value with `clone`.
 */
export function newEntry(
  core: Core,
  value: unknown,
  created: number,
  now: number,
  ttl: number,
  duration: number,
  tags: string[] | undefined,
  o: Resolved,
): Entry {
  const fresh = ttl === NONE || o.jitter === 0 ? ttl : ttl * (1 + o.jitter * (2 * Math.random() - 1))
  const f = now + fresh
  return {
    v: core.clone ? structuredClone(value) : value,
    c: created,
    f,
    w: f + o.swr,
    s: f + Math.max(o.swr, o.sie),
    d: duration,
    g: tags,
  }
}

/**
 * Stores a load's result unless an invalidation landed since the load started (no stale set), or a newer
 * load already stored its value (a load given up on by its callers may finish after the next one).
 */
export function storeLoaded(core: Core, flight: Flight, k: string, e: Entry, localOnly: boolean): boolean {
  if (
    core.closed ||
    flight.cancelled ||
    flight.start <= core.clearedAt ||
    core.tags.invalidatedSince(e.g, flight.start) ||
    (flight.orphaned && (core.l1?.get(k)?.c ?? Number.NEGATIVE_INFINITY) > flight.start)
  ) {
    core.counters.staleSetsPrevented++
    return false
  }
  core.store(k, e, localOnly)
  return true
}

function isThenable<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as PromiseLike<T>).then === 'function'
  )
}

function safePredicate(fn: (e: unknown) => boolean, err: unknown): boolean {
  try {
    return fn(err) === true
  } catch {
    return false
  }
}
