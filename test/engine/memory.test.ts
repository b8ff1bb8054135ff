import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCache, memoryTier } from '../../src/index.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const soak = fileURLToPath(new URL('../fixtures/memory-soak.ts', import.meta.url))

afterEach(() => {
  vi.useRealTimers()
})

describe('memory tier bounds (RELIABILITY 22)', () => {
  it('max holds with 100k keys; evictions are counted and emitted', async () => {
    const tier = memoryTier({ max: 1000 })
    const cache = createCache({ tiers: [tier] })
    let evicted = 0
    const first: string[] = []
    cache.on('evict', (e) => {
      evicted++
      if (first.length < 3) first.push(e.key)
    })
    for (let i = 0; i < 100_000; i++) {
      await cache.getOrSet(`k${i}`, () => i)
      if (tier.size > 1000) throw new Error(`size ${tier.size} over max at ${i}`)
    }
    expect(tier.size).toBe(1000)
    expect(cache.stats().evictions).toBe(99_000)
    expect(evicted).toBe(99_000)
    expect(first).toEqual(['k0', 'k1', 'k2'])
    expect(await cache.get('k0')).toBeUndefined()
    expect(await cache.get('k99999')).toBe(99_999)
    await cache.close()
  })

  it("maxSize: '1mb' holds with large strings: old keys are evicted, the budget is used", async () => {
    const tier = memoryTier({ maxSize: '1mb' })
    const cache = createCache({ tiers: [tier] })
    const big = (i: number) => `${i}`.padEnd(10_000, 'x') // ~20 KB estimated (UTF-16)
    const perEntry = 16 + 10_000 * 2 + 64 // value + overhead, key bytes on top
    for (let i = 0; i < 200; i++) await cache.set(`k${i}`, big(i))
    expect(tier.size).toBeLessThanOrEqual(Math.floor((1024 * 1024) / perEntry))
    expect(tier.size).toBeGreaterThanOrEqual(40)
    expect(await cache.get('k0')).toBeUndefined()
    expect(await cache.get('k199')).toBe(big(199))
    expect(cache.stats().evictions).toBe(200 - tier.size)
    await cache.close()
  })

  it('maxEntrySize: larger values are served but not kept (defaults to maxSize / 4)', async () => {
    const cache = createCache({ tiers: [memoryTier({ maxSize: '1mb' })] })
    const huge = 'h'.repeat(200_000) // ~400 KB > 256 KB
    let runs = 0
    const load = () => {
      runs++
      return huge
    }
    expect(await cache.getOrSet('huge', load)).toBe(huge)
    expect(await cache.getOrSet('huge', load)).toBe(huge)
    expect(runs).toBe(2)
    await cache.set('small', 's')
    expect(await cache.get('small')).toBe('s')
    await cache.close()
  })

  it('maxEntrySize alone (no maxSize) is enforced', async () => {
    const tier = memoryTier({ maxEntrySize: '1kb' })
    const cache = createCache({ tiers: [tier] })
    await cache.set('big', 'b'.repeat(2000))
    await cache.set('small', 'tiny')
    expect(await cache.get('big')).toBeUndefined()
    expect(await cache.get('small')).toBe('tiny')
    // Overwriting a kept entry with an oversized value drops the old one (no stale value left behind).
    await cache.set('small', 's'.repeat(2000))
    expect(await cache.get('small')).toBeUndefined()
    expect(tier.size).toBe(0)
    await cache.close()
  })

  it('maxEntrySize above maxSize cannot push the tier over maxSize', async () => {
    const tier = memoryTier({ maxSize: '10kb', maxEntrySize: '1mb' })
    const cache = createCache({ tiers: [tier] })
    await cache.set('a', 'a')
    await cache.set('big', 'b'.repeat(50_000))
    expect(await cache.get('big')).toBeUndefined()
    expect(await cache.get('a')).toBe('a')
    await cache.close()
  })

  it('invalid sizes throw a TypeError naming the option', () => {
    for (const max of [0, -1, 1.5, Number.NaN, '10' as unknown as number]) {
      expect(() => memoryTier({ max })).toThrow(/`max`/)
    }
    for (const maxSize of [0, -5, '1 parsec', '5tb', 1.5, '', 'mb']) {
      expect(() => memoryTier({ maxSize })).toThrow(/`maxSize`/)
    }
    expect(() => memoryTier({ maxEntrySize: 'big' })).toThrow(/`maxEntrySize`/)
    expect(() => memoryTier(null as never)).toThrow(TypeError)
    expect(memoryTier({ maxSize: '512kb', name: 'l1' }).name).toBe('l1')
  })

  it('the back-off map is bounded: beyond 10k failing keys, the oldest back-off is dropped', async () => {
    vi.useFakeTimers()
    const n = 10_050
    const cache = createCache({
      tiers: [memoryTier({ max: 20_000 })],
      ttl: 1,
      staleIfError: 3600,
      graceBackoff: '1h',
      jitter: 0,
      earlyRefresh: false,
    })
    for (let i = 0; i < n; i++) await cache.set(`k${i}`, `stale${i}`)
    vi.advanceTimersByTime(2000)
    const fail = async (): Promise<string> => {
      throw new Error('down')
    }
    for (let i = 0; i < n; i++) expect(await cache.getOrSet(`k${i}`, fail)).toBe(`stale${i}`)
    expect(cache.stats().loads).toBe(n)
    // The newest keys are still backing off: stale is served without calling the loader.
    let runs = 0
    const count = async () => `fresh${++runs}`
    expect(await cache.getOrSet(`k${n - 1}`, count)).toBe(`stale${n - 1}`)
    expect(runs).toBe(0)
    // The oldest back-off records were dropped to keep the map bounded: those keys load again.
    expect(await cache.getOrSet('k0', count)).toBe('fresh1')
    expect(runs).toBe(1)
    await cache.close()
  })
})

