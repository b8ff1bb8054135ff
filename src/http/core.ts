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
import type { IncomingMessage } from 'node:http'
import type { Cache } from '../cache.js'
import { defaultCache } from '../default.js'
import { type CachedOptions, type ResolvedHttpOptions, resolveHttpOptions } from './cached-options.js'
import { type BypassDecision, bypassDecision, type HttpDecision } from './decision.js'
import type { MissDecision } from './fill.js'
import { Fill } from './fill.js'
import { freshHit } from './fresh-hit.js'
import { cacheStatus } from './headers.js'
import { INFLUENCE_HEADERS, influenceKey } from './influence.js'
import { invalidateAfterWrite, isUnsafeMethod, keyTag } from './invalidate.js'
import { hashKeyParts } from './key.js'
import { Lookup, type RequestState } from './lookup.js'
import { hasNotableHeader, requestBypassReason, urlBypassReason } from './policy.js'
import { type StatusHeader, statusHeader } from './reply.js'
import { RequestKeys } from './request-key.js'
import type { HeaderInput, HttpRequestView } from './types.js'

export type { BypassDecision, HitDecision, HttpDecision } from './decision.js'
export { ttlSeconds } from './fresh-hit.js'
export type { CachedOptions, MissDecision }
export { INFLUENCE_HEADERS }

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

/** What an adapter can tell the core beyond the request view. */
export interface HttpAdapterHooks<Req> {
  /**
   * Node's request behind `req`, when there is one (HTTP/1 on a Node `http`/`https` server). Read only
   * when a stale response is about to be refreshed: `backgroundRevalidate` sends a copy of it through
   * the server (`replayRequest`) and recognises that copy when it comes back (`isReplay`). Without it
   * the refresh runs in the foreground.
   */
  incoming?(req: Req): IncomingMessage | undefined
}

/**
 * Creates the HTTP cache of one route (or one app-wide middleware). Validates every option now and
 * throws a `TypeError` naming the bad one.
 */
export function createHttpCache<Req = HttpRequestView, Res = unknown>(
  options?: CachedOptions<Req, Res>,
  hooks?: HttpAdapterHooks<Req>,
): HttpCache<Req, Res> {
  return new RouteCache<Req, Res>(resolveHttpOptions(options), hooks?.incoming)
}

class RouteCache<Req, Res> implements HttpCache<Req, Res> {
  readonly #o: ResolvedHttpOptions<Req, Res>
  readonly #status: StatusHeader
  /** `Cache-Status` of a fresh hit up to the ttl value (`undefined`: the header is disabled). */
  readonly #hitStatus: string | undefined
  readonly #keys: RequestKeys
  /** What the synchronous fast path does not answer: the engine lookup of a GET, and HEAD. */
  readonly #lookup: Lookup<Req, Res>

  constructor(o: ResolvedHttpOptions<Req, Res>, incoming: HttpAdapterHooks<Req>['incoming']) {
    this.#o = o
    this.#status = statusHeader(o.statusName)
    this.#hitStatus =
      o.statusName === false ? undefined : `${cacheStatus({ cache: o.statusName, hit: true })}; ttl=`
    this.#keys = new RequestKeys(o.policy)
    this.#lookup = new Lookup(this, o, this.#status, incoming)
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
    let primary = this.#keys.get(view, partition)
    if (primary === undefined) return this.#bypass('url')
    let customTag: string | undefined
    if (o.key !== undefined) {
      const custom = o.key(req)
      if (typeof custom !== 'string' || custom === '') {
        throw new TypeError(`Expected \`key\` to return a non-empty string, got ${String(custom)}`)
      }
      primary = hashKeyParts(['tiercache-http-key', custom, partition])
      customTag = keyTag(custom)
    }
    const influence = plain ? undefined : influenceKey(view.headers)
    if (influence !== undefined) primary = hashKeyParts([primary, influence])
    if (method === 'GET') {
      const hit = freshHit(this, this.#hitStatus, o.policy, view, primary, plain)
      if (hit !== undefined) return hit
    }
    const state: RequestState<Req, Res> = { view, req, res, primary, keyTag: customTag }
    return (method === 'HEAD' ? this.#lookup.head(state) : this.#lookup.get(state)).catch(() =>
      this.#bypass('cache-error'),
    )
  }

  #bypass(reason: string): BypassDecision {
    return bypassDecision(this.#status, reason)
  }
}
