/**
 * Peer caches for the L1-hit comparison, each at its defaults and at its fastest settings for an
 * in-process hot key. Every subject does `await getOrSet(HOT, loader)` (or the peer's equivalent) on a
 * key warmed before timing.
 *
 * The loops are written out once per subject on purpose: a shared loop calling a different function per
 * subject would be a megamorphic call site (no inlining, a few ns per call), which would blur the
 * comparison with the cheapest baselines. Each loop checks every returned value (`v.id`), which works for
 * peers that return clones or deserialized copies as well as for those returning the stored object.
 */
import { createCache as createDedupeCache } from 'async-cache-dedupe'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { createCache as createCacheManager } from 'cache-manager'
import { Cacheable, createKeyv } from 'cacheable'
import { Keyv } from 'keyv'
import { LRUCache } from 'lru-cache'

/** The hot key every L1 subject reads. */
export const HOT = 'product:42'
/** TTL of every subject: long enough that the hot key never expires during a run. */
export const HOUR_MS = 3_600_000

/** A small, typical cached value: serializers and cloners have some work to do. */
export interface Item {
  id: number
  name: string
  price: number
  tags: string[]
  stock: { warehouse: string; count: number }
}

export const ITEM_ID = 42

export function makeItem(): Item {
  return {
    id: ITEM_ID,
    name: 'Espresso machine',
    price: 249.5,
    tags: ['kitchen', 'coffee'],
    stock: { warehouse: 'north', count: 7 },
  }
}

/** Concurrent calls per batch in the batch variant. */
export const BATCH = 100

/** One subject of the L1-hit suite (a peer, a baseline, or tiercache). */
export interface HitSubject {
  name: string
  /** What was configured, for the report. */
  settings: string
  kind: 'baseline' | 'tiercache' | 'peer'
  /** `n` sequential awaited calls on the hot key; returns the number of wrong values. */
  seq(n: number): Promise<number>
  /** `n / BATCH` rounds of BATCH concurrent calls; returns the number of wrong values. */
  batch(n: number): Promise<number>
  /** One call, for a deep-equality check of the value. */
  one(): Promise<unknown>
  /** How many times the loader ran (must stay 1: the warm-up miss). */
  loads(): number
  close(): Promise<void>
}

type Loader = () => Promise<Item>

// ---------------------------------------------------------------------------------------------------------
// async-cache-dedupe
// ---------------------------------------------------------------------------------------------------------

interface DedupeCache {
  item(key: string): Promise<Item>
}

/**
 * async-cache-dedupe 3: `define(name, fn)` then `cache.name(arg)`. Its defaults are already the fastest
 * in-process settings (memory storage, no transformer, invalidation off, a string argument is used as the
 * key as is); only `ttl` must be set (the default 0 caches nothing).
 */
async function asyncCacheDedupeSubject(): Promise<HitSubject> {
  let loads = 0
  const base = createDedupeCache({ ttl: HOUR_MS / 1000, storage: { type: 'memory' } })
  const cache = base.define('item', async (_key: string) => {
    loads++
    return makeItem()
  }) as unknown as DedupeCache
  await cache.item(HOT)
  return {
    name: 'async-cache-dedupe',
    settings:
      "createCache({ ttl: 3600, storage: { type: 'memory' } }), define('item', loader); defaults are its fastest",
    kind: 'peer',
    async seq(n) {
      let bad = 0
      for (let i = 0; i < n; i++) {
        const v = await cache.item(HOT)
        if (v.id !== ITEM_ID) bad++
      }
      return bad
    },
    async batch(n) {
      let bad = 0
      const ps: Promise<Item>[] = new Array(BATCH)
      for (let b = 0; b < n; b += BATCH) {
        for (let j = 0; j < BATCH; j++) ps[j] = cache.item(HOT)
        for (const v of await Promise.all(ps)) if (v.id !== ITEM_ID) bad++
      }
      return bad
    },
    one: () => cache.item(HOT),
    loads: () => loads,
    close: async () => {},
  }
}

// ---------------------------------------------------------------------------------------------------------
// cache-manager 7
// ---------------------------------------------------------------------------------------------------------

type CacheManager = ReturnType<typeof createCacheManager>

