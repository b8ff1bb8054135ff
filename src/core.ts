import pLimit, { type LimitFunction } from 'p-limit'
import { now as clock } from './clock.js'
import { collecting, noteTags } from './context.js'
import type { Entry } from './entry.js'
import { CacheClosedError, LoaderError, LoaderTimeoutError } from './errors.js'
import { channels, Emitter } from './events.js'
import { Flight, type LoaderContext } from './flight.js'
import type { Resolved } from './options.js'
import type { Lower } from './stack.js'
import { Counters } from './stats.js'
import { TagRegistry } from './tags.js'
import type { LocalTier } from './tiers/types.js'

/** A loader as the engine calls it. */
export type Loader<T> = (ctx: LoaderContext<T>) => T | Promise<T>

const NONE = Number.POSITIVE_INFINITY
/** Most loads given up by their callers (hardTimeout) tracked for cancellation; older ones are not stored. */
const MAX_ORPHANS = 1000
/** Most keys in back-off after a failed load; beyond it the oldest back-off is dropped (a retry comes sooner). */
const MAX_BACKOFF = 10_000
const noop = (): void => {}

/**
 * The state shared by a cache and all its namespace views: tiers, in-flight loads, tag registry,
 * counters, events. The `Cache` class is the thin public face; the miss path lives here.
 */
export class Core {
  readonly l1: LocalTier | undefined
  readonly lower: Lower | undefined
  readonly tags = new TagRegistry()
  readonly counters: Counters
  readonly events = new Emitter()
  readonly inflight = new Map<string, Flight>()
  readonly limit: LimitFunction
  readonly clone: boolean
  readonly graceBackoff: number
  readonly throwOnTierError: boolean
  readonly tierNames: string[]
  /** Keys whose last load failed while a stale value was served: no new load before this time. */
  readonly backoff = new Map<string, number>()
  closed = false
  clearedAt = Number.NEGATIVE_INFINITY
  /** Counts `delete`/`set` calls: a `get` whose lower-tier read spans one does not backfill L1. */
  cancels = 0
  readonly #timer: NodeJS.Timeout
  /** Loads whose callers gave up (hardTimeout) but that still run, one per key, so `delete`/`set` cancel them. */
  readonly #orphans = new Map<string, Flight>()
  /** Callers waiting with soft/hard timers: `close()` settles them so no timer outlives the cache. */
  readonly #timed = new Set<() => void>()
  #lastStamp = Number.NEGATIVE_INFINITY
  /** Loads whose loader is running synchronously right now (nested loaders stack up). */
  readonly #syncFlights: Flight[] = []

  constructor(init: {
    l1: LocalTier | undefined
    lower: Lower | undefined
    tierNames: string[]
    clone: boolean
    refreshConcurrency: number
    graceBackoff: number
    throwOnTierError: boolean
  }) {
    this.l1 = init.l1
    this.lower = init.lower
    this.tierNames = init.tierNames
    this.counters = new Counters(init.tierNames.length)
    this.clone = init.clone
    this.limit = pLimit(init.refreshConcurrency)
    this.graceBackoff = init.graceBackoff
    this.throwOnTierError = init.throwOnTierError
    if (this.l1 !== undefined) {
      const name = this.l1.name
      this.l1.onEvict = (key) => {
        this.counters.evictions++
        if (this.events.hasListener('evict')) this.events.emit('evict', { key, tier: name })
      }
    }
    this.#timer = setInterval(() => this.#maintain(), 30_000)
    this.#timer.unref()
  }

  /**
   * A strictly increasing time (epoch ms, fractional) for load starts, writes and invalidations, so their
   * order is exact within one millisecond and survives the wall clock stepping back. Expiry uses `Date.now()`.
   */
  stamp(): number {
    // The real clock, not the coarse one: a stamp must never sort before a Date.now() taken earlier.
    const now = Date.now()
    this.#lastStamp = now > this.#lastStamp ? now : this.#lastStamp + 0.001
    return this.#lastStamp
  }

