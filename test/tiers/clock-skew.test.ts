/**
 * RELIABILITY 30 across processes: a reader whose clock is 5 minutes ahead of or behind the writer's
 * neither drops a fresh entry nor serves it past its freshness. Each tier measures its server's clock
 * (Redis `TIME`, memcached `stats` `time`) and the engine keeps entry times on that clock in the store.
 * The readers are child processes with a moved `Date`; the store's relative TTL (PX, memcached seconds)
 * is the hard bound either way.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { memcachedTier } from '../../src/memcached.js'
import { redisTier } from '../../src/redis.js'
import type { RemoteTier } from '../../src/tiers/types.js'
import { type MemcachedServer, startMemcached } from '../services/memcached.js'
import { type RedisServer, startRedis } from '../services/redis.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const fixture = fileURLToPath(new URL('../fixtures/skewed-reader.ts', import.meta.url))
const MIN = 60_000
const TTL_S = 6

let redis: RedisServer
let memcached: MemcachedServer
beforeAll(async () => {
  ;[redis, memcached] = await Promise.all([startRedis(), startMemcached()])
}, 30_000)
afterAll(() => Promise.all([redis?.stop(), memcached?.stop()]), 20_000)

interface Reader {
  reads: { at: number; value: unknown }[]
  offset: number
}

async function reader(env: Record<string, string>): Promise<Reader> {
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', fixture], {
    cwd: root,
    timeout: 30_000,
    env: { ...process.env, ...env },
  })
  expect(stderr).toBe('')
  return JSON.parse(stdout.trim().split('\n').pop()!) as Reader
}

describe('clock skew between processes (RELIABILITY 30)', () => {
  const targets = [
    {
      name: 'redis',
      tier: (prefix: string): RemoteTier => redisTier({ url: redis.url }, { prefix }),
      env: () => ({ TIER: 'redis', REDIS_URL: redis.url }),
    },
    {
      name: 'memcached',
      tier: (prefix: string): RemoteTier => memcachedTier({ servers: memcached.address, prefix }),
      env: () => ({ TIER: 'memcached', MEMCACHED_SERVERS: memcached.address }),
    },
  ]
  for (const t of targets) {
    it(`${t.name}: readers 5 min ahead and behind see the entry fresh within its ttl and not after`, async () => {
      const prefix = `skew-${t.name}:`
      const cache = createCache({ tiers: [t.tier(prefix)] })
      try {
        // ttl 6 s, then 60 s of stale-while-revalidate: the store keeps it 66 s
        await cache.set('k', 'v', { ttl: TTL_S, staleWhileRevalidate: 60, jitter: 0 })
        const setAt = Date.now()
        const fresh = setAt + 3_500
        const expired = setAt + TTL_S * 1000 + 1_500
        const env = { ...t.env(), PREFIX: prefix, KEY: 'k', AT: `${fresh},${expired}` }
        const [ahead, behind] = await Promise.all([
          reader({ ...env, SKEW_MS: String(5 * MIN) }),
          reader({ ...env, SKEW_MS: String(-5 * MIN) }),
        ])
        for (const [label, r, sign] of [
          ['ahead', ahead, -1],
          ['behind', behind, 1],
        ] as const) {
          // the tier measured the server's clock: about 5 min behind (ahead of) the reader's
          expect(Math.abs(r.offset - sign * 5 * MIN), label).toBeLessThan(2_000)
          const [first, second] = r.reads
          // the first read must have run inside the ttl for the check to mean anything
          expect(first!.at - setAt, `${label}: first read late`).toBeLessThan(TTL_S * 1000 - 1_000)
          expect(first!.value, `${label}: fresh entry dropped`).toBe('v')
          expect(second!.at - setAt, label).toBeGreaterThanOrEqual(TTL_S * 1000 + 1_000)
          expect(second!.value, `${label}: served past its freshness`).toBeNull()
        }
        // and this process, on the server's clock too, agrees
        expect(await cache.get('k')).toBeUndefined()
      } finally {
        await cache.close()
      }
    }, 40_000)
  }
})
