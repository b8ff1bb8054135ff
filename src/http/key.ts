/**
 * The cache key of a request (HTTP-RULES 9, 10; RELIABILITY 37, 39).
 *
 * Soundness first: two requests share a key only if every Node framework would hand the handler the
 * same parsed request (path params, `req.query` including duplicate order). Anything ambiguous
 * (matrix params, encoded slashes, dot segments, invalid escapes, odd hosts) yields `undefined`,
 * meaning "bypass: serve uncached", so deception tricks cannot mint or poison entries.
 *
 * Choices:
 * - Query: percent-escapes get upper-case hex and escaped unreserved characters are decoded (every
 *   query parser decodes them identically); other bytes are kept as sent, so `+` and `%20` or `;`
 *   and `%3B` stay distinct. Parameters are stably sorted by *base name* (the decoded name up to the
 *   first `[` or `.`), so `a=1&a=2` ≠ `a=2&a=1` and `a=1&a[]=2` ≠ `a[]=2&a=1` (qs merges those).
 * - Path: routers such as Express and Koa match the *raw* path, so `/p/%34%32` may reach another
 *   route than `/p/42`. The path is therefore keyed byte-exact, unless the framework reports the
 *   matched route: then the route pattern is part of the key and the path is normalised like the
 *   query (equal pattern and equal decoded segments ⇒ same handler, same params).
 * - Parts are length-prefixed, then hashed: `http:` + 43 base64url chars of SHA-256.
 */
import { createHash } from 'node:crypto'
import { keyedCookies } from './cookies.js'
import type { HttpPolicyOptions, HttpRequestView } from './types.js'

/** Query parameters left out of the key unless `query.ignore` says otherwise. */
export const DEFAULT_IGNORED_PARAMS: readonly string[] = ['utm_*', 'fbclid', 'gclid']
/** Default `maxUrlBytes`. */
export const DEFAULT_MAX_URL_BYTES = 2048
/** Default `maxQueryParams`. */
export const DEFAULT_MAX_QUERY_PARAMS = 64

const KEY_VERSION = 'tiercache-http-1'
const UNRESERVED = /[A-Za-z0-9\-._~]/
// printable ASCII; '#' never belongs in a request target
const TARGET_CHARS = /^[\x21-\x22\x24-\x7e]*$/
const HOST = /^(?:[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/

/** Splits a request target into path and query (`undefined` query when there is no `?`). */
export function splitTarget(url: string): { path: string; query: string | undefined } {
  const q = url.indexOf('?')
  return q < 0 ? { path: url, query: undefined } : { path: url.slice(0, q), query: url.slice(q + 1) }
}

/** The non-empty `&`-separated pairs of a raw query string, as sent. */
export function queryPairs(query: string | undefined): string[] {
  return query ? query.split('&').filter((p) => p !== '') : []
}

/**
 * Upper-cases percent-escape hex and decodes escaped unreserved characters; `undefined` when a `%`
 * does not start a valid escape.
 */
export function normalizeEscapes(s: string): string | undefined {
  if (!s.includes('%')) return s
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c !== '%') {
      out += c
      continue
    }
    const hex = s.slice(i + 1, i + 3)
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined
    const ch = String.fromCharCode(Number.parseInt(hex, 16))
    out += UNRESERVED.test(ch) ? ch : '%' + hex.toUpperCase()
    i += 2
  }
  return out
}

/** `true` when `name` matches a pattern: exact, or by prefix when the pattern ends with `*`. */
export function matchesParam(name: string, patterns: readonly string[]): boolean {
  for (const p of patterns) {
    if (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p) return true
  }
  return false
}

