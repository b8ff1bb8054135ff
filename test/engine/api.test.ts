import diagnostics from 'node:diagnostics_channel'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { collectTags } from '../../src/context.js'
import {
  CacheClosedError,
  type CacheEventName,
  type CacheEvents,
  createCache,
  LoaderError,
  LoaderTimeoutError,
  memoryTier,
  type Tier,
} from '../../src/index.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const YEAR = 365 * 24 * 3600 * 1000

afterEach(() => {
  vi.useRealTimers()
})

/** Records every event of a cache, in order. */
function record(cache: ReturnType<typeof createCache>, names: CacheEventName[]) {
  const log: { event: CacheEventName; payload: unknown }[] = []
  for (const event of names) {
    cache.on(event, (payload: CacheEvents[typeof event]) => log.push({ event, payload }))
  }
  return log
}

describe('get / set / has / delete / clear / getMany / setMany', () => {
  it('round-trips values and reports presence', async () => {
    const cache = createCache()
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.has('k')).toBe(false)
    expect(await cache.set('k', { a: 1 })).toBe(true)
    expect(await cache.get('k')).toEqual({ a: 1 })
    expect(await cache.has('k')).toBe(true)
    expect(await cache.set('n', null)).toBe(true)
    expect(await cache.get('n')).toBeNull()
    expect(await cache.has('n')).toBe(true)
    expect(await cache.set('k', 2)).toBe(true)
    expect(await cache.get('k')).toBe(2)
    await cache.close()
  })

  it('delete takes one key or an array and resolves true', async () => {
    const cache = createCache()
    await cache.setMany([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
      { key: 'c', value: 3, options: { ttl: 10 } },
    ])
    expect(await cache.getMany(['a', 'b', 'c', 'x'])).toEqual([1, 2, 3, undefined])
    expect(await cache.delete('a')).toBe(true)
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([undefined, 2, 3])
    expect(await cache.delete(['b', 'c', 'never-set'])).toBe(true)
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([undefined, undefined, undefined])
    await cache.close()
  })

  it('clear removes every entry', async () => {
    const cache = createCache()
    await cache.setMany([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ])
    await cache.clear()
    expect(await cache.getMany(['a', 'b'])).toEqual([undefined, undefined])
    expect(await cache.getOrSet('a', () => 'again')).toBe('again')
    await cache.close()
  })

  it('set with undefined rejects with a TypeError; set with ttl 0 deletes', async () => {
    const cache = createCache()
    await expect(cache.set('k', undefined)).rejects.toThrow(TypeError)
    await cache.set('k', 1)
    expect(await cache.set('k', 2, { ttl: 0 })).toBe(true)
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })

  it('rejects non-string and empty keys, and bad array arguments', async () => {
    const cache = createCache()
    const bad = [1, '', null, undefined, {}] as unknown as string[]
    for (const key of bad) {
      await expect(cache.getOrSet(key, () => 1)).rejects.toThrow(/`key`/)
      await expect(cache.get(key)).rejects.toThrow(TypeError)
      await expect(cache.set(key, 1)).rejects.toThrow(TypeError)
      await expect(cache.has(key)).rejects.toThrow(TypeError)
      await expect(cache.delete(key)).rejects.toThrow(TypeError)
    }
    await expect(cache.getOrSet('k', 'nope' as unknown as () => number)).rejects.toThrow(/`loader`/)
    await expect(cache.getMany('k' as unknown as string[])).rejects.toThrow(/`keys`/)
    await expect(cache.setMany({} as unknown as [])).rejects.toThrow(/`entries`/)
    expect(cache.stats().loads).toBe(0)
    await cache.close()
  })
})

