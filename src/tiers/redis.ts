/**
 * The Redis tier: standalone Redis or Redis Cluster through node-redis 5 (the client @keyv/redis uses). This
 * file has the public API and the operations; the connection (`{ url }`, `{ client }`, `{ keyv }` or
 * `{ cluster }`, set up for a cache) is in `redis-connection.ts`, the key namespace generation and `clear()`
 * in `redis-generation.ts`, the server clock offset in `redis-clock.ts`, hash slots in `redis-slot.ts`.
 *
 * Hot path. Every operation goes straight to the node-redis client (`GET`, `SET ... PX`, `MGET`, `DEL`),
 * not through Keyv's API: Keyv would add its own JSON envelope (`{"value":...,"expires":...}`) around our
 * already-serialized entry, hooks, stats and a `has` round trip on some paths, and would compare a
 * writer-computed `expires` with the reader's clock (RELIABILITY 30). The engine already serializes,
 * versions and expires entries, so the tier is one command per operation, which keeps a Redis hit within
 * a few percent of a raw node-redis `GET` (the benchmark target is 1.15x): a read is the cached key prefix
 * (`keyBase()`, nothing to wait for once the generation is known) and one `GET` through `sendCommand` with
 * the Buffer type mapping (`readBytes`). Keyv / @keyv/redis are still accepted as the source of the
 * connection (`{ keyv }`).
 *
 * Keys: `<prefix><generation>:<key>`; `clear()` is one `INCR` of the generation (see `redis-generation.ts`).
 *
 * Payloads are stored as given (strings or bytes) and read back as Buffers (correct for both text and
 * binary serializers; the JSON serializer decodes UTF-8 strictly, so corruption is a miss).
 *
 * Cluster: the tier says which master holds a key (`nodeOf`: the key's hash slot, `redis-slot.ts`, looked up in
 * the client's slot table), and the engine keeps one circuit breaker per master with it; the tier itself
 * counts nothing. `getMany`/`deleteMany` send one command per key (the keys may live in different slots).
 */
import type { RedisClientConnectionType, RedisClientOptions, RedisClusterOptions } from '@keyv/redis'
import { serverClock } from './redis-clock.js'
import { noop, openConnection } from './redis-connection.js'
import { createGeneration } from './redis-generation.js'
import { keySlot } from './redis-slot.js'
import type { Payload, RemoteTier } from './types.js'

/** Where the tier's Redis is. Exactly one of the fields. */
export type RedisTierConnection =
  | {
      /** `redis://[user:pass@]host:port[/db]` (or `rediss://`). The tier owns and configures the client. */
      url: string
    }
  | {
      /**
       * A node-redis client or cluster you created (connected or not; the tier connects it if needed).
       * It stays yours: `close()` does not close it. The tier adds an `'error'` listener while it is open.
       * For cache use configure it with `disableOfflineQueue: true` and a reconnect strategy.
       */
      client: RedisClientConnectionType
    }
  | {
      /** A Keyv instance whose store is `@keyv/redis` (or the `KeyvRedis` store itself): its client is used. */
      keyv: KeyvRedisLike | { store: KeyvRedisLike }
    }
  | {
      /** A Redis Cluster: some of its nodes (`[{ url: 'redis://127.0.0.1:7000' }, ...]`). The tier owns the client. */
      cluster: { rootNodes: ReadonlyArray<{ url: string }> }
    }

/** The part of `@keyv/redis`'s `KeyvRedis` store the tier uses. */
export interface KeyvRedisLike {
  readonly client: RedisClientConnectionType
}

