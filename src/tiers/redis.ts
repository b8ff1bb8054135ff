/**
 * The Redis tier: standalone Redis or Redis Cluster through node-redis 5 (the client @keyv/redis uses).
 *
 * Hot path. Every operation goes straight to the node-redis client (`GET`, `SET ... PX`, `MGET`, `DEL`),
 * not through Keyv's API: Keyv would add its own JSON envelope (`{"value":...,"expires":...}`) around our
 * already-serialized entry, hooks, stats and a `has` round trip on some paths, and would compare a
 * writer-computed `expires` with the reader's clock (RELIABILITY 30). The engine already serializes,
 * versions and expires entries, so the tier is one command per operation, which keeps a Redis hit within
 * a few percent of a raw node-redis `GET` (the benchmark target is 1.15x). Keyv / @keyv/redis are still
 * accepted as the source of the connection (`{ keyv }`).
 *
 * Keys: `<prefix><generation>:<key>`. The generation is a decimal number stored in Redis at
 * `<prefix>#gen` and cached by every process; `clear()` is one `INCR` of it, so the keys written before are
 * no longer read and age out by their own TTL (no `KEYS`, no `SCAN`, no `FLUSHALL`; entries written with an
 * infinite TTL stay until Redis evicts them). Other processes pick the new generation up within
 * `generationCheckInterval` (the invalidation bus can tell them sooner). A missing generation key (first
 * start, a restarted or evicting Redis) is created with the current time as its value, so losing it makes
 * older entries unreachable instead of bringing them back.
 *
 * Payloads are stored as given (strings or bytes) and read back as Buffers (correct for both text and
 * binary serializers; the JSON serializer decodes UTF-8 strictly, so corruption is a miss).
 *
 * Connections the tier creates are set up for a cache: offline queue off (a command while disconnected fails
 * at once instead of queueing), a short connect timeout, reconnection forever with capped exponential
 * backoff plus jitter, and an `'error'` listener so node-redis never emits an unhandled `'error'`. The engine
 * puts its own deadline on every call, because node-redis's timeouts do not cover a stalled server.
 *
 * Cluster: the tier says which master holds a key (`nodeOf`: the key's hash slot, `redis-slot.ts`, looked up in
 * the client's slot table), and the engine keeps one circuit breaker per master with it; the tier itself
 * counts nothing. `getMany`/`deleteMany` send one command per key (the keys may live in different slots).
 */
import {
  createClient,
  createCluster,
  type RedisClientConnectionType,
  type RedisClientOptions,
  type RedisClusterOptions,
} from '@keyv/redis'
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

/** The commands the tier sends, common to a node-redis client and cluster. */
interface Conn {
  get(key: string): Promise<unknown>
  set(key: string, value: Payload, options?: { PX?: number; NX?: boolean }): Promise<unknown>
  mGet(keys: string[]): Promise<unknown[]>
  del(keys: string | string[]): Promise<number>
  incr(key: string): Promise<number>
  connect(): Promise<unknown>
  destroy(): void
  close(): Promise<void>
  on(event: string, listener: (...args: unknown[]) => void): unknown
  off(event: string, listener: (...args: unknown[]) => void): unknown
  readonly isOpen: boolean
}

/** `sendCommand` of a node-redis client and of a cluster (which routes by a key, or to any node without one). */
interface ClientCommands {
  sendCommand(args: string[], options?: CommandOptions): Promise<unknown>
}
interface ClusterCommands {
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean,
    args: string[],
    options?: CommandOptions,
  ): Promise<unknown>
}
interface CommandOptions {
  typeMapping?: Record<number, unknown>
}

/** How often the server's clock is read again, ms. */
const CLOCK_CHECK_MS = 30_000
/** A clock reading whose round trip took longer than this is not used, ms. */
const CLOCK_MAX_RTT_MS = 200
/** Offsets smaller than this are measurement noise and not corrected, ms. */
const CLOCK_TOLERANCE_MS = 50

