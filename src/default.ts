import { Cache, createCache } from './cache.js'

let current: Cache | undefined

/**
 * The process default cache, used by the `@cached()` decorator (and adapters) when no `cache` option is
 * given. Created lazily with `createCache()` on first use (one in-process memory tier, 60 s TTL), then
 * the same instance is returned on every call until {@link setDefaultCache} replaces it.
 *
 * "Per process" means per loaded copy of this module: a program that loads tiercache both through
 * `import` and through `require` has two copies, each with its own default.
 */
export function defaultCache(): Cache {
  if (current === undefined) current = createCache()
  return current
}

/**
 * Replaces the process default cache. Decorated methods without a `cache` option look the default up on
 * every call, so this takes effect for classes defined earlier too. The previous default is not closed.
 * Throws a `TypeError` when `cache` is not a `Cache` (from `createCache()`).
 */
export function setDefaultCache(cache: Cache): void {
  if (!isCache(cache)) {
    throw new TypeError(`Expected \`cache\` to be a Cache (from createCache()), got ${describe(cache)}`)
  }
  current = cache
}

/** Whether `value` is a `Cache` (internal: lets modules that `cache.ts` imports check without a cycle). */
export function isCache(value: unknown): value is Cache {
  return value instanceof Cache
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: unknown } }).constructor
    return typeof ctor?.name === 'string' && ctor.name !== '' ? `an instance of ${ctor.name}` : 'an object'
  }
  return typeof value
}
