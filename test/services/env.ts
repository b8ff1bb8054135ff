/**
 * Shared entry for tests that need "a Redis", "a Memcached" or "a Redis Cluster".
 *
 * - `REDIS_URL`, `MEMCACHED_SERVERS` (comma-separated `host:port`) and `REDIS_CLUSTER_NODES`
 *   (comma-separated urls) select external servers.
 * - Otherwise one server (or cluster) per test worker process is started lazily on free loopback
 *   ports and shared by the tests of that process. `stopAll()` stops them; anything still running
 *   is SIGKILLed when the process exits (see process.ts), so a crashed run leaves nothing behind.
 *
 * Tests that kill, pause or restart a server must start their own with `startRedis()` /
 * `startMemcached()` instead of using these shared ones.
 */
import { type RedisCluster, startRedisCluster } from './cluster.js'
import { type MemcachedServer, startMemcached } from './memcached.js'
import { killAllTrackedSync } from './process.js'
import { type RedisServer, startRedis } from './redis.js'

export { killAllTrackedSync }

export interface RedisTarget {
  url: string
  external: boolean
}

export interface MemcachedTarget {
  /** `host:port` entries. */
  servers: string[]
  external: boolean
}

export interface RedisClusterTarget {
  rootNodes: { url: string }[]
  external: boolean
}

let redis: Promise<RedisServer> | undefined
let memcached: Promise<MemcachedServer> | undefined
let cluster: Promise<RedisCluster> | undefined

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

/** Starts lazily and memoizes; a failed start is not cached, so the next call retries. */
function lazily<T>(
  current: Promise<T> | undefined,
  start: () => Promise<T>,
  store: (p: Promise<T> | undefined) => void,
) {
  if (current) return current
  const started = start()
  store(started)
  started.catch(() => store(undefined))
  return started
}

export async function getRedis(): Promise<RedisTarget> {
  const external = process.env.REDIS_URL?.trim()
  if (external) return { url: external, external: true }
  const server = await lazily(
    redis,
    () => startRedis(),
    (p) => (redis = p),
  )
  return { url: server.url, external: false }
}

export async function getMemcached(): Promise<MemcachedTarget> {
  const external = list(process.env.MEMCACHED_SERVERS)
  if (external.length > 0) return { servers: external, external: true }
  const server = await lazily(
    memcached,
    () => startMemcached(),
    (p) => (memcached = p),
  )
  return { servers: [server.address], external: false }
}

export async function getRedisCluster(): Promise<RedisClusterTarget> {
  const external = list(process.env.REDIS_CLUSTER_NODES)
  if (external.length > 0) return { rootNodes: external.map((url) => ({ url })), external: true }
  const started = await lazily(
    cluster,
    () => startRedisCluster({ masters: 3 }),
    (p) => (cluster = p),
  )
  return { rootNodes: started.rootNodes, external: false }
}

/** Stops every server started by this module (external servers are left alone). */
export async function stopAll(): Promise<void> {
  const pending = [redis, memcached, cluster]
  redis = undefined
  memcached = undefined
  cluster = undefined
  await Promise.all(
    pending.map(async (entry) => {
      if (!entry) return
      try {
        const started = await entry
        await started.stop()
      } catch {
        // it never started
      }
    }),
  )
}
