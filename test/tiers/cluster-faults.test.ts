/**
 * Redis Cluster failure: one master of a real 3-master cluster (no replicas) is killed mid-traffic. The keys
 * of its slots miss (the loader answers within loader + deadline), the other masters keep serving, nothing
 * is thrown or left unhandled, and `close()` still resolves within 1 s. Each master has its own breaker: the
 * dead one's keys are skipped, the others' keep hitting Redis, and the restarted master is used again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { redisTier } from '../../src/redis.js'
import { jsonSerializer } from '../../src/serializer.js'
import { Lower } from '../../src/stack.js'
import { clusterKeyOwner, type RedisCluster, startRedisCluster } from '../services/cluster.js'
import { respCall } from '../services/redis.js'

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const BUDGET = 100
const LOADER_MS = 5
/** Scheduling slack for timing assertions (a busy CI machine may need more: TIERCACHE_TIMING_MARGIN_MS). */
const MARGIN = Number(process.env.TIERCACHE_TIMING_MARGIN_MS ?? 60)

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
const uncaught: unknown[] = []
const onUncaught = (err: unknown) => uncaught.push(err)
let cluster: RedisCluster | undefined

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled)
  process.on('uncaughtException', onUncaught)
  // Its own cluster: a master is killed here (the shared one of env.ts is used by other tests).
  cluster = await startRedisCluster({ masters: 3 })
}, 60_000)
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled)
  process.off('uncaughtException', onUncaught)
  await cluster?.stop()
}, 30_000)
afterEach(() => {
  expect(unhandled).toEqual([])
  expect(uncaught).toEqual([])
})

describe('Redis Cluster: a master killed mid-traffic', () => {
  it('getOrSet answers within loader + deadline, the other masters keep hitting, close() ≤ 1 s', async () => {
    const c = cluster!
    const tier = redisTier({ cluster: { rootNodes: c.rootNodes } }, { prefix: 'clf:' })
    const cache = createCache({ tiers: [tier] })
    const errors: unknown[] = []
    cache.on('error', (e) => errors.push(e.error))
    const keys = Array.from({ length: 60 }, (_, i) => `key:${i}`)
    let loads = 0
    const loader = (k: string) => async () => {
      loads++
      await sleep(LOADER_MS)
      return `v:${k}`
    }
    for (const k of keys) expect(await cache.getOrSet(k, loader(k), { ttl: 60 })).toBe(`v:${k}`)
    await sleep(100) // the background writes of the first loads
    // Warm: every key is now a Redis hit.
    const before = loads
    for (const k of keys) expect(await cache.getOrSet(k, loader(k), { ttl: 60 })).toBe(`v:${k}`)
    expect(loads).toBe(before)

    let worst = 0
    let calls = 0
    let hitsAfterKill = 0
    let killed = false
    let running = true
    const traffic = (async () => {
      while (running) {
        for (const k of keys) {
          const l = loads
          const t0 = performance.now()
          expect(await cache.getOrSet(k, loader(k), { ttl: 60 })).toBe(`v:${k}`)
          const ms = performance.now() - t0
          worst = Math.max(worst, ms)
          calls++
          if (killed && loads === l) hitsAfterKill++
        }
        await sleep(2)
      }
    })()
    await sleep(300)
    // Kill one master (no replicas): the keys of its slots miss from now on.
    await c.nodes[1]!.kill()
    killed = true
    await sleep(3000)
    running = false
    await traffic
    expect(calls).toBeGreaterThan(keys.length * 3)
    expect(worst).toBeLessThan(LOADER_MS + BUDGET + MARGIN)
    // The keys of the two live masters are still read from Redis.
    expect(hitsAfterKill).toBeGreaterThan(0)
    expect(errors.length).toBeGreaterThan(0)

    const t0 = performance.now()
    await cache.close()
    expect(performance.now() - t0).toBeLessThan(1000)
    await sleep(200) // anything the client would still emit after close
  }, 30_000)
})