  /**
   * Whether an entry read from a lower tier is still valid here: written after the last `clear()` (even if
   * a tier failed to clear) and after every invalidation of its tags.
   */
  usable(e: Entry): boolean {
    return e.c > this.clearedAt && this.tags.isValid(e)
  }

  /** Marks the loads of `k` in flight (and one given up by its callers) so their results are not stored. */
  cancel(k: string): void {
    this.cancels++
    const flight = this.inflight.get(k)
    if (flight !== undefined) flight.cancelled = true
    for (const f of this.#syncFlights) if (f.k === k) f.cancelled = true
    const orphan = this.#orphans.get(k)
    if (orphan !== undefined) {
      orphan.cancelled = true
      this.#orphans.delete(k)
    }
  }

  /** Reports a failure nobody awaits: counted, emitted when someone listens, never thrown. */
  report(error: unknown, operation: string, key?: string): void {
    if (this.events.wants('error')) this.events.emit('error', { error, key, operation })
  }

  /** A usable entry of L1 (fresh or within its stale windows) with valid tags, else undefined. */
  peek(k: string, now: number): Entry | undefined {
    const e = this.l1?.get(k)
    if (e === undefined) return undefined
    if (now >= e.s || !this.tags.isValid(e)) return undefined
    return e
  }

  /**
   * The miss path: `stale` is L1's stale entry, if any. Joins the key's flight or starts one, then waits
   * for it within the soft and hard timeouts, falling back to the stale value where the windows allow.
   */
  miss<T>(
    k: string,
    key: string,
    loader: Loader<T>,
    o: Resolved,
    scope: Scope,
    seen?: Entry | null,
  ): Promise<T> {
    if (this.closed) return Promise.reject(new CacheClosedError())
    const now = clock()
    // `seen`: what the caller just read from L1 (null: nothing), so it is not looked up twice.
    const stale =
      seen === undefined
        ? this.peek(k, now)
        : seen === null || now >= seen.s || !this.tags.isValid(seen)
          ? undefined
          : seen
    if (stale !== undefined && now < stale.f) return this.#serve(stale, key)
    let flight = this.inflight.get(k)
    if (flight === undefined) {
      if (stale !== undefined && (now < stale.w || this.#inBackoff(k, now))) {
        this.refresh(k, key, loader, o, scope, stale)
        return this.serveStale<T>(stale, key, now < stale.w ? 'revalidate' : 'backoff')
      }
      this.counters.misses++
      if (this.events.wantsMiss()) this.events.emit('miss', { key })
      flight = this.#start(k, key, loader, o, scope, stale, false)
      // A loader that returned a plain value finished already: no promise machinery needed.
      if (flight.settled) return Promise.resolve(flight.value as T)
    } else {
      this.counters.coalesced++
      if (stale !== undefined && now < stale.w) return this.serveStale<T>(stale, key, 'revalidate')
    }
    if (stale === undefined && o.hard === NONE && !this.clone && !collecting) {
      // Nothing to race or fall back to: every caller shares the flight's own promise.
      if (flight.lowerRead === undefined) return flight.done as Promise<T>
      // A fresh lower-tier hit is the value; anything else waits as below.
      return flight.lowerRead.then((s) => {
        if (s === undefined || Date.now() >= s.f) return this.#await<T>(flight, key, undefined, o)
        if (s.x !== undefined) throw s.v
        return s.v as T
      })
    }
    return this.#await<T>(flight, key, stale, o)
  }

  /** Starts one background refresh of `k` unless a load is already in flight. */
  refresh<T>(
    k: string,
    key: string,
    loader: Loader<T>,
    o: Resolved,
    scope: Scope,
    stale: Entry | undefined,
  ): void {
    if (this.closed || this.inflight.has(k) || this.#inBackoff(k, Date.now())) return
    this.counters.refreshes++
    this.#start(k, key, loader, o, scope, stale, true)
  }

  serveStale<T>(e: Entry, key: string, reason: 'revalidate' | 'error' | 'timeout' | 'backoff'): Promise<T> {
    this.counters.staleHits++
    if (this.events.wants('stale')) this.events.emit('stale', { key, reason })
    return this.#serve<T>(e, key)
  }

  #serve<T>(e: Entry, key: string): Promise<T> {
    if (collecting && e.g !== undefined) noteTags(e.g)
    if (e.x !== undefined) return Promise.reject(e.v)
    void key
    return Promise.resolve((this.clone ? structuredClone(e.v) : e.v) as T)
  }

  #start<T>(
    k: string,
    key: string,
    loader: Loader<T>,
    o: Resolved,
    scope: Scope,
    stale: Entry | undefined,
    background: boolean,
  ): Flight {
    const flight = new Flight(k, key, this.stamp(), background)
    const lower = this.lower !== undefined && !o.localOnly
    if (!lower && !background) {
      // Registered in the in-flight map only if the loader returns a promise (nothing can join a load
      // that finishes synchronously).
      this.#invoke(flight, loader, o, scope, stale)
      return flight
    }
    this.inflight.set(k, flight)
    const leave = (): void => {
      if (this.inflight.get(k) === flight) this.inflight.delete(k)
    }
    if (lower && !background) {
      // No `async` wrapper: a fresh lower-tier hit settles the flight in the read's own callback.
      const read = (flight.lowerRead = this.#readLower(k, key, flight))
      flight.done = read.then(
        (found) => {
          // As in `run` below: a lower-tier copy not newer than L1's stale entry is not taken as fresh.
          if (found !== undefined && Date.now() < found.f && (stale === undefined || found.c > stale.c)) {
            leave()
            if (found.x !== undefined) throw found.v
            flight.resultTags = found.g
            return found.v
          }
          const loading = this.#load(flight, loader, o, scope, stale ?? found)
          loading.then(leave, leave)
          return loading
        },
        (err: unknown) => {
          leave()
          throw err
        },
      )
      flight.done.catch(noop)
      return flight
    }
    if (lower) flight.lowerRead = this.#readLower(k, key, flight)
    const run = async (): Promise<unknown> => {
      try {
        if (this.closed) throw new CacheClosedError()
        if (flight.lowerRead !== undefined) {
          const found = await flight.lowerRead
          // A refresh ignores a lower-tier copy that is not newer than the entry it replaces (early refresh
          // would otherwise re-read the same entry on every hit near expiry instead of loading).
          const newer = found !== undefined && (stale === undefined || found.c > stale.c)
          if (found !== undefined && newer && Date.now() < found.f) {
            if (found.x !== undefined) throw found.v
            flight.resultTags = found.g
            return found.v
          }
          if (found !== undefined && stale === undefined) stale = found
        }
        return await this.#load(flight, loader, o, scope, stale)
      } finally {
        leave()
      }
    }
    flight.done = background ? this.limit(run) : run()
    if (background) {
      flight.done.catch((err: unknown) => {
        this.#backOff(k, Date.now())
        this.report(err, 'refresh', key)
      })
    } else {
      flight.done.catch(noop)
    }
    return flight
  }

  /**
   * Calls the loader synchronously. A plain value (or a synchronous throw) settles the flight at once,
   * without promises; a promise is awaited as usual. Either way the flight leaves the map when settled.
   */
  #invoke<T>(flight: Flight, loader: Loader<T>, o: Resolved, scope: Scope, stale: Entry | undefined): void {
    const k = flight.k
    if (channels.load.hasSubscribers) {
      this.inflight.set(k, flight)
      const run = async (): Promise<T> => {
        try {
          return await this.#load(flight, loader, o, scope, stale)
        } finally {
          if (this.inflight.get(k) === flight) this.inflight.delete(k)
        }
      }
      flight.done = run()
      flight.done.catch(noop)
      return
    }
    const ctx = flight.replacing(stale)
    const t0 = clock()
    this.counters.loads++
    let result: T | PromiseLike<T>
    // While the loader runs synchronously, `cancel` finds this flight here instead of in the map.
    this.#syncFlights.push(flight)
    try {
      result = loader(ctx as LoaderContext<T>)
    } catch (cause) {
      this.#syncFlights.pop()
      flight.done = Promise.reject(this.#failed(flight, cause, o, scope))
      flight.done.catch(noop)
      return
    }
    this.#syncFlights.pop()
    if (!isThenable(result)) {
      this.#complete(flight, result, t0, o, scope)
      // Nobody can wait on a flight that settled synchronously, so it gets no promise.
      flight.settled = true
      flight.value = result
      return
    }
    this.inflight.set(k, flight)
    flight.done = Promise.resolve(result).then(
      (value) => {
        if (this.inflight.get(k) === flight) this.inflight.delete(k)
        this.#complete(flight, value, t0, o, scope)
        return value
      },
      (cause: unknown) => {
        if (this.inflight.get(k) === flight) this.inflight.delete(k)
        throw this.#failed(flight, cause, o, scope)
      },
    )
    flight.done.catch(noop)
  }

  #readLower(k: string, key: string, flight: Flight): Promise<Entry | undefined> {
    return this.lower!.get(k).then((found) => {
      if (found === undefined) return undefined
      const { entry, tier } = found
      if (flight.start >= entry.s || !this.usable(entry)) return undefined
      if (flight.start < entry.f) {
        this.counters.hits++
        this.counters.byTier[tier]!++
        if (this.events.wantsHit()) this.events.emit('hit', { key, tier: this.tierNames[tier]! })
      }
      // A delete/set of the key during the read: its callers get what was read, but it is not backfilled.
      if (flight.cancelled) return entry
      // Backfill the tiers above with the entry's remaining lifetime, not a fresh TTL.
      this.l1?.set(k, entry, entry.s - Date.now())
      if (tier > (this.l1 === undefined ? 0 : 1)) this.lower!.backfill(k, entry, tier).catch(noop)
      return entry
    })
  }

  async #load<T>(
    flight: Flight,
    loader: Loader<T>,
    o: Resolved,
    scope: Scope,
    stale: Entry | undefined,
  ): Promise<T> {
    const key = flight.key
    const ctx = flight.replacing(stale)
    const t0 = clock()
    this.counters.loads++
    let value: T
    try {
      value = channels.load.hasSubscribers
        ? await channels.load.tracePromise(async () => loader(ctx as LoaderContext<T>), { key })
        : await loader(ctx as LoaderContext<T>)
    } catch (cause) {
      throw this.#failed(flight, cause, o, scope)
    }
    this.#complete(flight, value, t0, o, scope)
    return value
  }

