/**
 * The lookup of a request the synchronous fast path did not answer. A GET reads its key (and its
 * variant's) through the engine and is answered from a stored response (fresh, stale-while-revalidate,
 * stale-if-error) or becomes a fill; a HEAD is answered from the GET entry only.
 */
import type { IncomingMessage } from 'node:http'
import type { Cache } from '../cache.js'
import type { ResolvedHttpOptions } from './cached-options.js'
import { conditionalHeaders } from './conditional.js'
import { bypassDecision, type HitDecision, type HttpDecision } from './decision.js'
import { Fill, type FillInit, type FillShared, type FlightSlot, type MissDecision } from './fill.js'
import { Flights, type Got, type RefillLease } from './flights.js'
import { ttlSeconds } from './fresh-hit.js'
import { urlTag } from './invalidate.js'
import { hashKeyParts } from './key.js'
import { isReplay, replayRequest } from './replay.js'
import {
  type CachedResponse,
  CONDITIONAL_HEADERS,
  type HttpEntry,
  replayResponse,
  type StatusHeader,
  type VaryIndex,
} from './reply.js'
import type { HttpRequestView } from './types.js'
import { varyKey } from './vary.js'

export interface RequestState<Req, Res> {
  view: HttpRequestView
  req: Req
  res: Res
  primary: string
  /** The implicit tag of the route's custom `key`, when it has one (see `keyTag`). */
  keyTag?: string | undefined
}

/** Longest time a stale-while-revalidate refresh is considered in progress. */
const REFRESH_LEASE_MS = 60_000
const noop = (): void => {}

export class Lookup<Req, Res> {
  readonly #route: { readonly cache: Cache }
  readonly #o: ResolvedHttpOptions<Req, Res>
  readonly #status: StatusHeader
  readonly #extraMs: number
  /** Keys whose stale-while-revalidate refresh runs in this process, with the lease's end. */
  readonly #refreshing = new Map<string, number>()
  /**
   * Refills of expired responses the engine still holds (it hits on them, so it cannot coalesce them):
   * the promise settles with the refill, the lease bounds a refill that never settles.
   */
  readonly #refilling = new Map<string, RefillLease>()
  readonly #flights: Flights<Req, Res>
  /** Node's request behind a native one (`HttpAdapterHooks.incoming`), for background refreshes. */
  readonly #incoming: ((req: Req) => IncomingMessage | undefined) | undefined

  /** `route`: the route's HTTP cache (its `cache` is read per lookup, see `#fill`). */
  constructor(
    route: { readonly cache: Cache },
    o: ResolvedHttpOptions<Req, Res>,
    status: StatusHeader,
    incoming?: (req: Req) => IncomingMessage | undefined,
  ) {
    this.#route = route
    this.#incoming = incoming
    this.#o = o
    this.#status = status
    this.#extraMs = Math.max(o.swrMs, o.sieMs) - o.swrMs
    this.#flights = new Flights(route, o, this.#extraMs, this.#refilling)
  }

