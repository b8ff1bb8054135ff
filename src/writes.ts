import type { Core } from './core.js'
import { TierError } from './errors.js'
import { newEntry } from './load.js'
import { type Resolved, resolveEntryOptions, type SetOptions } from './options.js'
import { entryTags, type Scope } from './scope.js'

/*
 * `cache.set` and `cache.delete` once their keys are checked: both cancel a load of the key in flight
 * (its result is not written afterwards) and resolve whether every tier acknowledged.
 */

/**
 * `cache.set` of internal key `k`: a write older than a clear, an invalidation of its tags or the entry
 * in L1 (`since`) is dropped; ttl 0 deletes.
 */
export async function setValue(
  core: Core,
  scope: Scope,
  defaults: Resolved,
  k: string,
  key: string,
  value: unknown,
  options: SetOptions | undefined,
): Promise<boolean> {
  if (value === undefined)
    throw new TypeError('Expected `value` to be defined: `undefined` is not cached (use delete)')
  const o = resolveEntryOptions(options, defaults)
  const since = options?.since
  if (since !== undefined) {
    if (typeof since !== 'number' || Number.isNaN(since)) {
      throw new TypeError(`Expected \`since\` to be a time in epoch ms, got ${String(since)}`)
    }
    const tags = entryTags(scope, o.tags)
    const newer = core.l1?.get(k)
    if (
      since <= core.clearedAt ||
      core.tags.invalidatedSince(tags, since) ||
      (newer !== undefined && newer.c >= since)
    ) {
      core.counters.staleSetsPrevented++
      return false
    }
  }
  if (o.ttl === 0) return deleteChecked(core, k, key)
  return tierResult(core, await writeValue(core, scope, k, key, value, o), 'set', key)
}

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

/** `cache.delete` of internal key `k`: `deleteKey`, checked with `tierResult`. */
export async function deleteChecked(core: Core, k: string, key: string): Promise<boolean> {
  return tierResult(core, await deleteKey(core, k, key), 'delete', key)
}

/** `ok`, or a `TierError` when a tier did not acknowledge `op` and the cache has `throwOnTierError`. */
export function tierResult(core: Core, ok: boolean, op: string, key: string | undefined): boolean {
  if (!ok && core.throwOnTierError) {
    throw new TierError('lower', op, new Error('a tier did not acknowledge the operation'), key)
  }
  return ok
}