function decodeComponentStrict(s: string): string | undefined {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

function decodeComponent(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}

/**
 * The path as keyed, or `undefined` when it must bypass: not origin-form, `;` matrix params,
 * backslashes, encoded `/` or `\`, empty (`//`) or dot segments (also `%2e`), control characters,
 * escapes that are not valid UTF-8.
 * With `normalize`, escapes are normalised as in {@link normalizeEscapes}; otherwise the raw path
 * is returned.
 */
export function keyPath(path: string, normalize: boolean): string | undefined {
  if (!path.startsWith('/') || !TARGET_CHARS.test(path)) return undefined
  if (path.includes(';') || path.includes('\\') || path.includes('//')) return undefined
  const normalized = normalizeEscapes(path)
  if (normalized === undefined) return undefined
  if (/%(?:2F|5C|[01][0-9A-F]|7F)/.test(normalized)) return undefined
  for (const segment of normalized.split('/')) if (segment === '.' || segment === '..') return undefined
  // routers decode params; a segment that is not valid UTF-8 would fail there
  if (decodeComponentStrict(normalized) === undefined) return undefined
  return normalize ? normalized : path
}

/**
 * The query as keyed: non-empty pairs with escapes normalised, ignored parameters dropped, stably
 * sorted by base name, joined by `&`. `undefined` (bypass) on invalid escapes or UTF-8, control
 * characters, too many parameters, or a parameter outside `allow`.
 */
export function keyQuery(query: string | undefined, opts: HttpPolicyOptions = {}): string | undefined {
  if (query !== undefined && !TARGET_CHARS.test(query)) return undefined
  const pairs = queryPairs(query)
  if (pairs.length > (opts.maxQueryParams ?? DEFAULT_MAX_QUERY_PARAMS)) return undefined
  const ignore = opts.query?.ignore ?? DEFAULT_IGNORED_PARAMS
  const allow = opts.query?.allow
  const kept: { base: string; pair: string }[] = []
  for (const raw of pairs) {
    const pair = normalizeEscapes(raw)
    if (pair === undefined || /%(?:[01][0-9A-F]|7F)/.test(pair)) return undefined
    const eq = pair.indexOf('=')
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq))
    if (name === undefined || decodeComponent(eq < 0 ? '' : pair.slice(eq + 1)) === undefined)
      return undefined
    if (matchesParam(name, ignore)) continue
    if (allow !== undefined && !matchesParam(name, allow)) return undefined
    kept.push({ base: /^[^[.]*/.exec(name)![0], pair })
  }
  kept.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0))
  return kept.map((k) => k.pair).join('&')
}

function lengthPrefixed(part: string | undefined): string {
  return part === undefined ? '-' : `${part.length}:${part}`
}

/** Hashes an ordered tuple of parts (absent parts allowed) into `http:` + 43 base64url characters. */
export function hashKeyParts(parts: readonly (string | undefined)[]): string {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(lengthPrefixed(part))
  return 'http:' + hash.digest('base64url')
}

/**
 * The unhashed parts of the key, or `undefined` when the request must bypass: version, method class
 * (`GET` for GET and HEAD), scheme, host, route pattern, path, query, allow-listed cookies (under
 * the `cookies` option) and the per-user `partition`.
 */
export function requestKeyParts(
  req: HttpRequestView,
  opts: HttpPolicyOptions = {},
  partition?: string,
): (string | undefined)[] | undefined {
  if (req.method !== 'GET' && req.method !== 'HEAD') return undefined
  if (Buffer.byteLength(req.url, 'utf8') > (opts.maxUrlBytes ?? DEFAULT_MAX_URL_BYTES)) return undefined
  const protocol = req.protocol.toLowerCase()
  const host = req.host.toLowerCase()
  if (!/^[a-z][a-z0-9+.-]*$/.test(protocol) || !HOST.test(host)) return undefined
  const { path, query } = splitTarget(req.url)
  const pattern = req.route?.pattern
  const keyedPath = keyPath(path, pattern !== undefined)
  if (keyedPath === undefined) return undefined
  const keyedQuery = keyQuery(query, opts)
  if (keyedQuery === undefined) return undefined
  let cookies: string | undefined
  if (opts.cookies !== undefined) {
    cookies = keyedCookies(req, opts.cookies)
      .map(([n, v]) => lengthPrefixed(n) + lengthPrefixed(v))
      .join('')
  }
  return [KEY_VERSION, 'GET', protocol, host, pattern, keyedPath, keyedQuery, cookies, partition]
}

/**
 * The request's cache key (`http:` + 43 base64url chars), or `undefined` to bypass. `partition` is
 * the per-user identity in `private` mode, so per-user entries never meet shared ones. The key
 * does not cover `Vary`: combine it with {@link hashKeyParts}`([key, varyKey])`.
 */
export function requestKey(
  req: HttpRequestView,
  opts: HttpPolicyOptions = {},
  partition?: string,
): string | undefined {
  const parts = requestKeyParts(req, opts, partition)
  return parts === undefined ? undefined : hashKeyParts(parts)
}
