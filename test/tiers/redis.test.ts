import KeyvRedis, { createClient } from '@keyv/redis'
import { Keyv } from 'keyv'
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

describe('redisTier connection forms', () => {
  it('{ client }: uses a node-redis client you own and leaves it open on close', async () => {
    const { url } = await getRedis()
    const client = createClient({ url, disableOfflineQueue: true })
    client.on('error', () => {})
    await client.connect()
    const cache = createCache({ tiers: [redisTier({ client, prefix: 'form-client:' })] })
    expect(await cache.set('a', new Date(5))).toBe(true)
    expect(await cache.get('a')).toEqual(new Date(5))
    await cache.close()
    expect(client.isOpen).toBe(true)
    expect(await client.ping()).toBe('PONG')
    client.destroy()
  })

  it('{ keyv }: takes the client of a Keyv instance backed by @keyv/redis', async () => {
    const { url } = await getRedis()
    const store = new KeyvRedis(url)
    const keyv = new Keyv({ store })
    const tier = redisTier({ keyv }, { prefix: 'form-keyv:' })
    const cache = createCache({ tiers: [tier] })
    expect(await cache.set('b', new Map([[1, 2]]))).toBe(true)
    expect(await cache.get('b')).toEqual(new Map([[1, 2]]))
    await cache.close()
    await keyv.disconnect()
  })

  it('rejects a Keyv instance whose store is not Redis, and bad options', () => {
    expect(() => redisTier({ keyv: new Keyv() as never })).toThrow(/keyvTier/)
    expect(() => redisTier({} as never)).toThrow(TypeError)
    expect(() => redisTier({ url: 'redis://127.0.0.1:1' }, { connectTimeout: -1 })).toThrow(/connectTimeout/)
  })
})
