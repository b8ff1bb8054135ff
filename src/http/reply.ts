/**
 * What the HTTP core keeps in the engine (a response, a Vary index, or a hit-for-miss marker) and the
 * replies it hands adapters: full replays, 304s, HEAD, with `Age` and `Cache-Status`.
 */
import { evaluateConditional, notModifiedHeaders } from './conditional.js'
import { ageSeconds, type CacheStatusParams, cacheStatus, headerValues } from './headers.js'
import type { HeaderInput, StoredResponse } from './types.js'

/** A stored response with its freshness windows (epoch ms). */
export interface CachedResponse extends StoredResponse {
  readonly kind: 'response'
  /** End of freshness: a hit until then. */
  freshUntil: number
  /** End of the stale-while-revalidate window. */
  revalidateUntil: number
  /** End of the stale-if-error window (and of the entry). */
  staleUntil: number
  /** The stored `Last-Modified`, for `If-Modified-Since`. */
  lastModified?: string | undefined
}

/** Stored under the URL key when responses vary: the request headers that select a variant. */
export interface VaryIndex {
  readonly kind: 'vary'
  /** Lower-case, sorted field names. */
  names: string[]
  /** Secondary keys of the variants stored so far (capped by `maxVariants`). */
  variants: string[]
}

/** Hit-for-miss: the last response was not storable, so requests run the handler without waiting. */
export interface PassMarker {
  readonly kind: 'pass'
  reason: string
}

/** A value the HTTP core keeps in the engine. */
export type HttpEntry = CachedResponse | VaryIndex | PassMarker

/** What an adapter sends: status, header pairs (lower-case names, repeated for multi-values), body. */
export interface HttpReply {
  status: number
  headers: [string, string][]
  /** `undefined`: no body (HEAD, 304, 204). */
  body: Uint8Array | undefined
  /**
   * The same headers as a record (a repeated name as an array), when the core prepared one (fresh
   * hits); frozen. `headerRecord(reply)` returns it, or builds it from `headers`.
   */
  readonly record?: Readonly<Record<string, string | string[]>> | undefined
}

/** Builds `Cache-Status` header pairs, or none when the header is disabled. */
export type StatusHeader = (params: Omit<CacheStatusParams, 'cache'>) => [string, string][]

export function statusHeader(name: string | false): StatusHeader {
  if (name === false) return () => []
  return (params) => [['cache-status', cacheStatus({ ...params, cache: name })]]
}

/** Request headers that make a request conditional; a cache fill strips them to get a full response. */
export const CONDITIONAL_HEADERS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since']

const NO_BODY_STATUS = new Set([204, 304])

/** Replaces `Content-Length` with the real body length (none for 204/304 or without a body). */
export function withLength(headers: [string, string][], status: number, length: number | undefined) {
  const out = headers.filter(([n]) => n !== 'content-length' && n !== 'transfer-encoding')
  if (length !== undefined && !NO_BODY_STATUS.has(status)) out.push(['content-length', String(length)])
  return out
}

/**
 * The reply for a stored response: a 304 when the request's `If-None-Match` / `If-Modified-Since`
 * match, else the full response (no body for HEAD), with `Age` and the given status headers.
 */
export function replayResponse(
  entry: CachedResponse,
  method: string,
  reqHeaders: HeaderInput,
  extra: [string, string][],
  now: number,
): HttpReply {
  const age: [string, string] = ['age', String(ageSeconds(entry.storedAt, now))]
  if (
    entry.status === 200 &&
    isConditional(reqHeaders) &&
    evaluateConditional(reqHeaders, { etag: entry.etag, lastModified: entry.lastModified }, method) ===
      'not-modified'
  ) {
    return { status: 304, headers: [...notModifiedHeaders(entry.headers), age, ...extra], body: undefined }
  }
  const ready = sendHeaders(entry)
  const headers = new Array<[string, string]>(ready.length + 1 + extra.length)
  for (let i = 0; i < ready.length; i++) headers[i] = ready[i]!
  headers[ready.length] = age
  for (let i = 0; i < extra.length; i++) headers[ready.length + 1 + i] = extra[i]!
  return { status: entry.status, headers, body: method === 'HEAD' ? undefined : entry.body }
}

/** The stored headers of each entry as sent (with the real `Content-Length`), built on its first replay. */
const ready = new WeakMap<CachedResponse, readonly [string, string][]>()

function sendHeaders(entry: CachedResponse): readonly [string, string][] {
  let headers = ready.get(entry)
  if (headers === undefined) {
    headers = withLength(entry.headers, entry.status, entry.body.byteLength)
    ready.set(entry, headers)
  }
  return headers
}

/** Whether the request carries a conditional header (a record's names are lower-case, as in a request view). */
function isConditional(headers: HeaderInput): boolean {
  if (Array.isArray(headers)) {
    return headers.some(([n]) => CONDITIONAL_HEADERS.includes((n as string).toLowerCase()))
  }
  const record = headers as Readonly<Record<string, unknown>>
  for (const name of CONDITIONAL_HEADERS) if (record[name] !== undefined) return true
  return false
}

/** The first value of a header among pairs. */
export function firstHeader(headers: HeaderInput, name: string): string | undefined {
  return headerValues(headers, name)[0]
}
