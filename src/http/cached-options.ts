/**
 * The options of a cached route (`cached({...})` in every adapter, `createHttpCache({...})` here),
 * validated once at setup: impossible configuration throws a `TypeError` naming the option.
 */
import { Cache } from '../cache.js'
import { type Duration, describe, toMs } from '../duration.js'
import { validateCachedOptions } from './policy.js'
import type { HttpPolicyOptions } from './types.js'

/**
 * Options of a cached route. `Req` and `Res` are the framework's native request and response (the
 * neutral core uses `HttpRequestView`); function options receive them.
 */
export interface CachedOptions<Req = unknown, Res = unknown>
  extends Omit<HttpPolicyOptions, 'private' | 'bypass'> {
  /** The cache holding the responses. @default defaultCache() (the process default, memory only) */
  cache?: Cache
  /**
   * Per-user mode: a stable identity (`user.id`, tenant id; never a display name). Entries are
   * partitioned by a hash of it, so `Authorization`, cookies, `Cache-Control: private` and
   * `Vary: Cookie` no longer prevent caching; responses without `Cache-Control` are sent with
   * `Cache-Control: private`. A request whose identity is `undefined`, `null` or `''` bypasses.
   * @default undefined (shared mode)
   */
  private?: (req: Req) => string | number | null | undefined
  /**
   * The only way a request can skip the cache (e.g. an admin-only refresh). Request
   * `Cache-Control` / `Pragma` are otherwise ignored.
   * @default undefined
   */
  bypass?: (req: Req) => boolean
  /**
   * Replaces the URL part of the key (host, path, query). The method class, `Vary` and the per-user
   * partition still apply, and requests the default key would bypass (deception paths) still bypass.
   * The responses stored under a custom key are dropped by `invalidateKey(cache, key)`.
   * @default undefined (method class + scheme + host + route + path + normalised query)
   */
  key?: (req: Req) => string
  /**
   * Tags of the stored response, for `cache.invalidateTags`. A function is called after the handler.
   * Every entry also gets its URL tag (see `invalidateUrl`) and the tags of the data the handler read
   * through any cache during the request.
   * @default undefined
   */
  tags?: readonly string[] | ((req: Req, res: Res) => readonly string[] | undefined)
  /**
   * After freshness ends, how long the stale response is served to concurrent requests while one
   * request runs the handler to refresh it.
   * @default 0
   */
  staleWhileRevalidate?: Duration
  /**
   * Within `staleWhileRevalidate`, the first request after freshness ends also gets the stale response
   * at once, and a copy of it is sent through the app in the background to run the handler and store the
   * new response (Varnish grace mode). The copy passes every middleware the request did, with its headers
   * and client address. Without it (or where the adapter cannot replay a request) that first request runs
   * the handler and waits for it, as nginx does by default.
   * @default false
   */
  backgroundRevalidate?: boolean
  /** After freshness ends, how long the stale response replaces a 5xx or a thrown handler. @default 0 */
  staleIfError?: Duration
  /**
   * How long a URL whose last response was not storable (Set-Cookie, no-store, a status outside
   * `statuses`, too big...) skips request coalescing, so such routes are never serialised
   * (Varnish hit-for-miss). `0` turns it off.
   * @default 5
   */
  hitForMiss?: Duration
  /** Most variants kept per URL for responses with `Vary`; further variants are not stored. @default 16 */
  maxVariants?: number
  /**
   * How long a request waits for another request's in-flight response (or a slow store) before
   * running the handler itself, uncached (nginx `proxy_cache_lock_timeout`).
   * @default 5
   */
  lockTimeout?: Duration
  /**
   * The `Cache-Status` header (RFC 9211): `false` leaves it out, a string renames the cache.
   * @default 'tiercache'
   */
  cacheStatus?: boolean | string
  /** Add a strong `ETag` (SHA-256 of the body) to stored responses that have none. @default true */
  etag?: boolean
  /**
   * A 2xx/3xx response to POST/PUT/PATCH/DELETE through this middleware invalidates the cached GET/HEAD
   * responses of that URL path (and of a same-origin `Location` / `Content-Location`).
   * @default true
   */
  invalidateOnWrite?: boolean
}

/** Options resolved once at setup. */
export interface ResolvedHttpOptions<Req, Res> {
  cache: Cache | undefined
  policy: HttpPolicyOptions
  ttlMs: number | undefined
  swrMs: number
  /** `backgroundRevalidate`. */
  background: boolean
  sieMs: number
  hitForMissMs: number
  lockMs: number
  maxVariants: number
  statusName: string | false
  etag: boolean
  invalidateOnWrite: boolean
  private: ((req: Req) => string | number | null | undefined) | undefined
  bypass: ((req: Req) => boolean) | undefined
  key: ((req: Req) => string) | undefined
  tags: CachedOptions<Req, Res>['tags']
}