function cacheManagerSubject(name: string, settings: string, make: () => CacheManager) {
  return async (): Promise<HitSubject> => {
    let loads = 0
    const cache = make()
    const loader: Loader = async () => {
      loads++
      return makeItem()
    }
    await cache.wrap(HOT, loader)
    return {
      name,
      settings,
      kind: 'peer',
      async seq(n) {
        let bad = 0
        for (let i = 0; i < n; i++) {
          const v = await cache.wrap(HOT, loader)
          if (v.id !== ITEM_ID) bad++
        }
        return bad
      },
      async batch(n) {
        let bad = 0
        const ps: Promise<Item>[] = new Array(BATCH)
        for (let b = 0; b < n; b += BATCH) {
          for (let j = 0; j < BATCH; j++) ps[j] = cache.wrap(HOT, loader)
          for (const v of await Promise.all(ps)) if (v.id !== ITEM_ID) bad++
        }
        return bad
      },
      one: () => cache.wrap(HOT, loader),
      loads: () => loads,
      close: async () => {
        await cache.disconnect()
      },
    }
  }
}

/**
 * lru-cache as a Keyv store. Keyv calls `store.set(key, value, ttlMs)` while lru-cache 11 takes an options
 * object as the third argument (a number makes it throw, which Keyv swallows: nothing is ever stored), so
 * it needs this three-line adapter.
 */
function lruStore(max: number) {
  const lru = new LRUCache<string, object>({ max })
  return {
    get: (key: string) => lru.get(key),
    set: (key: string, value: object, ttl?: number) => {
      lru.set(key, value, ttl === undefined ? undefined : { ttl })
    },
    delete: (key: string) => lru.delete(key),
    clear: () => lru.clear(),
  }
}

/** A Keyv without (de)serialization: values are kept as objects. */
function rawKeyv(store: ConstructorParameters<typeof Keyv>[0]): Keyv {
  const keyv = new Keyv(store)
  keyv.serialize = undefined
  keyv.deserialize = undefined
  return keyv
}

// ---------------------------------------------------------------------------------------------------------
// cacheable 2
// ---------------------------------------------------------------------------------------------------------

function cacheableSubject(name: string, settings: string, make: () => Cacheable) {
  return async (): Promise<HitSubject> => {
    let loads = 0
    const cache = make()
    const loader: Loader = async () => {
      loads++
      return makeItem()
    }
    await cache.getOrSet(HOT, loader)
    return {
      name,
      settings,
      kind: 'peer',
      async seq(n) {
        let bad = 0
        for (let i = 0; i < n; i++) {
          const v = await cache.getOrSet(HOT, loader)
          if (v === undefined || v.id !== ITEM_ID) bad++
        }
        return bad
      },
      async batch(n) {
        let bad = 0
        const ps: Promise<Item | undefined>[] = new Array(BATCH)
        for (let b = 0; b < n; b += BATCH) {
          for (let j = 0; j < BATCH; j++) ps[j] = cache.getOrSet(HOT, loader)
          for (const v of await Promise.all(ps)) if (v === undefined || v.id !== ITEM_ID) bad++
        }
        return bad
      },
      one: () => cache.getOrSet(HOT, loader),
      loads: () => loads,
      close: async () => {
        await cache.disconnect()
      },
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// bentocache 1
// ---------------------------------------------------------------------------------------------------------

function bentoSubject(name: string, settings: string, serialize: boolean) {
  return async (): Promise<HitSubject> => {
    let loads = 0
    const bento = new BentoCache({
      default: 'memory',
      ttl: HOUR_MS,
      stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000, serialize })) },
    })
    const loader: Loader = async () => {
      loads++
      return makeItem()
    }
    await bento.getOrSet({ key: HOT, factory: loader })
    return {
      name,
      settings,
      kind: 'peer',
      async seq(n) {
        let bad = 0
        for (let i = 0; i < n; i++) {
          const v = await bento.getOrSet({ key: HOT, factory: loader })
          if (v.id !== ITEM_ID) bad++
        }
        return bad
      },
      async batch(n) {
        let bad = 0
        const ps: Promise<Item>[] = new Array(BATCH)
        for (let b = 0; b < n; b += BATCH) {
          for (let j = 0; j < BATCH; j++) ps[j] = bento.getOrSet({ key: HOT, factory: loader })
          for (const v of await Promise.all(ps)) if (v.id !== ITEM_ID) bad++
        }
        return bad
      },
      one: () => bento.getOrSet({ key: HOT, factory: loader }),
      loads: () => loads,
      close: () => bento.disconnectAll(),
    }
  }
}

