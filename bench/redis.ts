/**
 * Redis suites: what a Redis hit costs through tiercache, next to a raw node-redis `GET` of the same bytes
 * and to peer caches reading a value present only in Redis; and what Redis in the stack costs an L1 hit.
 *
 * - `redis`: one call at a time. `redis-50`: 50 calls in flight (50 distinct keys, so no cache can
 *   coalesce them into fewer Redis reads than the raw `GET`s do).
 * - `redis-l1`: `getOrSet` L1 hit in a memory + Redis stack vs a memory-only cache (CPU time).
 *
 * The value is only in Redis for every subject and every call: tiercache uses a cache whose only tier is
 * Redis (`tiers: [redisTier()]`, the main row), and, as a second row, a memory + Redis stack from whose L1
 * the key is deleted before each read. Peers are configured without an in-process layer (or with one that stores
 * nothing). Every returned value is checked, and every loader must not run during the timed part.
 *
 * The suite starts its own `redis-server` on a free loopback port (never 6379) with the test harness, and
 * stops it at the end. bentocache's redis driver and async-cache-dedupe's redis storage need `ioredis`
 * (an optional peer of bentocache, not a dependency of this project): without it their rows are skipped
 * with a note.
 */
import { readFileSync } from 'node:fs'
import { isDeepStrictEqual } from 'node:util'
import { createClient } from '@keyv/redis'
import { createCache as createDedupeCache } from 'async-cache-dedupe'
import { BentoCache, bentostore } from 'bentocache'
import { createCache as createCacheManager } from 'cache-manager'
import { Cacheable } from 'cacheable'
import { Keyv } from 'keyv'
import { type RedisServer, startRedis } from '../test/services/redis.js'
import type { Mode, Row } from './engine.js'
import { type Candidate, compare, cpuNs, nowNs } from './lib.js'
import { HOUR_MS, type Item, makeItem } from './peers.js'
import { redis, tiercache } from './subject.js'

const { createCache, memoryTier, jsonSerializer } = tiercache
const { redisTier } = await redis()

export const REDIS_SUITES = ['redis', 'redis-50', 'redis-l1'] as const

/** Calls in flight in `redis-50`, and the number of distinct keys every subject reads. */
const IN_FLIGHT = 50
const RAW = 'node-redis GET (raw)'
const RAW_DECODE = 'node-redis GET + jsonSerializer.deserialize'
const TC = 'tiercache getOrSet, tiers: [redis]'
const TC_L1 = 'tiercache getOrSet, [memory, redis], key deleted from L1 per read'
const TARGET = 1.15

interface Value extends Item {
  n: number
}

const itemFor = (n: number): Value => ({ ...makeItem(), n })
const keyOf = (n: number): string => `bench:item:${n}`
const KEYS = Array.from({ length: IN_FLIGHT }, (_, n) => keyOf(n))
const VALUES = KEYS.map((_, n) => itemFor(n))

/** One subject: reads key `n` (a value present only in Redis). */
interface Subject {
  name: string
  settings: string
  read(n: number): Promise<unknown>
  /** Loader runs so far (the raw GET has none). */
  loads(): number
  close(): Promise<void>
  /** Why the subject could not run (its row shows this instead of figures). */
  skipped?: string
}

interface Tracked {
  s: Subject
  bad: number
  errors: string[]
  loadsBefore: number
}

function check(t: Tracked, v: unknown, n: number): void {
  const x = v as Partial<Value> | undefined | null
  if (x === undefined || x === null || x.n !== n || x.id !== 42) t.bad++
}

function candidate(t: Tracked, inFlight: boolean): Candidate {
  return {
    name: t.s.name,
    async sample(ops) {
      const start = nowNs()
      try {
        if (!inFlight) {
          for (let i = 0; i < ops; i++) {
            const n = i % IN_FLIGHT
            check(t, await t.s.read(n), n)
          }
        } else {
          const ps: Promise<unknown>[] = new Array(IN_FLIGHT)
          for (let b = 0; b < ops; b += IN_FLIGHT) {
            for (let n = 0; n < IN_FLIGHT; n++) ps[n] = t.s.read(n)
            const vs = await Promise.all(ps)
            for (let n = 0; n < IN_FLIGHT; n++) check(t, vs[n], n)
          }
        }
      } catch (err) {
        if (t.errors.length < 3) t.errors.push(`threw: ${String(err)}`)
      }
      return nowNs() - start
    },
  }
}

