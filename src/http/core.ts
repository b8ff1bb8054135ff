/**
 * The framework-neutral HTTP response cache. An adapter calls `begin(view, req, res)` for each
 * request and acts on the decision:
 *
 * - `bypass`: run the handler normally, adding `decision.headers` (Cache-Status); for unsafe methods
 *   call `decision.onResponse(status, headers)` once the handler's status and headers are final.
 * - `hit`: send `status`, `headers`, `body` (a replay, a 304, or HEAD without body); skip the handler.
 * - `miss`: strip `stripRequestHeaders`, run the handler through `miss.run(...)`, capture
 *   its response (`wantsBody` / `stream` / `finish`, `fail` if it throws, `abort` on disconnect).
 *
 * Concurrent misses of one key are coalesced by the engine: the first request's loader is completed
 * by its `finish`, the others await the same flight and replay what it stored.
 */
import type { Cache } from '../cache.js'
import { defaultCache } from '../default.js'
import type { EntryOptions } from '../options.js'
import { type CachedOptions, type ResolvedHttpOptions, resolveHttpOptions } from './cached-options.js'
import { conditionalHeaders } from './conditional.js'
import type { MissDecision } from './fill.js'
import { Fill, type FillInit, type FillShared, type FlightSlot } from './fill.js'
import { ageSeconds, cacheStatus } from './headers.js'
import { INFLUENCE_HEADERS, influenceKey } from './influence.js'
import { invalidateAfterWrite, isUnsafeMethod, urlTag } from './invalidate.js'
import { hashKeyParts, requestKey } from './key.js'
import { fastRecord } from './node.js'
import { hasNotableHeader, requestBypassReason, urlBypassReason } from './policy.js'
import {
  type CachedResponse,
  CONDITIONAL_HEADERS,
  type HttpEntry,
  type HttpReply,
  replayResponse,
  type StatusHeader,
  statusHeader,
  type VaryIndex,
} from './reply.js'
import type { HeaderInput, HttpRequestView } from './types.js'
import { varyKey } from './vary.js'

/** Run the handler normally; nothing is looked up or stored (`reason: 'nested'`: an outer layer is). */
export interface BypassDecision {
  readonly kind: 'bypass'
  /** Why, e.g. `'method'`, `'authorization'`, `'cookie'`, `'url'`, `'cache-error'`, `'head-miss'`. */
  readonly reason: string
  /**
   * Headers to add to the handler's response (`Cache-Status`). A nested `cached()` on the same request
   * that takes over empties this list while the handler runs (its own `Cache-Status` wins).
   */
  readonly headers: [string, string][]
  /**
   * Unsafe methods only: call with the handler's status and headers once they are final (before
   * sending), so that a 2xx/3xx invalidates the URL's cached responses before the client sees it.
   */
  readonly onResponse?: ((status: number, headers: HeaderInput) => Promise<void>) | undefined
}

/** Answer from the cache: send this and skip the handler. */
export interface HitDecision extends HttpReply {
  readonly kind: 'hit'
}

export type { CachedOptions, MissDecision }
export { INFLUENCE_HEADERS }

/** What `begin` tells the adapter to do. */
export type HttpDecision = BypassDecision | HitDecision | MissDecision

/** The per-route HTTP cache an adapter drives. */
export interface HttpCache<Req = HttpRequestView, Res = unknown> {
  /** The cache holding the responses (the process default unless `cache` was given). */
  readonly cache: Cache
  /** Bodies larger than this are streamed through and not stored, in bytes. */
  readonly maxBodySize: number
  /** Decides what to do with a request. Never rejects because of the cache (fails open to `bypass`). */
  begin(view: HttpRequestView, req: Req, res: Res): Promise<HttpDecision>
  /**
   * `begin` without a promise when none is needed: a fresh hit in the memory tier is returned as is
   * (the adapter can answer in the same tick); anything else is the promise `begin` would return.
   */
  decide(view: HttpRequestView, req: Req, res: Res): HttpDecision | Promise<HttpDecision>
}

type Got =
  | { kind: 'value'; value: HttpEntry; collapsed: boolean }
  | { kind: 'leader'; slot: FlightSlot }
  | { kind: 'timeout' }
  | { kind: 'error' }

interface RequestState<Req, Res> {
  view: HttpRequestView
  req: Req
  res: Res
  primary: string
}

/** A request waiting on an engine flight; marked when another request's fill completes that flight. */
interface Waiter {
  collapsed: boolean
}

/**
 * The cache layer that acted first on each native request (keyed by the request object the adapter
 * passes as `req`): a nested `cached()` on the same request finds it and steps aside (under a fill)
 * or takes over `Cache-Status` (under a bypass).
 */