describe('no aliasing (RELIABILITY 25)', () => {
  it('with clone: true, mutating a returned value does not change the next get / getOrSet', async () => {
    const cache = createCache({ clone: true })
    const original = () => ({
      when: new Date(0),
      map: new Map([['a', [1, 2]]]),
      nested: [[1], [2, [3]]],
    })
    const input = original()
    await cache.set('k', input)
    input.nested.push([99]) // mutating what was passed to set does not change the cache either
    const a = (await cache.get<ReturnType<typeof original>>('k'))!
    expect(a).toEqual(original())
    a.when.setFullYear(2000)
    a.map.get('a')!.push(3)
    a.map.set('b', [])
    ;(a.nested[1]![1] as number[]).push(4)
    expect(await cache.get('k')).toEqual(original())
    const b = await cache.getOrSet('k', () => ({ when: new Date(1), map: new Map(), nested: [] }))
    expect(b).toEqual(original())
    expect(b).not.toBe(a)

    // A loaded value: the loader's object, each caller's copy and the cached one are independent.
    const loaded = original()
    const [c1, c2] = await Promise.all([cache.getOrSet('l', () => loaded), cache.getOrSet('l', () => loaded)])
    c1.nested.length = 0
    expect(c2).toEqual(original())
    loaded.map.clear()
    expect(await cache.getOrSet('l', () => original())).toEqual(original())
    await cache.close()
  })

  it('with clone: true, a value read from a lower tier is not aliased either', async () => {
    const cache = createCache({ clone: true, tiers: [memoryTier({ max: 1 }), memoryTier({ name: 'l2' })] })
    await cache.set('k', { list: [1] })
    await cache.set('other', 1) // evicts k from L1; L2 still holds it
    const viaGet = (await cache.get<{ list: number[] }>('k'))!
    viaGet.list.push(2)
    expect(await cache.get('k')).toEqual({ list: [1] })
    await cache.set('other', 2)
    const viaLoad = await cache.getOrSet('k', () => ({ list: [0] }))
    expect(viaLoad).toEqual({ list: [1] })
    viaLoad.list.push(3)
    expect(await cache.getOrSet('k', () => ({ list: [0] }))).toEqual({ list: [1] })
    expect(cache.stats().hitsByTier.l2).toBe(2)
    await cache.close()
  })

  it('without clone (the default), a hit returns the stored object itself', async () => {
    const cache = createCache()
    const value = { n: 1 }
    await cache.set('k', value)
    const got = await cache.get<{ n: number }>('k')
    expect(got).toBe(value)
    got!.n = 2
    expect(await cache.getOrSet('k', () => ({ n: 0 }))).toEqual({ n: 2 })
    await cache.close()
  })
})

describe('1,000,000 distinct keys (RELIABILITY 22)', () => {
  it('keeps L1 within max, drains the in-flight map and grows the heap by < 50 MB', async () => {
    // A child process: `--expose-gc` for exact heap figures, and its own heap, unaffected by other tests.
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', '--max-semi-space-size=64', '--import', 'tsx', soak],
      { cwd: root, timeout: 120_000, env: { ...process.env, SOAK_KEYS: '1000000' } },
    )
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as {
      keys: number
      elapsedMs: number
      heapGrowthMB: number
      maxL1: number
      maxInFlight: number
      inFlightAfter: number
      evictions: number
      evictEvents: number
      outcome: { ok: number; failed: number; timedOut: number; stale: number }
      loads: number
    }
    expect(r.keys).toBe(1_000_000)
    expect(r.outcome).toEqual({ ok: 700_000, failed: 100_000, timedOut: 100_000, stale: 100_000 })
    expect(r.maxL1).toBeLessThanOrEqual(10_000)
    expect(r.maxInFlight).toBeGreaterThan(0)
    expect(r.inFlightAfter).toBe(0)
    expect(r.evictions).toBe(r.evictEvents)
    expect(r.evictions).toBeGreaterThan(700_000)
    expect(r.loads).toBe(1_000_001)
    expect(r.heapGrowthMB).toBeLessThan(50)
  }, 120_000)
})
