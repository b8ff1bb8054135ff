/**
 * The Redis tier's connection: `{ url } | { client } | { keyv } | { cluster }` resolved into one node-redis
 * client or cluster, connected, with the two ways the tier sends it commands besides the typed ones (`readBytes`
 * for payload reads, `sendKeyless` for `TIME`).
 *
 * Connections the tier creates (`url`, `cluster`) are set up for a cache: offline queue off (a command while
 * disconnected fails at once instead of queueing), a short connect timeout, reconnection forever with capped
 * exponential backoff plus jitter, and an `'error'` listener so node-redis never emits an unhandled `'error'`.
 * The engine puts its own deadline on every call, because node-redis's timeouts do not cover a stalled server.
 * A client given to the tier (`client`, `keyv`) stays its owner's: it is connected if needed and has the
 * `'error'` listener while the tier is open, and `close()` does not close it.
 *
 * Until the first connection attempt succeeds or fails, operations wait for it (`initial`, within the engine's
 * deadline) instead of failing as "offline" the instant after construction; after that, offline fails fast.
 */
import {
  createClient,
  createCluster,
  type RedisClientConnectionType,
  type RedisClientOptions,
  type RedisClusterOptions,
} from '@keyv/redis'
import type { KeyvRedisLike, RedisTierConnection, RedisTierOptions } from './redis.js'
import type { Payload } from './types.js'

/** The commands the tier sends, common to a node-redis client and cluster. */
export interface Conn {
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

/** The tier's connection settings: the timeouts validated, the node-redis options as given. */
export interface ConnectionSettings extends Pick<RedisTierOptions, 'clientOptions' | 'clusterOptions'> {
  connectTimeout: number
  maxReconnectDelay: number
}

/** A connected (or connecting) node-redis client or cluster. */
export interface RedisConnection {
  /** The node-redis client (or cluster), given or created. */
  readonly client: RedisClientConnectionType
  /** The same, as the commands the tier sends. */
  readonly conn: Conn
  readonly isCluster: boolean
  /** Until the first connection attempt has succeeded or failed: settles then (never rejects). */
  readonly initial: Promise<void> | undefined
  /** A read whose bulk-string replies come back as Buffers; in a cluster `key` picks the node. */
  readonly readBytes: (args: string[], key: string) => Promise<unknown>
  /** A read-only command without a key (a cluster sends it to any node). */
  readonly sendKeyless: (args: string[]) => Promise<unknown>
  /**
   * Stops reconnecting. A client the tier created is closed (commands answered soon still finish, but a
   * stalled or dead server is not waited on); a given one only loses the `'error'` listener.
   */
  readonly close: () => Promise<void>
}

/** RESP3 blob string type code (`$`): mapped to Buffer so binary payloads survive. */
const BLOB_STRING = 36
/** Bulk-string replies as Buffers (see `readBytes`). */
const AS_BUFFERS: CommandOptions = { typeMapping: { [BLOB_STRING]: Buffer } }
const CLOSE_GRACE_MS = 300
export const noop = (): void => {}

/** The node-redis client or cluster of `connection`, connecting. Throws a TypeError for a malformed one. */
export function openConnection(
  connection: RedisTierConnection,
  settings: ConnectionSettings,
): RedisConnection {
  const { connectTimeout, maxReconnectDelay: maxDelay } = settings

  let closed = false
  const reconnectStrategy = (retries: number): number | false =>
    closed ? false : Math.min(50 * 2 ** Math.min(retries, 10), maxDelay) + Math.floor(Math.random() * 100)
  const socket = { connectTimeout, reconnectStrategy }

  let raw: RedisClientConnectionType
  let owned = true
  let isCluster = false
  if ('url' in connection && typeof connection.url === 'string') {
    const extra = settings.clientOptions ?? {}
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
    const extra = settings.clusterOptions ?? {}
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
  const sendKeyless: (args: string[]) => Promise<unknown> = isCluster
    ? (args) => (raw as unknown as ClusterCommands).sendCommand(undefined, true, args)
    : (args) => (raw as unknown as ClientCommands).sendCommand(args)
  // Until the first connection attempt succeeds or fails, operations wait for it (see the file comment).
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

  const close = async (): Promise<void> => {
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
  }

  return {
    client: raw,
    conn,
    isCluster,
    get initial() {
      return initial
    },
    readBytes,
    sendKeyless,
    close,
  }
}

function isClusterClient(client: RedisClientConnectionType): boolean {
  const c = client as unknown as { _slots?: unknown; masters?: unknown }
  return c._slots !== undefined || Array.isArray(c.masters)
}
