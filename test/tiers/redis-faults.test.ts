/**
 * Redis failure behaviour against real redis-server processes (RELIABILITY 7-12, 23): down at startup,
 * killed mid-traffic, stalled (SIGSTOP), slow (fault proxy), circuit breaker, out of memory, shutdown.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { type Cache, createCache, memoryTier, type TierError } from '../../src/index.js'
import { redisTier } from '../../src/redis.js'
import { jsonSerializer } from '../../src/serializer.js'
import { type BreakerState, Lower } from '../../src/stack.js'
import type { RemoteTier, Tier } from '../../src/tiers/types.js'
import { type FaultProxy, startFaultProxy } from '../services/fault-proxy.js'
import { freePort } from '../services/ports.js'
import { startRedis } from '../services/redis.js'
import { guardFaultTests } from './fault-guard.js'

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const BUDGET = 100
/** Scheduling slack for timing assertions (a busy CI machine may need more: TIERCACHE_TIMING_MARGIN_MS). */
const MARGIN = Number(process.env.TIERCACHE_TIMING_MARGIN_MS ?? 60)

const cleanups = guardFaultTests()

function track<T extends { close(): Promise<void> } | { stop(): Promise<void> }>(x: T): T {
  cleanups.push(() => ('close' in x ? x.close() : x.stop()))
  return x
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now()
  const value = await fn()
  return { value, ms: performance.now() - t0 }
}

async function until(cond: () => Promise<boolean> | boolean, timeoutMs: number, step = 50): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < timeoutMs) {
    if (await cond()) return performance.now() - t0
    await sleep(step)
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}

/** A cache whose only remote tier is `tier`, collecting tier errors. */
function cacheOn(tiers: readonly Tier[]) {
  const cache = track(createCache({ tiers }))
  const errors: unknown[] = []
  cache.on('error', (e) => errors.push(e.error))
  return { cache, errors }
}

describe('Redis down at startup (RELIABILITY 7)', () => {
  it('constructs at once, serves the loader within budget, resumes L2 writes when Redis starts', async () => {
    const port = await freePort()
    await redisTier({ url: `redis://127.0.0.1:${port}` }).close() // first use loads modules lazily
    const t0 = performance.now()
    const tier = redisTier({ url: `redis://127.0.0.1:${port}` }, { prefix: 'r7:' })
    const { cache } = cacheOn([memoryTier(), tier])
    expect(performance.now() - t0).toBeLessThan(50)
    for (let i = 0; i < 100; i++) {
      const { value, ms } = await timed(() =>
        cache.getOrSet(`k${i}`, async () => {
          await sleep(5)
          return i
        }),
      )
      expect(value).toBe(i)
      expect(ms).toBeLessThan(5 + BUDGET + MARGIN)
    }
    const server = track(await startRedis({ port }))
    const started = performance.now()
    // Writes resume within the reconnect backoff cap plus the breaker's window.
    await until(async () => (await cache.set('after', 'up')) === true, 6000)
    expect(performance.now() - started).toBeLessThan(2000 + 2000 + 500)
    expect(await server.call('DBSIZE')).toBeGreaterThan(0)
  })
})

