import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * Collects the tags of every entry read or loaded through any cache during an async scope (an HTTP
 * fill), so that a response built from that data can carry the same tags: after
 * `cache.invalidateTags(['product:42'])` the cached `/products/42` response is gone too.
 *
 * The AsyncLocalStorage is enabled only while at least one collector is open, and disabled again
 * when the last one closes. On Node 20 an enabled AsyncLocalStorage installs a promise hook that
 * every promise in the process then pays for (Koa's middleware chain, Hono's handlers, ...); with the
 * collector closed after each fill, a process answering cache hits runs without it. The engine's hot
 * path only reads `collecting`, so caches used without the HTTP layer pay nothing either.
 */
const storage = new AsyncLocalStorage<Set<string>>()
let open = 0

/** True while any tag collector is open in this process. */
export let collecting = false

/**
 * Runs `fn` with `into` as the collector: the tags of entries seen inside it (and in its async
 * continuations) land in `into`. Every call must be matched by exactly one `closeTagCollector()`,
 * once `into` has been read.
 */
export function openTagCollector<T>(into: Set<string>, fn: () => T): T {
  open++
  collecting = true
  return storage.run(into, fn)
}

/** Closes one collector opened by `openTagCollector`; the last one to close disables the storage. */
export function closeTagCollector(): void {
  if (open === 0) return
  open--
  if (open > 0) return
  collecting = false
  storage.disable()
}

/**
 * Runs `fn` with a collector of its own, closed when `fn` returns, or when the promise it returns
 * settles (the promise returned is then a new one that settles the same way).
 */
export function collectTags<T>(into: Set<string>, fn: () => T): T {
  let sync = true
  try {
    const result = openTagCollector(into, fn)
    if (result instanceof Promise) {
      sync = false
      return result.finally(closeTagCollector) as T
    }
    return result
  } finally {
    if (sync) closeTagCollector()
  }
}

/** How many collectors are open (for tests). */
export function openTagCollectors(): number {
  return open
}

/** Adds tags to the collector of the current async context, if there is one. */
export function noteTags(tags: readonly string[]): void {
  const into = storage.getStore()
  if (into === undefined) return
  for (let i = 0; i < tags.length; i++) into.add(tags[i]!)
}
