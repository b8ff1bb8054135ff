/**
 * Framework-neutral shapes shared by the HTTP response cache. Adapters translate their framework's
 * request into an {@link HttpRequestView}; the pure functions in `src/http/` only ever see this view.
 */
import type { Duration } from '../duration.js'

/** Request headers as most Node frameworks expose them: lower-case names, repeated headers as arrays. */
export type HeaderRecord = Readonly<Record<string, string | string[] | number | undefined>>

/** Response headers as ordered pairs: lower-case names, multi-valued headers kept as repeated pairs. */
export type HeaderPairs = readonly (readonly [string, string])[]

/** Either header shape; helpers that read headers accept both. */
export type HeaderInput = HeaderRecord | HeaderPairs

/** What the HTTP core needs to know about a request, as the framework parsed and validated it. */
export interface HttpRequestView {
  /** Upper-case method, e.g. `'GET'`. */
  method: string
  /** Scheme as the framework decided it (trust-proxy aware): `'http'` or `'https'`. */
  protocol: string
  /**
   * Host as the framework validated it (never a raw `X-Forwarded-Host` unless trust proxy is
   * configured); lower-cased, may include a port.
   */
  host: string
  /** Raw path and query exactly as received, e.g. `'/products/42?b=2&a=1'`. */
  url: string
  /** Request headers, lower-case names. */
  headers: Readonly<Record<string, string | string[] | undefined>>
  /** The router's matched pattern and decoded params, when the framework exposes them. */
  route?: { pattern: string; params: Readonly<Record<string, string>> } | undefined
  /** `true` if the request carries a body (`content-length` > 0 or `transfer-encoding`). */
  hasBody?: boolean
}

/** A response as kept in the cache. */
export interface StoredResponse {
  status: number
  /** Lower-case names, in order; multi-valued headers kept as repeated pairs. */
  headers: [string, string][]
  body: Uint8Array
  /** When the response was stored, epoch milliseconds. */
  storedAt: number
  /** Strong validator computed from the body (or the one the app sent). */
  etag?: string
}

/** Route option `cacheControl`: the `Cache-Control` sent downstream (browsers, CDNs), independent of `ttl`. */
export interface CacheControlOptions {
  /** Emit `public`. @default false */
  public?: boolean
  /** `max-age` for every downstream cache. @default undefined (not emitted) */
  maxAge?: Duration
  /** `s-maxage` for shared downstream caches (CDNs). @default undefined (not emitted) */
  sMaxAge?: Duration
  /** `stale-while-revalidate` (RFC 5861). @default undefined (not emitted) */
  staleWhileRevalidate?: Duration
  /** `stale-if-error` (RFC 5861). @default undefined (not emitted) */
  staleIfError?: Duration
}

/** Query-string normalisation for the cache key. */
export interface QueryKeyOptions {
  /**
   * Parameter names left out of the key. An entry ending in `*` matches by prefix (`'utm_*'`).
   * Ignored parameters still reach the handler, so they must not influence the response.
   * @default ['utm_*', 'fbclid', 'gclid']
   */
  ignore?: readonly string[]
  /**
   * If set, only these parameters are keyed (after removing ignored ones); a request carrying any
   * other parameter bypasses the cache instead of minting a new entry. `*` suffix wildcards allowed.
   * @default undefined (every non-ignored parameter is keyed)
   */
  allow?: readonly string[]
}

/**
 * The cacheability options of one cached route. The middleware's `CachedOptions` extends this.
 * Every rule is on by default; each option is the explicit, named opt-out.
 */
export interface HttpPolicyOptions {
  /**
   * Server-side freshness. A number is seconds, a string takes a unit (`'30s'`, `'5m'`). When
   * omitted, freshness comes from the response's `s-maxage` / `max-age` / `Expires`, and responses
   * without any of them are not stored (no heuristic freshness).
   * @default undefined
   */
  ttl?: Duration
  /**
   * The route is public: requests carrying `Authorization` are still served from and stored in the
   * shared cache, provided the response itself says `public`, `s-maxage` or `must-revalidate`.
   * @default false
   */
  public?: boolean
  /**
   * Per-user mode: entries are partitioned by a stable identity (`user.id`, tenant id), so
   * `Authorization`, cookies, `Cache-Control: private` and `Vary: Cookie` no longer prevent caching.
   * Adapters narrow this to `(req) => identity`; a truthy value turns the mode on.
   * @default undefined (shared mode)
   */
  private?: boolean | ((req: never) => unknown)
  /** Requests carrying cookies are cached as if they had none (cookies don't affect the page). @default false */
  ignoreCookies?: boolean
  /**
   * Cookie names that are part of the key; other cookies are ignored and no longer cause a bypass.
   * @default undefined (any cookie ⇒ bypass)
   */
  cookies?: readonly string[]
  /**
   * The only way a request can skip the cache (e.g. an admin-only refresh). Request
   * `Cache-Control` / `Pragma` are otherwise ignored.
   * @default undefined
   */
  bypass?: (req: HttpRequestView) => boolean
  /** Requests whose path + query is longer than this many bytes bypass the cache. @default 2048 */
  maxUrlBytes?: number
  /** Requests with more query parameters than this bypass the cache. @default 64 */
  maxQueryParams?: number
  /** Cacheable response statuses. 206, 304 and 1xx are rejected at setup. @default [200] */
  statuses?: readonly number[]
  /**
   * Store responses that carry `Set-Cookie`, without the `Set-Cookie` (the original requester still
   * receives it). @default false (such responses are not stored)
   */
  stripSetCookie?: boolean
  /**
   * The route `ttl` overrides `max-age=0` / `s-maxage=0` and expired `Expires` from the response.
   * `no-store`, `no-cache`, `private` and `Vary: *` are always respected.
   * @default false
   */
  ignoreResponseDirectives?: boolean
  /** Larger response bodies are streamed through and not stored, in bytes. @default 1048576 (1 MiB) */
  maxBodySize?: number
  /** Query-string normalisation for the key. @default { ignore: ['utm_*', 'fbclid', 'gclid'] } */
  query?: QueryKeyOptions
  /**
   * Content codings the server produces, in its order of preference. `Vary: Accept-Encoding` is
   * keyed on the one of these the request accepts best. @default ['br', 'gzip', 'identity']
   */
  encodings?: readonly string[]
  /**
   * `Cache-Control` sent downstream. When omitted the app's own header is left untouched.
   * @default undefined
   */
  cacheControl?: CacheControlOptions | string
}
