/**
 * Invalidation of cached HTTP responses by URL: every stored response carries the implicit tag of
 * its URL path, so dropping a URL (any host, any query string, every variant and user partition) is
 * one `invalidateTags` call, never a key scan.
 */
import { Cache } from '../cache.js'
import { headerValues } from './headers.js'
import { normalizeEscapes, splitTarget } from './key.js'
import type { HeaderInput, HttpRequestView } from './types.js'

const TAG_PREFIX = 'http:url:'
const KEY_TAG_PREFIX = 'http:key:'

/**
 * The implicit tag of a URL: its path (query and fragment dropped, percent-escapes normalised, a
 * trailing `/` removed). Accepts an origin-form (`/p/42?x=1`) or an absolute URL.
 */
export function urlTag(url: string): string {
  let target = url
  if (!target.startsWith('/')) {
    try {
      const u = new URL(target)
      target = u.pathname
    } catch {
      throw new TypeError(`Expected \`url\` to be a path ('/products/42') or an absolute URL, got ${url}`)
    }
  }
  let path = splitTarget(target.split('#')[0]!).path
  path = normalizeEscapes(path) ?? path
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  return TAG_PREFIX + path
}

/**
 * Drops every cached response of `url`'s path (all query strings, hosts, variants and per-user
 * partitions) from `cache`, in every tier and process that shares its tags.
 */
export function invalidateUrl(cache: Cache, url: string | readonly string[]): Promise<void> {
  const urls = typeof url === 'string' ? [url] : url
  return cache.invalidateTags(urls.map(urlTag))
}

/** The implicit tag of the responses stored under a route's custom `key` (the string it returned). */
export function keyTag(key: string): string {
  if (typeof key !== 'string' || key === '') {
    throw new TypeError(`Expected \`key\` to be a non-empty string, got ${String(key)}`)
  }
  return KEY_TAG_PREFIX + key
}

/**
 * Drops every cached response stored under these custom keys (the strings a route's `key` option
 * returned), for every variant and per-user partition, in every tier and process that shares the tags.
 * Without a custom `key` the URL is the key: use {@link invalidateUrl}.
 */
export function invalidateKey(cache: Cache, key: string | readonly string[]): Promise<void> {
  const keys = typeof key === 'string' ? [key] : key
  return cache.invalidateTags(keys.map(keyTag))
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** `true` for the methods whose success invalidates the URL's cached GET (RFC 9111 §4.4). */
export function isUnsafeMethod(method: string): boolean {
  return UNSAFE.has(method)
}

/**
 * After an unsafe request: on 2xx/3xx, invalidates the request URL and any same-origin
 * `Location` / `Content-Location` (RFC 9111 §4.4). Other statuses change nothing.
 */
export function invalidateAfterWrite(
  cache: Cache,
  req: HttpRequestView,
  status: number,
  headers: HeaderInput,
): Promise<void> {
  if (status < 200 || status >= 400) return Promise.resolve()
  const tags = new Set([urlTag(req.url)])
  const origin = `${req.protocol.toLowerCase()}://${req.host.toLowerCase()}`
  for (const name of ['location', 'content-location']) {
    for (const value of headerValues(headers, name)) {
      try {
        const u = new URL(value, origin + '/')
        if (u.origin === new URL(origin).origin) tags.add(urlTag(u.pathname))
      } catch {
        // an unparsable Location invalidates nothing more
      }
    }
  }
  return cache.invalidateTags([...tags])
}

/** `cache.http`: HTTP helpers bound to a cache. */
export interface CacheHttp {
  /** Drops every cached response of these URL paths (see {@link invalidateUrl}). */
  invalidate(url: string | readonly string[]): Promise<void>
  /** Drops every cached response stored under these custom keys (see {@link invalidateKey}). */
  invalidateKey(key: string | readonly string[]): Promise<void>
}

declare module '../cache.js' {
  interface Cache {
    /**
     * HTTP response helpers for this cache: `cache.http.invalidate('/products/42')`. Available once
     * `tiercache/http` or any framework adapter is loaded.
     */
    readonly http: CacheHttp
  }
}

if (!Object.getOwnPropertyDescriptor(Cache.prototype, 'http')) {
  Object.defineProperty(Cache.prototype, 'http', {
    configurable: true,
    enumerable: false,
    get(this: Cache): CacheHttp {
      return {
        invalidate: (url) => invalidateUrl(this, url),
        invalidateKey: (key) => invalidateKey(this, key),
      }
    },
  })
}
