import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCache } from '../../src/index.js'

/**
 * RELIABILITY 30, the in-process part: the wall clock steps (NTP, VM resume) while entries are cached.
 *
 * Expiry uses `Date.now()` against the entry's absolute fresh-until, and the memory tier also drops the
 * entry after its relative lifetime (lru-cache TTL on the monotonic clock). Invalidations, writes and
 * load starts are ordered by the engine's strictly increasing stamp, so a backward step cannot make a
 * new write look older than an earlier invalidation, nor an old load look newer than a later one.
 *
 * Across processes (clocks minutes apart), see test/tiers/clock-skew.test.ts: remote tiers keep entry
 * times on the store server's clock, and each process converts them with its measured offset.
 */

const MIN = 60_000

afterEach(() => {
  vi.useRealTimers()
})

function setup() {
  vi.useFakeTimers()
  return createCache({ ttl: 60, jitter: 0, earlyRefresh: false })
}

describe('clock steps (RELIABILITY 30, in-process)', () => {
  it('backwards 5 min after set: still served, and gone no later than ttl + 5 min', async () => {
    const cache = setup()
    await cache.set('k', 'v')
    vi.setSystemTime(Date.now() - 5 * MIN)
    expect(await cache.get('k')).toBe('v')
    expect(await cache.getOrSet('k', () => 'reloaded')).toBe('v')
    vi.advanceTimersByTime(59_000)
    expect(await cache.get('k')).toBe('v')
    vi.advanceTimersByTime(5 * MIN + 2000) // ttl + 5 min + 1 s after the set
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.getOrSet('k', () => 'reloaded')).toBe('reloaded')
    await cache.close()
  })

  it('forwards past the ttl: the entry expires', async () => {
    const cache = setup()
    await cache.set('k', 'v')
    let runs = 0
    await cache.getOrSet('l', () => ++runs)
    vi.setSystemTime(Date.now() + 5 * MIN)
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.getOrSet('l', () => ++runs)).toBe(2)
    await cache.close()
  })

  it('forwards within the ttl: still fresh', async () => {
    const cache = setup()
    await cache.set('k', 'v')
    vi.setSystemTime(Date.now() + 30_000)
    expect(await cache.get('k')).toBe('v')
    await cache.close()
  })

  it('after a backward step, writes following an invalidation or clear are kept', async () => {
    const cache = setup()
    await cache.invalidateTags(['t'])
    vi.setSystemTime(Date.now() - 5 * MIN)
    await cache.set('k', 'v', { tags: ['t'] })
    expect(await cache.get('k')).toBe('v')
    await cache.clear()
    vi.setSystemTime(Date.now() - 5 * MIN)
    let runs = 0
    expect(await cache.getOrSet('l', () => ++runs, { tags: ['t'] })).toBe(1)
    expect(await cache.getOrSet('l', () => ++runs, { tags: ['t'] })).toBe(1)
    await cache.close()
  })

  it('after a backward step during a load, a later invalidation still wins (no stale set)', async () => {
    const cache = setup()
    let release!: (v: string) => void
    const p = cache.getOrSet('k', () => new Promise<string>((r) => (release = r)), { tags: ['t'] })
    await vi.advanceTimersByTimeAsync(10)
    vi.setSystemTime(Date.now() - 5 * MIN)
    await cache.invalidateTags(['t'])
    release('old')
    expect(await p).toBe('old')
    expect(await cache.get('k')).toBeUndefined()
    expect(cache.stats().staleSetsPrevented).toBe(1)

    const q = cache.getOrSet('j', () => new Promise<string>((r) => (release = r)))
    await vi.advanceTimersByTimeAsync(10)
    vi.setSystemTime(Date.now() - 5 * MIN)
    await cache.clear()
    release('old')
    expect(await q).toBe('old')
    expect(await cache.get('j')).toBeUndefined()
    expect(cache.stats().staleSetsPrevented).toBe(2)
    await cache.close()
  })

  it('stale windows follow the same clock: a backward step keeps serving stale within staleIfError', async () => {
    vi.useFakeTimers()
    const cache = createCache({ ttl: 10, staleIfError: 60, jitter: 0, earlyRefresh: false, graceBackoff: 0 })
    await cache.set('k', 'v1')
    vi.advanceTimersByTime(11_000)
    vi.setSystemTime(Date.now() - 5 * MIN) // fresh again by the wall clock
    expect(await cache.get('k')).toBe('v1')
    vi.setSystemTime(Date.now() + 5 * MIN + 1000) // 12 s after the set: stale, within staleIfError
    const fail = async (): Promise<string> => {
      throw new Error('down')
    }
    expect(await cache.getOrSet('k', fail)).toBe('v1')
    expect(cache.stats().staleHits).toBe(1)
    await cache.close()
  })
})
