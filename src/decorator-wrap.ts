/**
 * The function that replaces a decorated method: it runs the method through the cache's `getOrSet`
 * with the call's key and tags. Every such wrapper is recorded in `decorated` with its `Meta`, which is
 * how `invalidateCall` recognises a decorated method and rebuilds a call's key.
 */

import { keyOf } from './decorator-keys.js'
import type { Fn, Meta } from './decorator-plan.js'
import { defaultCache } from './default.js'

export const decorated = new WeakMap<object, Meta>()

export function wrap(meta: Meta, method: Fn): Fn {
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