  /** `retried`: this request waited on another request's refill of an expired entry (see `#serve`). */
  async get(st: RequestState<Req, Res>, retried = false): Promise<HttpDecision> {
    const got = await this.#flights.get(st.primary)
    if (got.kind !== 'value') return this.#notValue(st, got, st.primary, undefined, 'uri-miss')
    const v = got.value
    if (v.kind === 'response') return this.#serve(st, st.primary, undefined, v, got.collapsed, retried)
    if (v.kind === 'pass') return this.#fill(st, st.primary, undefined, undefined, 'uri-miss', 'hit-for-miss')
    const vk = varyKey(v.names, st.view, this.#o.policy)
    if (vk === undefined) return bypassDecision(this.#status, 'vary')
    const variant = hashKeyParts([st.primary, vk])
    const got2 = await this.#flights.get(variant)
    if (got2.kind !== 'value') return this.#notValue(st, got2, variant, v, 'vary-miss')
    const w = got2.value
    if (w.kind === 'response') return this.#serve(st, variant, v, w, got.collapsed || got2.collapsed, retried)
    return this.#fill(st, variant, v, undefined, 'vary-miss', 'hit-for-miss')
  }

  #notValue(
    st: RequestState<Req, Res>,
    got: Exclude<Got, { kind: 'value' }>,
    key: string,
    index: VaryIndex | undefined,
    fwd: 'uri-miss' | 'vary-miss',
  ): HttpDecision {
    if (got.kind === 'leader') return this.#fill(st, key, index, got.slot, fwd, undefined)
    return this.#fill(st, key, index, undefined, fwd, got.kind === 'timeout' ? 'lock-timeout' : 'cache-error')
  }

  /** A stored response: fresh hit, stale-while-revalidate (serve stale, or refresh), or stale-if-error. */
  #serve(
    st: RequestState<Req, Res>,
    key: string,
    index: VaryIndex | undefined,
    v: CachedResponse,
    collapsed: boolean,
    retried = false,
  ): HttpDecision | Promise<HttpDecision> {
    const now = Date.now()
    const ttl = ttlSeconds(v, now)
    collapsed ||= retried
    if (now < v.freshUntil) {
      // collapsed: this request waited on the flight another request's handler run completed
      const status = collapsed
        ? this.#status({ fwd: 'uri-miss', stored: true, collapsed: true })
        : this.#status({ hit: true, ttl })
      return this.#hit(st, v, status, now)
    }
    if (now < v.revalidateUntil) {
      const lease = this.#refreshing.get(key)
      const raw = this.#incoming?.(st.req)
      // a copy sent by `backgroundRevalidate` (by this route or another layer on the same request)
      const refresh = isReplay(raw)
      if (st.view.method === 'GET' && (refresh || lease === undefined || lease <= now)) {
        // a background copy runs under the lease its original took
        const until = refresh && lease !== undefined && lease > now ? lease : now + REFRESH_LEASE_MS
        this.#refreshing.set(key, until)
        const done = (): void => {
          if (this.#refreshing.get(key) === until) this.#refreshing.delete(key)
        }
        if (!refresh && this.#o.background && raw !== undefined && replayRequest(raw, done)) {
          return this.#hit(st, v, this.#status({ hit: true, ttl, detail: 'stale-while-revalidate' }), now)
        }
        return this.#fill(st, key, index, undefined, 'stale', undefined, v, done)
      }
      return this.#hit(st, v, this.#status({ hit: true, ttl, detail: 'stale-while-revalidate' }), now)
    }
    if (now < v.freshUntil + this.#o.sieMs) {
      return this.#hit(st, v, this.#status({ fwd: 'stale', ttl, detail: 'stale-if-error' }), now)
    }
    return this.#refill(st, key, index, now, retried)
  }

  /**
   * An expired response the engine still hits on (its clock is coarser, or a tier's lags): no engine
   * flight coalesces the refill, so this route does. The first request refills; the others wait for
   * it (up to `lockTimeout`) and look up again, running the handler themselves only if it stored nothing.
   */
  #refill(
    st: RequestState<Req, Res>,
    key: string,
    index: VaryIndex | undefined,
    now: number,
    retried: boolean,
  ): MissDecision | Promise<HttpDecision> {
    if (retried) return this.#fill(st, key, index, undefined, 'stale', undefined)
    const lease = this.#refilling.get(key)
    if (lease === undefined || lease.until <= now) {
      let release = noop
      const done = new Promise<void>((resolve) => {
        release = resolve
      })
      const mine = { done, until: now + REFRESH_LEASE_MS }
      this.#refilling.set(key, mine)
      const settle = (): void => {
        if (this.#refilling.get(key) === mine) this.#refilling.delete(key)
        release()
      }
      return this.#fill(st, key, index, undefined, 'stale', undefined, undefined, settle)
    }
    return this.#afterRefill(st, key, index, lease.done)
  }

  async #afterRefill(
    st: RequestState<Req, Res>,
    key: string,
    index: VaryIndex | undefined,
    done: Promise<void>,
  ): Promise<HttpDecision> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#o.lockMs)
      timer.unref?.()
    })
    const landed = await Promise.race([done.then(() => true), timeout])
    clearTimeout(timer)
    if (!landed) return this.#fill(st, key, index, undefined, 'stale', 'lock-timeout')
    return this.get(st, true)
  }

  #hit(st: RequestState<Req, Res>, v: CachedResponse, status: [string, string][], now: number): HitDecision {
    const reply = replayResponse(v, st.view.method, st.view.headers, status, now)
    return { kind: 'hit', status: reply.status, headers: reply.headers, body: reply.body }
  }

  /** HEAD is answered from the GET entry only; a miss runs the handler and stores nothing. */
  async head(st: RequestState<Req, Res>): Promise<HttpDecision> {
    const cache = this.#route.cache
    let v = await cache.get<HttpEntry>(st.primary)
    if (v?.kind === 'vary') {
      const vk = varyKey(v.names, st.view, this.#o.policy)
      v = vk === undefined ? undefined : await cache.get<HttpEntry>(hashKeyParts([st.primary, vk]))
    }
    if (v?.kind !== 'response') {
      return { kind: 'bypass', reason: 'head-miss', headers: this.#status({ fwd: 'uri-miss' }) }
    }
    const now = Date.now()
    const ttl = ttlSeconds(v, now)
    const detail = now < v.freshUntil ? undefined : 'stale-while-revalidate'
    return this.#hit(st, v, this.#status({ hit: true, ttl, detail }), now)
  }

  #fill(
    st: RequestState<Req, Res>,
    key: string,
    index: VaryIndex | undefined,
    slot: FlightSlot | undefined,
    fwd: 'uri-miss' | 'vary-miss' | 'stale',
    detail: string | undefined,
    stale?: CachedResponse,
    onSettle?: () => void,
  ): MissDecision {
    // the cache is looked up per fill: `setDefaultCache` may replace the default between requests
    const shared: FillShared<Req, Res> = {
      o: this.#o,
      cache: this.#route.cache,
      status: this.#status,
      extraMs: this.#extraMs,
      collapse: this.#flights.collapse,
    }
    const init: FillInit<Req, Res> = {
      view: st.view,
      req: st.req,
      res: st.res,
      key,
      primary: st.primary,
      index,
      slot,
      stale,
      fwd,
      detail,
      conditional: conditionalHeaders(st.view.headers, CONDITIONAL_HEADERS),
      urlTag: urlTag(st.view.url),
      keyTag: st.keyTag,
      onSettle,
      since: Date.now(),
    }
    return new Fill(shared, init)
  }
}
