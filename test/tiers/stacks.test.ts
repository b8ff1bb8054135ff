/** Tier stacks: memory + Redis + Memcached conformance, and backfill with the remaining lifetime. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, memoryTier } from '../../src/index.js'
import { memcachedTier } from '../../src/memcached.js'
import { redisTier } from '../../src/redis.js'
import { tierConformance } from '../conformance/tier.js'
import { getMemcached, getRedis, stopAll } from '../services/env.js'
import { respCall } from '../services/redis.js'

const runner = { describe, it, expect, beforeAll, afterAll }
afterAll(() => stopAll(), 20_000)
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

tierConformance(
  'memory + redis + memcached',
  async () => {
    const { url } = await getRedis()
    const { servers } = await getMemcached()
    const remote = memcachedTier({ servers, prefix: 'conf-3:' })
    const cache = createCache({
      tiers: [memoryTier(), redisTier({ url }, { prefix: 'conf-3:' }), remote],
    })
    return { cache, cleanup: () => cache.close(), shared: true, remote }
  },
  runner,
)

describe('backfill', () => {
  it('a hit in the lowest tier fills Redis and L1 with the remaining lifetime, not a fresh TTL', async () => {
    const { url } = await getRedis()
    const { servers } = await getMemcached()
    const redis = redisTier({ url }, { prefix: 'bf:' })
    const stack = createCache({
      tiers: [memoryTier(), redis, memcachedTier({ servers, prefix: 'bf:' })],
    })
    const writer = createCache({ tiers: [memcachedTier({ servers, prefix: 'bf:' })] })
    try {
      await writer.set('k', { v: 1 }, { ttl: 3, jitter: 0 })
      await sleep(1500)
      // getOrSet's miss path backfills every tier above the hit (cache.get() fills L1 only, for now).
      expect(await stack.getOrSet('k', async () => ({ v: 'loader' }))).toEqual({ v: 1 })
      expect(stack.stats().hitsByTier).toMatchObject({ memory: 0, redis: 0, memcached: 1 })
      await sleep(100) // the backfill write is in the background
      const port = Number(new URL(url).port)
      const pttl = Number(await respCall(port, ['PTTL', await redis.serverKey('k')]))
      expect(pttl).toBeGreaterThan(0)
      expect(pttl).toBeLessThanOrEqual(1500)
      // L1 now answers, and the value expires at the original time everywhere.
      expect(await stack.get('k')).toEqual({ v: 1 })
      expect(stack.stats().hitsByTier.memory).toBe(1)
      await sleep(1600)
      expect(await stack.get('k')).toBeUndefined()
      const fresh = createCache({ tiers: [redisTier({ url }, { prefix: 'bf:' })] })
      expect(await fresh.get('k')).toBeUndefined()
      await fresh.close()
    } finally {
      await Promise.all([stack.close(), writer.close()])
    }
  })

  it('a Redis hit backfills L1 only; writes and deletes reach every tier', async () => {
    const { url } = await getRedis()
    const { servers } = await getMemcached()
    const make = () =>
      createCache({
        tiers: [
          memoryTier(),
          redisTier({ url }, { prefix: 'bf2:' }),
          memcachedTier({ servers, prefix: 'bf2:' }),
        ],
      })
    const a = make()
    const b = make()
    const onlyRedis = createCache({ tiers: [redisTier({ url }, { prefix: 'bf2:' })] })
    const onlyMc = createCache({ tiers: [memcachedTier({ servers, prefix: 'bf2:' })] })
    try {
      expect(await a.set('x', 'v')).toBe(true)
      expect(await onlyRedis.get('x')).toBe('v')
      expect(await onlyMc.get('x')).toBe('v')
      expect(await b.get('x')).toBe('v')
      expect(b.stats().hitsByTier).toMatchObject({ memory: 0, redis: 1, memcached: 0 })
      expect(await a.delete('x')).toBe(true)
      expect(await onlyRedis.get('x')).toBeUndefined()
      expect(await onlyMc.get('x')).toBeUndefined()
    } finally {
      await Promise.all([a.close(), b.close(), onlyRedis.close(), onlyMc.close()])
    }
  })
})