describe('peek', () => {
  it('returns the fresh memory-tier value synchronously, counts a hit, notes tags; never loads or reads lower tiers', async () => {
    vi.useFakeTimers()
    const cache = createCache()
    const log = record(cache, ['hit', 'miss'])
    expect(cache.peek('k')).toBeUndefined()
    await cache.set('k', { v: 1 }, { ttl: 1, tags: ['t'] })
    expect(cache.peek('k')).toEqual({ v: 1 })
    const seen = new Set<string>()
    collectTags(seen, () => cache.peek('k'))
    expect([...seen]).toEqual(['t'])
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 0, loads: 0 })
    expect(log).toEqual([
      { event: 'hit', payload: { key: 'k', tier: 'memory' } },
      { event: 'hit', payload: { key: 'k', tier: 'memory' } },
    ])
    await cache.invalidateTags(['t'])
    expect(cache.peek('k')).toBeUndefined()
    await cache.set('k', 2, { ttl: 1, staleWhileRevalidate: 10, jitter: 0 })
    vi.advanceTimersByTime(1001)
    expect(cache.peek('k')).toBeUndefined() // stale: no
    expect(cache.namespace('n').peek('k')).toBeUndefined()
    expect(() => cache.peek('')).toThrow(TypeError)
    const remoteOnly = createCache({
      tiers: [{ kind: 'remote', name: 'r', get: async () => undefined } as never],
    })
    expect(remoteOnly.peek('k')).toBeUndefined()
  })
})

describe('ttl', () => {
  it('ttl 0 coalesces concurrent loads but stores nothing', async () => {
    const cache = createCache({ ttl: 0 })
    let runs = 0
    const loader = async () => {
      runs++
      await sleep(10)
      return runs
    }
    expect(await Promise.all([cache.getOrSet('k', loader), cache.getOrSet('k', loader)])).toEqual([1, 1])
    expect(runs).toBe(1)
    expect(await cache.getOrSet('k', loader)).toBe(2)
    expect(runs).toBe(2)
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })

  it('Infinity never expires (ten years later); a finite ttl does', async () => {
    vi.useFakeTimers()
    const cache = createCache({ jitter: 0, earlyRefresh: false })
    let runs = 0
    await cache.getOrSet('forever', () => ++runs, { ttl: Number.POSITIVE_INFINITY })
    await cache.set('minute', 'm', { ttl: 60 })
    vi.setSystemTime(Date.now() + 10 * YEAR)
    expect(await cache.getOrSet('forever', () => ++runs, { ttl: Number.POSITIVE_INFINITY })).toBe(1)
    expect(await cache.get('forever')).toBe(1)
    expect(await cache.get('minute')).toBeUndefined()
    expect(runs).toBe(1)
    await cache.close()
  })

  it('string durations: "500ms" expires after half a second', async () => {
    vi.useFakeTimers()
    const cache = createCache({ jitter: 0, earlyRefresh: false })
    await cache.set('k', 1, { ttl: '500ms' })
    vi.advanceTimersByTime(499)
    expect(await cache.get('k')).toBe(1)
    vi.advanceTimersByTime(2)
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })
})

