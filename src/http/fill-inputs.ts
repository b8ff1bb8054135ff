/**
 * What a fill is given: the engine flight it completes, what the requests of one route share, and the
 * facts of the request that runs the handler. The lookup builds them; the engine flights hand out the
 * slot.
 */

import type { Cache } from '../cache.js'
import type { LoaderContext } from '../flight.js'
import type { ResolvedHttpOptions } from './cached-options.js'
import type { CacheStatusFwd } from './headers.js'
import type { CachedResponse, HttpEntry, StatusHeader, VaryIndex } from './reply.js'
import type { HttpRequestView } from './types.js'

/** The engine flight this fill completes (absent when the fill writes with `cache.set`). */
export interface FlightSlot {
  ctx: LoaderContext<HttpEntry>
  resolve(value: HttpEntry): void
  reject(error: unknown): void
}

/** What a fill needs from the core, shared by the requests of one route. */
export interface FillShared<Req, Res> {
  o: ResolvedHttpOptions<Req, Res>
  cache: Cache
  status: StatusHeader
  /** Engine `staleIfError` (ms) so that an entry lives until fresh + max(swr, sie). */
  extraMs: number
  /** Marks the requests waiting on `key`'s flight as collapsed (this fill completed it). */
  collapse(key: string): void
}

/** Per-request facts of a fill. */
export interface FillInit<Req, Res> {
  view: HttpRequestView
  req: Req
  res: Res
  /** The key this fill writes (URL key, or a variant key). */
  key: string
  /** The URL key (the Vary index lives there). */
  primary: string
  /** Set when `key` is a variant: the index that led here. */
  index: VaryIndex | undefined
  slot: FlightSlot | undefined
  /** The stale response being refreshed (stale-while-revalidate), if any. */
  stale: CachedResponse | undefined
  fwd: CacheStatusFwd
  detail: string | undefined
  /** The request's conditional headers, saved before the adapter strips them. */
  conditional: Record<string, string | string[] | undefined>
  urlTag: string
  /** The implicit tag of the route's custom `key`, if any. */
  keyTag: string | undefined
  onSettle: (() => void) | undefined
  /** When the fill started (before the handler ran): writes are skipped if invalidated since. */
  since: number
}