const layers = new WeakMap<object, Fill<unknown, unknown> | BypassDecision>()

/** Records the layer that acted first on a native request (a hit needs no record). */
function remember(native: object, d: HttpDecision): HttpDecision {
  if (d.kind !== 'hit') layers.set(native, d as Fill<unknown, unknown> | BypassDecision)
  return d
}

/** Remaining freshness for `Cache-Status`: whole seconds, at most -1 once stale. */
export function ttlSeconds(v: CachedResponse, now: number): number {
  const s = (v.freshUntil - now) / 1000
  return s > 0 ? Math.round(s) : Math.min(-1, Math.floor(s))
}

/**
 * The last fresh-hit reply of each stored response, for plain GETs: it changes only when `Age` or the
 * `Cache-Status` ttl (whole seconds) does, so hits within a second share one frozen reply.
 */
const hitMemo = new WeakMap<CachedResponse, { route: object; ttl: number; age: number; hit: HitDecision }>()

/** Most request keys remembered per route (raw request parts to hashed key). */
const KEY_MEMO_SIZE = 10_000

/** Longest time a stale-while-revalidate refresh is considered in progress. */
const REFRESH_LEASE_MS = 60_000
const noop = (): void => {}

/**
 * Creates the HTTP cache of one route (or one app-wide middleware). Validates every option now and
 * throws a `TypeError` naming the bad one.
 */
export function createHttpCache<Req = HttpRequestView, Res = unknown>(
  options?: CachedOptions<Req, Res>,
): HttpCache<Req, Res> {
  return new RouteCache<Req, Res>(resolveHttpOptions(options))
}