describe('option validation: TypeError naming the option', () => {
  it('createCache options', () => {
    expect(() => createCache({ ttl: -1 })).toThrow(/`ttl`.*-1/)
    expect(() => createCache({ ttl: '5 parsecs' as never })).toThrow(/`ttl`.*5 parsecs/)
    expect(() => createCache({ ttl: Number.NaN })).toThrow(/`ttl`/)
    expect(() => createCache({ jitter: 2 })).toThrow(/`jitter`.*2/)
    expect(() => createCache({ refreshConcurrency: 0 })).toThrow(/`refreshConcurrency`.*0/)
    expect(() => createCache({ staleWhileRevalidate: -5 })).toThrow(/`staleWhileRevalidate`/)
    expect(() => createCache({ hardTimeout: 0 })).toThrow(/`hardTimeout`/)
    expect(() => createCache({ earlyRefresh: -1 })).toThrow(/`earlyRefresh`/)
    expect(() => createCache({ graceBackoff: 'soon' as never })).toThrow(/`graceBackoff`/)
    expect(() => createCache({ tiers: [] })).toThrow(/`tiers`/)
    expect(() => createCache({ tiers: [{} as Tier] })).toThrow(/`tiers\[0\]`/)
    expect(() => createCache({ tiers: [memoryTier(), { kind: 'remote' } as Tier] })).toThrow(/`tiers\[1\]`/)
    for (const bad of [-1, '5 parsecs', Number.NaN]) {
      expect(() => createCache({ ttl: bad as number })).toThrow(TypeError)
    }
  })

  it('per-call options reject naming the option; nothing is loaded', async () => {
    const cache = createCache()
    let runs = 0
    await expect(cache.getOrSet('k', () => ++runs, { staleIfError: Number.NaN })).rejects.toThrow(
      /`staleIfError`.*NaN/,
    )
    await expect(cache.getOrSet('k', () => ++runs, { ttl: '1 fortnight' as never })).rejects.toThrow(/`ttl`/)
    await expect(cache.getOrSet('k', () => ++runs, { tags: 'x' as never })).rejects.toThrow(/`tags`/)
    await expect(cache.set('k', 1, { jitter: -0.5 })).rejects.toThrow(/`jitter`/)
    expect(() => cache.wrap(() => 1, { name: 'n', ttl: -3 })).toThrow(/`ttl`/)
    expect(runs).toBe(0)
    await cache.close()
  })
})

describe('loader context', () => {
  it('ctx.stale / ctx.hasStale hold the value being refreshed (null included)', async () => {
    vi.useFakeTimers()
    const cache = createCache({ ttl: 10, staleWhileRevalidate: 60, jitter: 0, earlyRefresh: false })
    const seen: { stale: unknown; hasStale: boolean; key: string }[] = []
    const loader = (ctx: { stale: unknown; hasStale: boolean; key: string }) => {
      seen.push({ stale: ctx.stale, hasStale: ctx.hasStale, key: ctx.key })
      return seen.length === 1 ? null : 'v2'
    }
    const ns = cache.namespace('t')
    expect(await ns.getOrSet('k', loader)).toBeNull()
    vi.advanceTimersByTime(11_000)
    expect(await ns.getOrSet('k', loader)).toBeNull()
    await vi.advanceTimersByTimeAsync(0)
    expect(await ns.getOrSet('k', loader)).toBe('v2')
    expect(seen).toEqual([
      { stale: undefined, hasStale: false, key: 'k' },
      { stale: null, hasStale: true, key: 'k' },
    ])
    await cache.close()
  })

  it('ctx.setTtl overrides the entry ttl; ctx.skipCache returns without storing', async () => {
    vi.useFakeTimers()
    const cache = createCache({ ttl: 3600, jitter: 0, earlyRefresh: false })
    await cache.getOrSet('short', (ctx) => {
      ctx.setTtl('1s')
      return 'x'
    })
    expect(await cache.get('short')).toBe('x')
    vi.advanceTimersByTime(1001)
    expect(await cache.get('short')).toBeUndefined()

    let runs = 0
    const skip = (ctx: { skipCache(): void }) => {
      ctx.skipCache()
      return ++runs
    }
    expect(await cache.getOrSet('skip', skip)).toBe(1)
    expect(await cache.getOrSet('skip', skip)).toBe(2)
    expect(await cache.get('skip')).toBeUndefined()
    await expect(
      cache.getOrSet('bad', (ctx) => {
        ctx.setTtl(-1)
        return 1
      }),
    ).rejects.toThrow(/`ttl`/)
    await cache.close()
  })

  it('ctx.signal is aborted with the LoaderTimeoutError on hardTimeout', async () => {
    vi.useFakeTimers()
    const cache = createCache()
    let signal: AbortSignal | undefined
    const p = cache
      .getOrSet(
        'k',
        (ctx) => {
          signal = ctx.signal
          return new Promise<number>(() => {})
        },
        { hardTimeout: '1s' },
      )
      .catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(999)
    expect(signal!.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    const err = await p
    expect(err).toBeInstanceOf(LoaderTimeoutError)
    expect(signal!.aborted).toBe(true)
    expect(signal!.reason).toBe(err)
    expect(cache.stats().inFlight).toBe(0)
    await cache.close()
  })

  it('ctx.signal is aborted on close; the loader may give up', async () => {
    const cache = createCache()
    let signal: AbortSignal | undefined
    const p = cache
      .getOrSet('k', (ctx) => {
        signal = ctx.signal
        return new Promise<number>((_, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))
        })
      })
      .catch((e: unknown) => e)
    await sleep(1)
    expect(signal!.aborted).toBe(false)
    await cache.close()
    expect(signal!.aborted).toBe(true)
    expect(signal!.reason).toBeInstanceOf(CacheClosedError)
    const err = await p
    expect(err).toBeInstanceOf(LoaderError)
    expect((err as LoaderError).cause).toBeInstanceOf(CacheClosedError)
  })
})

