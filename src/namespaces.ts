import type { Core } from './core.js'
import { joinKey } from './keys.js'
import type { Resolved } from './options.js'
import type { Scope } from './scope.js'

/*
 * Namespace views: `cache.namespace(name)` is a `Cache` over the same core with a child scope, whose key
 * prefix and implicit tag start with NUL so that no root key can spell them.
 */

const NS_MARK = '\u0000ns'

/** The scope of namespace `name` inside `parent` (nestable; names joined with `/`). */
export function namespaceScope(parent: Scope, name: string): Scope {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\u0000')) {
    throw new TypeError(
      `Expected \`name\` to be a non-empty string without NUL, got ${JSON.stringify(name) ?? String(name)}`,
    )
  }
  const prefix = `${NS_MARK}${joinKey([parent.prefix, name])}\u0000`
  const tags = [...(parent.tags ?? []), prefix]
  const fullName = parent.name === undefined ? name : `${parent.name}/${name}`
  return { prefix, tags, name: fullName }
}

/** Carries a parent's state into a namespace view (not part of the public API). */
export class Fork {
  constructor(
    readonly core: Core,
    readonly scope: Scope,
    readonly defaults: Resolved,
  ) {}
}