// ---------------------------------------------------------------------------------------------------------
// Subjects
// ---------------------------------------------------------------------------------------------------------

async function rawSubject(url: string, serverKeys: string[]): Promise<Subject> {
  const client = createClient({ url, disableOfflineQueue: true })
  await client.connect()
  // The stored bytes tiercache wrote; each raw GET is checked against them (not decoded: that is the
  // serializer's share of tiercache's time).
  const expected = await Promise.all(serverKeys.map((k) => client.get(k)))
  if (expected.some((s) => typeof s !== 'string')) throw new Error('raw GET: tiercache keys not found')
  return {
    name: RAW,
    settings: `createClient({ url, disableOfflineQueue: true }) from @keyv/redis (@redis/client ${clientVersion()}, the client redisTier uses); await client.get(<tiercache's Redis key>), compared with the stored string`,
    async read(n) {
      const s = await client.get(serverKeys[n]!)
      return s === expected[n] ? VALUES[n] : s
    },
    loads: () => 0,
    close: async () => {
      await client.close()
    },
  }
}

/** The raw GET plus tiercache's deserializer: the floor of any cache that must decode what it reads. */
async function rawDecodeSubject(url: string, serverKeys: string[]): Promise<Subject> {
  const client = createClient({ url, disableOfflineQueue: true })
  await client.connect()
  return {
    name: RAW_DECODE,
    settings: 'the raw GET above, then jsonSerializer.deserialize(reply)[1].v (no deadline, no engine)',
    async read(n) {
      const s = await client.get(serverKeys[n]!)
      if (s === null) return undefined
      const decoded = jsonSerializer.deserialize(s) as [number, { v: unknown }]
      return decoded[1].v
    },
    loads: () => 0,
    close: async () => {
      await client.close()
    },
  }
}

function clientVersion(): string {
  try {
    const pkg = readFileSync(new URL('../node_modules/@redis/client/package.json', import.meta.url), 'utf8')
    return String((JSON.parse(pkg) as { version?: unknown }).version)
  } catch {
    return '5'
  }
}

async function tiercacheSubject(url: string, clearL1: boolean): Promise<Subject & { serverKeys: string[] }> {
  let loads = 0
  const remote = redisTier({ url }, { prefix: clearL1 ? 'bench:tc-l1:' : 'bench:tc:' })
  const l1 = memoryTier()
  const cache = createCache({ ttl: '1h', tiers: clearL1 ? [l1, remote] : [remote] })
  const loaders = KEYS.map((_, n) => async (): Promise<Value> => {
    loads++
    return itemFor(n)
  })
  for (let n = 0; n < IN_FLIGHT; n++) {
    if (!(await cache.set(KEYS[n]!, itemFor(n)))) throw new Error('tiercache: set to Redis failed')
  }
  l1.clear()
  const serverKeys = await Promise.all(KEYS.map((k) => remote.serverKey(k)))
  return {
    name: clearL1 ? TC_L1 : TC,
    settings: clearL1
      ? "createCache({ ttl: '1h', tiers: [memoryTier(), redisTier({ url })] }); l1.delete(key) then getOrSet(key, loader) (the Redis hit backfills L1)"
      : "createCache({ ttl: '1h', tiers: [redisTier({ url })] }); getOrSet(key, loader); defaults (readTimeout 100 ms, breaker, JSON serializer)",
    read: clearL1
      ? (n) => {
          l1.delete(KEYS[n]!)
          return cache.getOrSet(KEYS[n]!, loaders[n]!)
        }
      : (n) => cache.getOrSet(KEYS[n]!, loaders[n]!),
    loads: () => loads,
    close: () => cache.close(),
    serverKeys,
  }
}

/** A module that may be missing (an optional peer): loaded by a name the type checker does not resolve. */
async function optional<T>(name: string): Promise<T | undefined> {
  try {
    return (await import(name)) as T
  } catch {
    return undefined
  }
}

interface IoRedisModule {
  Redis: new (url: string, options?: Record<string, unknown>) => { quit(): Promise<unknown> }
}
interface BentoRedisModule {
  redisDriver(options: { connection: unknown; prefix?: string }): unknown
}
const NO_IOREDIS = 'skipped: needs ioredis (an optional peer of bentocache; `npm i -D ioredis` to run it)'

