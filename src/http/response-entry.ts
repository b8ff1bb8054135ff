/**
 * The entry a fill stores for a handler's response: its storable headers (with `Date`, a strong `ETag`
 * and the route's `Cache-Control` added as configured), an own copy of the body, and its freshness
 * windows (fresh, stale-while-revalidate, stale-if-error). Also the `private` marking of per-user
 * responses, which applies both to what is stored and to what a fill sends without storing.
 */
import { buildCacheControl, responseFreshnessMs } from './cache-control.js'
import type { ResolvedHttpOptions } from './cached-options.js'
import { strongEtag } from './conditional.js'
import { hasHeader, storableHeaders } from './headers.js'
import type { CapturedResponse } from './miss.js'
import { type CachedResponse, firstHeader } from './reply.js'

/** The entry to store for the handler's response `c` (with its buffered `body`), as of `now`. */
export function responseEntry<Req, Res>(
  o: ResolvedHttpOptions<Req, Res>,
  c: CapturedResponse,
  body: Uint8Array,
  now: number,
): CachedResponse {
  const ttlMs = o.ttlMs ?? responseFreshnessMs(c.headers, now) ?? 0
  let headers = storableHeaders(c.headers)
  if (!hasHeader(headers, 'date')) headers.push(['date', new Date(now).toUTCString()])
  // an exact copy: a slice of a pooled Buffer would keep the whole pool slab alive
  const own = new Uint8Array(body)
  if (o.etag && !hasHeader(headers, 'etag')) headers.push(['etag', strongEtag(own)])
  if (o.policy.cacheControl !== undefined) {
    headers = headers.filter(([n]) => n !== 'cache-control')
    headers.push(['cache-control', buildCacheControl(o.policy.cacheControl)])
  }
  headers = markPrivate(o, headers)
  const freshUntil = now + ttlMs
  return {
    kind: 'response',
    status: c.status,
    headers,
    body: own,
    storedAt: now,
    etag: firstHeader(headers, 'etag'),
    lastModified: firstHeader(headers, 'last-modified'),
    freshUntil,
    revalidateUntil: freshUntil + o.swrMs,
    staleUntil: freshUntil + Math.max(o.swrMs, o.sieMs),
  }
}

/** Per-user responses without `Cache-Control` are marked `private` for downstream caches. */
export function markPrivate<Req, Res>(
  o: ResolvedHttpOptions<Req, Res>,
  headers: [string, string][],
): [string, string][] {
  if (o.private !== undefined && !hasHeader(headers, 'cache-control')) {
    headers.push(['cache-control', 'private'])
  }
  return headers
}
