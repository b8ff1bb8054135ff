import pLimit, { type LimitFunction } from 'p-limit'
import { Backoff } from './backoff.js'
import { now as clock } from './clock.js'
import { collecting, noteTags } from './context.js'
import type { Entry } from './entry.js'
import { CacheClosedError } from './errors.js'
import { Emitter } from './events.js'
import { Flight, type LoaderContext } from './flight.js'
import { invoke, load } from './load.js'
import type { Resolved } from './options.js'
import { Orphans } from './orphans.js'
import type { Scope } from './scope.js'
import type { Lower } from './stack.js'
import { Counters } from './stats.js'
import { TagRegistry } from './tags.js'
import type { LocalTier } from './tiers/types.js'
import { awaitFlight } from './wait.js'

export { entryTags, type Scope, scoped } from './scope.js'

/** A loader as the engine calls it. */
export type Loader<T> = (ctx: LoaderContext<T>) => T | Promise<T>

const NONE = Number.POSITIVE_INFINITY
const noop = (): void => {}
/** What `store` returns when only L1 is written: one settled promise shared by every such write. */
const STORED: Promise<boolean> = Promise.resolve(true)

/**
 * The state shared by a cache and all its namespace views: tiers, in-flight loads, tag registry,
 * counters, events. The `Cache` class is the thin public face; the miss path lives here: who loads and
 * who waits (`miss`, `refresh`, `#start`), the lower-tier read, and the writes. Running a loader is in
 * `load.ts`, a caller's timed wait in `wait.ts`, back-off and given-up loads in `backoff.ts` and `orphans.ts`.
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
  readonly throwOnTierError: boolean
  readonly tierNames: string[]
  /** Keys whose last load failed while a stale value was served: no new load for them for a while. */
  readonly backoff: Backoff
  closed = false
  clearedAt = Number.NEGATIVE_INFINITY
  /** Counts `delete`/`set` calls: a `get` whose lower-tier read spans one does not backfill L1. */
  cancels = 0
  readonly #timer: NodeJS.Timeout
  /** Loads whose callers gave up (hardTimeout) but that still run, one per key, so `delete`/`set` cancel them. */
  readonly orphans = new Orphans()
  /** Callers waiting with soft/hard timers: `close()` settles them so no timer outlives the cache. */
  readonly timed = new Set<() => void>()
  #lastStamp = Number.NEGATIVE_INFINITY
  /** Loads whose loader is running synchronously right now (nested loaders stack up). */
  readonly syncFlights: Flight[] = []

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
    this.backoff = new Backoff(init.graceBackoff)
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
    for (const f of this.syncFlights) if (f.k === k) f.cancelled = true
    this.orphans.cancel(k)
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
      if (stale !== undefined && (now < stale.w || this.backoff.active(k, now))) {
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
        if (s === undefined || Date.now() >= s.f) return awaitFlight<T>(this, flight, key, undefined, o)
        if (s.x !== undefined) throw s.v
        return s.v as T
      })
    }
    return awaitFlight<T>(this, flight, key, stale, o)
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
    if (this.closed || this.inflight.has(k) || this.backoff.active(k, Date.now())) return
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
      invoke(this, flight, loader, o, scope, stale)
      return flight
    }
    this.inflight.set(k, flight)
    const leave = (): void => {
      if (this.inflight.get(k) === flight) this.inflight.delete(k)
    }
    if (lower) flight.lowerRead = this.#readLower(k, key, flight)
    const read = flight.lowerRead
    // What the lower tiers had settles the flight: a fresh copy is the value, in the read's own callback (no
    // `async` wrapper); anything else is loaded. A copy not newer than the entry being replaced is not taken
    // as fresh (early refresh would otherwise re-read the same entry on every hit near expiry instead of
    // loading).
    const settle = (found: Entry | undefined): unknown => {
      if (found !== undefined && Date.now() < found.f && (stale === undefined || found.c > stale.c)) {
        leave()
        if (found.x !== undefined) throw found.v
        flight.resultTags = found.g
        return found.v
      }
      const loading = load(this, flight, loader, o, scope, stale ?? found)
      loading.then(leave, leave)
      return loading
    }
    const failed = (err: unknown): never => {
      leave()
      throw err
    }
    if (!background) {
      // `read` is set: a foreground flight without lower tiers was handed to `invoke` above.
      flight.done = read!.then(settle, failed)
      flight.done.catch(noop)
      return flight
    }
    flight.done = this.limit((): Promise<unknown> => {
      if (this.closed) {
        leave()
        return Promise.reject(new CacheClosedError())
      }
      return read === undefined ? (settle(undefined) as Promise<unknown>) : read.then(settle, failed)
    })
    flight.done.catch((err: unknown) => {
      this.backoff.enter(k, Date.now())
      this.report(err, 'refresh', key)
    })
    return flight
  }

  #readLower(k: string, key: string, flight: Flight): Promise<Entry | undefined> {
    return this.lower!.get(k, (found) => {
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

  /** Writes an entry to every tier; lower-tier writes run in the background and never throw. */
  store(k: string, e: Entry, localOnly = false): Promise<boolean> {
    const life = e.s - e.c
    if (life > this.tags.maxLifetime) this.tags.maxLifetime = life
    this.l1?.set(k, e, e.s - clock())
    // Negative entries hold an error object: they stay in this process, as do local-only entries.
    if (this.lower === undefined || e.x !== undefined || localOnly) return STORED
    return this.lower.set(k, e)
  }

  #maintain(): void {
    const now = Date.now()
    this.tags.prune(now)
    this.backoff.prune(now)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.#timer)
    const err = new CacheClosedError()
    for (const flight of this.inflight.values()) flight.abort(err)
    this.orphans.clear()
    for (const settle of [...this.timed]) settle()
    // Later hits must not be served from memory either (and the memory is released).
    this.l1?.clear()
    this.events.removeAll()
    await Promise.allSettled([this.lower?.close(), this.l1?.close?.()])
  }
}