async function bentoSubject(url: string): Promise<Subject> {
  const io = await optional<IoRedisModule>(['io', 'redis'].join(''))
  const driver = await optional<BentoRedisModule>(['bentocache', 'drivers', 'redis'].join('/'))
  if (io === undefined || driver === undefined)
    return skippedSubject('bentocache 1.6 (redis driver)', NO_IOREDIS)
  let loads = 0
  const connection = new io.Redis(url, { maxRetriesPerRequest: 0 })
  const l2 = driver.redisDriver({ connection, prefix: 'bench:bento' }) as Parameters<
    ReturnType<typeof bentostore>['useL2Layer']
  >[0]
  const bento = new BentoCache({
    default: 'redis',
    ttl: HOUR_MS,
    stores: { redis: bentostore().useL2Layer(l2) },
  })
  const loaders = KEYS.map((_, n) => async (): Promise<Value> => {
    loads++
    return itemFor(n)
  })
  for (let n = 0; n < IN_FLIGHT; n++) await bento.set({ key: KEYS[n]!, value: itemFor(n) })
  return {
    name: 'bentocache 1.6, L2 only (redis driver, ioredis)',
    settings:
      "new BentoCache({ default: 'redis', ttl: 1h, stores: { redis: bentostore().useL2Layer(redisDriver({ connection: new Redis(url) })) } }); getOrSet({ key, factory })",
    read: (n) => bento.getOrSet({ key: KEYS[n]!, factory: loaders[n]! }),
    loads: () => loads,
    close: async () => {
      await bento.disconnectAll()
      await connection.quit().catch(() => {})
    },
  }
}

/** A Keyv store that keeps nothing: cacheable's primary layer then never answers, every read goes to Redis. */
class Forgetful extends Map<string, unknown> {
  override set(): this {
    return this
  }
}

async function cacheableSubject(url: string): Promise<Subject> {
  let loads = 0
  const { default: KeyvRedis } = await import('@keyv/redis')
  const secondary = new KeyvRedis(url, { namespace: 'bench-cacheable' })
  const cache = new Cacheable({ primary: new Keyv({ store: new Forgetful() }), secondary, ttl: '1h' })
  const loaders = KEYS.map((_, n) => async (): Promise<Value> => {
    loads++
    return itemFor(n)
  })
  for (let n = 0; n < IN_FLIGHT; n++) await cache.set(KEYS[n]!, itemFor(n))
  return {
    name: 'cacheable 2.5, secondary @keyv/redis',
    settings:
      "new Cacheable({ primary: Keyv over a store that keeps nothing, secondary: new KeyvRedis(url), ttl: '1h' }); getOrSet(key, loader)",
    read: (n) => cache.getOrSet(KEYS[n]!, loaders[n]!),
    loads: () => loads,
    close: async () => {
      await cache.disconnect()
    },
  }
}

async function cacheManagerSubject(url: string): Promise<Subject> {
  let loads = 0
  const { default: KeyvRedis } = await import('@keyv/redis')
  const store = new Keyv({ store: new KeyvRedis(url), namespace: 'bench-cm' })
  const cache = createCacheManager({ ttl: HOUR_MS, stores: [store] })
  const loaders = KEYS.map((_, n) => async (): Promise<Value> => {
    loads++
    return itemFor(n)
  })
  for (let n = 0; n < IN_FLIGHT; n++) await cache.set(KEYS[n]!, itemFor(n))
  return {
    name: 'cache-manager 7.2, Keyv + @keyv/redis',
    settings:
      'createCache({ ttl: 1h, stores: [new Keyv({ store: new KeyvRedis(url) })] }); wrap(key, loader)',
    read: (n) => cache.wrap(KEYS[n]!, loaders[n]!),
    loads: () => loads,
    close: async () => {
      await cache.disconnect()
    },
  }
}

