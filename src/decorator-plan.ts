/**
 * The validated options of one decorated method (`Plan`), checked once when the class is defined and
 * shared by every call of that method, and what the rest of the decorator code records about a
 * decorated method (`Meta`). `plan` turns the options of `@cached(...)` / `@cache.cached(...)` into a
 * `Plan`, throwing a `TypeError` for a bad option.
 */

import type { Cache } from './cache.js'
import type { CachedMethodOptions } from './decorators.js'
import { isCache } from './default.js'
import { type EntryOptions, ROOT_DEFAULTS, resolveEntryOptions } from './options.js'

export type Fn = (this: unknown, ...args: unknown[]) => unknown

/** Validated options, shared by every call of one decorated method. */
export interface Plan {
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
export interface Meta {
  plan: Plan
  /** The default key's name (`Class.method@vX`) for a call with this `this`. */
  nameFor: (self: unknown) => string
}

export function plan(options: CachedMethodOptions | undefined, bound: Cache | undefined): Plan {
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
