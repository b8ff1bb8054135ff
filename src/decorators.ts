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
 * Note on imports: `cache.ts` imports this module for `Cache#cached`, so `Cache` is imported here as
 * a type only. The default cache comes from `default.ts`, which imports `cache.ts`; that import
 * cycle is only ever used inside functions (never while the modules evaluate), so it is harmless
 * in ESM and in bundles.
 */

import type { Cache } from './cache.js'
import { defaultCache, isCache } from './default.js'
import { type EntryOptions, ROOT_DEFAULTS, resolveEntryOptions } from './options.js'

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

type Fn = (this: unknown, ...args: unknown[]) => unknown

/** Validated options, shared by every call of one decorated method. */
interface Plan {
  /** The bound cache, or `undefined` for the default cache at call time. */
  cache: Cache | undefined
  /** Typed as returning a string; getOrSet rejects anything else. */
  key: ((this: unknown, ...args: unknown[]) => string) | undefined
  tags: Fn | undefined
  /** `@v${version}`, or `` */
  suffix: string
  /** Entry options passed to getOrSet (fixed tags included), or `undefined` when there are none. */
  entry: EntryOptions | undefined
}

/** What `invalidateCall` needs to know about a decorated method. */
interface Meta {
  plan: Plan
  /** The default key's name (`Class.method@vX`) for a call with this `this`. */
  nameFor: (self: unknown) => string
}

const decorated = new WeakMap<object, Meta>()

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

/**
 * Deletes the cached entry of one call of a decorated method, from the cache that method uses
 * (for `@cached()` without `cache`: the default cache now). `target` is what the method is called on:
 * an instance for an instance method, the class for a static method. Resolves `true` when every tier
 * acknowledged the delete (whether or not an entry existed). Rejects with a `TypeError` when
 * `target[method]` is not a cached method.
 *
 * ```ts
 * await invalidateCall(productService, 'getProduct', '42')
 * await invalidateCall(ProductService, 'staticMethod', '42')
 * ```
 */
export async function invalidateCall<T extends object, K extends MethodName<T>>(
  target: T,
  method: K,
  ...args: MethodArgs<T[K]>
): Promise<boolean> {
  if (target === null || (typeof target !== 'object' && typeof target !== 'function')) {
    throw new TypeError(`Expected \`target\` to be an instance or a class, got ${String(target)}`)
  }
  const fn: unknown = (target as Record<PropertyKey, unknown>)[method]
  const meta = typeof fn === 'function' ? decorated.get(fn) : undefined
  if (meta === undefined) {
    throw new TypeError(`Expected \`${String(method)}\` to be a method decorated with @cached`)
  }
  const cache = meta.plan.cache ?? defaultCache()
  return cache.delete(keyOf(meta, cache, target, args))
}

/** Names of `T`'s methods. */
export type MethodName<T> = {
  [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? K : never
}[keyof T]

/** The parameters of a method type. */
export type MethodArgs<M> = M extends (...args: infer P) => unknown ? P : never

function plan(options: CachedMethodOptions | undefined, bound: Cache | undefined): Plan {
  if (options === undefined)
    return { cache: bound, key: undefined, tags: undefined, suffix: '', entry: undefined }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`Expected options to be an object, got ${options === null ? 'null' : typeof options}`)
  }
  const { key, tags, version, cache, ...rest } = options
  if (key !== undefined && typeof key !== 'function') {
    throw new TypeError(`Expected \`key\` to be a function of the arguments, got ${typeof key}`)
  }
  if (cache !== undefined && !isCache(cache)) {
    throw new TypeError('Expected `cache` to be a Cache (from createCache())')
  }
  let suffix = ''
  if (version !== undefined) {
    if (
      !(typeof version === 'string' && version.length > 0) &&
      !(typeof version === 'number' && Number.isFinite(version))
    ) {
      throw new TypeError(
        `Expected \`version\` to be a non-empty string or a finite number, got ${JSON.stringify(version) ?? String(version)}`,
      )
    }
    if (key !== undefined) {
      throw new TypeError(
        '`version` only changes the default key: with a custom `key`, put the version in it',
      )
    }
    suffix = `@v${version}`
  }
  const entry: EntryOptions = rest
  let tagsFn: Fn | undefined
  if (typeof tags === 'function') tagsFn = tags as Fn
  else if (tags !== undefined) entry.tags = tags
  // Validates every entry option now (class definition time); call time resolves them again against
  // the cache's own defaults.
  resolveEntryOptions(entry, ROOT_DEFAULTS)
  return {
    cache: bound ?? cache,
    key: key as Plan['key'],
    tags: tagsFn,
    suffix,
    entry: Object.keys(entry).length === 0 ? undefined : entry,
  }
}