const OWN = new Set([
  'cache',
  'private',
  'bypass',
  'key',
  'tags',
  'staleWhileRevalidate',
  'backgroundRevalidate',
  'staleIfError',
  'hitForMiss',
  'maxVariants',
  'lockTimeout',
  'cacheStatus',
  'etag',
  'invalidateOnWrite',
])
const POLICY = new Set([
  'ttl',
  'public',
  'ignoreCookies',
  'cookies',
  'maxUrlBytes',
  'maxQueryParams',
  'statuses',
  'stripSetCookie',
  'ignoreResponseDirectives',
  'maxBodySize',
  'query',
  'encodings',
  'cacheControl',
])
const STATUS_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z:/]+$/

function fail(option: string, expected: string, value: unknown): never {
  throw new TypeError(`Expected \`${option}\` to be ${expected}, got ${describe(value)}`)
}

function fn(o: Record<string, unknown>, name: string): void {
  if (o[name] !== undefined && typeof o[name] !== 'function') fail(name, 'a function', o[name])
}

/** Validates and resolves route options; throws a `TypeError` naming the option on bad input. */
export function resolveHttpOptions<Req, Res>(
  options: CachedOptions<Req, Res> | undefined,
): ResolvedHttpOptions<Req, Res> {
  const input = options ?? {}
  if (input === null || typeof input !== 'object' || Array.isArray(input)) fail('options', 'an object', input)
  const o = input as Record<string, unknown>
  for (const name of Object.keys(o)) {
    if (!OWN.has(name) && !POLICY.has(name)) {
      throw new TypeError(`Unknown option \`${name}\` for cached(): check the spelling`)
    }
  }
  if (o.cache !== undefined && !(o.cache instanceof Cache)) fail('cache', 'a Cache (createCache())', o.cache)
  if (o.private !== undefined && typeof o.private !== 'function') {
    fail('private', 'a function returning a stable user or tenant id', o.private)
  }
  fn(o, 'bypass')
  fn(o, 'key')
  if (o.tags !== undefined && typeof o.tags !== 'function') {
    if (!Array.isArray(o.tags)) fail('tags', 'an array of strings or a function', o.tags)
    for (const t of o.tags) if (typeof t !== 'string' || t === '') fail('tags[]', 'a non-empty string', t)
  }
  if (o.maxVariants !== undefined) {
    const v = o.maxVariants
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) fail('maxVariants', 'an integer >= 1', v)
  }
  if (o.cacheStatus !== undefined && typeof o.cacheStatus !== 'boolean') {
    if (typeof o.cacheStatus !== 'string' || !STATUS_NAME.test(o.cacheStatus)) {
      fail('cacheStatus', 'a boolean or a cache name (a token)', o.cacheStatus)
    }
  }
  for (const name of ['etag', 'invalidateOnWrite', 'backgroundRevalidate']) {
    if (o[name] !== undefined && typeof o[name] !== 'boolean') fail(name, 'a boolean', o[name])
  }
  const lockMs = o.lockTimeout === undefined ? 5000 : toMs(o.lockTimeout, 'lockTimeout')
  if (lockMs === 0) fail('lockTimeout', 'greater than 0', o.lockTimeout)

  const policy: Record<string, unknown> = {}
  for (const name of POLICY) if (o[name] !== undefined) policy[name] = o[name]
  if (o.private !== undefined) policy.private = true
  validateCachedOptions(policy)
  const ttlMs = o.ttl === undefined ? undefined : toMs(o.ttl, 'ttl')
  return {
    cache: o.cache as Cache | undefined,
    policy: policy as HttpPolicyOptions,
    ttlMs,
    swrMs: o.staleWhileRevalidate === undefined ? 0 : toMs(o.staleWhileRevalidate, 'staleWhileRevalidate'),
    background: o.backgroundRevalidate === true,
    sieMs: o.staleIfError === undefined ? 0 : toMs(o.staleIfError, 'staleIfError'),
    hitForMissMs: o.hitForMiss === undefined ? 5000 : toMs(o.hitForMiss, 'hitForMiss'),
    lockMs,
    maxVariants: (o.maxVariants as number | undefined) ?? 16,
    statusName:
      o.cacheStatus === false ? false : typeof o.cacheStatus === 'string' ? o.cacheStatus : 'tiercache',
    etag: o.etag !== false,
    invalidateOnWrite: o.invalidateOnWrite !== false,
    private: input.private,
    bypass: input.bypass,
    key: input.key,
    tags: input.tags,
  }
}
