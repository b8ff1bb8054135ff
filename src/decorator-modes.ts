/**
 * Applying the decorator in either TypeScript decorator mode. `decorator` returns the one function
 * that `@cached(...)` and `@cache.cached(...)` evaluate to; it tells the modes apart by the shape of
 * its arguments and hands the method to `standard` (TC39 decorators: the class is found at call time)
 * or to `legacy` (`experimentalDecorators`: the class is known when the class is defined).
 */

import { className, holds, memberName } from './decorator-keys.js'
import type { Fn, Meta, Plan } from './decorator-plan.js'
import { wrap } from './decorator-wrap.js'
import type { CachedMethodDecorator } from './decorators.js'

export function decorator(p: Plan): CachedMethodDecorator {
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
