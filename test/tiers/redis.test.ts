import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, memoryTier } from '../../src/index.js'
import { redisTier } from '../../src/redis.js'
import { tierConformance } from '../conformance/tier.js'
import { getRedis, stopAll } from '../services/env.js'

const runner = { describe, it, expect, beforeAll, afterAll }
afterAll(() => stopAll(), 20_000)

tierConformance(
  'redis',
  async () => {
    const { url } = await getRedis()
    const remote = redisTier({ url }, { prefix: 'conf-redis:' })
    const cache = createCache({ tiers: [remote] })
    return { cache, cleanup: () => cache.close(), shared: true, remote }
  },
  runner,
)

tierConformance(
  'memory + redis',
  async () => {
    const { url } = await getRedis()
    const remote = redisTier({ url }, { prefix: 'conf-stack:' })
    const cache = createCache({ tiers: [memoryTier(), remote] })
    return { cache, cleanup: () => cache.close(), shared: true, remote }
  },
  runner,
)