/** RESP3 blob string type code (`$`): mapped to Buffer so binary payloads survive. */
const BLOB_STRING = 36
/** Bulk-string replies as Buffers (see `readBytes`). */
const AS_BUFFERS: CommandOptions = { typeMapping: { [BLOB_STRING]: Buffer } }
const CLOSE_GRACE_MS = 300
const noop = (): void => {}

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

  let closed = false
  const reconnectStrategy = (retries: number): number | false =>
    closed ? false : Math.min(50 * 2 ** Math.min(retries, 10), maxDelay) + Math.floor(Math.random() * 100)
  const socket = { connectTimeout, reconnectStrategy }

  let raw: RedisClientConnectionType
  let owned = true
  let isCluster = false
  if ('url' in connection && typeof connection.url === 'string') {
    const extra = o.clientOptions ?? {}
    raw = createClient({
      ...extra,
      url: connection.url,
      disableOfflineQueue: true,
      socket: { ...(extra.socket ?? {}), ...socket },
    } as RedisClientOptions)
  } else if ('cluster' in connection && connection.cluster !== undefined) {
    const rootNodes = connection.cluster.rootNodes
    if (!Array.isArray(rootNodes) || rootNodes.length === 0) {
      throw new TypeError('Expected `cluster.rootNodes` to be a non-empty array of `{ url }`')
    }
    const extra = o.clusterOptions ?? {}
    const defaults = extra.defaults ?? {}
    raw = createCluster({
      ...extra,
      rootNodes: rootNodes.map((n) => ({ url: n.url })),
      defaults: {
        ...defaults,
        disableOfflineQueue: true,
        socket: { ...(defaults.socket ?? {}), ...socket },
      },
    } as RedisClusterOptions) as unknown as RedisClientConnectionType
    isCluster = true
  } else if ('client' in connection && connection.client !== undefined) {
    raw = connection.client
    owned = false
    isCluster = isClusterClient(raw)
  } else if ('keyv' in connection && connection.keyv !== undefined) {
    const k = connection.keyv as Partial<KeyvRedisLike> & { store?: Partial<KeyvRedisLike> }
    const client = k.client ?? k.store?.client
    if (client === undefined || client === null || typeof client !== 'object') {
      throw new TypeError(
        'Expected `keyv` to be a Keyv instance backed by @keyv/redis (or a KeyvRedis store); for other Keyv stores use keyvTier()',
      )
    }
    raw = client
    owned = false
    isCluster = isClusterClient(raw)
  } else {
    throw new TypeError('Expected `redisTier` connection to have one of `url`, `client`, `keyv` or `cluster`')
  }

  const conn = raw as unknown as Conn
  // Reads return Buffers: a binary serializer's payload must not be decoded as UTF-8 text. The type mapping
  // goes with each command (`sendCommand`'s options) rather than through `withTypeMapping`, whose proxy
  // cost about 2 us per read one at a time (4-5% of a loopback GET).
  const readBytes: (args: string[], key: string) => Promise<unknown> = isCluster
    ? (args, key) => (raw as unknown as ClusterCommands).sendCommand(key, true, args, AS_BUFFERS)
    : (args) => (raw as unknown as ClientCommands).sendCommand(args, AS_BUFFERS)
  // Until the first connection attempt succeeds or fails, operations wait for it (within the engine's
  // deadline) instead of failing as "offline" the instant after construction. After that, offline fails fast.
  let initial: Promise<void> | undefined
  let release: () => void = noop
  if (owned || !conn.isOpen) {
    initial = new Promise<void>((resolve) => {
      release = () => {
        initial = undefined
        release = noop
        resolve()
      }
    })
  }
  const onError = (): void => release()
  conn.on('error', onError)
  if (isCluster) conn.on('node-error', onError)

  // Connecting. A standalone client retries by itself (reconnectStrategy); a cluster's initial topology
  // discovery does not, so failed connects are retried here on an unref'ed timer.
  let retryTimer: NodeJS.Timeout | undefined
  let attempts = 0
  const connect = (): void => {
    if (closed || conn.isOpen) return
    conn.connect().then(
      () => {
        attempts = 0
        release()
      },
      () => {
        release()
        if (closed) return
        retryTimer = setTimeout(connect, reconnectStrategy(attempts++) || maxDelay)
        retryTimer.unref()
      },
    )
  }
  connect()

  // Generation (see the file comment).
  const genKey = `${prefix}#gen`
  let gen: string | undefined
  let base = ''
  let nextCheck = 0
  let loading: Promise<string> | undefined
  const useGen = (g: string): string => {
    if (g !== gen) {
      gen = g
      base = `${prefix}${g}:`
    }
    nextCheck = Date.now() + genInterval
    return g
  }
  // The server's clock minus ours (see RemoteTier.clockOffset), measured with TIME beside the generation
  // reads, at most every CLOCK_CHECK_MS.
  let offset = 0
  let nextClock = 0
  const measureClock = async (): Promise<void> => {
    nextClock = Date.now() + CLOCK_CHECK_MS
    const t0 = Date.now()
    const reply = (await (isCluster
      ? (raw as unknown as ClusterCommands).sendCommand(undefined, true, ['TIME'])
      : (raw as unknown as ClientCommands).sendCommand(['TIME']))) as unknown
    const t1 = Date.now()
    if (!Array.isArray(reply) || t1 - t0 > CLOCK_MAX_RTT_MS) return // an imprecise reading is not used
    const server = Number(reply[0]) * 1000 + Number(reply[1]) / 1000
    if (!Number.isFinite(server)) return
    const measured = server - (t0 + t1) / 2
    offset = Math.abs(measured) < CLOCK_TOLERANCE_MS ? 0 : Math.round(measured)
  }
  const loadGen = (): Promise<string> => {
    if (loading !== undefined) return loading
    const read = (async () => {
      if (initial !== undefined) await initial
      let v = await conn.get(genKey)
      if (v === null || v === undefined) {
        await conn.set(genKey, String(Date.now()), { NX: true })
        v = await conn.get(genKey)
      }
      if (Date.now() >= nextClock) await measureClock().catch(noop) // TIME refused: no correction
      return useGen(String(v))
    })()
    // Its own deadline: on a stalled server, callers waiting for the generation must not pile up.
    let timer: NodeJS.Timeout | undefined
    const p = Promise.race([
      read,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name}: generation read timed out`)), connectTimeout * 2)
      }),
    ])
    read.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    )
    loading = p
    p.then(
      () => {
        loading = undefined
      },
      () => {
        loading = undefined
        // Keep the last known generation; try again after an interval, not on every call.
        if (gen !== undefined) nextCheck = Date.now() + genInterval
      },
    )
    return p
  }
  /** The key prefix with the generation, or a promise of it when the generation is not known yet. */
  const keyBase = (): string | Promise<string> => {
    if (gen !== undefined) {
      if (Date.now() >= nextCheck && loading === undefined) loadGen().catch(noop)
      return base
    }
    return loadGen().then(() => base)
  }

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
    client: raw,
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
    async clear() {
      const n = await done(conn.incr(genKey))
      useGen(String(n))
    },
    async close() {
      if (closed) return
      closed = true
      clearTimeout(retryTimer)
      release()
      if (!owned) {
        conn.off('error', onError)
        if (isCluster) conn.off('node-error', onError)
        return
      }
      // Let answered-soon commands finish (pending writes), but never wait on a stalled or dead server.
      if (conn.isOpen) {
        let timer: NodeJS.Timeout | undefined
        const graceful = conn.close().catch(noop)
        await Promise.race([graceful, new Promise<void>((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))])
        clearTimeout(timer)
        try {
          if (conn.isOpen) conn.destroy()
        } catch {
          // already closed
        }
      } else {
        try {
          conn.destroy()
        } catch {
          // not open
        }
      }
      // The error listener stays: a connect attempt still in flight may report after this.
    },
  }
  tier.clockOffset = () => offset
  if (isCluster) {
    const table = raw as unknown as ClusterSlots
    tier.nodeOf = (key) => (gen === undefined ? undefined : table.slots[keySlot(base + key)]?.master?.address)
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

function isClusterClient(client: RedisClientConnectionType): boolean {
  const c = client as unknown as { _slots?: unknown; masters?: unknown }
  return c._slots !== undefined || Array.isArray(c.masters)
}
