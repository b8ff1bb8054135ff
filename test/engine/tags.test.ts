import { describe, expect, it, vi } from 'vitest'
import type { Entry } from '../../src/entry.js'
import { createCache, type LocalTier, memoryTier, type Payload, type RemoteTier } from '../../src/index.js'
import { TagRegistry } from '../../src/tags.js'

/** Wraps a local tier and counts every call the engine makes to it. */
function counting(inner: LocalTier): { tier: LocalTier; counts: Record<string, number> } {
  const counts = { get: 0, set: 0, delete: 0, clear: 0 }
  const tier: LocalTier = {
    kind: 'local',
    name: inner.name,
    get onEvict() {
      return inner.onEvict
    },
    set onEvict(fn) {
      inner.onEvict = fn
    },
    get(key) {
      counts.get++
      return inner.get(key)
    },
    set(key, entry, ttl) {
      counts.set++
      inner.set(key, entry, ttl)
    },
    delete(key) {
      counts.delete++
      inner.delete(key)
    },
    clear() {
      counts.clear++
      inner.clear()
    },
    get size() {
      return inner.size
    },
  }
  return { tier, counts }
}

describe('invalidateTags', () => {
  it('drops exactly the tagged entries; the others stay', async () => {
    const cache = createCache()
    await cache.set('a', 1, { tags: ['red'] })
    await cache.set('b', 2, { tags: ['blue'] })
    await cache.set('c', 3, { tags: ['red', 'blue'] })
    await cache.set('d', 4)
    const events: (readonly string[])[] = []
    cache.on('invalidate', (e) => events.push(e.tags))
    await cache.invalidateTags(['red'])
    expect(await cache.getMany(['a', 'b', 'c', 'd'])).toEqual([undefined, 2, undefined, 4])
    expect(await cache.has('a')).toBe(false)
    expect(events).toEqual([['red']])
    await cache.close()
  })

  it('several tags at once', async () => {
    const cache = createCache()
    await cache.set('a', 1, { tags: ['x'] })
    await cache.set('b', 2, { tags: ['y'] })
    await cache.set('c', 3, { tags: ['z'] })
    await cache.invalidateTags(['x', 'y'])
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([undefined, undefined, 3])
    await cache.close()
  })

  it('tags from getOrSet options and from ctx.setTags (which replaces the option tags)', async () => {
    const cache = createCache()
    let runs = 0
    await cache.getOrSet('opt', () => ++runs, { tags: ['p:1'] })
    await cache.getOrSet(
      'ctx',
      (ctx) => {
        ctx.setTags(['p:2'])
        return ++runs
      },
      { tags: ['p:1'] },
    )
    await cache.invalidateTags(['p:1'])
    expect(await cache.get('opt')).toBeUndefined()
    expect(await cache.get('ctx')).toBe(2)
    await cache.invalidateTags(['p:2'])
    expect(await cache.get('ctx')).toBeUndefined()
    await expect(cache.getOrSet('bad', (ctx) => ctx.setTags([''] as string[]))).rejects.toThrow(/tags/)
    await cache.close()
  })

  it('entries loaded or set after the invalidation are valid again', async () => {
    const cache = createCache()
    let runs = 0
    const load = () => cache.getOrSet('k', () => ++runs, { tags: ['t'] })
    expect(await load()).toBe(1)
    await cache.invalidateTags(['t'])
    expect(await load()).toBe(2)
    expect(await load()).toBe(2)
    expect(runs).toBe(2)
    await cache.set('s', 'x', { tags: ['t'] })
    expect(await cache.get('s')).toBe('x')
    await cache.close()
  })

  it('rejects invalid tag lists naming the option', async () => {
    const cache = createCache()
    await expect(cache.invalidateTags('t' as unknown as string[])).rejects.toThrow(/`tags`/)
    await expect(cache.invalidateTags([1] as unknown as string[])).rejects.toThrow(TypeError)
    await expect(cache.set('k', 1, { tags: [''] })).rejects.toThrow(/`tags`/)
    await cache.invalidateTags([])
    await cache.close()
  })

  it('namespace tags are scoped: ns.invalidateTags(["x"]) does not touch root "x" and vice versa', async () => {
    const cache = createCache()
    const ns = cache.namespace('tenant')
    const other = cache.namespace('other')
    await cache.set('k', 'root', { tags: ['x'] })
    await ns.set('k', 'ns', { tags: ['x'] })
    await other.set('k', 'other', { tags: ['x'] })
    await ns.invalidateTags(['x'])
    expect(await cache.get('k')).toBe('root')
    expect(await ns.get('k')).toBeUndefined()
    expect(await other.get('k')).toBe('other')
    await ns.set('k', 'ns2', { tags: ['x'] })
    await cache.invalidateTags(['x'])
    expect(await cache.get('k')).toBeUndefined()
    expect(await ns.get('k')).toBe('ns2')
    expect(await other.get('k')).toBe('other')
    await cache.close()
  })

  it('costs O(tags): invalidating one tag with 100k entries present makes no tier call', async () => {
    const { tier, counts } = counting(memoryTier({ max: 200_000 }))
    const cache = createCache({ tiers: [tier] })
    const entries = Array.from({ length: 100_000 }, (_, i) => ({
      key: `k${i}`,
      value: i,
      options: { tags: [i % 2 === 0 ? 'even' : 'odd', 'all'] },
    }))
    expect(await cache.setMany(entries)).toBe(true)
    expect(tier.size).toBe(100_000)
    const before = { ...counts }
    const t0 = performance.now()
    await cache.invalidateTags(['even'])
    const elapsed = performance.now() - t0
    expect(counts).toEqual(before)
    expect(tier.size).toBe(100_000)
    // Generous: a key scan of 100k entries would also fit, so the call counts above are the real check.
    expect(elapsed).toBeLessThan(50)
    expect(await cache.get('k0')).toBeUndefined()
    expect(await cache.get('k1')).toBe(1)
    await cache.close()
  })
})