describe('Redis killed mid-traffic (RELIABILITY 8)', () => {
  it('serves within budget while down, no listener build-up, L2 hits again within 5 s of restart', async () => {
    const server = track(await startRedis())
    const tier = redisTier({ url: server.url }, { prefix: 'r8:' })
    const l1cache = cacheOn([memoryTier(), redisTier({ url: server.url }, { prefix: 'r8:' })]).cache
    const { cache } = cacheOn([tier])
    const client = tier.client as unknown as NodeJS.EventEmitter
    const keys = Array.from({ length: 20 }, (_, i) => `key${i}`)
    let loads = 0
    const loader = (k: string) => async () => {
      loads++
      await sleep(5)
      return `v:${k}`
    }
    for (const k of keys) await cache.getOrSet(k, loader(k))
    await l1cache.getOrSet('hot', async () => 'hot-value')
    await sleep(100)
    const listenersBefore = client.eventNames().map((e) => [e, client.listenerCount(e)])

    let worst = 0
    let running = true
    let redisHits = 0
    const traffic = (async () => {
      while (running) {
        for (const k of keys) {
          const before = loads
          const { value, ms } = await timed(() => cache.getOrSet(k, loader(k), { ttl: 60 }))
          expect(value).toBe(`v:${k}`)
          if (loads === before) redisHits++
          worst = Math.max(worst, ms)
          // L1 hits keep being served.
          expect(await l1cache.getOrSet('hot', async () => 'reloaded')).toBe('hot-value')
        }
        await sleep(5)
      }
    })()
    await sleep(300)
    await server.kill()
    await sleep(10_000)
    expect(worst).toBeLessThan(5 + BUDGET + MARGIN)
    const hitsAtRestart = redisHits
    await server.restart()
    const recovered = await until(() => redisHits > hitsAtRestart + keys.length, 5000)
    running = false
    await traffic
    expect(recovered).toBeLessThan(5000)
    expect(worst).toBeLessThan(5 + BUDGET + MARGIN)
    const listenersAfter = client.eventNames().map((e) => [e, client.listenerCount(e)])
    expect(listenersAfter).toEqual(listenersBefore)
  }, 30_000)
})

describe('stalled Redis (SIGSTOP, RELIABILITY 9)', () => {
  it('abandons reads at the deadline, no build-up after 1,000 ops, used again after SIGCONT', async () => {
    const server = track(await startRedis())
    const tier = redisTier({ url: server.url }, { prefix: 'r9:' })
    const { cache, errors } = cacheOn([tier])
    await cache.set('warm', 'from-redis')
    const reader = cacheOn([redisTier({ url: server.url }, { prefix: 'r9:' })]).cache
    expect(await reader.get('warm')).toBe('from-redis')
    const client = tier.client as unknown as NodeJS.EventEmitter
    const listeners = client.listenerCount('error')
    const processListeners = process.listenerCount('unhandledRejection')

    await server.pause()
    const { value, ms } = await timed(() => reader.getOrSet('warm', async () => 'from-loader', { ttl: 0 }))
    expect(value).toBe('from-loader')
    expect(ms).toBeLessThan(BUDGET + MARGIN)
    for (let i = 0; i < 1000; i++) {
      expect(await cache.getOrSet(`p${i % 50}`, async () => i, { ttl: 0 })).toBe(i)
    }
    // The breaker stops sending: commands waiting on the stalled server stay few.
    expect(tier.pending).toBeLessThanOrEqual(10)
    expect(client.listenerCount('error')).toBe(listeners)
    expect(process.listenerCount('unhandledRejection')).toBe(processListeners)
    expect(errors.length).toBeGreaterThan(0)
    expect(errors.length).toBeLessThan(20)

    await server.resume()
    const fresh = cacheOn([redisTier({ url: server.url }, { prefix: 'r9:' })]).cache
    await until(async () => (await fresh.get('warm')) === 'from-redis', 3000)
    // The stalled tier is used again once its breaker's probe succeeds.
    await until(async () => (await cache.get('warm')) === 'from-redis', 4000)
    await until(() => tier.pending === 0, 1000)
  }, 30_000)
})

describe('Redis stalled before the first connection', () => {
  it('a cache constructed against a paused Redis answers within budget and uses Redis after SIGCONT', async () => {
    const server = track(await startRedis())
    const seed = cacheOn([redisTier({ url: server.url }, { prefix: 'r9b:' })]).cache
    await seed.set('seeded', 'yes')
    await server.pause()
    const tier = redisTier({ url: server.url }, { prefix: 'r9b:' })
    const { cache } = cacheOn([tier])
    for (let i = 0; i < 200; i++) {
      const { value, ms } = await timed(() => cache.getOrSet(`s${i % 20}`, async () => i, { ttl: 0 }))
      expect(value).toBe(i)
      expect(ms).toBeLessThan(BUDGET + MARGIN)
    }
    expect(tier.pending).toBeLessThanOrEqual(10)
    await server.resume()
    await until(async () => (await cache.get('seeded')) === 'yes', 6000)
  }, 20_000)
})

