import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCache, LoaderError, LoaderTimeoutError } from '../../src/index.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

afterEach(() => {
  vi.useRealTimers()
})

describe('fresh -> stale-while-revalidate -> stale-if-error -> expired', () => {
  it('serves a stale value at once during staleWhileRevalidate and runs one background refresh', async () => {
    vi.useFakeTimers()
    const cache = createCache({ ttl: 10, staleWhileRevalidate: 60, jitter: 0, earlyRefresh: false })
    let runs = 0
    let release!: () => void
    const loader = async () => {
      runs++
      if (runs > 1) await new Promise<void>((r) => (release = r))
      return `v${runs}`
    }
    expect(await cache.getOrSet('k', loader)).toBe('v1')
    vi.advanceTimersByTime(11_000)
    const stale = await Promise.all(Array.from({ length: 20 }, () => cache.getOrSet('k', loader)))
    expect(stale.every((v) => v === 'v1')).toBe(true)
    expect(runs).toBe(2)
    expect(cache.stats().staleHits).toBe(20)
    expect(cache.stats().refreshes).toBe(1)
    release()
    await vi.advanceTimersByTimeAsync(1)
    expect(await cache.getOrSet('k', loader)).toBe('v2')
    expect(runs).toBe(2)
    await cache.close()
  })

  it('past the revalidate window, callers wait for the loader', async () => {
    vi.useFakeTimers()
    const cache = createCache({ ttl: 10, staleWhileRevalidate: 5, jitter: 0, earlyRefresh: false })
    let n = 0
    await cache.getOrSet('k', () => `v${++n}`)
    vi.advanceTimersByTime(16_000)
    expect(await cache.getOrSet('k', () => `v${++n}`)).toBe('v2')
    await cache.close()
  })

  it('serves the stale value when the loader fails within staleIfError, then expires', async () => {
    vi.useFakeTimers()
    const cache = createCache({ ttl: 10, staleIfError: 60, jitter: 0, earlyRefresh: false, graceBackoff: 0 })
    const errors: unknown[] = []
    cache.on('error', (e) => errors.push(e.error))
    await cache.getOrSet('k', () => 'v1')
    vi.advanceTimersByTime(11_000)
    const fail = async () => {
      throw new Error('origin down')
    }
    expect(await cache.getOrSet('k', fail)).toBe('v1')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(LoaderError)
    expect(cache.stats().staleHits).toBe(1)
    vi.advanceTimersByTime(60_000)
    await expect(cache.getOrSet('k', fail)).rejects.toBeInstanceOf(LoaderError)
    await cache.close()
  })

  it('after a failure, the next refresh waits graceBackoff and stale is served meanwhile', async () => {
    vi.useFakeTimers()
    const cache = createCache({
      ttl: 10,
      staleIfError: 600,
      jitter: 0,
      earlyRefresh: false,
      graceBackoff: 30,
    })
    await cache.getOrSet('k', () => 'v1')
    vi.advanceTimersByTime(11_000)
    let runs = 0
    const fail = async () => {
      runs++
      throw new Error('down')
    }
    expect(await cache.getOrSet('k', fail)).toBe('v1')
    expect(runs).toBe(1)
    vi.advanceTimersByTime(10_000)
    expect(await cache.getOrSet('k', fail)).toBe('v1')
    expect(await cache.getOrSet('k', fail)).toBe('v1')
    expect(runs).toBe(1)
    vi.advanceTimersByTime(21_000)
    // Backoff over: the next caller tries the loader again (and gets its value).
    expect(await cache.getOrSet('k', () => 'v2')).toBe('v2')
    expect(await cache.getOrSet('k', fail)).toBe('v2')
    expect(runs).toBe(1)
    await cache.close()
  })

  it('a background refresh that rejects causes no unhandled rejection and is reported (RELIABILITY 6a)', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (r: unknown) => unhandled.push(r)
    process.on('unhandledRejection', onUnhandled)
    const cache = createCache({ ttl: '20ms', staleWhileRevalidate: 10, jitter: 0, earlyRefresh: false })
    await cache.getOrSet('k', () => 'v1')
    await sleep(30)
    expect(
      await cache.getOrSet('k', async () => {
        throw new Error('bg')
      }),
    ).toBe('v1')
    await sleep(30)
    process.off('unhandledRejection', onUnhandled)
    expect(unhandled).toEqual([])
    expect(cache.stats().loadErrors).toBe(1)
    await cache.close()
  })
})

