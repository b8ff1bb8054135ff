/**
 * RELIABILITY 13: a delete a tier did not acknowledge is not silent, and is not lost: it goes into a bounded
 * per-tier retry queue that is replayed when the tier answers again. Against real redis-server processes.
 */
import { describe, expect, it } from 'vitest'
import { createCache, memoryTier, TierError } from '../../src/index.js'
import { redisTier } from '../../src/redis.js'
import { jsonSerializer } from '../../src/serializer.js'
import { Lower } from '../../src/stack.js'
import { startRedis } from '../services/redis.js'
import { guardFaultTests } from './fault-guard.js'

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

const cleanups = guardFaultTests()

async function until(cond: () => Promise<boolean> | boolean, timeoutMs: number, step = 50): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < timeoutMs) {
    if (await cond()) return performance.now() - t0
    await sleep(step)
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}

describe('failed invalidation goes to a bounded retry queue (RELIABILITY 13)', () => {
  it('a delete skipped while Redis is paused reaches Redis after it resumes; delete() reports it', async () => {
    const server = await startRedis()
    cleanups.push(() => server.stop())
    const tier = redisTier({ url: server.url }, { prefix: 'rq:' })
    const cache = createCache({
      tiers: [memoryTier(), tier],
      breaker: { threshold: 2, breakDuration: '500ms' },
    })
    cleanups.push(() => cache.close())
    const ops: string[] = []
    cache.on('error', (e) => ops.push(e.operation))
    // A second process-like cache that rejects when a tier does not acknowledge.
    const strict = createCache({ tiers: [memoryTier(), redisTier({ url: server.url }, { prefix: 'rq:' })] })
    cleanups.push(() => strict.close())
    const strictThrowing = createCache({
      tiers: [memoryTier(), redisTier({ url: server.url }, { prefix: 'rq:' })],
      throwOnTierError: true,
      writeTimeout: '200ms',
    })
    cleanups.push(() => strictThrowing.close())

    expect(await cache.set('doomed', 'old value')).toBe(true)
    expect(await cache.set('kept', 'kept value')).toBe(true)
    expect(await strictThrowing.get('kept')).toBe('kept value') // connected and warm
    const serverKey = await tier.serverKey('doomed')
    expect(await server.call('EXISTS', serverKey)).toBe(1)

    await server.pause()
    // Two missed read deadlines open the breaker: the delete below is skipped, never sent.
    await cache.get('miss-1')
    await cache.get('miss-2')
    expect(ops).toContain('tier:breaker')
    const t0 = performance.now()
    expect(await cache.delete('doomed')).toBe(false)
    expect(performance.now() - t0).toBeLessThan(50)
    // Until Redis acknowledges the delete, this cache does not read the key from Redis (the old value would
    // come back): the loader answers.
    expect(await cache.getOrSet('doomed', () => 'from loader', { ttl: 0 })).toBe('from loader')
    // throwOnTierError: the unacknowledged delete rejects (here by the write deadline on the stalled server).
    await expect(strictThrowing.delete('other')).rejects.toBeInstanceOf(TierError)

    await server.resume()
    // The delete was never sent: Redis still has the key right after SIGCONT...
    expect(await server.call('EXISTS', serverKey)).toBe(1)
    // ...and the queue replays it once the tier answers (breaker probe), without any traffic.
    const ms = await until(async () => (await server.call('EXISTS', serverKey)) === 0, 5000)
    expect(ms).toBeLessThan(5000)
    expect(await strict.get('doomed')).toBeUndefined()
    expect(await strict.get('kept')).toBe('kept value')
    // Healthy again: reads of the key go to Redis, writes land.
    expect(await cache.set('doomed', 'new value')).toBe(true)
    expect(await strict.get('doomed')).toBe('new value')
  }, 20_000)

  it('is bounded (oldest dropped, reported once), replayed after a restart, and dropped by close()', async () => {
    const server = await startRedis()
    cleanups.push(() => server.stop())
    const tier = redisTier({ url: server.url }, { prefix: 'rq2:' })
    const errors: TierError[] = []
    const lower = new Lower([tier], {
      offset: 0,
      codec: jsonSerializer,
      readTimeout: 100,
      writeTimeout: 300,
      breaker: { threshold: 5, breakDuration: 300 },
      retryQueueSize: 3,
      onError: (e) => errors.push(e),
    })
    cleanups.push(() => lower.close())
    const entry = {
      v: 1,
      c: Date.now(),
      f: Date.now() + 60_000,
      w: Date.now() + 60_000,
      s: Date.now() + 60_000,
      d: 0,
    }
    expect(await lower.set('keep', entry)).toBe(true)

    await server.kill()
    for (let i = 0; i < 5; i++) expect(await lower.delete(`k${i}`)).toBe(false)
    expect(lower.retryQueueSizes()).toEqual([3])
    const dropped = errors.filter((e) => e.operation === 'retry')
    expect(dropped).toHaveLength(1)
    expect(dropped[0]!.message).toMatch(/retry queue full \(3 keys\)/)
    // A key deleted again moves to the end instead of taking a second place.
    expect(await lower.delete('k4')).toBe(false)
    expect(lower.retryQueueSizes()).toEqual([3])

    await server.restart()
    // Replayed by the queue's own timer once Redis accepts connections again.
    await until(() => lower.retryQueueSizes()[0] === 0, 6000)

    // A value set after a failed delete is not deleted by the replay. A fresh tier (the restart lost the
    // generation key; the old tier moves to a new generation at its next check, hiding what it wrote), and
    // paused instead of restarted for the same reason.
    await lower.close()
    const lower2 = new Lower([redisTier({ url: server.url }, { prefix: 'rq2b:' })], {
      offset: 0,
      codec: jsonSerializer,
      readTimeout: 100,
      writeTimeout: 300,
      breaker: { threshold: 5, breakDuration: 300 },
      onError: (e) => errors.push(e),
    })
    cleanups.push(() => lower2.close())
    await lower2.set('keep', entry)
    await server.pause()
    for (let i = 0; i < 5; i++) await lower2.get(`miss${i}`)
    expect(lower2.breakerStates()).toEqual(['open'])
    expect(await lower2.delete('keep')).toBe(false) // skipped: never sent
    expect(lower2.retryQueueSizes()).toEqual([1])
    await server.resume()
    await until(async () => (await lower2.set('keep', { ...entry, v: 2 })) === true, 6000)
    await until(() => lower2.retryQueueSizes()[0] === 0, 3000)
    await sleep(100)
    expect((await lower2.get('keep'))?.entry.v).toBe(2)

    // close() drops what is queued (and leaves no timer behind).
    await server.kill()
    expect(await lower2.delete('late')).toBe(false)
    expect(lower2.retryQueueSizes()).toEqual([1])
    await lower2.close()
    expect(lower2.retryQueueSizes()).toEqual([0])
  }, 30_000)

  it('a failed clear() is replayed too, and the deletes queued before it are folded into it', async () => {
    const server = await startRedis()
    cleanups.push(() => server.stop())
    const tier = redisTier({ url: server.url }, { prefix: 'rq3:' })
    const lower = new Lower([tier], {
      offset: 0,
      codec: jsonSerializer,
      readTimeout: 100,
      writeTimeout: 300,
      breaker: { threshold: 2, breakDuration: 500 },
      onError: () => {},
    })
    cleanups.push(() => lower.close())
    const now = Date.now()
    const entry = { v: 'x', c: now, f: now + 60_000, w: now + 60_000, s: now + 60_000, d: 0 }
    expect(await lower.set('a', entry)).toBe(true)
    const genBefore = await server.call('GET', 'rq3:#gen')
    await server.pause()
    await lower.get('miss-1')
    await lower.get('miss-2')
    expect(lower.breakerStates()).toEqual(['open'])
    // Skipped by the open breaker: nothing is sent.
    expect(await lower.delete('a')).toBe(false)
    expect(lower.retryQueueSizes()).toEqual([1])
    expect(await lower.clear()).toBe(false)
    expect(lower.retryQueueSizes()).toEqual([1])
    // While the clear is unacknowledged no key is read from the tier.
    expect(await lower.get('a')).toBeUndefined()
    await server.resume()
    expect(await server.call('GET', 'rq3:#gen')).toBe(genBefore)
    await until(() => lower.retryQueueSizes()[0] === 0, 6000)
    const genAfter = await server.call('GET', 'rq3:#gen')
    expect(Number(genAfter)).toBe(Number(genBefore) + 1)
    expect(await lower.get('a')).toBeUndefined()
  }, 20_000)
})