function keyOf(meta: Meta, cache: Cache, self: unknown, args: unknown[]): string {
  const { key } = meta.plan
  return key === undefined ? cache.keyFor(meta.nameFor(self), args) : key.apply(self, args)
}

function decorator(p: Plan): CachedMethodDecorator {
  function decorate(value: unknown, context: unknown, descriptor?: unknown): unknown {
    if (isStandardContext(context)) {
      if (context.kind !== 'method' || typeof value !== 'function') {
        throw new TypeError(`@cached can only decorate methods, not a ${context.kind}`)
      }
      return standard(p, value as Fn, context)
    }
    if (
      (typeof context === 'string' || typeof context === 'symbol') &&
      typeof descriptor === 'object' &&
      descriptor !== null &&
      value !== null &&
      (typeof value === 'object' || typeof value === 'function')
    ) {
      return legacy(p, value, context, descriptor as PropertyDescriptor)
    }
    throw new TypeError('@cached can only decorate class methods')
  }
  return decorate as CachedMethodDecorator
}

function isStandardContext(x: unknown): x is ClassMemberDecoratorContext | ClassDecoratorContext {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as { kind?: unknown }).kind === 'string' &&
    'name' in x &&
    typeof (x as { addInitializer?: unknown }).addInitializer === 'function'
  )
}

function memberName(name: string | symbol): string {
  return typeof name === 'string' ? name : `[${name.description ?? ''}]`
}

function standard(p: Plan, method: Fn, context: ClassMethodDecoratorContext): Fn {
  const name = context.name
  const methodName = memberName(name)
  const isStatic = context.static
  // Prototype (instance methods) or class (static) -> default key name. Standard decorators do not
  // see the class, so it is found at call time: the object on `this`'s prototype chain that holds
  // this very function is the declaring class.
  const names = new WeakMap<object, string>()
  const nameFor = (self: unknown): string => {
    if (self === null || (typeof self !== 'object' && typeof self !== 'function')) {
      throw new TypeError(
        `Cannot derive the cache key of ${methodName}: it was called without \`this\` (bind it, or set \`key\`)`,
      )
    }
    const start: object | null = isStatic ? self : Object.getPrototypeOf(self)
    if (start === null) throw new TypeError(`Cannot derive the class name for ${methodName}`)
    let found = names.get(start)
    if (found === undefined) {
      let owner: object | null = start
      while (owner !== null && !holds(owner, name, wrapper)) owner = Object.getPrototypeOf(owner)
      // Not found (private method, or wrapped by another decorator): the class of `this`.
      found = `${className(owner ?? start, isStatic, methodName)}.${methodName}${p.suffix}`
      names.set(start, found)
    }
    return found
  }
  const meta: Meta = { plan: p, nameFor }
  const wrapper = wrap(meta, method)
  return wrapper
}

function legacy(
  p: Plan,
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor,
): PropertyDescriptor {
  const method: unknown = descriptor.value
  const methodName = memberName(key)
  if (typeof method !== 'function') {
    throw new TypeError(
      `@cached can only decorate methods, but ${methodName} is not one (a getter or field?)`,
    )
  }
  const isStatic = typeof target === 'function'
  let fullName = ''
  if (p.key === undefined) fullName = `${className(target, isStatic, methodName)}.${methodName}${p.suffix}`
  const meta: Meta = { plan: p, nameFor: () => fullName }
  descriptor.value = wrap(meta, method as Fn)
  return descriptor
}

function holds(obj: object, name: string | symbol, fn: Fn): boolean {
  return Object.hasOwn(obj, name) && Object.getOwnPropertyDescriptor(obj, name)?.value === fn
}

/** `owner` is the class itself for static methods, else a prototype. */
function className(owner: object, isStatic: boolean, methodName: string): string {
  const ctor: unknown = isStatic ? owner : (owner as { constructor?: unknown }).constructor
  const name = typeof ctor === 'function' ? ctor.name : ''
  if (name === '') {
    throw new TypeError(
      `Cannot derive the cache key of ${methodName}: its class has no name (name the class, or set \`key\`)`,
    )
  }
  return name
}

function wrap(meta: Meta, method: Fn): Fn {
  const p = meta.plan
  const wrapper = function (this: unknown, ...args: unknown[]): Promise<unknown> {
    try {
      const cache = p.cache ?? defaultCache()
      const key = keyOf(meta, cache, this, args)
      const entry =
        p.tags === undefined ? p.entry : { ...p.entry, tags: p.tags.apply(this, args) as readonly string[] }
      return cache.getOrSet(key, () => method.apply(this, args), entry)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  Object.defineProperty(wrapper, 'name', { value: method.name })
  decorated.set(wrapper, meta)
  return wrapper
}
