import { getEach, setEach } from './batch.js'
import { buildCore } from './build-core.js'
import { now as clock } from './clock.js'
import { collecting, noteTags } from './context.js'
import type { Core, Loader, Scope } from './core.js'
import { type CachedMethodDecorator, type CacheMethodOptions, cachedIn } from './decorators.js'
import type { Duration } from './duration.js'
import type { Entry } from './entry.js'
import { CacheClosedError } from './errors.js'
import type { CacheEventName, CacheEvents } from './events.js'
import type { LoaderContext } from './flight.js'
import { clearScope, invalidateTagged } from './invalidation.js'
import { callKey } from './keys.js'
import { Fork, namespaceScope } from './namespaces.js'
import {
  type CacheOptions,
  type EntryOptions,
  type Resolved,
  ROOT_DEFAULTS,
  resolveEntryOptions,
  type SetOptions,
} from './options.js'
import { hasFresh, readFresh } from './reads.js'
import type { CacheStats } from './stats.js'
import type { LocalTier } from './tiers/types.js'
import { type WrapOptions, wrapFunction } from './wrap.js'
import { deleteChecked, setValue } from './writes.js'

export type { SetOptions, WrapOptions }

const ROOT: Scope = { prefix: '', tags: undefined, name: undefined }

/**
 * A cache: tiers, coalesced loads, freshness windows, tags, events. Create one with `createCache()`.
 * `namespace(name)` returns a view of the same cache whose keys, tags and `clear()` are scoped.
 */
export class Cache {
  readonly #core: Core
  readonly #scope: Scope
  readonly #defaults: Resolved
  readonly #l1: LocalTier | undefined