/** A peer subject factory, with the package it belongs to. */
export interface PeerFactory {
  pkg: string
  /** An alternative configuration, measured only with BENCH_PEER_VARIANTS=1 (see README). */
  alt?: boolean
  create: () => Promise<HitSubject>
}

/**
 * Every peer configuration: for each package its defaults and its fastest settings, plus the alternatives
 * that were tried to find the fastest (`alt`).
 */
export function peerFactories(): PeerFactory[] {
  return [
    { pkg: 'async-cache-dedupe', create: asyncCacheDedupeSubject },
    {
      pkg: 'cache-manager',
      create: cacheManagerSubject(
        'cache-manager (defaults)',
        'createCache({ ttl }): one default Keyv (Map store, JSON serialization), wrap(key, loader)',
        () => createCacheManager({ ttl: HOUR_MS }),
      ),
    },
    {
      pkg: 'cache-manager',
      create: cacheManagerSubject(
        'cache-manager (fastest)',
        'createCache({ ttl, stores: [Keyv over new Map(), serialize/deserialize off] })',
        () => createCacheManager({ ttl: HOUR_MS, stores: [rawKeyv({ store: new Map() })] }),
      ),
    },
    {
      pkg: 'cache-manager',
      alt: true,
      create: cacheManagerSubject(
        'cache-manager (lru-cache store)',
        'createCache({ ttl, stores: [Keyv over lru-cache({ max: 10000 }), serialize/deserialize off] })',
        () => createCacheManager({ ttl: HOUR_MS, stores: [rawKeyv({ store: lruStore(10_000) })] }),
      ),
    },
    {
      pkg: 'cache-manager',
      alt: true,
      create: cacheManagerSubject(
        'cache-manager (CacheableMemory store)',
        'createCache({ ttl, stores: [createKeyv({ useClone: false })] }) (cacheable in-memory Keyv)',
        () => createCacheManager({ ttl: HOUR_MS, stores: [createKeyv({ useClone: false })] }),
      ),
    },
    {
      pkg: 'cacheable',
      create: cacheableSubject(
        'cacheable (defaults)',
        "new Cacheable({ ttl: '1h' }): primary CacheableMemory (useClone: true), stats off",
        () => new Cacheable({ ttl: '1h' }),
      ),
    },
    {
      pkg: 'cacheable',
      create: cacheableSubject(
        'cacheable (fastest)',
        "new Cacheable({ ttl: '1h', stats: false, primary: Keyv over new Map(), serialize/deserialize off })",
        () => new Cacheable({ ttl: '1h', stats: false, primary: rawKeyv({ store: new Map() }) }),
      ),
    },
    {
      pkg: 'cacheable',
      alt: true,
      create: cacheableSubject(
        'cacheable (useClone: false)',
        "new Cacheable({ ttl: '1h', stats: false, primary: createKeyv({ useClone: false }) })",
        () => new Cacheable({ ttl: '1h', stats: false, primary: createKeyv({ useClone: false }) }),
      ),
    },
    {
      pkg: 'cacheable',
      alt: true,
      create: cacheableSubject(
        'cacheable (lru-cache store)',
        "new Cacheable({ ttl: '1h', stats: false, primary: Keyv over lru-cache, serialize/deserialize off })",
        () => new Cacheable({ ttl: '1h', stats: false, primary: rawKeyv({ store: lruStore(10_000) }) }),
      ),
    },
    {
      pkg: 'bentocache',
      create: bentoSubject(
        'bentocache (defaults)',
        'BentoCache L1 only: memoryDriver({ maxItems: 10000 }) (serialize: true), getOrSet({ key, factory })',
        true,
      ),
    },
    {
      pkg: 'bentocache',
      create: bentoSubject(
        'bentocache (fastest)',
        'BentoCache L1 only: memoryDriver({ maxItems: 10000, serialize: false })',
        false,
      ),
    },
  ]
}
