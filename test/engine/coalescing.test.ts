import { describe, expect, it } from 'vitest'
import { createCache, LoaderError } from '../../src/index.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('coalescing (RELIABILITY 1)', () => {
  it('1,000 concurrent getOrSet of one missing key run the loader once', async () => {
    const cache = createCache()
    let runs = 0
    const value = { id: 1 }
    const loader = async () => {
      runs++
      await sleep(100)
      return value
    }
    const results = await Promise.all(Array.from({ length: 1000 }, () => cache.getOrSet('k', loader)))
    expect(runs).toBe(1)
    expect(results.every((r) => r === value)).toBe(true)
    expect(cache.stats().inFlight).toBe(0)
    expect(cache.stats().coalesced).toBe(999)
    expect(await cache.getOrSet('k', loader)).toBe(value)
    expect(runs).toBe(1)
    await cache.close()
  })

  it('100 keys x 100 callers run 100 loads, each caller gets its key', async () => {
    const cache = createCache()
    const runs = new Map<string, number>()
    const calls: Promise<string>[] = []
    for (let c = 0; c < 100; c++) {
      for (let k = 0; k < 100; k++) {
        const key = `key-${k}`
        calls.push(
          cache.getOrSet(key, async () => {
            runs.set(key, (runs.get(key) ?? 0) + 1)
            await sleep(20)
            return `value-${k}`
          }),
        )
      }
    }
    const results = await Promise.all(calls)
    expect(runs.size).toBe(100)
    expect([...runs.values()].every((n) => n === 1)).toBe(true)
    expect(results).toEqual(results.map((_, i) => `value-${i % 100}`))
    expect(cache.stats().inFlight).toBe(0)
    await cache.close()
  })
})

describe('errors are not cached (RELIABILITY 2)', () => {
  it('every waiter gets the same LoaderError with cause and key; the next call loads again', async () => {
    const cache = createCache()
    const boom = new Error('db down')
    let runs = 0
    const loader = async () => {
      runs++
      await sleep(20)
      if (runs === 1) throw boom
      return 'ok'
    }
    const settled = await Promise.allSettled(Array.from({ length: 50 }, () => cache.getOrSet('k', loader)))
    const reasons = settled.map((s) => (s.status === 'rejected' ? s.reason : undefined))
    expect(reasons[0]).toBeInstanceOf(LoaderError)
    expect(reasons.every((r) => r === reasons[0])).toBe(true)
    const err = reasons[0] as LoaderError
    expect(err.code).toBe('E_LOADER')
    expect(err.key).toBe('k')
    expect(err.cause).toBe(boom)
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.getOrSet('k', loader)).toBe('ok')
    expect(runs).toBe(2)
    expect(cache.stats().loadErrors).toBe(1)
    await cache.close()
  })

  it('a synchronous throw in the loader is a rejection, not a throw', async () => {
    const cache = createCache()
    const p = cache.getOrSet('k', () => {
      throw new Error('sync')
    })
    await expect(p).rejects.toBeInstanceOf(LoaderError)
    await cache.close()
  })

  it('undefined results are returned and shared but not cached; null is cached', async () => {
    const cache = createCache()
    let runs = 0
    const undef = async () => {
      runs++
      await sleep(5)
      return undefined
    }
    const r = await Promise.all([cache.getOrSet('u', undef), cache.getOrSet('u', undef)])
    expect(r).toEqual([undefined, undefined])
    expect(runs).toBe(1)
    await cache.getOrSet('u', undef)
    expect(runs).toBe(2)
    let nullRuns = 0
    const nul = async () => {
      nullRuns++
      return null
    }
    expect(await cache.getOrSet('n', nul)).toBeNull()
    expect(await cache.getOrSet('n', nul)).toBeNull()
    expect(nullRuns).toBe(1)
    expect(await cache.has('n')).toBe(true)
    await cache.close()
  })
})

describe('negative caching (RELIABILITY 3)', () => {
  class NotFound extends Error {}
  it('caches only errors the predicate accepts, for negativeTtl', async () => {
    const cache = createCache({ negativeTtl: '200ms', isNegative: (e) => e instanceof NotFound })
    let runs = 0
    const loader = async () => {
      runs++
      throw new NotFound('no such product')
    }
    const e1 = await cache.getOrSet('p', loader).catch((e: unknown) => e)
    const e2 = await cache.getOrSet('p', loader).catch((e: unknown) => e)
    expect(runs).toBe(1)
    expect(e1).toBeInstanceOf(LoaderError)
    expect(e2).toBe(e1)
    expect((e1 as LoaderError).cause).toBeInstanceOf(NotFound)
    await sleep(250)
    await cache.getOrSet('p', loader).catch(() => {})
    expect(runs).toBe(2)

    let other = 0
    const failing = async () => {
      other++
      throw new Error('transient')
    }
    await cache.getOrSet('q', failing).catch(() => {})
    await cache.getOrSet('q', failing).catch(() => {})
    expect(other).toBe(2)
    await cache.close()
  })

  it('without negativeTtl nothing is negatively cached even if isNegative matches', async () => {
    const cache = createCache({ isNegative: () => true })
    let runs = 0
    const loader = async () => {
      runs++
      throw new NotFound()
    }
    await cache.getOrSet('p', loader).catch(() => {})
    await cache.getOrSet('p', loader).catch(() => {})
    expect(runs).toBe(2)
    await cache.close()
  })
})