class RouteCache<Req, Res> implements HttpCache<Req, Res> {
  readonly #o: ResolvedHttpOptions<Req, Res>
  readonly #status: StatusHeader
  /** `Cache-Status` of a fresh hit up to the ttl value (`undefined`: the header is disabled). */
  readonly #hitStatus: string | undefined
  /** Hashed request keys by their raw parts (`null`: the URL bypasses), bounded, oldest dropped first. */
  readonly #keys = new Map<string, string | null>()
  /** Hashed request keys by URL alone, for requests with the scheme, host and pattern of the first one. */
  #home:
    | { protocol: string; host: string; pattern: string | undefined; keys: Map<string, string | null> }
    | undefined
  readonly #engine: EntryOptions
  readonly #extraMs: number
  /** Keys whose stale-while-revalidate refresh runs in this process, with the lease's end. */
  readonly #refreshing = new Map<string, number>()
  /**
   * Refills of expired responses the engine still holds (it hits on them, so it cannot coalesce them):
   * the promise settles with the refill, the lease bounds a refill that never settles.
   */
  readonly #refilling = new Map<string, { done: Promise<void>; until: number }>()
  /** Requests of this route waiting on a flight, by key. */
  readonly #waiting = new Map<string, Set<Waiter>>()
  readonly #collapse = (key: string): void => {
    const set = this.#waiting.get(key)
    if (set !== undefined) for (const w of set) w.collapsed = true
  }

  constructor(o: ResolvedHttpOptions<Req, Res>) {
    this.#o = o
    this.#status = statusHeader(o.statusName)
    this.#hitStatus =
      o.statusName === false ? undefined : `${cacheStatus({ cache: o.statusName, hit: true })}; ttl=`
    this.#extraMs = Math.max(o.swrMs, o.sieMs) - o.swrMs
    this.#engine = {
      staleWhileRevalidate: 0,
      staleIfError: `${this.#extraMs}ms`,
      jitter: 0,
      earlyRefresh: false,
      negativeTtl: 0,
      // per-user responses stay in this process's memory tier, never in a shared one
      localOnly: o.private !== undefined,
    }
  }

  get cache(): Cache {
    return this.#o.cache ?? defaultCache()
  }

  get maxBodySize(): number {
    return this.#o.policy.maxBodySize ?? 1_048_576
  }

  async begin(view: HttpRequestView, req: Req, res: Res): Promise<HttpDecision> {
    return this.decide(view, req, res)
  }

  decide(view: HttpRequestView, req: Req, res: Res): HttpDecision | Promise<HttpDecision> {
    const native = typeof req === 'object' && req !== null ? (req as object) : undefined
    const outer = native === undefined ? undefined : layers.get(native)
    if (outer instanceof Fill) {
      // an outer layer is filling this request: it captures and stores the response; this route's
      // tags still tag it, and only the outer layer's Cache-Status is sent
      const tags = this.#o.tags
      if (tags !== undefined)
        outer.adoptTags(() => (typeof tags === 'function' ? tags(req, res) : tags) ?? [])
      return { kind: 'bypass', reason: 'nested', headers: [] }
    }
    // under an outer bypass this (more specific) layer decides, and owns Cache-Status
    if (outer !== undefined) outer.headers.length = 0
    let d: HttpDecision | Promise<HttpDecision>
    try {
      d = this.#begin(view, req, res)
    } catch (err) {
      return Promise.reject(err)
    }
    if (native === undefined) return d
    if (d instanceof Promise) return d.then((x) => remember(native, x))
    return remember(native, d)
  }

  #begin(view: HttpRequestView, req: Req, res: Res): HttpDecision | Promise<HttpDecision> {
    const o = this.#o
    const method = view.method
    if (method !== 'GET' && method !== 'HEAD') {
      const cache = this.cache
      const onResponse =
        o.invalidateOnWrite && isUnsafeMethod(method)
          ? (status: number, headers: HeaderInput) => invalidateAfterWrite(cache, view, status, headers)
          : undefined
      return { kind: 'bypass', reason: 'method', headers: this.#status({ fwd: 'method' }), onResponse }
    }
    // an anonymous GET without a body, range, conditional or URL-influencing header (the common case)
    // needs only the URL checks; anything else gets the full request policy
    const plain = view.hasBody !== true && !hasNotableHeader(view.headers)
    let reason: string | undefined = plain
      ? urlBypassReason(view.url, o.policy)
      : requestBypassReason(view, o.policy)
    if (reason === undefined && o.bypass?.(req) === true) reason = 'custom'
    if (reason !== undefined) return this.#bypass(reason)
    let partition: string | undefined
    if (o.private !== undefined) {
      const id = o.private(req)
      if (id === undefined || id === null || id === '') return this.#bypass('no-identity')
      partition = hashKeyParts(['user', typeof id, String(id)])
    }
    let primary = this.#requestKey(view, partition)
    if (primary === undefined) return this.#bypass('url')
    if (o.key !== undefined) {
      const custom = o.key(req)
      if (typeof custom !== 'string' || custom === '') {
        throw new TypeError(`Expected \`key\` to return a non-empty string, got ${String(custom)}`)
      }
      primary = hashKeyParts(['tiercache-http-key', custom, partition])
    }
    const influence = plain ? undefined : influenceKey(view.headers)
    if (influence !== undefined) primary = hashKeyParts([primary, influence])
    if (method === 'GET') {
      const hit = this.#freshHit(view, primary, plain)
      if (hit !== undefined) return hit
    }
    const state: RequestState<Req, Res> = { view, req, res, primary }
    return (method === 'HEAD' ? this.#head(state) : this.#lookup(state)).catch(() =>
      this.#bypass('cache-error'),
    )
  }

  /** The request key, remembered by the raw parts it is derived from (unless it depends on cookies). */
  #requestKey(view: HttpRequestView, partition: string | undefined): string | undefined {
    const policy = this.#o.policy
    if (policy.cookies !== undefined) return requestKey(view, policy, partition)
    const pattern = view.route?.pattern
    // the route's own traffic (the scheme, host and pattern of its first request, shared entries): the
    // URL alone finds the key, without building the raw string
    const home = this.#home
    if (partition === undefined && home !== undefined) {
      if (view.protocol === home.protocol && view.host === home.host && pattern === home.pattern) {
        const memo = home.keys.get(view.url)
        if (memo !== undefined) return memo ?? undefined
        const key = requestKey(view, policy, undefined)
        if (home.keys.size >= KEY_MEMO_SIZE) home.keys.delete(home.keys.keys().next().value!)
        home.keys.set(view.url, key ?? null)
        return key
      }
    } else if (partition === undefined) {
      this.#home = { protocol: view.protocol, host: view.host, pattern, keys: new Map() }
    }
    const raw =
      `${view.method === 'HEAD' ? 'GET' : view.method} ${view.protocol.length}:${view.protocol}` +
      `${view.host.length}:${view.host}${pattern === undefined ? '-' : `${pattern.length}:${pattern}`}` +
      `${view.url.length}:${view.url}${partition ?? '-'}`
    const memo = this.#keys.get(raw)
    if (memo !== undefined) return memo ?? undefined
    const key = requestKey(view, policy, partition)
    if (this.#keys.size >= KEY_MEMO_SIZE) this.#keys.delete(this.#keys.keys().next().value!)
    this.#keys.set(raw, key ?? null)
    return key
  }

  /**
   * A fresh stored response read synchronously from the memory tier, or `undefined` when the full
   * lookup must run (nothing in memory, stale, a hit-for-miss marker, a missing variant, a failing
   * cache).
   */
  #freshHit(view: HttpRequestView, primary: string, plain: boolean): HitDecision | undefined {
    try {
      const cache = this.cache
      let v = cache.peek<HttpEntry>(primary)
      if (v?.kind === 'vary') {
        const vk = varyKey(v.names, view, this.#o.policy)
        v = vk === undefined ? undefined : cache.peek<HttpEntry>(hashKeyParts([primary, vk]))
      }
      if (v?.kind !== 'response') return undefined
      const now = Date.now()
      if (now >= v.freshUntil) return undefined
      const ttl = ttlSeconds(v, now)
      // a plain request (no conditional header) gets the same reply as every other one this second
      const memo = plain ? hitMemo.get(v) : undefined
      if (
        memo !== undefined &&
        memo.route === this &&
        memo.ttl === ttl &&
        memo.age === ageSeconds(v.storedAt, now)
      )
        return memo.hit
      const prefix = this.#hitStatus
      const status: [string, string][] = prefix === undefined ? [] : [['cache-status', prefix + ttl]]
      const reply = replayResponse(v, view.method, view.headers, status, now)
      if (!plain) return { kind: 'hit', status: reply.status, headers: reply.headers, body: reply.body }
      const hit: HitDecision = Object.freeze({
        kind: 'hit',
        status: reply.status,
        headers: Object.freeze(reply.headers) as [string, string][],
        body: reply.body,
        record: Object.freeze(fastRecord(reply.headers)),
      })
      // per route too: two routes reading one entry (a custom `key`) may name their Cache-Status apart
      hitMemo.set(v, { route: this, ttl, age: ageSeconds(v.storedAt, now), hit })
      return hit
    } catch {
      return undefined
    }
  }

  /** A fresh stored response of `key` in the memory tier, or `undefined`. */
  #freshInMemory(key: string): CachedResponse | undefined {
    try {
      const v = this.cache.peek<HttpEntry>(key)
      return v?.kind === 'response' && Date.now() < v.freshUntil ? v : undefined
    } catch {
      return undefined
    }
  }

  /** `retried`: this request waited on another request's refill of an expired entry (see `#serve`). */
  async #lookup(st: RequestState<Req, Res>, retried = false): Promise<HttpDecision> {
    const got = await this.#get(st.primary)
    if (got.kind !== 'value') return this.#notValue(st, got, st.primary, undefined, 'uri-miss')
    const v = got.value
    if (v.kind === 'response') return this.#serve(st, st.primary, undefined, v, got.collapsed, retried)
    if (v.kind === 'pass') return this.#fill(st, st.primary, undefined, undefined, 'uri-miss', 'hit-for-miss')
    const vk = varyKey(v.names, st.view, this.#o.policy)
    if (vk === undefined) return this.#bypass('vary')
    const variant = hashKeyParts([st.primary, vk])
    const got2 = await this.#get(variant)
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
      if (st.view.method === 'GET' && (lease === undefined || lease <= now)) {
        this.#refreshing.set(key, now + REFRESH_LEASE_MS)
        const done = () => this.#refreshing.delete(key)
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
    return this.#lookup(st, true)
  }

  #hit(st: RequestState<Req, Res>, v: CachedResponse, status: [string, string][], now: number): HitDecision {
    const reply = replayResponse(v, st.view.method, st.view.headers, status, now)
    return { kind: 'hit', status: reply.status, headers: reply.headers, body: reply.body }
  }

  /** HEAD is answered from the GET entry only; a miss runs the handler and stores nothing. */
  async #head(st: RequestState<Req, Res>): Promise<HttpDecision> {
    const cache = this.cache
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
      cache: this.cache,
      status: this.#status,
      extraMs: this.#extraMs,
      collapse: this.#collapse,
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
      onSettle,
      since: Date.now(),
    }
    return new Fill(shared, init)
  }

  #bypass(reason: string): BypassDecision {
    return { kind: 'bypass', reason, headers: this.#status({ fwd: 'bypass', detail: reason }) }
  }

  /**
   * Looks `key` up through the engine: its value (hit, or a coalesced flight's result), or the
   * leader's flight slot when this request must run the handler. Waiting is bounded by `lockTimeout`.
   */
  #get(key: string): Promise<Got> {
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
        // another request of this route is refilling the expired entry (#refill: the engine still hit on
        // it then): its result, not a second handler run; this flight's waiters wait with it
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
        pending = this.cache.getOrSet<HttpEntry>(key, loader, this.#engine)
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
