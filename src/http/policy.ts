/**
 * Cacheability policy: which requests may use the shared cache, which responses may be stored, and
 * setup-time validation of the route options (HTTP-RULES 1, 3-8, 11, 13, 17; RELIABILITY 33-39).
 */
import { describe, toMs } from '../duration.js'
import { buildCacheControl, parseCacheControl, parseExpires, responseFreshnessMs } from './cache-control.js'
import { hasCookies } from './cookies.js'
import { headerValue, headerValues } from './headers.js'
import { parseHttpDate } from './http-date.js'
import { INFLUENCE_HEADERS } from './influence.js'
import { DEFAULT_MAX_QUERY_PARAMS, DEFAULT_MAX_URL_BYTES, queryPairs } from './key.js'
import { CONDITIONAL_HEADERS } from './reply.js'
import type { HeaderInput, HttpPolicyOptions, HttpRequestView } from './types.js'
import { encodingMatchesVariant, parseVary, varyKey } from './vary.js'

/** Why a request skips the cache (it is served by the handler and nothing is stored). */
export type BypassReason =
  | 'method'
  | 'method-override'
  | 'url-too-long'
  | 'too-many-params'
  | 'body'
  | 'range'
  | 'authorization'
  | 'cookie'
  | 'custom'

/** Why a response is not stored. */
export type NoStoreReason =
  | 'status'
  | 'set-cookie'
  | 'no-store'
  | 'no-cache'
  | 'private'
  | 'vary-star'
  | 'vary-credentials'
  | 'event-stream'
  | 'body-too-large'
  | 'authorization'
  | 'max-age-0'
  | 'expired'
  | 'no-freshness'

/** The response facts the store decision needs. */
export interface ResponseView {
  status: number
  headers: HeaderInput
  /** Body length in bytes, when known. */
  bodySize?: number
}

/** Default `maxBodySize`: 1 MiB. */
export const DEFAULT_MAX_BODY_SIZE = 1_048_576
/** Default `statuses`. */
export const DEFAULT_STATUSES: readonly number[] = [200]

const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override']

function present(req: HttpRequestView, name: string): boolean {
  return req.headers[name] !== undefined
}

function carriesBody(req: HttpRequestView): boolean {
  if (req.hasBody === true || present(req, 'transfer-encoding')) return true
  const length = headerValue(req.headers, 'content-length')
  // an unparsable length is treated as a body
  return length !== undefined && length.trim() !== '0'
}

/**
 * Why `req` must bypass the cache, or `undefined` when it may be looked up and stored. Checked in
 * this order: method (only GET/HEAD), method-override headers, URL size, parameter count, a body,
 * `Range`/`If-Range`, `Authorization` (unless `public` or `private`), cookies (unless `private`,
 * `ignoreCookies` or a `cookies` allowlist), then the route's `bypass(req)`. Request
 * `Cache-Control`/`Pragma` never cause a bypass; errors thrown by `bypass` propagate.
 */
export function requestBypassReason(
  req: HttpRequestView,
  opts: HttpPolicyOptions = {},
): BypassReason | undefined {
  if (req.method !== 'GET' && req.method !== 'HEAD') return 'method'
  if (METHOD_OVERRIDE_HEADERS.some((h) => present(req, h))) return 'method-override'
  const url = urlBypassReason(req.url, opts)
  if (url !== undefined) return url
  if (carriesBody(req)) return 'body'
  if (present(req, 'range') || present(req, 'if-range')) return 'range'
  const perUser = Boolean(opts.private)
  if (present(req, 'authorization') && !opts.public && !perUser) return 'authorization'
  if (!perUser && !opts.ignoreCookies && opts.cookies === undefined && hasCookies(req)) return 'cookie'
  if (opts.bypass?.(req) === true) return 'custom'
  return undefined
}

/**
 * `'url-too-long'` or `'too-many-params'` when the request target is over `maxUrlBytes` or carries
 * more than `maxQueryParams` pairs; what `requestBypassReason` checks of the URL, without allocating
 * for a URL that is clearly within both limits.
 */
export function urlBypassReason(
  url: string,
  opts: HttpPolicyOptions = {},
): 'url-too-long' | 'too-many-params' | undefined {
  const maxBytes = opts.maxUrlBytes ?? DEFAULT_MAX_URL_BYTES
  // a UTF-16 code unit is at most 3 UTF-8 bytes
  if (url.length * 3 > maxBytes && Buffer.byteLength(url, 'utf8') > maxBytes) return 'url-too-long'
  const q = url.indexOf('?')
  if (q < 0) return undefined
  const maxParams = opts.maxQueryParams ?? DEFAULT_MAX_QUERY_PARAMS
  // the pairs are at most the separators + 1: count exactly only past that
  let separators = 0
  for (let i = url.indexOf('&', q + 1); i >= 0; i = url.indexOf('&', i + 1)) separators++
  if (separators + 1 <= maxParams) return undefined
  return queryPairs(url.slice(q + 1)).length > maxParams ? 'too-many-params' : undefined
}