describe('wrap and keyFor', () => {
  it('equal arguments (object keys in any order) share one result; different arguments do not', async () => {
    const cache = createCache()
    let runs = 0
    const find = cache.wrap(async function find(q: { a: number; b: string }, page: number) {
      runs++
      return `${q.a}${q.b}${page}#${runs}`
    })
    expect(find.name).toBe('cached find')
    const r1 = await find({ a: 1, b: 'x' }, 1)
    const r2 = await find({ b: 'x', a: 1 }, 1)
    expect(r2).toBe(r1)
    expect(runs).toBe(1)
    expect(await find({ a: 1, b: 'x' }, 2)).toBe('1x2#2')
    expect(await find({ a: 2, b: 'x' }, 1)).toBe('2x1#3')
    expect(runs).toBe(3)
    // keyFor is the key wrap uses.
    expect(await cache.get(cache.keyFor('find', [{ b: 'x', a: 1 }, 1]))).toBe(r1)
    expect(await cache.get(cache.keyFor('find', [{ a: 1, b: 'x' }, 3]))).toBeUndefined()
    await cache.close()
  })

  it('concurrent calls coalesce', async () => {
    const cache = createCache()
    let runs = 0
    const slow = cache.wrap(
      async (id: number) => {
        runs++
        await sleep(10)
        return id * 2
      },
      { name: 'slow' },
    )
    expect(await Promise.all([slow(2), slow(2), slow(3)])).toEqual([4, 4, 6])
    expect(runs).toBe(2)
    await cache.close()
  })

  it('tagsFrom tags each call; invalidating one tag reloads only that call', async () => {
    const cache = createCache()
    let runs = 0
    const product = cache.wrap(async (id: number) => `p${id}#${++runs}`, {
      name: 'product',
      tags: ['products'],
      tagsFrom: (id) => [`product:${id}`],
    })
    expect(await product(1)).toBe('p1#1')
    expect(await product(2)).toBe('p2#2')
    await cache.invalidateTags(['product:1'])
    expect(await product(1)).toBe('p1#3')
    expect(await product(2)).toBe('p2#2')
    await cache.invalidateTags(['products'])
    expect(await product(2)).toBe('p2#4')
    await cache.close()
  })

  it('a custom key function', async () => {
    const cache = createCache()
    const user = cache.wrap(async (id: string) => ({ id }), { key: (id) => `user:${id}` })
    expect(await user('7')).toEqual({ id: '7' })
    expect(await cache.get('user:7')).toEqual({ id: '7' })
    await cache.set('user:8', { id: 'from-set' })
    expect(await user('8')).toEqual({ id: 'from-set' })
    await cache.close()
  })

  it('rejects bad wrap arguments', () => {
    const cache = createCache()
    expect(() => cache.wrap('x' as never)).toThrow(/`fn`/)
    expect(() => cache.wrap(() => 1)).toThrow(/`name`/)
    expect(() => cache.wrap(() => 1, { name: 'n', key: 'k' as never })).toThrow(/`key`/)
    expect(() => cache.wrap(() => 1, { name: 'n', tagsFrom: [] as never })).toThrow(/`tagsFrom`/)
  })
})

