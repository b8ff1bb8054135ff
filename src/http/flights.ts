/**
 * The engine flights of one route's keys: a request reads a key through the engine (`getOrSet`) and
 * gets the stored value, a coalesced flight's result, or the leader's flight slot when it must run the
 * handler itself. Waiting is bounded by `lockTimeout`; the requests still waiting when another
 * request's fill completes the flight are marked collapsed.
 */
import type { Cache } from '../cache.js'
import type { EntryOptions } from '../options.js'
import type { ResolvedHttpOptions } from './cached-options.js'
import type { FlightSlot } from './fill.js'
import type { CachedResponse, HttpEntry } from './reply.js'

export type Got =
  | { kind: 'value'; value: HttpEntry; collapsed: boolean }
  | { kind: 'leader'; slot: FlightSlot }
  | { kind: 'timeout' }
  | { kind: 'error' }

/** A refill in progress: `done` settles with the refill, `until` ends the lease of one that never settles. */
export interface RefillLease {
  done: Promise<void>
  until: number
}

/** A request waiting on an engine flight; marked when another request's fill completes that flight. */
interface Waiter {
  collapsed: boolean
}

const noop = (): void => {}

export class Flights<Req, Res> {
  readonly #route: { readonly cache: Cache }
  readonly #o: ResolvedHttpOptions<Req, Res>
  readonly #engine: EntryOptions
  /** The route's refills of expired responses the engine still holds, by key (see `Lookup`). */
  readonly #refilling: ReadonlyMap<string, RefillLease>
  /** Requests of this route waiting on a flight, by key. */
  readonly #waiting = new Map<string, Set<Waiter>>()
  /** Marks the requests waiting on `key`'s flight as collapsed (a fill of this route completed it). */
  readonly collapse = (key: string): void => {
    const set = this.#waiting.get(key)
    if (set !== undefined) for (const w of set) w.collapsed = true
  }

  /**
   * `route`: the route's HTTP cache (its `cache` is read per lookup); `extraMs`: engine `staleIfError`
   * (ms) so that an entry lives until fresh + max(swr, sie).
   */
  constructor(
    route: { readonly cache: Cache },
    o: ResolvedHttpOptions<Req, Res>,
    extraMs: number,
    refilling: ReadonlyMap<string, RefillLease>,
  ) {
    this.#route = route
    this.#o = o
    this.#refilling = refilling
    this.#engine = {
      staleWhileRevalidate: 0,
      staleIfError: `${extraMs}ms`,
      jitter: 0,
      earlyRefresh: false,
      negativeTtl: 0,
      // per-user responses stay in this process's memory tier, never in a shared one
      localOnly: o.private !== undefined,
    }
  }

  /** A fresh stored response of `key` in the memory tier, or `undefined`. */
  #freshInMemory(key: string): CachedResponse | undefined {
    try {
      const v = this.#route.cache.peek<HttpEntry>(key)
      return v?.kind === 'response' && Date.now() < v.freshUntil ? v : undefined
    } catch {
      return undefined
    }
  }

  /**
   * Looks `key` up through the engine: its value (hit, or a coalesced flight's result), or the
   * leader's flight slot when this request must run the handler. Waiting is bounded by `lockTimeout`.
   */
  get(key: string): Promise<Got> {
    return new Promise<Got>((resolve) => {
      let done = false
      let timer: NodeJS.Timeout | undefined
      const waiter: Waiter = { collapsed: false }
      let waiting: Set<Waiter> | undefined
      const settle = (got: Got): void => {
        if (done) return
        done = true
        if (timer !== undefined) clearTimeout(timer)
        if (waiting !== undefined) {
          waiting.delete(waiter)
          if (waiting.size === 0 && this.#waiting.get(key) === waiting) this.#waiting.delete(key)
        }
        resolve(got)
      }
      const lead = (ctx: FlightSlot['ctx']): Promise<HttpEntry> | HttpEntry => {
        if (done) {
          // this request already moved on (lock timeout): do not hold the flight
          ctx.skipCache()
          return { kind: 'pass', reason: 'abandoned' }
        }
        return new Promise<HttpEntry>((res, rej) =>
          settle({ kind: 'leader', slot: { ctx, resolve: res, reject: rej } }),
        )
      }
      const loader = (ctx: FlightSlot['ctx']): Promise<HttpEntry> | HttpEntry => {
        // another request of this route is refilling the expired entry (Lookup#refill: the engine still
        // hit on it then): its result, not a second handler run; this flight's waiters wait with it
        const lease = this.#refilling.get(key)
        if (lease === undefined || lease.until <= Date.now()) return lead(ctx)
        return lease.done.then(() => {
          const v = done ? undefined : this.#freshInMemory(key)
          if (v === undefined) return lead(ctx)
          ctx.skipCache() // the refill stored it
          return v
        })
      }
      let pending: Promise<HttpEntry>
      try {
        pending = this.#route.cache.getOrSet<HttpEntry>(key, loader, this.#engine)
      } catch {
        settle({ kind: 'error' })
        return
      }
      pending.then(
        (value) => settle({ kind: 'value', value, collapsed: waiter.collapsed }),
        () => settle({ kind: 'error' }),
      )
      if (!done) {
        // a hit settles within a microtask; only a real wait gets a timer (and can be collapsed)
        Promise.resolve().then(() => {
          if (done) return
          waiting = this.#waiting.get(key)
          if (waiting === undefined) this.#waiting.set(key, (waiting = new Set()))
          waiting.add(waiter)
          timer = setTimeout(() => settle({ kind: 'timeout' }), this.#o.lockMs)
          timer.unref?.()
        }, noop)
      }
    })
  }
}
