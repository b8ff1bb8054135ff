import keyvTestSuite from '@keyv/test-suite'
import Keyv from 'keyv'
import * as vitest from 'vitest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, memoryTier } from '../../src/index.js'
import { type MemcachedStore, memcachedStore, memcachedTier } from '../../src/memcached.js'
import { tierConformance } from '../conformance/tier.js'
import { getMemcached, stopAll } from '../services/env.js'
import { type MemcachedServer, startMemcached } from '../services/memcached.js'

const runner = { describe, it, expect, beforeAll, afterAll }

let second: MemcachedServer | undefined
let servers: string[] = []
beforeAll(async () => {
  servers = (await getMemcached()).servers
  second = await startMemcached()
}, 30_000)
afterAll(async () => {
  await second?.stop()
  await stopAll()
}, 20_000)

tierConformance(
  'memcached (one server)',
  async () => {
    const remote = memcachedTier({ servers, prefix: 'conf-mc1:' })
    const cache = createCache({ tiers: [remote] })
    return { cache, cleanup: () => cache.close(), shared: true, remote }
  },
  runner,
)

tierConformance(
  'memcached (two servers)',
  async () => {
    const remote = memcachedTier({ servers: [...servers, second!.address], prefix: 'conf-mc2:' })
    const cache = createCache({ tiers: [remote] })
    return { cache, cleanup: () => cache.close(), shared: true, remote }
  },
  runner,
)

tierConformance(
  'memory + memcached',
  async () => {
    const remote = memcachedTier({ servers, prefix: 'conf-mcs:' })
    const cache = createCache({ tiers: [memoryTier(), remote] })
    return { cache, cleanup: () => cache.close(), shared: true, remote }
  },
  runner,
)

describe('memcachedStore with @keyv/test-suite', () => {
  const stores: MemcachedStore[] = []
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.disconnect()))
  })
  keyvTestSuite(vitest, Keyv, () => {
    const s = memcachedStore({ servers, prefix: 'keyv-suite:' })
    stores.push(s)
    return s
  })
})