describe('events', () => {
  it('each event fires with its payload', async () => {
    vi.useFakeTimers()
    const cache = createCache({
      tiers: [memoryTier({ max: 2, name: 'l1' })],
      ttl: 10,
      staleWhileRevalidate: 60,
      jitter: 0,
      earlyRefresh: false,
    })
    const log = record(cache, [
      'hit',
      'miss',
      'stale',
      'load',
      'set',
      'delete',
      'invalidate',
      'clear',
      'evict',
      'error',
    ])
    const take = () => log.splice(0).map((e) => [e.event, e.payload])

    await cache.getOrSet('a', () => 1)
    const [miss, load] = take()
    expect(miss).toEqual(['miss', { key: 'a' }])
    expect(load).toEqual([
      'load',
      { key: 'a', duration: expect.any(Number), stored: true, background: false },
    ])

    await cache.getOrSet('a', () => 1)
    expect(take()).toEqual([['hit', { key: 'a', tier: 'l1' }]])

    await cache.set('b', 2)
    expect(take()).toEqual([['set', { key: 'b' }]])
    await cache.set('c', 3)
    expect(take()).toEqual([
      ['evict', { key: 'a', tier: 'l1' }],
      ['set', { key: 'c' }],
    ])

    await cache.delete('b')
    expect(take()).toEqual([['delete', { key: 'b' }]])
    await cache.invalidateTags(['t1', 't2'])
    expect(take()).toEqual([['invalidate', { tags: ['t1', 't2'] }]])
    await cache.namespace('n').clear()
    await cache.clear()
    expect(take()).toEqual([
      ['clear', { namespace: 'n' }],
      ['clear', { namespace: undefined }],
    ])

    // Stale while revalidating, then a background refresh that fails: 'stale' then 'error'.
    await cache.getOrSet('s', () => 's1')
    take()
    vi.advanceTimersByTime(11_000)
    const boom = new Error('refresh failed')
    expect(
      await cache.getOrSet('s', () => {
        throw boom
      }),
    ).toBe('s1')
    await vi.advanceTimersByTimeAsync(0)
    const events = take()
    expect(events[0]).toEqual(['stale', { key: 's', reason: 'revalidate' }])
    expect(events[1]).toEqual(['error', { error: expect.any(LoaderError), key: 's', operation: 'refresh' }])
    expect(((events[1]![1] as CacheEvents['error']).error as LoaderError).cause).toBe(boom)
    expect(events).toHaveLength(2)
    await cache.close()
  })

  it('get() reports hits and misses like getOrSet (events and diagnostics agree with stats)', async () => {
    const cache = createCache()
    const log = record(cache, ['hit', 'miss'])
    await cache.set('k', 1)
    expect(await cache.get('k')).toBe(1)
    expect(await cache.get('nope')).toBeUndefined()
    expect(log).toEqual([
      { event: 'hit', payload: { key: 'k', tier: 'memory' } },
      { event: 'miss', payload: { key: 'nope' } },
    ])
    expect(cache.stats().hits).toBe(1)
    expect(cache.stats().misses).toBe(1)
    await cache.close()
  })

  it('a hit in a lower tier reports the caller key, without the namespace encoding', async () => {
    const cache = createCache({ tiers: [memoryTier({ max: 1 }), memoryTier({ name: 'l2' })] })
    const ns = cache.namespace('tenant')
    await ns.set('k', 'v')
    await ns.set('other', 'o') // evicts k from L1
    const hits: CacheEvents['hit'][] = []
    cache.on('hit', (e) => hits.push(e))
    expect(await ns.getOrSet('k', () => 'loaded')).toBe('v')
    expect(await ns.get('other')).toBe('o')
    expect(hits).toEqual([
      { key: 'k', tier: 'l2' },
      { key: 'other', tier: 'l2' },
    ])
    await cache.close()
  })

  it('load event for a load whose result is not stored', async () => {
    const cache = createCache()
    const loads: CacheEvents['load'][] = []
    cache.on('load', (e) => loads.push(e))
    await cache.getOrSet('k', () => 1, { ttl: 0 })
    await cache.getOrSet('u', () => undefined)
    expect(loads.map((l) => [l.key, l.stored])).toEqual([
      ['k', false],
      ['u', false],
    ])
    await cache.close()
  })

  it('once fires once; off removes a listener', async () => {
    const cache = createCache()
    const once: string[] = []
    const on: string[] = []
    const listener = (e: { key: string }) => on.push(e.key)
    cache.once('set', (e) => once.push(e.key))
    cache.on('set', listener)
    await cache.set('a', 1)
    await cache.set('b', 1)
    cache.off('set', listener)
    await cache.set('c', 1)
    expect(once).toEqual(['a'])
    expect(on).toEqual(['a', 'b'])
    expect(() => cache.on('set', 'x' as never)).toThrow(/`listener`/)
    await cache.close()
  })

  it('a throwing listener does not break the call and is reported as an error event', async () => {
    const cache = createCache()
    const errors: CacheEvents['error'][] = []
    cache.on('hit', () => {
      throw new Error('listener bug')
    })
    cache.on('error', (e) => errors.push(e))
    cache.on('error', () => {
      throw new Error('error listener bug')
    })
    await cache.set('k', 1)
    expect(await cache.getOrSet('k', () => 2)).toBe(1)
    expect(errors).toHaveLength(1)
    expect(errors[0]!.operation).toBe('listener:hit')
    expect((errors[0]!.error as Error).message).toBe('listener bug')
    await cache.close()
  })

  it("'error' without listeners never throws and leaves no unhandled rejection (RELIABILITY 6)", async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (r: unknown) => unhandled.push(r)
    process.on('unhandledRejection', onUnhandled)
    try {
      const cache = createCache({ ttl: '20ms', staleWhileRevalidate: 60, jitter: 0, earlyRefresh: false })
      await cache.set('k', 'v')
      await sleep(30)
      const failing = async () => {
        throw new Error('background failure')
      }
      expect(await cache.getOrSet('k', failing)).toBe('v')
      await sleep(20)
      expect(cache.stats().loadErrors).toBe(1)
      expect(cache.stats().refreshes).toBe(1)
      // Still serving the stale value (graceBackoff), without another load.
      expect(await cache.getOrSet('k', failing)).toBe('v')
      expect(cache.stats().loads).toBe(1)
      await cache.close()
      await sleep(10)
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})

describe('node:diagnostics_channel', () => {
  it('tiercache:hit and tiercache:miss carry the event payloads', async () => {
    const cache = createCache()
    const hits: unknown[] = []
    const misses: unknown[] = []
    const onHit = (m: unknown) => hits.push(m)
    const onMiss = (m: unknown) => misses.push(m)
    diagnostics.subscribe('tiercache:hit', onHit)
    diagnostics.subscribe('tiercache:miss', onMiss)
    try {
      await cache.getOrSet('k', () => 1)
      await cache.getOrSet('k', () => 1)
      expect(misses).toEqual([{ key: 'k' }])
      expect(hits).toEqual([{ key: 'k', tier: 'memory' }])
    } finally {
      diagnostics.unsubscribe('tiercache:hit', onHit)
      diagnostics.unsubscribe('tiercache:miss', onMiss)
    }
    await cache.close()
  })

  it('tiercache:load is a tracing channel around each loader call', async () => {
    const cache = createCache()
    const seen: [string, unknown][] = []
    const handlers = {
      start: (m: { key: string }) => seen.push(['start', m.key]),
      end: (m: { key: string }) => seen.push(['end', m.key]),
      asyncStart: (m: { key: string }) => seen.push(['asyncStart', m.key]),
      asyncEnd: (m: { key: string }) => seen.push(['asyncEnd', m.key]),
      error: (m: { key: string; error?: unknown }) => seen.push(['error', m.error]),
    }
    const channel = diagnostics.tracingChannel<object, { key: string; error?: unknown }>('tiercache:load')
    channel.subscribe(handlers)
    try {
      expect(await cache.getOrSet('ok', async () => 1)).toBe(1)
      expect(seen).toEqual([
        ['start', 'ok'],
        ['end', 'ok'],
        ['asyncStart', 'ok'],
        ['asyncEnd', 'ok'],
      ])
      seen.length = 0
      const boom = new Error('nope')
      await expect(
        cache.getOrSet('bad', async () => {
          throw boom
        }),
      ).rejects.toBeInstanceOf(LoaderError)
      expect(seen.map((s) => s[0])).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
      expect(seen.find((s) => s[0] === 'error')![1]).toBe(boom)
    } finally {
      channel.unsubscribe(handlers)
    }
    await cache.close()
  })
})

describe('refreshConcurrency (RELIABILITY 20)', () => {
  it('1,000 hot keys expiring together: stale values are served, at most refreshConcurrency loaders run', async () => {
    vi.useFakeTimers()
    const cache = createCache({
      ttl: 10,
      staleWhileRevalidate: 60,
      refreshConcurrency: 4,
      jitter: 0,
      earlyRefresh: false,
    })
    for (let i = 0; i < 1000; i++) await cache.set(`k${i}`, `old${i}`)
    vi.advanceTimersByTime(11_000)
    let running = 0
    let peak = 0
    const loader = (i: number) => async () => {
      running++
      peak = Math.max(peak, running)
      await new Promise((r) => setTimeout(r, 5))
      running--
      return `new${i}`
    }
    const served = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => cache.getOrSet(`k${i}`, loader(i))),
    )
    expect(served.every((v, i) => v === `old${i}`)).toBe(true)
    expect(cache.stats().refreshes).toBe(1000)
    await vi.advanceTimersByTimeAsync(5 * 250 + 50)
    expect(peak).toBe(4)
    expect(cache.stats().loads).toBe(1000)
    expect(cache.stats().inFlight).toBe(0)
    expect(await cache.get('k999')).toBe('new999')
    await cache.close()
  })
})