export interface RedisTierOptions {
  /**
   * Namespace of every key this tier writes. Caches sharing a Redis with different prefixes never see
   * or clear each other's keys.
   * @default 'tc:'
   */
  prefix?: string
  /** Name used in stats, events and errors. @default 'redis' */
  name?: string
  /**
   * TCP connect timeout of the connections the tier creates, ms.
   * @default 1000
   */
  connectTimeout?: number
  /**
   * Longest wait between reconnection attempts, ms (the backoff doubles from 50 ms up to this, plus up
   * to 100 ms of jitter).
   * @default 1000
   */
  maxReconnectDelay?: number
  /**
   * How often (ms, at most) the tier re-reads the generation number that `clear()` bumps, so a `clear()`
   * from another process is seen within this time. Checked lazily on use, no timer.
   * @default 1000
   */
  generationCheckInterval?: number
  /**
   * Extra node-redis options for a client the tier creates from `url` (TLS, credentials, database...).
   * `disableOfflineQueue`, `socket.connectTimeout` and `socket.reconnectStrategy` are set by the tier.
   */
  clientOptions?: RedisClientOptions
  /**
   * Extra node-redis options for a cluster the tier creates (`defaults`, `useReplicas`...).
   * Offline queue, connect timeout and reconnect strategy of the node clients are set by the tier.
   */
  clusterOptions?: Omit<RedisClusterOptions, 'rootNodes'>
}

/** A Redis tier. */
export interface RedisTier extends RemoteTier {
  /** The node-redis client (or cluster) in use. */
  readonly client: RedisClientConnectionType
  /** Commands sent and not yet answered (abandoned reads of a stalled server included). */
  readonly pending: number
  /** The key prefix, without the generation. */
  readonly prefix: string
  /** The Redis key the tier uses for a cache key, with the current generation (for tests and debugging). */
  serverKey(key: string): Promise<string>
  /**
   * Cluster only: the `host:port` of the master owning the slot of `key`'s Redis key, from the client's slot
   * table (no I/O); `undefined` before the topology and the generation are known. The engine keeps one circuit
   * breaker per master with it. Standalone tiers do not have it.
   */
  nodeOf?(key: string): string | undefined
}

/** The part of a node-redis cluster's slot table `nodeOf` reads. */
interface ClusterSlots {
  readonly slots: ReadonlyArray<{ readonly master?: { readonly address: string } } | undefined>
}

/**
 * A Redis tier. `redisTier({ url: 'redis://localhost:6379' })`, `redisTier({ client })`,
 * `redisTier({ keyv })` or `redisTier({ cluster: { rootNodes: [{ url }] } })`; options as the second
 * argument or in the same object. Construction never throws for an unreachable server and never blocks.
 */