async function until(cond: () => Promise<boolean>, timeoutMs: number, step: number): Promise<void> {
  const t0 = performance.now()
  while (performance.now() - t0 < timeoutMs) {
    if (await cond()) return
    await sleep(step)
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}

describe('Redis Cluster: one breaker per master', () => {
  it('a killed master skips only its keys, the others keep hitting Redis, the restarted one is used again', async () => {
    // With `cluster-require-full-coverage no` the live masters keep serving their slots once the dead one is
    // marked failed (with the default every master answers CLUSTERDOWN then: a whole-cluster outage).
    const c = await startRedisCluster({ masters: 3, args: ['--cluster-require-full-coverage', 'no'] })
    const tier = redisTier({ cluster: { rootNodes: c.rootNodes } }, { prefix: 'clpn:' })
    // Redis is the only tier: every hit below is a Redis read.
    const cache = createCache({ tiers: [tier], breaker: { threshold: 3, breakDuration: '300ms' } })
    try {
      const breakerEvents: string[] = []
      const getErrors: string[] = []
      // the loads' background writes of the dead master's keys fail too, and count toward its breaker
      const setErrors: string[] = []
      cache.on('error', (e) => {
        const message = e.error instanceof Error ? e.error.message : String(e.error)
        if (e.operation === 'tier:breaker') breakerEvents.push(message.replace(/^.*: /, ''))
        else if (e.operation === 'tier:get' && e.key !== undefined) getErrors.push(e.key)
        else if (e.operation === 'tier:set' && e.key !== undefined) setErrors.push(e.key)
      })
      const keys = Array.from({ length: 90 }, (_, i) => `key:${i}`)
      for (const k of keys) expect(await cache.set(k, `v:${k}`, { ttl: 600 })).toBe(true)
      const victim = c.nodes[1]!
      const victimAddress = `127.0.0.1:${victim.port}`
      const dead: string[] = []
      const alive: string[] = []
      for (const k of keys) {
        const owner = await clusterKeyOwner(c.rootNodes, await tier.serverKey(k))
        ;(owner === victimAddress ? dead : alive).push(k)
      }
      expect(dead.length).toBeGreaterThan(10)
      expect(alive.length).toBeGreaterThan(30)
      const isDead = new Set(dead)

      const loads = new Map<string, number>()
      const loader = (k: string) => () => {
        loads.set(k, (loads.get(k) ?? 0) + 1)
        return `v:${k}`
      }
      const loadsOf = (list: string[]) => list.reduce((n, k) => n + (loads.get(k) ?? 0), 0)
      const redisHits = () => cache.stats().hitsByTier.redis ?? 0

      await victim.kill()
      // The dead master's keys first in every round: a run of failures longer than the threshold, which
      // opened the breaker of the whole tier before there was one per master.
      const order = [...dead, ...alive]
      const rounds = 20
      const hitsBefore = redisHits()
      for (let r = 0; r < rounds; r++) {
        for (const k of order) expect(await cache.getOrSet(k, loader(k), { ttl: 600 })).toBe(`v:${k}`)
      }
      // Every read of a live master's key was a Redis hit; the dead master's keys went to the loader.
      expect(loadsOf(alive)).toBe(0)
      expect(redisHits() - hitsBefore).toBe(alive.length * rounds)
      for (const k of dead) expect([k, loads.get(k) ?? 0]).toEqual([k, rounds])
      // The dead master's keys fail fast: after `threshold` failures (reads, and the writes of the values the
      // loader produced, in whatever order they land) its breaker stops sending them (one probe per
      // breakDuration), instead of one error per read.
      const deadGetErrors = getErrors.filter((k) => isDead.has(k)).length
      const deadErrors = deadGetErrors + setErrors.filter((k) => isDead.has(k)).length
      expect(deadGetErrors).toBeGreaterThanOrEqual(1)
      expect(deadErrors).toBeGreaterThanOrEqual(3)
      expect(deadErrors).toBeLessThan((dead.length * rounds) / 4)
      expect(getErrors.filter((k) => !isDead.has(k))).toEqual([])
      expect(setErrors.filter((k) => !isDead.has(k))).toEqual([])
      // Only the dead master's breaker opened, never the tier's.
      expect(breakerEvents).toContain(`circuit open for node ${victimAddress}`)
      expect(breakerEvents.filter((m) => !m.endsWith(`for node ${victimAddress}`))).toEqual([])

      await victim.restart()
      // Used again once it answers (its breaker's probe): its keys are written there and read back.
      await until(
        async () => {
          const before = loadsOf(dead)
          for (const k of dead) expect(await cache.getOrSet(k, loader(k), { ttl: 600 })).toBe(`v:${k}`)
          return loadsOf(dead) === before
        },
        30_000,
        100,
      )
      for (const k of dead) {
        expect(await respCall(victim.port, ['EXISTS', await tier.serverKey(k)])).toBe(1)
      }
      expect(breakerEvents).toContain(`circuit closed for node ${victimAddress}`)
      const hitsAfter = redisHits()
      for (const k of order) expect(await cache.getOrSet(k, loader(k), { ttl: 600 })).toBe(`v:${k}`)
      expect(redisHits() - hitsAfter).toBe(keys.length)
      expect(loadsOf(alive)).toBe(0)
      expect(breakerEvents.filter((m) => !m.endsWith(`for node ${victimAddress}`))).toEqual([])
    } finally {
      await cache.close()
      await c.stop()
    }
  }, 90_000)

  it('the retry queue replays each master on its own: a dead one holds back only its keys', async () => {
    const c = await startRedisCluster({ masters: 3, args: ['--cluster-require-full-coverage', 'no'] })
    const rootNodes = c.rootNodes
    const options = {
      offset: 0,
      codec: jsonSerializer,
      readTimeout: 100,
      writeTimeout: 300,
      breaker: { threshold: 3, breakDuration: 300 },
      onError: () => {},
    }
    const lower = new Lower([redisTier({ cluster: { rootNodes } }, { prefix: 'clrq:' })], options)
    // Another process on the same keys.
    const other = new Lower([redisTier({ cluster: { rootNodes } }, { prefix: 'clrq:' })], options)
    try {
      const now = Date.now()
      const entry = (v: string) => ({ v, c: now, f: now + 600_000, w: now + 600_000, s: now + 600_000, d: 0 })
      const tier = redisTier({ cluster: { rootNodes } }, { prefix: 'clrq:' })
      const keys = Array.from({ length: 60 }, (_, i) => `key:${i}`)
      for (const k of keys) expect(await lower.set(k, entry('old'))).toBe(true)
      const [, victim, paused] = c.nodes
      const byNode = new Map<string, string[]>()
      for (const k of keys) {
        const owner = await clusterKeyOwner(rootNodes, await tier.serverKey(k))
        byNode.set(owner, [...(byNode.get(owner) ?? []), k])
      }
      await tier.close()
      const dead = byNode.get(`127.0.0.1:${victim!.port}`) ?? []
      const stalled = byNode.get(`127.0.0.1:${paused!.port}`) ?? []
      expect(dead.length).toBeGreaterThan(5)
      expect(stalled.length).toBeGreaterThan(5)

      await victim!.kill()
      for (const k of dead) expect(await lower.delete(k)).toBe(false)
      // A second master stalls for a moment: its deletes miss the deadline and are queued too.
      await paused!.pause()
      expect((await Promise.all(stalled.map((k) => lower.delete(k)))).every((r) => r === false)).toBe(true)
      expect(lower.retryQueueSizes()).toEqual([dead.length + stalled.length])
      // Queued keys are not read from Redis (their old value is there).
      expect(await lower.get(stalled[0]!)).toBeUndefined()
      await paused!.resume()

      // The stalled master's deletes are replayed and acknowledged although the dead master's still fail.
      await until(async () => lower.retryQueueSizes()[0] === dead.length, 10_000, 50)
      for (const k of stalled) expect(await other.get(k)).toBeUndefined()
      // Those keys are read from Redis again: a value another process writes is seen.
      for (const k of stalled) expect(await other.set(k, entry('new'))).toBe(true)
      for (const k of stalled) expect((await lower.get(k))?.entry.v).toBe('new')

      // The dead master's deletes go out once it is back.
      await victim!.restart()
      await until(async () => lower.retryQueueSizes()[0] === 0, 30_000, 100)
    } finally {
      await lower.close()
      await other.close()
      await c.stop()
    }
  }, 90_000)
})
