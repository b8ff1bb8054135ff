/**
 * Method decorators: `@cached(options)` (process default cache) and `@cache.cached(options)` (that
 * cache). One decorator function works with both TypeScript decorator modes:
 *
 * - TC39 standard decorators (the TypeScript default): called as `(method, context)` where `context`
 *   is a `ClassMethodDecoratorContext` (an object with `kind: 'method'`).
 * - Legacy `experimentalDecorators`: called as `(target, propertyKey, descriptor)` where
 *   `propertyKey` is a string or symbol and `descriptor` a property descriptor.
 *
 * The mode is detected from the shape of the arguments, never from configuration.
 *
 * This file holds the public types and the two decorator factories. The rest lives beside it:
 * option validation in decorator-plan.ts, key building in decorator-keys.ts, the method wrapper in
 * decorator-wrap.ts, the two decorator modes in decorator-modes.ts and `invalidateCall` in
 * decorator-invalidate.ts (re-exported here).
 *
 * Note on imports: `cache.ts` imports this module for `Cache#cached`, so this file and the
 * decorator-*.ts files import `Cache` as a type only. The default cache (and `isCache`) comes from
 * `default.ts`, which imports `cache.ts`; that import cycle is only ever used inside functions (never
 * while the modules evaluate), so it is harmless in ESM and in bundles.
 */

import type { Cache } from './cache.js'
import { decorator } from './decorator-modes.js'
import { plan } from './decorator-plan.js'
import type { EntryOptions } from './options.js'

export { invalidateCall, type MethodArgs, type MethodName } from './decorator-invalidate.js'

/** Options of a cached method that uses the cache it is bound to (`@cache.cached(...)`). */
export interface CacheMethodOptions<A extends unknown[] = unknown[]> extends Omit<EntryOptions, 'tags'> {
  /**
   * Derives the cache key from the call's arguments (`this` is the instance, or the class for a
   * static method). The result is used as the key as it is: it should include whatever tells this
   * method's calls apart from other keys in the cache. Cannot be combined with `version` (put a
   * version into the key yourself).
   * @default `cache.keyFor(`${Class}.${method}`, args)`, with `@v${version}` appended to the name when
   *   `version` is set. `this` is not part of the default key.
   */
  key?: (this: unknown, ...args: A) => string
  /**
   * Tags of the cached entry, for `invalidateTags`: a fixed array, or a function of the call's
   * arguments, e.g. `tags: (id: string) => [`product:${id}`]`.
   * @default undefined (no tags besides the cache's own defaults)
   */
  tags?: readonly string[] | ((...args: A) => readonly string[])
  /**
   * Bump to invalidate every cached call of this method after a code change: the default key's name
   * becomes `${Class}.${method}@v${version}`.
   * @default undefined (the name is `${Class}.${method}`)
   */
  version?: string | number
}

/** Options of `@cached(...)`. Every {@link EntryOptions} field is accepted and overrides the cache's default. */
export interface CachedMethodOptions<A extends unknown[] = unknown[]> extends CacheMethodOptions<A> {
  /**
   * The cache to use.
   * @default `defaultCache()`, looked up at every call, so `setDefaultCache` after the class was
   *   defined still takes effect.
   */
  cache?: Cache
}

/** A method's type as the decorators see it. Decorated methods must return a Promise (see {@link cached}). */
type AsyncMethod<This, Args extends unknown[], R> = (this: This, ...args: Args) => R

/**
 * The decorator returned by `cached(...)` / `cache.cached(...)`. It accepts methods whose parameters
 * start with the parameters that `key` / `tags` declare, and that return a Promise.
 */
export interface CachedMethodDecorator<A extends unknown[] = unknown[]> {
  /** TC39 standard decorator (TypeScript's default). */
  <This, Args extends [...A, ...unknown[]], R extends Promise<unknown>>(
    method: AsyncMethod<This, Args, R>,
    context: ClassMethodDecoratorContext<This, AsyncMethod<This, Args, R>>,
  ): AsyncMethod<This, Args, R>
  /** Legacy decorator (`experimentalDecorators: true`). */
  <This, Args extends [...A, ...unknown[]], R extends Promise<unknown>>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<AsyncMethod<This, Args, R>>,
  ): TypedPropertyDescriptor<AsyncMethod<This, Args, R>>
}

/**
 * Method decorator: caches the method's results in the process default cache (`defaultCache()`,
 * looked up at call time) or in `options.cache`. Calls with equal arguments share one entry; concurrent
 * calls of a missing entry run the method once (coalescing). Use `@cache.cached(...)` to bind a cache.
 *
 * ```ts
 * class ProductService {
 *   @cached({ ttl: 60, tags: (id: string) => [`product:${id}`] })
 *   async getProduct(id: string): Promise<Product> { ... }
 * }
 * ```
 *
 * - The decorated method ALWAYS returns a Promise (the cache is asynchronous), so TypeScript only
 *   accepts methods declared to return a Promise (`async` methods, or `(): Promise<T>`). A plain
 *   JavaScript sync method works at run time, but its callers then receive a Promise.
 * - A method that resolves to `undefined` is not cached (the next call runs it again).
 * - `this` is passed through: the method runs with the instance (or class) it was called on.
 * - The default key is `cache.keyFor(`${Class}.${method}`, args)` (plus `@v${version}` in the name
 *   when `version` is set). `Class` is the class that declares the method, so a subclass that inherits
 *   it shares the entries, and an override that calls `super.method()` does not collide with it.
 *   Classes are told apart by their run-time name (`constructor.name`) only: two classes with the
 *   same name share keys unless `key` or `version` tells them apart, and build tools that rename
 *   classes change the keys (minifiers; esbuild without `keepNames` renames a decorated class that
 *   refers to itself to `_Name`). Use `key` where names are not stable.
 * - To drop one call's entry: `invalidateCall(service, 'getProduct', id)`, or
 *   `cache.delete(cache.keyFor('ProductService.getProduct', [id]))` when no `key`/`version` is set.
 *
 * Works with TC39 standard decorators and with `experimentalDecorators`, on instance and static
 * methods. Options are validated here, when the class is defined: a bad `ttl` throws a `TypeError`.
 */
export function cached<A extends unknown[]>(options?: CachedMethodOptions<A>): CachedMethodDecorator<A>
export function cached(options?: CachedMethodOptions, ...extra: unknown[]): CachedMethodDecorator {
  if (typeof options === 'function' || extra.length > 0) {
    throw new TypeError('`cached` is a decorator factory: write `@cached()` or `@cached({ ttl: 60 })`')
  }
  return decorator(plan(options, undefined))
}

/** `Cache#cached`: the same decorator, bound to `cache`. */
export function cachedIn<A extends unknown[]>(
  cache: Cache,
  options?: CacheMethodOptions<A>,
): CachedMethodDecorator<A>
export function cachedIn(
  cache: Cache,
  options?: CachedMethodOptions,
  ...extra: unknown[]
): CachedMethodDecorator {
  if (typeof options === 'function' || extra.length > 0) {
    throw new TypeError(
      '`cache.cached` is a decorator factory: write `@cache.cached()` or `@cache.cached({ ttl: 60 })`',
    )
  }
  if (options?.cache !== undefined && options.cache !== cache) {
    throw new TypeError(
      '`cache.cached(...)` is bound to `cache`: do not also pass a different `cache` option',
    )
  }
  return decorator(plan(options, cache))
}
