import type { Core } from './core.js'
import { newEntry } from './load.js'
import type { Resolved } from './options.js'
import { entryTags, type Scope } from './scope.js'

/*
 * `cache.set` and `cache.delete` once their arguments are checked: both cancel a load of the key in flight
 * (its result is not written afterwards) and resolve whether every tier acknowledged.
 */

/** Stores `value` under internal key `k` with the resolved options `o` (ttl > 0). */
export async function writeValue(
  core: Core,
  scope: Scope,
  k: string,
  key: string,
  value: unknown,
  o: Resolved,
): Promise<boolean> {
  core.cancel(k)
  const now = Date.now()
  const e = newEntry(core, value, core.stamp(), now, o.ttl, 0, entryTags(scope, o.tags), o)
  const ok = await core.store(k, e, o.localOnly)
  if (core.events.wants('set')) core.events.emit('set', { key })
  return ok
}

/** Removes internal key `k` from every tier. */
export async function deleteKey(core: Core, k: string, key: string): Promise<boolean> {
  core.cancel(k)
  core.l1?.delete(k)
  core.backoff.delete(k)
  const ok = core.lower === undefined ? true : await core.lower.delete(k)
  if (core.events.wants('delete')) core.events.emit('delete', { key })
  return ok
}
