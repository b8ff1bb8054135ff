/** Where a cache view's keys and tags live: the root has an empty prefix, a namespace its own. */
export interface Scope {
  /** Prepended to keys and tags. */
  readonly prefix: string
  /** Implicit tags of every entry in the view (one per enclosing namespace), so `clear()` is one invalidation. */
  readonly tags: readonly string[] | undefined
  readonly name: string | undefined
}

/** The scoped tags of an entry: the view's implicit tags plus the given ones, prefixed. */
export function entryTags(scope: Scope, tags: readonly string[] | undefined): string[] | undefined {
  const own = tags === undefined || tags.length === 0 ? undefined : scoped(scope, tags)
  if (scope.tags === undefined) return own
  return own === undefined ? [...scope.tags] : [...scope.tags, ...own]
}

export function scoped(scope: Scope, tags: readonly string[]): string[] {
  return scope.prefix === '' ? [...tags] : tags.map((t) => scope.prefix + t)
}