async function dedupeSubject(url: string): Promise<Subject> {
  const io = await optional<IoRedisModule>(['io', 'redis'].join(''))
  if (io === undefined) return skippedSubject('async-cache-dedupe 3.4 (redis storage)', NO_IOREDIS)
  let loads = 0
  const client = new io.Redis(url, { maxRetriesPerRequest: 0 })
  type Options = NonNullable<Parameters<typeof createDedupeCache>[0]>
  const storage = { type: 'redis', options: { client } } as unknown as Options['storage']
  const base = createDedupeCache({ ttl: 3600, storage })
  const cache = base.define('item', async (key: string) => {
    loads++
    return itemFor(Number(key.slice(key.lastIndexOf(':') + 1)))
  }) as unknown as { item(key: string): Promise<Value> }
  // Its storage is filled through the function itself (one load per key, before timing).
  for (let n = 0; n < IN_FLIGHT; n++) await cache.item(KEYS[n]!)
  return {
    name: 'async-cache-dedupe 3.4, redis storage (ioredis)',
    settings:
      "createCache({ ttl: 3600, storage: { type: 'redis', options: { client: new Redis(url) } } }); define('item', loader)",
    read: (n) => cache.item(KEYS[n]!),
    loads: () => loads,
    close: async () => {
      await client.quit().catch(() => {})
    },
  }
}

function skippedSubject(name: string, why: string): Subject {
  return {
    name,
    settings: why,
    skipped: why,
    read: () => Promise.resolve(undefined),
    loads: () => 0,
    close: async () => {},
  }
}

// ---------------------------------------------------------------------------------------------------------
// Suites
// ---------------------------------------------------------------------------------------------------------

function emptyRow(suite: string, name: string, baseline: string, problems: string[], note?: string): Row {
  return {
    suite,
    name,
    ns: Number.NaN,
    unit: 'op',
    ratio: Number.NaN,
    ratioP25: Number.NaN,
    ratioP75: Number.NaN,
    baseline,
    problems,
    note,
  }
}

async function hitSuites(
  server: RedisServer,
  mode: Mode,
  include: (s: string) => boolean,
  log: (l: string) => void,
) {
  const rows: Row[] = []
  const settings: Array<{ name: string; settings: string }> = []
  const tc = await tiercacheSubject(server.url, false)
  const factories: Array<() => Promise<Subject>> = [
    () => rawSubject(server.url, tc.serverKeys),
    () => rawDecodeSubject(server.url, tc.serverKeys),
    async () => tc,
    () => tiercacheSubject(server.url, true),
    () => bentoSubject(server.url),
    () => cacheableSubject(server.url),
    () => cacheManagerSubject(server.url),
    () => dedupeSubject(server.url),
  ]
  const tracked: Tracked[] = []
  for (const make of factories) {
    try {
      const s = await make()
      settings.push({ name: s.name, settings: s.settings })
      if (s.skipped !== undefined) {
        for (const suite of ['redis', 'redis-50'])
          if (include(suite)) rows.push(emptyRow(suite, s.name, RAW, [], s.skipped))
        continue
      }
      tracked.push({ s, bad: 0, errors: [], loadsBefore: s.loads() })
    } catch (err) {
      rows.push(emptyRow('redis', String(err).slice(0, 60), RAW, [`failed to set up: ${String(err)}`]))
    }
  }
  // Same bytes: the raw GET must see what tiercache stored (checked by value in rawSubject).
  for (const inFlight of [false, true]) {
    const suite = inFlight ? 'redis-50' : 'redis'
    if (!include(suite)) continue
    log(`running ${suite} ...`)
    for (const t of tracked) {
      t.bad = 0
      t.errors = []
    }
    const measured = await compare(
      tracked.map((t) => candidate(t, inFlight)),
      {
        baseline: RAW,
        rounds: mode.name === 'full' ? 31 : mode.rounds,
        warmupMs: mode.name === 'full' ? 500 : mode.warmupMs,
        sampleMs: mode.name === 'full' ? 20 : Math.max(mode.sampleMs, 5),
      },
    )
    for (const t of tracked) {
      const m = measured.find((x) => x.name === t.s.name)!
      const problems = [...t.errors]
      if (t.bad > 0) problems.push(`${t.bad} wrong values`)
      if (t.s.loads() !== t.loadsBefore)
        problems.push(`loader ran ${t.s.loads() - t.loadsBefore} times during the timed reads (expected 0)`)
      const isTc = t.s.name === TC || t.s.name === TC_L1
      rows.push({
        suite,
        name: t.s.name,
        ns: m.nsPerOp,
        unit: 'op',
        ratio: m.ratio,
        ratioP25: m.ratioP25,
        ratioP75: m.ratioP75,
        baseline: RAW,
        target: isTc ? { op: '<=', value: TARGET } : undefined,
        problems,
        note:
          t.s.name === TC
            ? `value only in Redis: a cache whose only tier is Redis; ${inFlight ? `${IN_FLIGHT} distinct keys in flight` : 'one call at a time'}, wall time`
            : undefined,
      })
    }
  }
  // Final checks: deep equality of one more value per subject.
  for (const t of tracked) {
    if (t.s.name === RAW) continue
    try {
      const v = await t.s.read(7)
      if (!isDeepStrictEqual(v, itemFor(7))) {
        rows.find((r) => r.name === t.s.name)?.problems.push('value differs from the stored value')
      }
    } catch (err) {
      rows.find((r) => r.name === t.s.name)?.problems.push(`threw: ${String(err)}`)
    }
    await t.s.close().catch(() => {})
  }
  for (const t of tracked) if (t.s.name === RAW) await t.s.close().catch(() => {})
  return { rows, settings }
}

