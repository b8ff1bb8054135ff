import KeyvRedis from '@keyv/redis'
import { Keyv } from 'keyv'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, memoryTier } from '../../src/index.js'
import { keyvTier } from '../../src/keyv.js'
import { tierConformance } from '../conformance/tier.js'
import { getRedis, stopAll } from '../services/env.js'

const runner = { describe, it, expect, beforeAll, afterAll }
afterAll(() => stopAll(), 20_000)

// One Map shared by the caches of a test: a store that a second cache instance also sees.
let shared = new Map<unknown, unknown>()
beforeAll(() => {
  shared = new Map()
})

tierConformance(
  'keyv (Map store)',
  async () => {
    const remote = keyvTier(shared)
    const cache = createCache({ tiers: [remote] })
    return { cache, cleanup: () => cache.close(), shared: true, remote }
  },
  runner,
)

tierConformance(
  'memory + keyv (@keyv/redis Keyv instance)',
  async () => {
    const { url } = await getRedis()
    const keyv = new Keyv({
      store: new KeyvRedis(url, { throwOnErrors: true }),
      namespace: 'conf-keyv',
      throwOnErrors: true,
    })
    const remote = keyvTier(keyv, { disconnectOnClose: true })
    const cache = createCache({ tiers: [memoryTier(), remote] })
    return { cache, cleanup: () => cache.close(), shared: true, remote }
  },
  runner,
)

describe('keyvTier', () => {
  it('rejects what is not a Keyv or a store', () => {
    expect(() => keyvTier(null as never)).toThrow(TypeError)
  })
})
