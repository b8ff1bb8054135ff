import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, memoryTier } from '../../src/index.js'
import { tierConformance } from '../conformance/tier.js'

tierConformance(
  'memory',
  async () => {
    const cache = createCache({ tiers: [memoryTier()] })
    return { cache, cleanup: () => cache.close() }
  },
  { describe, it, expect, beforeAll, afterAll },
)