describe('stats', () => {
  it('counters are exact after a scripted sequence', async () => {
    vi.useFakeTimers()
    const cache = createCache({
      tiers: [memoryTier({ max: 3 })],
      ttl: 10,
      staleWhileRevalidate: 60,
      jitter: 0,
      earlyRefresh: false,
    })
    await cache.getOrSet('a', () => 1) // miss, load
    await cache.getOrSet('a', () => 1) // hit
    await cache.get('b') // miss
    let release!: (v: number) => void
    const slow = () => new Promise<number>((r) => (release = r))
    const three = Promise.all([
      cache.getOrSet('c', slow),
      cache.getOrSet('c', slow),
      cache.getOrSet('c', slow),
    ])
    expect(cache.stats().inFlight).toBe(1)
    release(3)
    await three // miss, load, 2 coalesced
    await expect(
      cache.getOrSet('e', () => {
        throw new Error('x')
      }),
    ).rejects.toThrow(LoaderError) // miss, load, loadError
    await cache.set('d', 4)
    await cache.get('d') // hit
    vi.advanceTimersByTime(11_000)
    await cache.getOrSet('d', () => 5) // stale hit, refresh (a load)
    await vi.advanceTimersByTimeAsync(0)
    await cache.set('f', 6) // evicts one entry (max 3: a, c, d, f)
    expect(cache.stats()).toEqual({
      hits: 2,
      hitsByTier: { memory: 2 },
      misses: 4,
      staleHits: 1,
      coalesced: 2,
      loads: 4,
      loadErrors: 1,
      refreshes: 1,
      tierErrors: 0,
      evictions: 1,
      staleSetsPrevented: 0,
      inFlight: 0,
    })
    await cache.close()
  })
})