describe('retryQueueSize (createCache option)', () => {
  it('invalid values throw a TypeError naming the option', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10', null]) {
      expect(() => createCache({ retryQueueSize: bad as number })).toThrow(TypeError)
      expect(() => createCache({ retryQueueSize: bad as number })).toThrow(/`retryQueueSize`/)
    }
    expect(() => createCache({ retryQueueSize: -1 })).toThrow(/`retryQueueSize`.*-1/)
    // Valid: 0 (off) and any integer above.
    for (const ok of [0, 1, 10_000, 1_000_000]) {
      expect(() => createCache({ retryQueueSize: ok }).close()).not.toThrow()
    }
  })

  /** A memory + Redis cache whose breaker opens after 2 failures, against a paused Redis. */
  async function pausedStack(prefix: string, retryQueueSize: number | undefined) {
    const server = await startRedis()
    cleanups.push(() => server.stop())
    const tier = redisTier({ url: server.url }, { prefix })
    const cache = createCache({
      tiers: [memoryTier(), tier],
      breaker: { threshold: 2, breakDuration: '300ms' },
      ...(retryQueueSize === undefined ? {} : { retryQueueSize }),
    })
    cleanups.push(() => cache.close())
    const errors: { operation: string; message: string; key: string | undefined }[] = []
    cache.on('error', (e) =>
      errors.push({
        operation: e.operation,
        message: e.error instanceof Error ? e.error.message : String(e.error),
        key: e.key,
      }),
    )
    return { server, tier, cache, errors }
  }

  async function openBreaker(cache: ReturnType<typeof createCache>, errors: { operation: string }[]) {
    await cache.get('miss-1')
    await cache.get('miss-2')
    expect(errors.map((e) => e.operation)).toContain('tier:breaker')
  }

  it('a small size bounds the queue: the oldest delete is dropped and reported, the others replayed', async () => {
    const { server, tier, cache, errors } = await pausedStack('rqs2:', 2)
    for (const k of ['a', 'b', 'c']) expect(await cache.set(k, `old ${k}`)).toBe(true)
    const serverKeys = await Promise.all(['a', 'b', 'c'].map((k) => tier.serverKey(k)))
    await server.pause()
    await openBreaker(cache, errors)
    for (const k of ['a', 'b', 'c']) expect(await cache.delete(k)).toBe(false)
    const full = errors.filter((e) => e.operation === 'tier:retry')
    expect(full).toHaveLength(1)
    expect(full[0]!.message).toMatch(/retry queue full \(2 keys\): dropped 1 unacknowledged delete\b/)
    expect(full[0]!.key).toBe('a')

    await server.resume()
    // b and c were queued: the replay deletes them from Redis without any traffic.
    await until(async () => (await server.call('EXISTS', serverKeys[1]!, serverKeys[2]!)) === 0, 5000)
    // a was dropped from the queue: its delete never reached Redis, and its old value is read again.
    expect(await server.call('EXISTS', serverKeys[0]!)).toBe(1)
    expect(await cache.get('a')).toBe('old a')
    expect(await cache.get('b')).toBeUndefined()
  }, 20_000)

  it('0 turns the queue off: the failure is reported, nothing is queued or replayed', async () => {
    const { server, tier, cache, errors } = await pausedStack('rqs0:', 0)
    expect(await cache.set('doomed', 'old value')).toBe(true)
    const serverKey = await tier.serverKey('doomed')
    await server.pause()
    await openBreaker(cache, errors)
    expect(await cache.delete('doomed')).toBe(false)
    await cache.clear() // not acknowledged either (skipped by the open breaker)
    expect(errors.filter((e) => e.operation === 'tier:retry')).toEqual([])
    await server.resume()
    // A write succeeds (which would replay a queue), then several replay intervals pass.
    await until(async () => (await cache.set('other', 1)) === true, 5000)
    await sleep(1500)
    // Neither the delete nor the clear was replayed: the key is still there under the same generation.
    expect(await server.call('EXISTS', serverKey)).toBe(1)
    expect(await tier.serverKey('doomed')).toBe(serverKey)
  }, 20_000)

  it('the default is 10,000 keys', async () => {
    const { server, cache, errors } = await pausedStack('rqsd:', undefined)
    await cache.set('warm', 1)
    await server.pause()
    await openBreaker(cache, errors)
    // Skipped by the open breaker: nothing is sent, each key is queued.
    const keys = Array.from({ length: 10_000 }, (_, i) => `k${i}`)
    expect((await Promise.all(keys.map((k) => cache.delete(k)))).every((r) => r === false)).toBe(true)
    expect(errors.filter((e) => e.operation === 'tier:retry')).toEqual([])
    expect(await cache.delete('one more')).toBe(false)
    const full = errors.filter((e) => e.operation === 'tier:retry')
    expect(full).toHaveLength(1)
    expect(full[0]!.message).toMatch(/retry queue full \(10000 keys\)/)
    expect(full[0]!.key).toBe('k0')
  }, 20_000)
})
