import { describe, expect, it } from 'vitest'
import { createCache, type LocalTier, memoryTier } from '../../src/index.js'

/** A memory tier that records the internal keys the engine writes and counts deletes and clears. */
function recording(): { tier: LocalTier; written: Set<string>; deletes: string[]; clears: number[] } {
  const inner = memoryTier()
  const written = new Set<string>()
  const deletes: string[] = []
  const clears: number[] = []
  const tier: LocalTier = {
    kind: 'local',
    name: 'memory',
    get onEvict() {
      return inner.onEvict
    },
    set onEvict(fn) {
      inner.onEvict = fn
    },
    get: (key) => inner.get(key),
    set(key, entry, ttl) {
      written.add(key)
      inner.set(key, entry, ttl)
    },
    delete(key) {
      deletes.push(key)
      inner.delete(key)
    },
    clear() {
      clears.push(inner.size)
      inner.clear()
    },
    get size() {
      return inner.size
    },
  }
  return { tier, written, deletes, clears }
}

describe('namespace and tenant isolation (RELIABILITY 32)', () => {
  it('tenant "a:b" + id "c", tenant "a" + id "b:c" and root "a:b:c" are three different entries', async () => {
    const { tier, written } = recording()
    const cache = createCache({ tiers: [tier] })
    await cache.namespace('a:b').set('c', 'tenant a:b')
    await cache.namespace('a').set('b:c', 'tenant a')
    await cache.set('a:b:c', 'root')
    await cache.namespace('a').namespace('b').set('c', 'nested a/b')
    await cache.namespace('a:b:c').set('x', 'tenant a:b:c')
    expect(written.size).toBe(5)
    expect(tier.size).toBe(5)
    expect(await cache.namespace('a:b').get('c')).toBe('tenant a:b')
    expect(await cache.namespace('a').get('b:c')).toBe('tenant a')
    expect(await cache.get('a:b:c')).toBe('root')
    expect(await cache.namespace('a').namespace('b').get('c')).toBe('nested a/b')
    expect(await cache.namespace('a').get('c')).toBeUndefined()
    expect(await cache.namespace('b').get('c')).toBeUndefined()
    await cache.close()
  })

  it('separator and escape characters in names and keys never make two entries collide', async () => {
    const cache = createCache()
    const pairs: [string, string][] = [
      ['a', 'b:c'],
      ['a:b', 'c'],
      ['a\\', 'b'],
      ['a', '\\b'],
      ['a\\:b', 'c'],
      ['a', ':b:c'],
      ['a:', 'b:c'],
      ['*', '?'],
      ['[x]', '\\'],
    ]
    for (const [ns, key] of pairs) await cache.namespace(ns).set(key, `${ns}|${key}`)
    for (const [ns, key] of pairs) expect(await cache.namespace(ns).get(key)).toBe(`${ns}|${key}`)
    await cache.close()
  })

  it('a root key cannot address an entry of a namespace, even spelled like its internal key', async () => {
    const { tier, written } = recording()
    const cache = createCache({ tiers: [tier] })
    const tenant = cache.namespace('a')
    await tenant.set('c', 'tenant value')
    const [internal] = [...written]
    expect(internal).toBeDefined()
    // A root caller who controls the whole key (NUL included) must not reach the tenant's entry.
    expect(await cache.get(internal!)).toBeUndefined()
    await cache.set(internal!, 'forged')
    expect(await tenant.get('c')).toBe('tenant value')
    expect(await cache.get(internal!)).toBe('forged')
    await cache.close()
  })

  it('namespace names cannot smuggle in a key of another namespace', async () => {
    const cache = createCache()
    await cache.namespace('a').set('b\u0000c', 'tenant a')
    // A name containing NUL either is rejected or names a different entry.
    let other: unknown
    try {
      other = await cache.namespace('a\u0000b').get('c')
    } catch (err) {
      other = err
    }
    expect(other === undefined || other instanceof TypeError).toBe(true)
    await cache.close()
  })

  it('nested namespaces: keys, names and clear() are scoped; a parent clear covers its children', async () => {
    const cache = createCache()
    const a = cache.namespace('a')
    const ab = a.namespace('b')
    expect(a.namespaceName).toBe('a')
    expect(ab.namespaceName).toBe('a/b')
    expect(cache.namespaceName).toBeUndefined()
    await a.set('k', 'a')
    await ab.set('k', 'ab')
    await cache.set('k', 'root')
    await ab.clear()
    expect([await cache.get('k'), await a.get('k'), await ab.get('k')]).toEqual(['root', 'a', undefined])
    await ab.set('k', 'ab2')
    await a.clear()
    expect([await cache.get('k'), await a.get('k'), await ab.get('k')]).toEqual([
      'root',
      undefined,
      undefined,
    ])
    await cache.close()
  })

  it('clear() of tenant A deletes 0 keys of tenant B and none of the root', async () => {
    const { tier, deletes, clears } = recording()
    const cache = createCache({ tiers: [tier] })
    const A = cache.namespace('A')
    const B = cache.namespace('B')
    for (let i = 0; i < 100; i++) {
      await A.set(`k${i}`, `A${i}`, { tags: ['t'] })
      await B.set(`k${i}`, `B${i}`, { tags: ['t'] })
      await cache.set(`k${i}`, `R${i}`, { tags: ['t'] })
    }
    const clearEvents: (string | undefined)[] = []
    cache.on('clear', (e) => clearEvents.push(e.namespace))
    await A.clear()
    expect(clearEvents).toEqual(['A'])
    expect(deletes).toEqual([])
    expect(clears).toEqual([])
    for (let i = 0; i < 100; i++) {
      expect(await A.get(`k${i}`)).toBeUndefined()
      expect(await B.get(`k${i}`)).toBe(`B${i}`)
      expect(await cache.get(`k${i}`)).toBe(`R${i}`)
    }
    // A fills again after its clear.
    expect(await A.getOrSet('k0', () => 'A again')).toBe('A again')
    expect(await A.get('k0')).toBe('A again')
    await cache.close()
  })

  it('root clear() clears everything, namespaces included', async () => {
    const cache = createCache()
    const A = cache.namespace('A')
    await A.set('k', 1)
    await cache.namespace('B').namespace('C').set('k', 2)
    await cache.set('k', 3)
    await cache.clear()
    expect(await A.get('k')).toBeUndefined()
    expect(await cache.namespace('B').namespace('C').get('k')).toBeUndefined()
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })

  it('delete in a namespace deletes only that namespace key', async () => {
    const cache = createCache()
    await cache.namespace('A').set('k', 'a')
    await cache.namespace('B').set('k', 'b')
    await cache.set('k', 'r')
    expect(await cache.namespace('A').delete('k')).toBe(true)
    expect(await cache.namespace('A').get('k')).toBeUndefined()
    expect(await cache.namespace('B').get('k')).toBe('b')
    expect(await cache.get('k')).toBe('r')
    await cache.close()
  })

  it('stats and events are shared by all views; events carry the key without the namespace', async () => {
    const cache = createCache()
    const ns = cache.namespace('t')
    const hits: string[] = []
    ns.on('hit', (e) => hits.push(e.key))
    await ns.getOrSet('k', () => 1)
    await ns.getOrSet('k', () => 1)
    await cache.getOrSet('k', () => 2)
    await cache.getOrSet('k', () => 2)
    expect(hits).toEqual(['k', 'k'])
    const s = cache.stats()
    expect(ns.stats()).toEqual(s)
    expect(s.hits).toBe(2)
    expect(s.misses).toBe(2)
    expect(s.loads).toBe(2)
    await cache.close()
  })

  it('rejects empty or non-string names', () => {
    const cache = createCache()
    expect(() => cache.namespace('')).toThrow(TypeError)
    expect(() => cache.namespace(1 as unknown as string)).toThrow(/`name`/)
  })
})
