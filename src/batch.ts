import type { Cache } from './cache.js'
import type { SetOptions } from './options.js'

/*
 * `cache.getMany` and `cache.setMany`: the single-key `get` and `set` of a view over arrays, all at once.
 */

/** Values of several keys (fresh only), in order. */
export async function getEach<T>(cache: Cache, keys: readonly string[]): Promise<(T | undefined)[]> {
  if (!Array.isArray(keys)) throw new TypeError(`Expected \`keys\` to be an array, got ${typeof keys}`)
  return Promise.all(keys.map((k) => cache.get<T>(k)))
}

/** Stores several entries; resolves `true` when every tier acknowledged every write. */
export async function setEach(
  cache: Cache,
  entries: ReadonlyArray<{ key: string; value: unknown; options?: SetOptions }>,
): Promise<boolean> {
  if (!Array.isArray(entries))
    throw new TypeError(`Expected \`entries\` to be an array, got ${typeof entries}`)
  const results = await Promise.all(entries.map((e) => cache.set(e.key, e.value, e.options)))
  return results.every(Boolean)
}
