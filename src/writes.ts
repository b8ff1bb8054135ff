import type { Core } from './core.js'
import type { Entry } from './entry.js'
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
  const fresh =
    o.ttl === Number.POSITIVE_INFINITY || o.jitter === 0
      ? o.ttl
      : o.ttl * (1 + o.jitter * (2 * Math.random() - 1))
  const f = now + fresh
  const e: Entry = {
    v: core.clone ? structuredClone(value) : value,
    c: core.stamp(),
    f,
    w: f + o.swr,
    s: f + Math.max(o.swr, o.sie),
    d: 0,
    g: entryTags(scope, o.tags),
  }
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