/**
 * Request header names that `requestBypassReason`, conditional requests (`If-None-Match`, ...) or the
 * keying of URL-influencing headers read. A request carrying none of them (and no body flag) can skip
 * those checks: only its URL and the route's own options decide.
 */
const NOTABLE_REQUEST_HEADERS = new Set<string>([
  ...METHOD_OVERRIDE_HEADERS,
  'transfer-encoding',
  'content-length',
  'range',
  'if-range',
  'authorization',
  'cookie',
  ...CONDITIONAL_HEADERS,
  ...INFLUENCE_HEADERS,
])

/** Whether a request view's header record has a name in {@link NOTABLE_REQUEST_HEADERS}. */
export function hasNotableHeader(headers: HttpRequestView['headers']): boolean {
  for (const name in headers) {
    if (NOTABLE_REQUEST_HEADERS.has(name) && headers[name] !== undefined) return true
  }
  return false
}

/**
 * Why the response must not be stored, or `undefined` when it may be. Pass the request to apply
 * RFC 9111 §3.5: a response to a request with `Authorization` (outside per-user mode) is stored
 * only if it says `public`, `s-maxage` or `must-revalidate`.
 */
export function responseStoreReason(
  res: ResponseView,
  opts: HttpPolicyOptions = {},
  req?: HttpRequestView,
  now: number = Date.now(),
): NoStoreReason | undefined {
  const perUser = Boolean(opts.private)
  if (isNeverStoredStatus(res.status) || !(opts.statuses ?? DEFAULT_STATUSES).includes(res.status))
    return 'status'
  if (headerValues(res.headers, 'set-cookie').length > 0 && !opts.stripSetCookie) return 'set-cookie'
  const cc = parseCacheControl(res.headers)
  if (cc.noStore) return 'no-store'
  if (cc.noCache) return 'no-cache'
  if (cc.private && !perUser) return 'private'
  const vary = headerValues(res.headers, 'vary').flatMap((v) =>
    v.split(',').map((n) => n.trim().toLowerCase()),
  )
  if (vary.includes('*')) return 'vary-star'
  if (!perUser && (vary.includes('cookie') || vary.includes('authorization'))) return 'vary-credentials'
  const type = headerValue(res.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase()
  if (type === 'text/event-stream') return 'event-stream'
  if (res.bodySize !== undefined && res.bodySize > (opts.maxBodySize ?? DEFAULT_MAX_BODY_SIZE)) {
    return 'body-too-large'
  }
  if (req !== undefined && !perUser && req.headers.authorization !== undefined) {
    if (!cc.public && cc.sMaxAge === undefined && !cc.mustRevalidate) return 'authorization'
  }
  const overridden = opts.ttl !== undefined && opts.ignoreResponseDirectives === true
  if (!overridden) {
    // s-maxage governs a shared cache when present (so `max-age=0, s-maxage=600` is storable)
    const shared = cc.sMaxAge ?? cc.maxAge
    if (shared === 0) return 'max-age-0'
    if (shared === undefined) {
      const expires = parseExpires(res.headers, now)
      if (expires !== undefined) {
        const date = parseHttpDate(headerValues(res.headers, 'date')[0], now) ?? now
        if (expires <= date) return 'expired'
      } else if (opts.ttl === undefined) return 'no-freshness'
    }
  }
  return undefined
}

/** 1xx, 206 and 304 can never be stored as an entry, whatever `statuses` says. */
export function isNeverStoredStatus(status: number): boolean {
  return status < 200 || status === 206 || status === 304
}

function fail(option: string, expected: string, value: unknown): never {
  throw new TypeError(`Expected \`${option}\` to be ${expected}, got ${describe(value)}`)
}

function checkBoolean(o: Record<string, unknown>, name: string): void {
  if (o[name] !== undefined && typeof o[name] !== 'boolean') fail(name, 'a boolean', o[name])
}

function checkInteger(o: Record<string, unknown>, name: string, min: number): void {
  const v = o[name]
  if (v !== undefined && !(typeof v === 'number' && Number.isSafeInteger(v) && v >= min)) {
    fail(name, `an integer >= ${min}`, v)
  }
}

function checkNames(value: unknown, option: string, pattern: RegExp, what: string): void {
  if (value === undefined) return
  if (!Array.isArray(value)) fail(option, `an array of ${what}`, value)
  for (const item of value) {
    if (typeof item !== 'string' || !pattern.test(item)) fail(`${option}[]`, what, item)
  }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// a parameter name or a prefix ending in a single trailing '*'
const PARAM_PATTERN = /^[^*]+\*?$|^\*$/

/**
 * Validates the policy options of a cached route at setup; throws a `TypeError` naming the option
 * and the value. Unknown keys are left to the caller (the full `CachedOptions` has more).
 */
export function validateCachedOptions(opts: unknown): asserts opts is HttpPolicyOptions {
  if (opts === undefined) return
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) fail('options', 'an object', opts)
  const o = opts as Record<string, unknown>
  if (o.ttl !== undefined) toMs(o.ttl, 'ttl')
  for (const name of ['public', 'ignoreCookies', 'stripSetCookie', 'ignoreResponseDirectives'])
    checkBoolean(o, name)
  if (o.private !== undefined && typeof o.private !== 'boolean' && typeof o.private !== 'function') {
    fail('private', 'a function returning the user identity, or a boolean', o.private)
  }
  if (o.bypass !== undefined && typeof o.bypass !== 'function') fail('bypass', 'a function', o.bypass)
  checkInteger(o, 'maxUrlBytes', 1)
  checkInteger(o, 'maxQueryParams', 0)
  checkInteger(o, 'maxBodySize', 0)
  checkNames(o.cookies, 'cookies', TOKEN, 'cookie names')
  checkNames(o.encodings, 'encodings', TOKEN, 'content-coding names')
  if (Array.isArray(o.encodings) && o.encodings.length === 0)
    fail('encodings', 'a non-empty array', o.encodings)
  if (o.statuses !== undefined) {
    const s = o.statuses
    if (!Array.isArray(s) || s.length === 0) fail('statuses', 'a non-empty array of status codes', s)
    for (const code of s) {
      if (!Number.isInteger(code) || code < 100 || code > 599)
        fail('statuses', 'an array of status codes', code)
      if (isNeverStoredStatus(code)) {
        throw new TypeError(
          `\`statuses\` must not include ${code}: 1xx, 206 and 304 responses are never stored`,
        )
      }
    }
  }
  if (o.query !== undefined) {
    const q = o.query
    if (q === null || typeof q !== 'object' || Array.isArray(q)) fail('query', 'an object', q)
    const { ignore, allow } = q as Record<string, unknown>
    checkNames(ignore, 'query.ignore', PARAM_PATTERN, "parameter names (a trailing '*' matches a prefix)")
    checkNames(allow, 'query.allow', PARAM_PATTERN, "parameter names (a trailing '*' matches a prefix)")
  }
  if (o.cacheControl !== undefined) buildCacheControl(o.cacheControl as string)
  if (o.public === true && o.private) {
    throw new TypeError('`public` and `private` are mutually exclusive: a route is shared or per-user')
  }
  if (o.ignoreCookies === true && o.cookies !== undefined) {
    throw new TypeError(
      '`ignoreCookies` and `cookies` are mutually exclusive: ignore all cookies or key some',
    )
  }
  if (o.ignoreResponseDirectives === true && o.ttl === undefined) {
    throw new TypeError(
      '`ignoreResponseDirectives` requires `ttl`: without it freshness comes from the response',
    )
  }
}

/**
 * Why a buffered response cannot be stored, or `undefined`: the response policy, then `Vary` (`*`,
 * credentials outside per-user mode, a coding other than the negotiated one), then freshness (without
 * a route `ttl`, the response must carry explicit freshness).
 */
export function storedResponseReason(
  res: { status: number; headers: HeaderInput },
  body: Uint8Array,
  policy: HttpPolicyOptions,
  ttlMs: number | undefined,
  view: HttpRequestView,
  now: number,
): string | undefined {
  const { status, headers } = res
  const reason = responseStoreReason({ status, headers, bodySize: body.byteLength }, policy, view, now)
  if (reason !== undefined) return reason
  const names = parseVary(headers)
  if (names === '*') return 'vary-star'
  if (names.length > 0) {
    if (varyKey(names, view, policy) === undefined) return 'vary-credentials'
    if (names.includes('accept-encoding') && !encodingMatchesVariant(headers, view, policy)) {
      return 'encoding-mismatch'
    }
  }
  if ((ttlMs ?? responseFreshnessMs(headers, now)) === undefined) return 'no-freshness'
  return undefined
}
