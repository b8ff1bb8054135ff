/**
 * `invalidateCall`: deletes the cached entry of one call of a decorated method, finding the method's
 * cache and key through what the decorator recorded about it (`decorated`).
 */

import { keyOf } from './decorator-keys.js'
import { decorated } from './decorator-wrap.js'
import { defaultCache } from './default.js'

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
