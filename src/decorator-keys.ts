/**
 * Cache keys of decorated methods: `keyOf` builds the key of one call (the method's `key` option, or
 * `cache.keyFor` of the default name and the arguments), and the helpers below derive that default
 * name, `${Class}.${method}`, from the class that declares the method.
 */

import type { Cache } from './cache.js'
import type { Fn, Meta } from './decorator-plan.js'

export function keyOf(meta: Meta, cache: Cache, self: unknown, args: unknown[]): string {
  const { key } = meta.plan
  return key === undefined ? cache.keyFor(meta.nameFor(self), args) : key.apply(self, args)
}

export function memberName(name: string | symbol): string {
  return typeof name === 'string' ? name : `[${name.description ?? ''}]`
}

export function holds(obj: object, name: string | symbol, fn: Fn): boolean {
  return Object.hasOwn(obj, name) && Object.getOwnPropertyDescriptor(obj, name)?.value === fn
}

/** `owner` is the class itself for static methods, else a prototype. */
export function className(owner: object, isStatic: boolean, methodName: string): string {
  const ctor: unknown = isStatic ? owner : (owner as { constructor?: unknown }).constructor
  const name = typeof ctor === 'function' ? ctor.name : ''
  if (name === '') {
    throw new TypeError(
      `Cannot derive the cache key of ${methodName}: its class has no name (name the class, or set \`key\`)`,
    )
  }
  return name
}
