/**
 * A real Redis Cluster of N masters (no replicas) on free loopback ports.
 * Formed with `redis-cli --cluster create` when available, else with CLUSTER ADDSLOTSRANGE/MEET.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { freePort, isPortFree } from './ports.js'
import { findBinary, makeTempDir, removeTempDir, sleep } from './process.js'
import {
  type RedisServer,
  RespError,
  redisMajorVersion,
  resolveRedisBinary,
  respCall,
  startRedis,
} from './redis.js'

export const CLUSTER_SLOTS = 16_384

export interface StartRedisClusterOptions {
  /** Number of masters (default 3). */
  masters?: number
  /** Extra `redis-server` arguments for every node. */
  args?: string[]
  /** `redis-cli` (default when installed) or `manual` (CLUSTER ADDSLOTSRANGE + MEET). */
  formation?: 'redis-cli' | 'manual'
  /** How long to wait for `cluster_state:ok` on every node (default 20 s). */
  readyTimeoutMs?: number
}

export interface RedisCluster {
  /** One `{ url }` per master, the shape node-redis `createCluster({ rootNodes })` takes. */
  rootNodes: { url: string }[]
  nodes: RedisServer[]
  /** How the cluster was formed. */
  formation: 'redis-cli' | 'manual'
  stop(): Promise<void>
}

/** Slot ranges `[start, end]` split evenly across `n` masters, like redis-cli does. */
export function slotRanges(n: number): [number, number][] {
  const ranges: [number, number][] = []
  const per = CLUSTER_SLOTS / n
  for (let i = 0; i < n; i++) {
    const start = Math.round(i * per)
    const end = i === n - 1 ? CLUSTER_SLOTS - 1 : Math.round((i + 1) * per) - 1
    ranges.push([start, end])
  }
  return ranges
}

function runRedisCli(binary: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0 && !/\[ERR\]/.test(output)) resolve()
      else reject(new Error(`redis-cli --cluster create failed (code ${code}, signal ${signal}):\n${output}`))
    })
  })
}

/** A free port for a node and its cluster bus (port + 10000 when the bus port is not configurable). */
async function clusterPorts(explicitBusPort: boolean): Promise<{ port: number; busPort: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort()
    if (explicitBusPort) return { port, busPort: await freePort() }
    if (port + 10_000 <= 65_535 && (await isPortFree(port + 10_000))) return { port, busPort: port + 10_000 }
  }
  throw new Error('could not find a free port pair for a Redis Cluster node')
}

async function expectOk(port: number, args: string[]): Promise<void> {
  const reply = await respCall(port, args, { timeoutMs: 5_000 })
  if (reply !== 'OK') throw new Error(`${args.join(' ')} on port ${port} replied ${String(reply)}`)
}

async function formManually(nodes: RedisServer[], busPorts: number[]): Promise<void> {
  const ranges = slotRanges(nodes.length)
  for (const [i, node] of nodes.entries()) {
    // Distinct config epochs up front, as redis-cli does, so no epoch collision has to be resolved.
    await expectOk(node.port, ['CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1)])
    const [start, end] = ranges[i]
    await expectOk(node.port, ['CLUSTER', 'ADDSLOTSRANGE', String(start), String(end)])
  }
  const [first] = nodes
  for (const [i, node] of nodes.entries()) {
    if (i === 0) continue
    await expectOk(first.port, ['CLUSTER', 'MEET', '127.0.0.1', String(node.port), String(busPorts[i])])
  }
}

async function clusterStateOk(port: number, masters: number): Promise<boolean> {
  try {
    const info = await respCall(port, ['CLUSTER', 'INFO'], { timeoutMs: 1_000 })
    return (
      typeof info === 'string' &&
      /^cluster_state:ok\r?$/m.test(info) &&
      new RegExp(`^cluster_slots_assigned:${CLUSTER_SLOTS}\\r?$`, 'm').test(info) &&
      new RegExp(`^cluster_known_nodes:${masters}\\r?$`, 'm').test(info)
    )
  } catch {
    return false
  }
}

export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3
  const redisCli = findBinary('redis-cli')
  const formation = options.formation ?? (redisCli ? 'redis-cli' : 'manual')
  const dir = await makeTempDir('tiercache-cluster-')
  const members: { node: RedisServer; busPort: number }[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(members.map(({ node }) => node.stop()))
    await removeTempDir(dir)
  }
  let nodes: RedisServer[] = []
  try {
    // Redis 7 takes an explicit bus port; before, it is always port + 10000.
    const explicitBusPort =
      redisMajorVersion(resolveRedisBinary('redis-server', undefined, 'REDIS_CLUSTER_NODES')) >= 7
    await Promise.all(
      Array.from({ length: masters }, async () => {
        for (let attempt = 0; ; attempt++) {
          const { port, busPort } = await clusterPorts(explicitBusPort)
          try {
            const node = await startRedis({
              port,
              args: [
                '--cluster-enabled',
                'yes',
                ...(explicitBusPort ? ['--cluster-port', String(busPort)] : []),
                '--cluster-config-file',
                join(dir, `nodes-${port}.conf`),
                '--cluster-node-timeout',
                '2000',
                ...(options.args ?? []),
              ],
            })
            members.push({ node, busPort })
            return
          } catch (err) {
            if (attempt >= 3) throw err
          }
        }
      }),
    )
    members.sort((a, b) => a.node.port - b.node.port)
    nodes = members.map((member) => member.node)
    const busPorts = members.map((member) => member.busPort)

    if (formation === 'redis-cli') {
      if (!redisCli) throw new Error('redis-cli not found; install it with `apt-get install -y redis-tools`')
      await runRedisCli(redisCli, [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ])
    } else {
      await formManually(nodes, busPorts)
    }

    const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000)
    while (true) {
      const states = await Promise.all(nodes.map((node) => clusterStateOk(node.port, masters)))
      if (states.every(Boolean)) break
      if (Date.now() > deadline) {
        throw new Error(
          `Redis Cluster did not reach cluster_state:ok within ${options.readyTimeoutMs ?? 20_000} ms`,
        )
      }
      await sleep(50)
    }
  } catch (err) {
    await stop()
    throw err
  }
  return {
    rootNodes: nodes.map((node) => ({ url: node.url })),
    nodes,
    formation,
    stop,
  }
}

/**
 * The `host:port` of the master holding the Redis key `key`, as the cluster answers it: asks the first of
 * `rootNodes`, which replies for its own slots and with `MOVED <slot> <host:port>` for the others.
 */
export async function clusterKeyOwner(rootNodes: readonly { url: string }[], key: string): Promise<string> {
  const first = new URL(rootNodes[0]!.url)
  const reply = await respCall(Number(first.port), ['EXISTS', key], {
    host: first.hostname,
    timeoutMs: 5_000,
  })
  if (reply instanceof RespError) {
    const moved = /^MOVED \d+ (\S+)$/.exec(reply.message)
    if (moved === null) throw reply
    return moved[1]!
  }
  return first.host
}
