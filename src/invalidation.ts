import type { Core } from './core.js'
import { CacheClosedError } from './errors.js'
import { checkTags } from './options.js'
import { type Scope, scoped } from './scope.js'
import { tierResult } from './writes.js'

/*
 * `cache.invalidateTags` and `cache.clear`: dropping many entries at once without a key scan. Tags are
 * recorded in the core's tag registry; a namespace view clears by invalidating its implicit tag, the root
 * by clearing every tier of this cache's keys.
 */

/** Invalidates every entry of `scope` tagged with any of `tags` (as the caller gave them). */
export async function invalidateTagged(core: Core, scope: Scope, tags: readonly string[]): Promise<void> {
  checkTags(tags, 'tags')
  if (core.closed) throw new CacheClosedError()
  if (tags.length === 0) return
  core.tags.invalidate(scoped(scope, tags), core.stamp())
  if (core.events.wants('invalidate')) core.events.emit('invalidate', { tags })
}

/** Removes every entry of `scope`: a namespace's by its implicit tag, the root's from every tier. */
export async function clearScope(core: Core, scope: Scope): Promise<void> {
  if (core.closed) throw new CacheClosedError()
  if (scope.tags !== undefined) {
    core.tags.invalidate([scope.tags[scope.tags.length - 1]!], core.stamp())
  } else {
    core.clearedAt = core.stamp()
    core.l1?.clear()
    core.backoff.clear()
    const ok = core.lower === undefined ? true : await core.lower.clear()
    tierResult(core, ok, 'clear', undefined)
  }
  if (core.events.wants('clear')) core.events.emit('clear', { namespace: scope.name })
}
