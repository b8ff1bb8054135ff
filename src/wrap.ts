import type { Cache } from './cache.js'
import { callKey } from './keys.js'
import { type EntryOptions, type Resolved, resolveEntryOptions } from './options.js'

/** Options of `cache.wrap`. */
export interface WrapOptions<A extends unknown[]> extends EntryOptions {
  /** Derives the key from the arguments. @default name + a stable, collision-resistant encoding of the arguments */
  key?: (...args: A) => string
  /** Tags from the arguments (in addition to `tags`). */
  tagsFrom?: (...args: A) => readonly string[]
  /** Name used in default keys. @default the function's name */
  name?: string
}

/** `cache.wrap`: checks the options now, then returns the memoized function. */
export function wrapFunction<A extends unknown[], R>(
  cache: Cache,
  defaults: Resolved,
  fn: (...args: A) => R | Promise<R>,
  options: WrapOptions<A>,
): (...args: A) => Promise<R> {
  if (typeof fn !== 'function') throw new TypeError(`Expected \`fn\` to be a function, got ${typeof fn}`)
  const { key, tagsFrom, name = fn.name, ...entry } = options
  if (key !== undefined && typeof key !== 'function') throw new TypeError('Expected `key` to be a function')
  if (tagsFrom !== undefined && typeof tagsFrom !== 'function')
    throw new TypeError('Expected `tagsFrom` to be a function')
  if (key === undefined && name === '')
    throw new TypeError('Expected `name` (or a named function) to derive default keys')
  resolveEntryOptions(entry, defaults)
  const base = Object.keys(entry).length === 0 ? undefined : entry
  const wrapped = (...args: A): Promise<R> => {
    const k = key === undefined ? callKey(name, args) : key(...args)
    const opts =
      tagsFrom === undefined ? base : { ...base, tags: [...(base?.tags ?? []), ...tagsFrom(...args)] }
    return cache.getOrSet<R>(k, () => fn(...args), opts)
  }
  Object.defineProperty(wrapped, 'name', { value: `cached ${name}` })
  return wrapped
}