describe('timeouts (RELIABILITY 4 and 5)', () => {
  it('hard timeout: leader and 10 followers reject with LoaderTimeoutError at the deadline; a later call reloads', async () => {
    vi.useFakeTimers()
    const cache = createCache({ hardTimeout: 1 })
    let runs = 0
    let aborted: unknown
    const hung = (ctx: { signal: AbortSignal }) => {
      runs++
      ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason))
      return new Promise<string>(() => {})
    }
    const calls = Array.from({ length: 11 }, () =>
      cache.getOrSet('k', hung).then(
        () => 'resolved',
        (e: unknown) => e,
      ),
    )
    await vi.advanceTimersByTimeAsync(999)
    expect(cache.stats().inFlight).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    const results = await Promise.all(calls)
    for (const r of results) {
      expect(r).toBeInstanceOf(LoaderTimeoutError)
      expect((r as LoaderTimeoutError).timeout).toBe(1000)
      expect((r as LoaderTimeoutError).key).toBe('k')
    }
    expect(aborted).toBeInstanceOf(LoaderTimeoutError)
    expect(cache.stats().inFlight).toBe(0)
    expect(runs).toBe(1)
    const again = cache.getOrSet('k', () => 'fresh')
    expect(await again).toBe('fresh')
    expect(runs).toBe(1)
    await cache.close()
  })

  it('a load that passed its hard timeout still fills the cache when it finishes', async () => {
    const cache = createCache({ hardTimeout: '50ms' })
    const slow = async () => {
      await sleep(120)
      return 'late'
    }
    await expect(cache.getOrSet('k', slow)).rejects.toBeInstanceOf(LoaderTimeoutError)
    await sleep(120)
    expect(await cache.get('k')).toBe('late')
    await cache.close()
  })

  it('soft timeout: with a stale value in the grace window, a slow loader yields the stale value quickly', async () => {
    const cache = createCache({
      ttl: '30ms',
      staleIfError: 60,
      softTimeout: '100ms',
      jitter: 0,
      earlyRefresh: false,
    })
    await cache.getOrSet('k', () => 'old')
    await sleep(40)
    const t0 = performance.now()
    const slow = async () => {
      await sleep(600)
      return 'new'
    }
    expect(await cache.getOrSet('k', slow, { ttl: 10 })).toBe('old')
    const took = performance.now() - t0
    expect(took).toBeGreaterThanOrEqual(95)
    expect(took).toBeLessThan(450)
    await sleep(650)
    expect(await cache.get('k')).toBe('new')
    await cache.close()
  })

  it('soft timeout does nothing without a stale value', async () => {
    const cache = createCache({ softTimeout: '20ms' })
    expect(
      await cache.getOrSet('k', async () => {
        await sleep(80)
        return 'v'
      }),
    ).toBe('v')
    await cache.close()
  })
})

describe('TTL jitter and early refresh (RELIABILITY 20)', () => {
  it('spreads expiries of keys written together over [ttl(1-j), ttl(1+j)]', async () => {
    vi.useFakeTimers()
    const cache = createCache({ ttl: 60, jitter: 0.1, earlyRefresh: false })
    const t0 = Date.now()
    for (let i = 0; i < 10_000; i++) await cache.set(`k${i}`, i)
    const expiries: number[] = []
    const cacheWithProbe = createCache({ ttl: 60, jitter: 0.1, earlyRefresh: false })
    void cacheWithProbe
    // Walk time second by second and count how many keys stopped being fresh in each window.
    let alive = 10_000
    let maxShare = 0
    for (let s = 53; s <= 67; s++) {
      vi.setSystemTime(t0 + s * 1000)
      let now = 0
      for (let i = 0; i < 10_000; i++) if (await cache.has(`k${i}`)) now++
      const expired = alive - now
      expiries.push(expired)
      maxShare = Math.max(maxShare, expired / 10_000)
      alive = now
    }
    expect(expiries[0]).toBe(0) // nothing expires before 54 s
    expect(alive).toBe(0) // everything has expired by 66 s
    // Uniform over 12 s gives 1/12 = 8.3% per second; allow sampling noise.
    expect(maxShare).toBeLessThan(0.1)
    await cache.close()
    await cacheWithProbe.close()
  })

  it('jitter 0 gives exact expiry', async () => {
    vi.useFakeTimers()
    const cache = createCache({ ttl: 10, jitter: 0 })
    await cache.set('a', 1)
    vi.advanceTimersByTime(9_999)
    expect(await cache.has('a')).toBe(true)
    vi.advanceTimersByTime(1)
    expect(await cache.has('a')).toBe(false)
    await cache.close()
  })

  it('refreshes a hot key before expiry in the background when the loader is slow relative to the time left', async () => {
    const cache = createCache({ ttl: '300ms', jitter: 0, earlyRefresh: 5 })
    let runs = 0
    const loader = async () => {
      runs++
      await sleep(40)
      return runs
    }
    expect(await cache.getOrSet('k', loader)).toBe(1)
    // Hit the key until just before expiry; XFetch should refresh early at least once.
    const end = Date.now() + 280
    while (Date.now() < end) {
      await cache.getOrSet('k', loader)
      await sleep(5)
    }
    expect(runs).toBeGreaterThanOrEqual(2)
    expect(cache.stats().refreshes).toBeGreaterThanOrEqual(1)
    await cache.close()
  })
})