describe('slow Redis through a fault proxy (RELIABILITY 10)', () => {
  for (const latency of [500, 2000]) {
    it(`${latency} ms latency: getOrSet never takes more than loader + deadline`, async () => {
      const server = track(await startRedis())
      const proxy: FaultProxy = await startFaultProxy(server.port)
      cleanups.push(() => proxy.close())
      const tier = redisTier({ url: proxy.url }, { prefix: 'r10:' })
      const { cache } = cacheOn([memoryTier(), tier])
      await until(async () => (await cache.set('ready', 1)) === true, 3000)
      proxy.setLatency(latency)
      const times: number[] = []
      for (let i = 0; i < 30; i++) {
        const { value, ms } = await timed(() =>
          cache.getOrSet(`slow${i}`, async () => {
            await sleep(20)
            return i
          }),
        )
        expect(value).toBe(i)
        times.push(ms)
      }
      times.sort((a, b) => a - b)
      expect(times[times.length - 1]).toBeLessThan(20 + BUDGET + MARGIN)
    }, 20_000)
  }
})

/** A real tier with a call counter in front (not a mock: every call goes to the real tier). */
function counting(tier: RemoteTier): RemoteTier & { calls: number; sets: number } {
  const c = {
    ...tier,
    calls: 0,
    sets: 0,
    get(key: string) {
      c.calls++
      return tier.get(key)
    },
    set(key: string, value: Parameters<RemoteTier['set']>[1], ttl: number) {
      c.calls++
      c.sets++
      return tier.set(key, value, ttl)
    },
    delete(key: string) {
      c.calls++
      return tier.delete(key)
    },
    close: () => tier.close(),
  }
  return c
}

describe('circuit breaker (RELIABILITY 11)', () => {
  it('opens after N failures, lets exactly one probe through after breakDuration, closes on success', async () => {
    const server = track(await startRedis())
    const inner = redisTier({ url: server.url }, { prefix: 'r11:' })
    const tier = counting(inner)
    const states: BreakerState[] = []
    const errors: TierError[] = []
    const lower = new Lower([tier], {
      offset: 0,
      codec: jsonSerializer,
      readTimeout: BUDGET,
      writeTimeout: 500,
      breaker: { threshold: 5, breakDuration: 500 },
      onError: (e) => errors.push(e),
      onBreaker: (_, s) => states.push(s),
    })
    cleanups.push(() => lower.close())
    expect(await lower.get('x')).toBeUndefined()
    expect(tier.calls).toBe(1)
    await server.kill()
    tier.calls = 0
    for (let i = 0; i < 100; i++) await lower.get(`k${i}`)
    expect(tier.calls).toBeLessThanOrEqual(5)
    expect(tier.calls).toBeGreaterThanOrEqual(1)
    expect(states).toEqual(['open'])
    expect(lower.breakerStates()).toEqual(['open'])
    const afterOpen = tier.calls

    await sleep(550)
    // Half-open: of 20 concurrent calls exactly one reaches the tier; it fails, the breaker opens again.
    await Promise.all(Array.from({ length: 20 }, (_, i) => lower.get(`h${i}`)))
    expect(tier.calls).toBe(afterOpen + 1)
    expect(states).toEqual(['open', 'half-open', 'open'])

    await server.restart()
    await sleep(1500) // reconnect backoff (<= 1.1 s) and the breaker's window
    await Promise.all(Array.from({ length: 20 }, (_, i) => lower.get(`c${i}`)))
    expect(states.slice(-2)).toEqual(['half-open', 'closed'])
    const before = tier.calls
    await Promise.all(Array.from({ length: 20 }, (_, i) => lower.get(`d${i}`)))
    expect(tier.calls - before).toBe(20)
  }, 20_000)
})

