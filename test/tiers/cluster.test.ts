/** The Redis tier on a real 3-master Redis Cluster (started by the harness). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, memoryTier } from '../../src/index.js'
import { redisTier } from '../../src/redis.js'
import { keySlot } from '../../src/tiers/redis-slot.js'
import { tierConformance } from '../conformance/tier.js'
import { clusterKeyOwner } from '../services/cluster.js'
import { getRedisCluster, stopAll } from '../services/env.js'
import { respCall } from '../services/redis.js'

/** Sends one command to the first root node (host and port of its URL). */
async function askCluster(rootNodes: { url: string }[], ...args: string[]) {
  const u = new URL(rootNodes[0]!.url)
  return respCall(Number(u.port), args, { host: u.hostname, timeoutMs: 5000 })
}

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

describe('redis cluster: which master holds a key', () => {
  it('keySlot() is the slot the cluster computes (CLUSTER KEYSLOT), hash tags and UTF-8 included', async () => {
    const { rootNodes } = await getRedisCluster()
    const keys = [
      '123456789',
      '',
      'foo',
      'tc:1700000000000:product:42',
      '{user1000}.following',
      '{user1000}.followers',
      'foo{}{bar}',
      'foo{{bar}}zap',
      'foo{bar}{zap}',
      '{',
      '}{x}',
      'a{b',
      '€uro',
      'a{€}b',
      '日本語のキー',
      '😀 emoji',
      'x'.repeat(2000),
      ...Array.from({ length: 50 }, (_, i) => `key:${i}:${String.fromCharCode(0x40 + i * 97)}`),
    ]
    for (const k of keys)
      expect([k, keySlot(k)]).toEqual([k, await askCluster(rootNodes, 'CLUSTER', 'KEYSLOT', k)])
  })

  it('nodeOf() names the master the cluster says holds the key; standalone tiers have no nodeOf', async () => {
    const { rootNodes } = await getRedisCluster()
    const tier = redisTier({ cluster: { rootNodes } }, { prefix: 'cl-node:' })
    try {
      // Unknown until the generation (part of every Redis key) and the topology are.
      expect(tier.nodeOf!('a')).toBeUndefined()
      const keys = Array.from({ length: 40 }, (_, i) => `k${i}`)
      for (const k of keys) await tier.set(k, 'v', 60_000)
      const owners = new Set<string>()
      for (const k of keys) {
        const owner = await clusterKeyOwner(rootNodes, await tier.serverKey(k))
        owners.add(owner)
        expect([k, tier.nodeOf!(k)]).toEqual([k, owner])
      }
      // The keys spread over every master.
      expect(owners.size).toBeGreaterThan(1)
    } finally {
      await tier.close()
    }
    const standalone = redisTier({ url: 'redis://127.0.0.1:1' })
    expect(standalone.nodeOf).toBeUndefined()
    await standalone.close()
  })
})
