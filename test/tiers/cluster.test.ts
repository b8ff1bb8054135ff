/** The Redis tier on a real 3-master Redis Cluster (started by the harness). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, memoryTier } from '../../src/index.js'
import { redisTier } from '../../src/redis.js'
import { tierConformance } from '../conformance/tier.js'
import { getRedisCluster, stopAll } from '../services/env.js'

const runner = { describe, it, expect, beforeAll, afterAll }
afterAll(() => stopAll(), 30_000)
beforeAll(() => getRedisCluster().then(() => undefined), 60_000)

tierConformance(
  'redis cluster',
  async () => {
    const { rootNodes } = await getRedisCluster()
    const remote = redisTier({ cluster: { rootNodes } }, { prefix: 'conf-cl:' })
    const cache = createCache({ tiers: [remote] })
    return { cache, cleanup: () => cache.close(), shared: true, remote }
  },
  runner,
)

tierConformance(
  'memory + redis cluster',
  async () => {
    const { rootNodes } = await getRedisCluster()
    const remote = redisTier({ cluster: { rootNodes } }, { prefix: 'conf-cls:' })
    const cache = createCache({ tiers: [memoryTier(), remote] })
    return { cache, cleanup: () => cache.close(), shared: true, remote }
  },
  runner,
)

describe('redis cluster tier', () => {
  it('getMany and deleteMany work across slots', async () => {
    const { rootNodes } = await getRedisCluster()
    const tier = redisTier({ cluster: { rootNodes } }, { prefix: 'cl-many:' })
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `k${i}`)
      for (const k of keys) await tier.set(k, `v:${k}`, 60_000)
      const got = await tier.getMany!(keys)
      expect(got.map((b) => b?.toString())).toEqual(keys.map((k) => `v:${k}`))
      await tier.deleteMany!(keys)
      expect((await tier.getMany!(keys)).every((v) => v === undefined)).toBe(true)
    } finally {
      await tier.close()
    }
  })
})
