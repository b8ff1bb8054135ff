import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * Collects the tags of every entry read or loaded through any cache during an async scope (an HTTP
 * request), so that a response built from that data can carry the same tags: after
 * `cache.invalidateTags(['product:42'])` the cached `/products/42` response is gone too.
 *
 * The hot path only reads `collecting` (false until the first collector is opened), so caches used
 * without the HTTP layer pay nothing.
 */
const storage = new AsyncLocalStorage<Set<string>>()

/** True once any tag collector was opened in this process. */
export let collecting = false

/** Runs `fn` with a fresh collector; entries' tags seen inside (and in its async continuations) land in `into`. */
export function collectTags<T>(into: Set<string>, fn: () => T): T {
  collecting = true
  return storage.run(into, fn)
}

/** Starts collecting into `into` for the rest of the current async context (for hook-based frameworks). */
export function enterTagCollector(into: Set<string>): void {
  collecting = true
  storage.enterWith(into)
}

/** Adds tags to the collector of the current async context, if there is one. */
export function noteTags(tags: readonly string[]): void {
  const into = storage.getStore()
  if (into === undefined) return
  for (let i = 0; i < tags.length; i++) into.add(tags[i]!)
}