  constructor(options: CacheOptions = {}) {
    const fork = options as unknown
    if (fork instanceof Fork) {
      this.#core = fork.core
      this.#scope = fork.scope
      this.#defaults = fork.defaults
      this.#l1 = fork.core.l1
      return
    }
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`Expected cache options to be an object, got ${String(options)}`)
    }
    const core = buildCore(options)
    this.#core = core
    this.#scope = ROOT
    this.#defaults = resolveEntryOptions(options, ROOT_DEFAULTS)
    this.#l1 = core.l1
  }

  /** The namespace name of this view (`undefined` at the root). */
  get namespaceName(): string | undefined {
    return this.#scope.name
  }

  /**
   * Returns the cached value of `key`, or runs `loader` once for all concurrent callers of a missing or
   * expired key and caches its result. `undefined` results are returned but not cached.
   */
  getOrSet<T>(
    key: string,
    loader: (ctx: LoaderContext<T>) => T | Promise<T>,
    options?: EntryOptions,
  ): Promise<T> {
    // Not `async`: a hit resolves with one promise, and a miss hands back the shared flight's promise.
    const k = internalKey(this.#scope.prefix, key)
    const l1 = this.#l1
    try {
      let seen: Entry | null | undefined
      if (l1 !== undefined) {
        const e = l1.get(k)
        seen = e ?? null
        if (e !== undefined) {
          const now = clock()
          const core = this.#core
          if (now < e.f && (e.g === undefined || core.tags.isValid(e)) && e.x === undefined) {
            if (e.d > 0 && e.f - now < e.d * 20) this.#maybeEarly(e, k, key, loader, options, now)
            return Promise.resolve(this.#served(e, key, l1.name) as T)
          }
        }
      }
      if (typeof key !== 'string' || key.length === 0) throw keyError(key)
      if (typeof loader !== 'function')
        throw new TypeError(`Expected \`loader\` to be a function, got ${typeof loader}`)
      return this.#core.miss(
        k,
        key,
        loader as Loader<T>,
        resolveEntryOptions(options, this.#defaults),
        this.#scope,
        seen,
      )
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * The fresh value of `key` from the in-process memory tier, or `undefined`: synchronous, no I/O, no
   * lower tier, no load. Counts a hit (not a miss) and tags the current collector like `getOrSet`'s hit.
   */
  peek<T = unknown>(key: string): T | undefined {
    if (typeof key !== 'string' || key.length === 0) throw keyError(key)
    const l1 = this.#l1
    if (l1 === undefined) return undefined
    const e = l1.get(internalKey(this.#scope.prefix, key))
    if (e === undefined) return undefined
    const now = clock()
    const core = this.#core
    if (now < e.f && (e.g === undefined || core.tags.isValid(e)) && e.x === undefined) {
      return this.#served(e, key, l1.name) as T
    }
    return undefined
  }

  /** A fresh memory hit: counted, its tags noted for the request, `hit` emitted; returns what to hand out. */
  #served(e: Entry, key: string, tier: string): unknown {
    const core = this.#core
    const c = core.counters
    c.hits++
    c.byTier[0]!++
    if (collecting && e.g !== undefined) noteTags(e.g)
    if (core.events.wantsHit()) core.events.emit('hit', { key, tier })
    return core.clone ? structuredClone(e.v) : e.v
  }

  /** XFetch: refresh early with probability growing as expiry nears, weighted by the loader's duration. */
  #maybeEarly<T>(
    e: Entry,
    k: string,
    key: string,
    loader: Loader<T>,
    options: EntryOptions | undefined,
    now: number,
  ): void {
    const o = options === undefined ? this.#defaults : resolveEntryOptions(options, this.#defaults)
    if (o.beta === 0 || this.#core.inflight.has(k)) return
    if (now - e.d * o.beta * Math.log(Math.random()) >= e.f) {
      this.#core.refresh(k, key, loader, o, this.#scope, e)
    }
  }

  /** The fresh value of `key`, or `undefined`. Reads lower tiers on an L1 miss and backfills L1. */
  get<T = unknown>(key: string): Promise<T | undefined> {
    try {
      return readFresh<T>(this.#core, this.#key(key), key)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Whether `key` has a fresh value. */
  async has(key: string): Promise<boolean> {
    return hasFresh(this.#core, this.#key(key))
  }

  /**
   * Stores `value` in every tier. A load of `key` in flight is not written afterwards (this value wins).
   * Resolves `true` when every tier acknowledged the write.
   */
  set<T>(key: string, value: T, options?: SetOptions): Promise<boolean> {
    try {
      return setValue(this.#core, this.#scope, this.#defaults, this.#key(key), key, value, options)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Values of several keys (fresh only), in order. */
  getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]> {
    return getEach<T>(this, keys)
  }

  /** Stores several entries; resolves `true` when every tier acknowledged every write. */
  setMany(entries: ReadonlyArray<{ key: string; value: unknown; options?: SetOptions }>): Promise<boolean> {
    return setEach(this, entries)
  }

  /**
   * Removes keys from every tier. A load of the key in flight is not written afterwards.
   * Resolves `true` when every tier acknowledged (`false` when a tier failed, unless `throwOnTierError`).
   */
  async delete(keys: string | readonly string[]): Promise<boolean> {
    const list = typeof keys === 'string' ? [keys] : keys
    if (!Array.isArray(list)) throw keyError(keys)
    const results = await Promise.all(list.map((key) => deleteChecked(this.#core, this.#key(key), key)))
    return results.every(Boolean)
  }

  /**
   * Invalidates every entry tagged with any of `tags`, in every tier, in O(number of tags): no key scan.
   * Loads in flight whose entries carry one of the tags are not written afterwards.
   */
  invalidateTags(tags: readonly string[]): Promise<void> {
    return invalidateTagged(this.#core, this.#scope, tags)
  }

  /**
   * Removes every entry of this cache (a namespace view: of that namespace only, by invalidating its
   * implicit tag). On shared tiers only this cache's keys are removed, never the whole server.
   */
  clear(): Promise<void> {
    return clearScope(this.#core, this.#scope)
  }

  /** A view whose keys, tags and `clear()` are scoped to `name` (nestable). */
  namespace(name: string): Cache {
    const scope = namespaceScope(this.#scope, name)
    return new Cache(new Fork(this.#core, scope, this.#defaults) as unknown as CacheOptions)
  }

  /**
   * Memoizes `fn`: calls with equal arguments share one cached result. The default key is the function's
   * name plus a stable, collision-resistant encoding of the arguments (object key order does not matter).
   */
  wrap<A extends unknown[], R>(
    fn: (...args: A) => R | Promise<R>,
    options: WrapOptions<A> = {},
  ): (...args: A) => Promise<R> {
    return wrapFunction(this, this.#defaults, fn, options)
  }

  /**
   * Method decorator that caches calls in this cache, e.g.
   * `@cache.cached({ ttl: 60, tags: (id: string) => ['product:' + id] })`. Works with TC39 standard
   * decorators and `experimentalDecorators`; the decorated method always returns a Promise. Default
   * key: `keyFor(Class + '.' + method, args)`. See `cached` in `decorators.ts`.
   */
  cached<A extends unknown[]>(options?: CacheMethodOptions<A>): CachedMethodDecorator<A> {
    return cachedIn(this, options)
  }

  /** The default key `wrap` and the decorators use for a call: `name` plus the encoded arguments. */
  keyFor(name: string, args: readonly unknown[]): string {
    return callKey(name, args)
  }

  /** Counters since creation (shared by all namespace views). */
  stats(): CacheStats {
    return this.#core.counters.snapshot(this.#core.tierNames, this.#core.inflight.size)
  }

  on<E extends CacheEventName>(event: E, listener: (payload: CacheEvents[E]) => void): this {
    this.#core.events.on(event, listener)
    return this
  }

  off<E extends CacheEventName>(event: E, listener: (payload: CacheEvents[E]) => void): this {
    this.#core.events.off(event, listener)
    return this
  }

  once<E extends CacheEventName>(event: E, listener: (payload: CacheEvents[E]) => void): this {
    this.#core.events.once(event, listener)
    return this
  }

  /** Stops timers, aborts loads in flight and closes the tiers' connections. Later calls reject. */
  close(): Promise<void> {
    return this.#core.close()
  }

  #key(key: string): string {
    if (typeof key !== 'string' || key.length === 0) throw keyError(key)
    if (this.#core.closed) throw new CacheClosedError()
    return internalKey(this.#scope.prefix, key)
  }
}

/**
 * The stored key. Namespace keys are `\u0000ns<name>\u0000<key>`; a root key starting with NUL gets one
 * more, so no root key can spell a namespace's key.
 */
function internalKey(prefix: string, key: string): string {
  if (prefix !== '') return prefix + key
  return typeof key === 'string' && key.charCodeAt(0) === 0 ? `\u0000${key}` : key
}

function keyError(key: unknown): TypeError {
  return new TypeError(`Expected \`key\` to be a non-empty string, got ${JSON.stringify(key) ?? String(key)}`)
}

/** Creates a cache. With no options: one in-process memory tier and a 60 s TTL. */
export function createCache(options?: CacheOptions): Cache {
  return new Cache(options)
}

export type { Duration }