/** L1 hit of a memory + Redis stack vs a memory-only cache: Redis in the stack must cost a hit nothing. */
async function l1Suite(server: RedisServer, mode: Mode): Promise<Row[]> {
  const PURE = 'tiercache getOrSet L1 hit, tiers: [memory]'
  const STACK = 'tiercache getOrSet L1 hit, tiers: [memory, redis]'
  const subjects = [
    { name: PURE, cache: createCache({ ttl: '1h' }) },
    {
      name: STACK,
      cache: createCache({
        ttl: '1h',
        tiers: [memoryTier(), redisTier({ url: server.url }, { prefix: 'bench:l1:' })],
      }),
    },
  ]
  const state = subjects.map(() => ({ bad: 0, loads: 0 }))
  const loaders = state.map((st) => async (): Promise<Value> => {
    st.loads++
    return itemFor(1)
  })
  for (let i = 0; i < subjects.length; i++) await subjects[i]!.cache.getOrSet('hot', loaders[i]!)
  const candidates: Candidate[] = subjects.map((s, i) => ({
    name: s.name,
    async sample(ops) {
      const st = state[i]!
      const load = loaders[i]!
      const start = cpuNs()
      for (let j = 0; j < ops; j++) {
        const v = await s.cache.getOrSet('hot', load)
        if (v.n !== 1) st.bad++
      }
      return cpuNs() - start
    },
  }))
  const measured = await compare(candidates, {
    baseline: PURE,
    rounds: mode.rounds,
    warmupMs: mode.warmupMs,
    sampleMs: mode.sampleMs,
  })
  const rows = measured.map((m, i): Row => {
    const problems: string[] = []
    if (state[i]!.bad > 0) problems.push(`${state[i]!.bad} wrong values`)
    if (state[i]!.loads !== 1) problems.push(`loader ran ${state[i]!.loads} times (expected 1)`)
    return {
      suite: 'redis-l1',
      name: m.name,
      ns: m.nsPerOp,
      unit: 'op',
      ratio: m.ratio,
      ratioP25: m.ratioP25,
      ratioP75: m.ratioP75,
      baseline: PURE,
      target: m.name === STACK ? { op: '<=', value: 1.05 } : undefined,
      problems,
      note:
        m.name === STACK ? 'must equal the memory-only hit (target ≤ 1.05x for noise); CPU time' : undefined,
    }
  })
  await Promise.all(subjects.map((s) => s.cache.close()))
  return rows
}

/** Runs the Redis suites that `include` accepts, against a redis-server started here. */
export async function runRedisSuites(
  mode: Mode,
  include: (suite: string) => boolean,
  log: (line: string) => void = () => {},
): Promise<{ rows: Row[]; settings: Array<{ name: string; settings: string }> }> {
  let server: RedisServer
  try {
    server = await startRedis()
  } catch (err) {
    return {
      rows: [emptyRow('redis', 'redis-server', RAW, [`could not start redis-server: ${String(err)}`])],
      settings: [],
    }
  }
  log(`redis-server on port ${server.port}`)
  try {
    const rows: Row[] = []
    let settings: Array<{ name: string; settings: string }> = []
    if (include('redis') || include('redis-50')) {
      const hits = await hitSuites(server, mode, include, log)
      rows.push(...hits.rows)
      settings = hits.settings
    }
    if (include('redis-l1')) {
      log('running redis-l1 ...')
      rows.push(...(await l1Suite(server, mode)))
    }
    return { rows, settings }
  } finally {
    await server.stop()
  }
}