function entry(c: number, tags?: string[]): Entry {
  return {
    v: 1,
    c,
    f: Number.POSITIVE_INFINITY,
    w: Number.POSITIVE_INFINITY,
    s: Number.POSITIVE_INFINITY,
    d: 0,
    g: tags,
  }
}

describe('TagRegistry', () => {
  it('an entry is invalid when one of its tags was invalidated at or after its load started', () => {
    const reg = new TagRegistry()
    reg.invalidate(['a'], 100)
    expect(reg.isValid(entry(99, ['a']))).toBe(false)
    expect(reg.isValid(entry(100, ['a']))).toBe(false)
    expect(reg.isValid(entry(101, ['a']))).toBe(true)
    expect(reg.isValid(entry(50, ['b']))).toBe(true)
    expect(reg.isValid(entry(50))).toBe(true)
    expect(reg.invalidatedSince(['a'], 100)).toBe(true)
    expect(reg.invalidatedSince(['a'], 101)).toBe(false)
    // A later time wins; an earlier one does not move it back.
    reg.invalidate(['a'], 90)
    expect(reg.timeOf('a')).toBe(100)
  })

  it('stays within maxRecords and stays conservative: entries older than dropped records are invalid', () => {
    const reg = new TagRegistry(100)
    reg.maxLifetime = Number.POSITIVE_INFINITY // entries that never expire can exist: nothing may be pruned
    for (let i = 0; i < 1000; i++) {
      reg.invalidate([`tag-${i}`], 1000 + i)
      expect(reg.size).toBeLessThanOrEqual(100)
    }
    // Loaded before their tag was invalidated: invalid, whether the record was kept or dropped.
    expect(reg.isValid(entry(999, ['tag-0']))).toBe(false)
    expect(reg.isValid(entry(1500, ['tag-500']))).toBe(false)
    expect(reg.isValid(entry(1998, ['tag-999']))).toBe(false)
    expect(reg.invalidatedSince(['tag-0'], 999)).toBe(true)
    // Loaded after every invalidation: valid.
    expect(reg.isValid(entry(2000, ['tag-0']))).toBe(true)
    expect(reg.isValid(entry(2000, ['tag-999']))).toBe(true)
    // Untagged entries are never affected.
    expect(reg.isValid(entry(0))).toBe(true)
  })

  it('prunes records no live entry can predate', () => {
    const reg = new TagRegistry()
    reg.maxLifetime = 1000
    reg.invalidate(['old'], 0)
    reg.invalidate(['new'], 5000)
    reg.prune(5500)
    expect(reg.timeOf('old')).toBeUndefined()
    expect(reg.timeOf('new')).toBe(5000)
    expect(reg.size).toBe(1)
    // An entry older than the dropped record (say, in a lower tier, written elsewhere) stays invalid.
    expect(reg.isValid(entry(-1, ['old']))).toBe(false)
    expect(reg.isValid(entry(1, ['old']))).toBe(true)
    expect(reg.isValid(entry(-1))).toBe(true)
  })

  it('an invalidated entry in a lower tier stays invalid after the maintenance pass drops the record', async () => {
    vi.useFakeTimers()
    try {
      const data = new Map<string, Payload>()
      const shared: RemoteTier = {
        kind: 'remote',
        name: 'shared',
        get: async (k) => data.get(k),
        set: async (k, v) => {
          data.set(k, v)
        },
        delete: async (k) => {
          data.delete(k)
        },
        clear: async () => data.clear(),
        close: async () => {},
      }
      // Another process wrote a long-lived tagged entry; this one only reads it.
      const writer = createCache({ tiers: [memoryTier(), shared], ttl: 3600, jitter: 0, earlyRefresh: false })
      await writer.set('k', 'v', { tags: ['t'] })
      const reader = createCache({ tiers: [memoryTier(), shared], jitter: 0, earlyRefresh: false })
      expect(await reader.get('k')).toBe('v')
      await vi.advanceTimersByTimeAsync(10)
      await reader.invalidateTags(['t'])
      expect(await reader.get('k')).toBeUndefined()
      await vi.advanceTimersByTimeAsync(31_000) // the 30 s maintenance pass prunes tag records
      expect(await reader.get('k')).toBeUndefined()
      expect(await reader.getOrSet('k', () => 'reloaded', { tags: ['t'] })).toBe('reloaded')
      expect(await reader.get('k')).toBe('reloaded')
      await Promise.all([writer.close(), reader.close()])
    } finally {
      vi.useRealTimers()
    }
  })

  it('through the cache: 150k invalidated tags keep an old tagged entry invalid', async () => {
    const cache = createCache({ ttl: Number.POSITIVE_INFINITY })
    await cache.set('old', 'v', { tags: ['keep-me'] })
    await cache.set('plain', 'p')
    await cache.invalidateTags(['keep-me'])
    for (let i = 0; i < 150_000; i += 1000) {
      await cache.invalidateTags(Array.from({ length: 1000 }, (_, j) => `t${i + j}`))
    }
    expect(await cache.get('old')).toBeUndefined()
    expect(await cache.get('plain')).toBe('p')
    await cache.set('fresh', 'f', { tags: ['keep-me', 't0'] })
    expect(await cache.get('fresh')).toBe('f')
    await cache.close()
  })
})