  /** A load failed: counts it, stores a negative entry when configured, returns the error for callers. */
  #failed(flight: Flight, cause: unknown, o: Resolved, scope: Scope): LoaderError {
    this.counters.loadErrors++
    const err = new LoaderError(flight.key, cause)
    if (o.negativeTtl > 0 && o.isNegative !== undefined && safePredicate(o.isNegative, cause)) {
      const now = Date.now()
      const tags = entryTags(scope, flight.tags ?? o.tags)
      const e: Entry = { v: err, c: flight.start, f: now + o.negativeTtl, w: 0, s: 0, d: 0, g: tags, x: 1 }
      e.w = e.s = e.f
      this.#storeLoaded(flight, flight.k, e, true)
    }
    return err
  }

  /** A load succeeded: stores its value (unless ttl 0, `undefined`, skipped, or invalidated meanwhile). */
  #complete<T>(flight: Flight, value: T, t0: number, o: Resolved, scope: Scope): void {
    const k = flight.k
    const duration = clock() - t0
    const ttl = flight.ttl ?? o.ttl
    const tags = entryTags(scope, flight.tags ?? o.tags)
    flight.resultTags = tags
    if (collecting && tags !== undefined) noteTags(tags)
    let stored = false
    if (value !== undefined && !flight.skipped && ttl > 0) {
      const now = clock()
      const fresh = ttl === NONE || o.jitter === 0 ? ttl : ttl * (1 + o.jitter * (2 * Math.random() - 1))
      const f = now + fresh
      const e: Entry = {
        v: this.clone ? structuredClone(value) : value,
        c: flight.start,
        f,
        w: f + o.swr,
        s: f + Math.max(o.swr, o.sie),
        d: duration,
        g: tags,
      }
      stored = this.#storeLoaded(flight, k, e, o.localOnly)
    }
    if (this.backoff.size !== 0) this.backoff.delete(k)
    if (this.events.wantsLoad())
      this.events.emit('load', { key: flight.key, duration, stored, background: flight.background })
  }

  /**
   * Stores a load's result unless an invalidation landed since the load started (no stale set), or a newer
   * load already stored its value (a load given up on by its callers may finish after the next one).
   */
  #storeLoaded(flight: Flight, k: string, e: Entry, localOnly: boolean): boolean {
    if (
      this.closed ||
      flight.cancelled ||
      flight.start <= this.clearedAt ||
      this.tags.invalidatedSince(e.g, flight.start) ||
      (flight.orphaned && (this.l1?.get(k)?.c ?? Number.NEGATIVE_INFINITY) > flight.start)
    ) {
      this.counters.staleSetsPrevented++
      return false
    }
    this.store(k, e, localOnly)
    return true
  }

  /** Writes an entry to every tier; lower-tier writes run in the background and never throw. */
  store(k: string, e: Entry, localOnly = false): Promise<boolean> {
    const life = e.s - e.c
    if (life > this.tags.maxLifetime) this.tags.maxLifetime = life
    this.l1?.set(k, e, e.s - clock())
    // Negative entries hold an error object: they stay in this process, as do local-only entries.
    if (this.lower === undefined || e.x !== undefined || localOnly) return Promise.resolve(true)
    return this.lower.set(k, e)
  }

  /**
   * Waits for a flight as one caller. With a stale entry inside its windows, a soft timeout or a failure
   * returns the stale value; a hard timeout rejects with `LoaderTimeoutError` (or serves stale).
   */
  async #await<T>(flight: Flight, key: string, stale: Entry | undefined, o: Resolved): Promise<T> {
    let s = stale
    if (s === undefined && flight.lowerRead !== undefined) {
      s = await flight.lowerRead
      const now = Date.now()
      if (s !== undefined && now >= s.f && now < s.w) return this.serveStale<T>(s, key, 'revalidate')
    }
    const soft = s !== undefined && o.soft !== NONE && Date.now() < s.s
    if (!soft && o.hard === NONE) {
      try {
        const v = (await flight.done) as T
        if (collecting && flight.resultTags !== undefined) noteTags(flight.resultTags)
        return this.#own(v)
      } catch (err) {
        return this.#fallback<T>(err, s, key, flight)
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
        this.#timed.delete(onClose)
        return true
      }
      const onClose = (): void => {
        if (finish()) reject(new CacheClosedError())
      }
      this.#timed.add(onClose)
      if (soft) {
        softTimer = setTimeout(() => {
          if (finish()) resolve(this.serveStale<T>(s!, key, 'timeout'))
        }, o.soft)
      }
      if (o.hard !== NONE) {
        hardTimer = setTimeout(() => {
          if (!finish()) return
          const err = new LoaderTimeoutError(key, o.hard)
          this.counters.loadErrors++
          flight.abort(err)
          // A later call starts a new load; this one may still finish and fill the cache.
          if (this.inflight.get(flight.k) === flight) {
            this.inflight.delete(flight.k)
            this.#orphan(flight)
          }
          this.#fallback<T>(err, s, key, flight).then(resolve, reject)
        }, o.hard)
      }
      flight.done.then(
        (v) => {
          if (!finish()) return
          if (collecting && flight.resultTags !== undefined) noteTags(flight.resultTags)
          resolve(this.#own(v as T))
        },
        (err: unknown) => {
          if (finish()) this.#fallback<T>(err, s, key, flight).then(resolve, reject)
        },
      )
    })
  }

  /** With `clone`, each caller of a shared load gets its own copy (the flight's value is shared). */
  #own<T>(v: T): T {
    return this.clone && v !== null && typeof v === 'object' ? structuredClone(v) : v
  }

  #fallback<T>(err: unknown, s: Entry | undefined, key: string, flight: Flight): Promise<T> {
    const now = Date.now()
    if (s !== undefined && s.x === undefined && now < s.s) {
      this.#backOff(flight.k, now)
      this.report(err, 'load', key)
      return this.serveStale<T>(s, key, 'error')
    }
    return Promise.reject(err)
  }

  /** Keeps a given-up load reachable by `cancel` until it settles (bounded: the oldest is cancelled). */
  #orphan(flight: Flight): void {
    flight.orphaned = true
    const k = flight.k
    const prev = this.#orphans.get(k)
    if (prev !== undefined) {
      prev.cancelled = true
      this.#orphans.delete(k)
    }
    this.#orphans.set(k, flight)
    if (this.#orphans.size > MAX_ORPHANS) {
      for (const [oldKey, old] of this.#orphans) {
        old.cancelled = true
        this.#orphans.delete(oldKey)
        break
      }
    }
    const drop = (): void => {
      if (this.#orphans.get(k) === flight) this.#orphans.delete(k)
    }
    flight.done.then(drop, drop)
  }

  #backOff(k: string, now: number): void {
    if (this.graceBackoff <= 0) return
    this.backoff.set(k, now + this.graceBackoff)
    if (this.backoff.size > MAX_BACKOFF) {
      for (const oldest of this.backoff.keys()) {
        this.backoff.delete(oldest)
        break
      }
    }
  }

  #inBackoff(k: string, now: number): boolean {
    if (this.backoff.size === 0) return false
    const until = this.backoff.get(k)
    if (until === undefined) return false
    if (now < until) return true
    this.backoff.delete(k)
    return false
  }

  #maintain(): void {
    const now = Date.now()
    this.tags.prune(now)
    for (const [k, until] of this.backoff) if (until <= now) this.backoff.delete(k)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.#timer)
    const err = new CacheClosedError()
    for (const flight of this.inflight.values()) flight.abort(err)
    this.#orphans.clear()
    for (const settle of [...this.#timed]) settle()
    // Later hits must not be served from memory either (and the memory is released).
    this.l1?.clear()
    this.events.removeAll()
    await Promise.allSettled([this.lower?.close(), this.l1?.close?.()])
  }
}

/** Where a cache view's keys and tags live: the root has an empty prefix, a namespace its own. */
export interface Scope {
  /** Prepended to keys and tags. */
  readonly prefix: string
  /** Implicit tags of every entry in the view (one per enclosing namespace), so `clear()` is one invalidation. */
  readonly tags: readonly string[] | undefined
  readonly name: string | undefined
}

/** The scoped tags of an entry: the view's implicit tags plus the given ones, prefixed. */
export function entryTags(scope: Scope, tags: readonly string[] | undefined): string[] | undefined {
  const own = tags === undefined || tags.length === 0 ? undefined : scoped(scope, tags)
  if (scope.tags === undefined) return own
  return own === undefined ? [...scope.tags] : [...scope.tags, ...own]
}

export function scoped(scope: Scope, tags: readonly string[]): string[] {
  return scope.prefix === '' ? [...tags] : tags.map((t) => scope.prefix + t)
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