describe('Redis out of memory (RELIABILITY 12)', () => {
  it('reports the OOM write error once per window, reads still hit, callers get loader values, no retry storm', async () => {
    const server = track(await startRedis())
    const tier = counting(redisTier({ url: server.url }, { prefix: 'r12:' }))
    const { cache, errors } = cacheOn([tier])
    let setsAtFirstRefusal: number | undefined
    cache.on('error', () => {
      setsAtFirstRefusal ??= tier.sets
    })
    await cache.set('kept', { big: 'x'.repeat(1000) })
    await server.call('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
    await server.call('CONFIG', 'SET', 'maxmemory', '1mb')
    // Fill memory past the limit from the side (the way another writer would).
    for (const size of [10_000, 1000, 100]) {
      for (let i = 0; i < 500; i++) {
        const r = await server.call('SET', `filler:${size}:${i}`, 'y'.repeat(size))
        if (r !== 'OK') break
      }
    }
    let loads = 0
    for (let i = 0; i < 100; i++) {
      expect(
        await cache.getOrSet(`oom${i}`, async () => {
          loads++
          return 'x'.repeat(2000)
        }),
      ).toBe('x'.repeat(2000))
    }
    await sleep(100)
    expect(loads).toBe(100)
    const oomErrors = errors.filter((e) => /OOM/.test(String((e as Error).message)))
    expect(oomErrors.length).toBe(1)
    // After the first refusal, writes pause for the window: the reads go on (100 + 'kept'), no write storm.
    expect(setsAtFirstRefusal).toBeDefined()
    expect(tier.sets - setsAtFirstRefusal!).toBeLessThanOrEqual(2)
    const reader = cacheOn([redisTier({ url: server.url }, { prefix: 'r12:' })]).cache
    expect(await reader.get('kept')).toEqual({ big: 'x'.repeat(1000) })
  }, 20_000)
})

describe('shutdown (RELIABILITY 23)', () => {
  it('close() resolves within 1 s with Redis down and the process exits by itself', async () => {
    const port = await freePort()
    const entry = fileURLToPath(new URL('../../src/index.ts', import.meta.url))
    const redisEntry = fileURLToPath(new URL('../../src/redis.ts', import.meta.url))
    const script = `
      const { createCache, memoryTier } = await import(${JSON.stringify(entry)})
      const { redisTier } = await import(${JSON.stringify(redisEntry)})
      const cache = createCache({ tiers: [memoryTier(), redisTier({ url: 'redis://127.0.0.1:${port}' })] })
      await cache.getOrSet('k', async () => 1)
      await new Promise((r) => setTimeout(r, 300))
      const t0 = performance.now()
      await cache.close()
      console.log('closed', Math.round(performance.now() - t0))
    `
    const t0 = performance.now()
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let out = ''
      child.stdout.on('data', (d: Buffer) => (out += d.toString()))
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000)
      child.on('exit', (c) => {
        clearTimeout(kill)
        resolve({ code: c, out })
      })
    })
    const total = performance.now() - t0
    expect(code).toBe(0)
    const closeMs = Number(/closed (\d+)/.exec(out)?.[1])
    expect(closeMs).toBeLessThan(1000)
    // Start-up (tsx) takes most of it; a reconnect timer left behind would add up to 1.1 s.
    expect(total).toBeLessThan(8000)
  }, 20_000)

  it('close() of a cache on a stalled Redis resolves within 1 s', async () => {
    const server = track(await startRedis())
    const cache: Cache = createCache({ tiers: [memoryTier(), redisTier({ url: server.url })] })
    await cache.set('a', 1)
    await server.pause()
    void cache.set('b', 2)
    const { ms } = await timed(() => cache.close())
    expect(ms).toBeLessThan(1000)
    await server.resume()
  })
})