export function redisTier(
  connection: RedisTierConnection & RedisTierOptions,
  options: RedisTierOptions = {},
): RedisTier {
  if (connection === null || typeof connection !== 'object') {
    throw new TypeError(`Expected \`redisTier\` connection to be an object, got ${String(connection)}`)
  }
  const o: RedisTierOptions = { ...pickOptions(connection), ...options }
  const prefix = o.prefix ?? 'tc:'
  if (typeof prefix !== 'string')
    throw new TypeError(`Expected \`prefix\` to be a string, got ${typeof prefix}`)
  const name = o.name ?? 'redis'
  const connectTimeout = positive(o.connectTimeout, 'connectTimeout', 1000)
  const maxDelay = positive(o.maxReconnectDelay, 'maxReconnectDelay', 1000)
  const genInterval = positive(o.generationCheckInterval, 'generationCheckInterval', 1000)

  const redis = openConnection(connection, {
    connectTimeout,
    maxReconnectDelay: maxDelay,
    clientOptions: o.clientOptions,
    clusterOptions: o.clusterOptions,
  })
  const { conn, isCluster, readBytes } = redis
  const clock = serverClock(redis.sendKeyless)
  const generation = createGeneration(redis, clock, {
    prefix,
    name,
    connectTimeout,
    checkInterval: genInterval,
  })
  const { keyBase } = generation

  let pending = 0
  const done = <T>(p: Promise<T>): Promise<T> => {
    pending++
    return p.then(
      (v) => {
        pending--
        return v
      },
      (err: unknown) => {
        pending--
        throw err
      },
    )
  }
  const toPayload = (v: unknown): Payload | undefined =>
    v === null || v === undefined ? undefined : (v as Payload)
  const px = (ttlMs: number): { PX: number } | undefined =>
    ttlMs === Number.POSITIVE_INFINITY ? undefined : { PX: Math.max(1, Math.ceil(ttlMs)) }

  const get = (b: string, key: string): Promise<Payload | undefined> => {
    pending++
    const full = b + key
    return readBytes(['GET', full], full).then(
      (v) => {
        pending--
        return v === null || v === undefined ? undefined : (v as Payload)
      },
      (err: unknown) => {
        pending--
        throw err
      },
    )
  }
  const set = (b: string, key: string, value: Payload, ttlMs: number): Promise<void> =>
    done(conn.set(b + key, asRedisValue(value), px(ttlMs))).then(noop)
  const del = (b: string, key: string): Promise<void> => done(conn.del(b + key)).then(noop)
  const getMany = (b: string, keys: readonly string[]): Promise<(Payload | undefined)[]> =>
    isCluster
      ? Promise.all(keys.map((k) => get(b, k)))
      : done(readBytes(['MGET', ...keys.map((k) => b + k)], '') as Promise<unknown[]>).then((r) =>
          r.map(toPayload),
        )
  const delMany = (b: string, keys: readonly string[]): Promise<void> =>
    isCluster
      ? Promise.all(keys.map((k) => del(b, k))).then(noop)
      : done(conn.del(keys.map((k) => b + k))).then(noop)

  const tier: RedisTier = {
    kind: 'remote',
    name,
    prefix,
    client: redis.client,
    get pending() {
      return pending
    },
    async serverKey(key) {
      return (await keyBase()) + key
    },
    get(key) {
      const b = keyBase()
      return typeof b === 'string' ? get(b, key) : b.then((s) => get(s, key))
    },
    getMany(keys) {
      if (keys.length === 0) return Promise.resolve([])
      const b = keyBase()
      return typeof b === 'string' ? getMany(b, keys) : b.then((s) => getMany(s, keys))
    },
    set(key, value, ttlMs) {
      if (!(ttlMs > 0)) return Promise.resolve()
      const b = keyBase()
      return typeof b === 'string' ? set(b, key, value, ttlMs) : b.then((s) => set(s, key, value, ttlMs))
    },
    delete(key) {
      const b = keyBase()
      return typeof b === 'string' ? del(b, key) : b.then((s) => del(s, key))
    },
    deleteMany(keys) {
      if (keys.length === 0) return Promise.resolve()
      const b = keyBase()
      return typeof b === 'string' ? delMany(b, keys) : b.then((s) => delMany(s, keys))
    },
    clear() {
      return generation.clear(done)
    },
    close: redis.close,
  }
  tier.clockOffset = clock.offset
  if (isCluster) {
    const table = redis.client as unknown as ClusterSlots
    tier.nodeOf = (key) => {
      const b = generation.known()
      return b === undefined ? undefined : table.slots[keySlot(b + key)]?.master?.address
    }
  }
  return tier
}

const OPTION_KEYS = [
  'prefix',
  'name',
  'connectTimeout',
  'maxReconnectDelay',
  'generationCheckInterval',
  'clientOptions',
  'clusterOptions',
] as const

function pickOptions(source: RedisTierOptions): RedisTierOptions {
  const out: Record<string, unknown> = {}
  for (const k of OPTION_KEYS) if (source[k] !== undefined) out[k] = source[k]
  return out as RedisTierOptions
}

function positive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`Expected \`${name}\` to be a positive number of milliseconds, got ${String(value)}`)
  }
  return value
}

/** node-redis takes strings and Buffers only: a plain Uint8Array is wrapped (no copy). */
function asRedisValue(value: Payload): Payload {
  return typeof value === 'string' || Buffer.isBuffer(value)
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}
