/**
 * Tests of the test harness itself: real redis-server / memcached processes, a Redis Cluster,
 * the fault proxy, and the clear failure when a binary is missing.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisCluster, slotRanges, startRedisCluster } from './services/cluster.js'
import { getMemcached, getRedis, getRedisCluster, stopAll } from './services/env.js'
import { type FaultProxy, startFaultProxy } from './services/fault-proxy.js'
import {
  MEMCACHED_MISSING_MESSAGE,
  type MemcachedServer,
  memcachedCommand,
  startMemcached,
} from './services/memcached.js'
import { freePort } from './services/ports.js'
import {
  REDIS_MISSING_MESSAGE,
  type RedisServer,
  respCommand,
  ServiceTimeoutError,
  startRedis,
} from './services/redis.js'

/** True while `pid` exists and is not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).charAt(0) !== 'Z'
  } catch {
    return false
  }
}

async function waitUntilDead(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return !isAlive(pid)
}

describe('ports', () => {
  it('hands out distinct free loopback ports', async () => {
    const [a, b] = await Promise.all([freePort(), freePort()])
    expect(a).toBeGreaterThan(0)
    expect(b).toBeGreaterThan(0)
    expect(a).not.toBe(b)
  })
})

describe('redis-server', () => {
  let redis: RedisServer

  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('answers PING, SET and GET on a fresh loopback port', async () => {
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`)
    expect(redis.port).not.toBe(6379)
    expect(await redis.command('PING')).toBe('+PONG\r\n')
    expect(await redis.command('SET', 'a', '1')).toBe('+OK\r\n')
    expect(await redis.command('GET', 'a')).toBe('$1\r\n1\r\n')
    expect(await redis.call('GET', 'a')).toBe('1')
    expect(await redis.call('DBSIZE')).toBe(1)
    expect(await redis.call('CONFIG', 'GET', 'save')).toEqual(['save', ''])
    expect(await redis.command('KEYS', '*')).toBe('*1\r\n$1\r\na\r\n')
  })

  it('stops answering while paused and answers again after resume', async () => {
    await redis.pause()
    try {
      await expect(respCommand(redis.port, ['PING'], { timeoutMs: 300 })).rejects.toBeInstanceOf(
        ServiceTimeoutError,
      )
    } finally {
      await redis.resume()
    }
    expect(await respCommand(redis.port, ['PING'], { timeoutMs: 1_000 })).toBe('+PONG\r\n')
  })

  it('restarts on the same port after SIGKILL, empty', async () => {
    const { port, pid } = redis
    await redis.command('SET', 'before', 'kill')
    await redis.kill()
    expect(redis.running).toBe(false)
    expect(isAlive(pid)).toBe(false)
    await expect(respCommand(port, ['PING'], { timeoutMs: 300 })).rejects.toThrow()
    await redis.restart()
    expect(redis.port).toBe(port)
    expect(redis.pid).not.toBe(pid)
    expect(redis.running).toBe(true)
    expect(await respCommand(port, ['PING'])).toBe('+PONG\r\n')
    expect(await redis.call('GET', 'before')).toBeNull()
  })

  it('applies extra args (maxmemory), CONFIG SET, FLUSHALL and DEBUG SLEEP', async () => {
    const small = await startRedis({ args: ['--maxmemory', '1mb', '--maxmemory-policy', 'noeviction'] })
    try {
      expect(await small.call('CONFIG', 'GET', 'maxmemory')).toEqual(['maxmemory', '1048576'])
      expect(await small.command('CONFIG', 'SET', 'maxmemory', '2mb')).toBe('+OK\r\n')
      expect(await small.command('FLUSHALL')).toBe('+OK\r\n')
      const started = performance.now()
      expect(await small.command('DEBUG', 'SLEEP', '0.2')).toBe('+OK\r\n')
      expect(performance.now() - started).toBeGreaterThanOrEqual(190)
    } finally {
      await small.stop()
    }
    expect(small.running).toBe(false)
  })
})

describe('memcached', () => {
  let memcached: MemcachedServer

  beforeAll(async () => {
    memcached = await startMemcached({ memoryMb: 16 })
  })
  afterAll(async () => {
    await memcached?.stop()
  })

  it('sets and gets through raw text-protocol commands', async () => {
    expect(memcached.address).toBe(`127.0.0.1:${memcached.port}`)
    expect(memcached.port).not.toBe(11211)
    expect(await memcached.command('version')).toMatch(/^VERSION \d+\.\d+/)
    expect(await memcached.command('set k 0 0 5', 'hello')).toBe('STORED\r\n')
    expect(await memcached.command('set crlf 0 0 8', 'END\r\nEND')).toBe('STORED\r\n')
    expect(await memcached.command('get k')).toBe('VALUE k 0 5\r\nhello\r\nEND\r\n')
    expect(await memcached.command('get crlf')).toBe('VALUE crlf 0 8\r\nEND\r\nEND\r\nEND\r\n')
    expect(await memcached.command('get missing')).toBe('END\r\n')
    expect(await memcached.command('set quiet 0 0 1 noreply', 'q')).toBe('')
    expect(await memcached.command('get quiet')).toBe('VALUE quiet 0 1\r\nq\r\nEND\r\n')
    const stats = await memcached.command('stats')
    expect(stats).toMatch(new RegExp(`STAT pid ${memcached.pid}\\r\\n`))
    expect(stats).toMatch(/STAT limit_maxbytes 16777216\r\n/)
    expect(stats.endsWith('END\r\n')).toBe(true)
  })

  it('pauses, resumes, and restarts on the same port', async () => {
    await memcached.pause()
    try {
      await expect(
        memcachedCommand(memcached.port, 'version', undefined, { timeoutMs: 300 }),
      ).rejects.toBeInstanceOf(ServiceTimeoutError)
    } finally {
      await memcached.resume()
    }
    expect(await memcached.command('version')).toMatch(/^VERSION /)
    const { port, pid } = memcached
    await memcached.kill()
    expect(isAlive(pid)).toBe(false)
    await memcached.restart()
    expect(memcached.port).toBe(port)
    expect(memcached.pid).not.toBe(pid)
    expect(await memcached.command('get k')).toBe('END\r\n')
  })
})

describe('redis cluster', () => {
  let cluster: RedisCluster

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 })
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  it('forms with 3 masters covering all slots', async () => {
    expect(cluster.rootNodes).toHaveLength(3)
    expect(new Set(cluster.rootNodes.map((node) => node.url)).size).toBe(3)
    for (const node of cluster.nodes) {
      expect(node.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/)
      const info = await node.command('CLUSTER', 'INFO')
      expect(info).toMatch(/cluster_state:ok/)
      expect(info).toMatch(/cluster_slots_assigned:16384/)
      expect(info).toMatch(/cluster_size:3/)
    }
    const masters = await cluster.nodes[0].command('CLUSTER', 'NODES')
    expect(masters.match(/master/g)).toHaveLength(3)
  })

  it('splits slots like redis-cli', () => {
    expect(slotRanges(3)).toEqual([
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ])
  })

  it('also forms without redis-cli (ADDSLOTSRANGE + MEET)', async () => {
    const manual = await startRedisCluster({ masters: 3, formation: 'manual' })
    try {
      expect(manual.formation).toBe('manual')
      for (const node of manual.nodes) {
        expect(await node.command('CLUSTER', 'INFO')).toMatch(/cluster_state:ok/)
      }
    } finally {
      await manual.stop()
    }
  })
})

describe('fault proxy', () => {
  let redis: RedisServer
  let proxy: FaultProxy

  beforeAll(async () => {
    redis = await startRedis()
    proxy = await startFaultProxy(redis.port)
  })
  afterAll(async () => {
    await proxy?.close()
    await redis?.stop()
  })

  it('forwards transparently by default', async () => {
    expect(proxy.url).toBe(`redis://127.0.0.1:${proxy.port}`)
    expect(await respCommand(proxy.port, ['SET', 'via', 'proxy'])).toBe('+OK\r\n')
    expect(await redis.call('GET', 'via')).toBe('proxy')
  })

  it('adds latency', async () => {
    proxy.setLatency(200)
    try {
      const started = performance.now()
      expect(await respCommand(proxy.port, ['PING'])).toBe('+PONG\r\n')
      expect(performance.now() - started).toBeGreaterThanOrEqual(200)
    } finally {
      proxy.setLatency(0)
    }
    const started = performance.now()
    await respCommand(proxy.port, ['PING'])
    expect(performance.now() - started).toBeLessThan(400)
  })

  it('keeps the order of chunks under latency', async () => {
    proxy.setLatency(50)
    try {
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, i) => respCommand(proxy.port, ['ECHO', `m${i}`])),
      )
      expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => `$${String(i).length + 1}\r\nm${i}\r\n`))
    } finally {
      proxy.setLatency(0)
    }
  })

  it('blackholes: accepts but never answers, then recovers', async () => {
    proxy.blackhole(true)
    try {
      await expect(respCommand(proxy.port, ['PING'], { timeoutMs: 300 })).rejects.toBeInstanceOf(
        ServiceTimeoutError,
      )
    } finally {
      proxy.blackhole(false)
    }
    expect(await respCommand(proxy.port, ['PING'], { timeoutMs: 1_000 })).toBe('+PONG\r\n')
  })

  it('reset destroys open client connections', async () => {
    const waitFor = async (condition: () => boolean): Promise<void> => {
      const deadline = Date.now() + 1_000
      while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    }
    await waitFor(() => proxy.connections === 0) // earlier tests' sockets are closing
    proxy.blackhole(true)
    const pending = respCommand(proxy.port, ['PING'], { timeoutMs: 2_000 })
    await waitFor(() => proxy.connections === 1)
    proxy.reset()
    proxy.blackhole(false)
    await expect(pending).rejects.toThrow(/closed before a complete reply/)
  })
})

describe('missing binaries and process cleanup', () => {
  let emptyDir: string

  beforeAll(async () => {
    emptyDir = await mkdtemp(join(tmpdir(), 'tiercache-empty-path-'))
  })
  afterAll(async () => {
    await rm(emptyDir, { recursive: true, force: true })
  })

  it('fails loudly with install instructions when redis-server is missing', async () => {
    expect(REDIS_MISSING_MESSAGE).toBe(
      'redis-server not found; install it with `apt-get install -y redis-server` (or run .ci/install-services.sh), or set REDIS_URL.',
    )
    await expect(startRedis({ searchPath: emptyDir })).rejects.toThrow(REDIS_MISSING_MESSAGE)
  })

  it('fails loudly with install instructions when memcached is missing', async () => {
    expect(MEMCACHED_MISSING_MESSAGE).toBe(
      'memcached not found; install it with `apt-get install -y memcached` (or run .ci/install-services.sh), or set MEMCACHED_SERVERS.',
    )
    await expect(startMemcached({ searchPath: emptyDir })).rejects.toThrow(MEMCACHED_MISSING_MESSAGE)
  })

  it('in a child process with an empty PATH, prints the clear error; exiting kills its servers', async () => {
    const script = join(emptyDir, 'child.mts')
    const servicesDir = fileURLToPath(new URL('./services', import.meta.url))
    await writeFile(
      script,
      [
        `import { startRedis } from ${JSON.stringify(join(servicesDir, 'redis.js'))}`,
        `import { getRedis } from ${JSON.stringify(join(servicesDir, 'env.js'))}`,
        `import { startMemcached } from ${JSON.stringify(join(servicesDir, 'memcached.js'))}`,
        `const mode = process.argv[2]`,
        `if (mode === 'missing') {`,
        `  process.env.PATH = ${JSON.stringify(emptyDir)}`,
        `  try { await startRedis() } catch (err) { console.log('ERR:' + (err as Error).message) }`,
        `} else {`,
        `  delete process.env.REDIS_URL`,
        `  const shared = mode === 'crash' ? undefined : await getRedis()`,
        `  const server = await startRedis()`,
        `  const mc = await startMemcached()`,
        `  console.log('PIDS:' + JSON.stringify({ url: shared?.url, pid: server.pid, mcPid: mc.pid, dir: server.dir }))`,
        `  if (mode === 'crash') process.kill(process.pid, 'SIGKILL')`,
        `  if (mode === 'term') process.kill(process.pid, 'SIGTERM')`,
        `}`,
      ].join('\n'),
    )
    const run = (mode: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, mode], {
          cwd: process.cwd(),
          stdio: ['ignore', 'pipe', 'inherit'],
        })
        let out = ''
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
        child.once('error', reject)
        child.once('exit', () => resolve(out))
      })

    const [missing, ...outputs] = await Promise.all([run('missing'), run('exit'), run('term'), run('crash')])
    expect(missing.trim()).toBe(`ERR:${REDIS_MISSING_MESSAGE}`)
    for (const output of outputs) {
      const line = output.split('\n').find((l) => l.startsWith('PIDS:'))
      expect(line, output).toBeDefined()
      const { pid, mcPid, url, dir } = JSON.parse(line!.slice(5)) as {
        pid: number
        mcPid: number
        url?: string
        dir: string
      }
      // 'exit' hook, SIGTERM hook, and parent-death signal (setpriv) for a SIGKILLed parent.
      expect(await waitUntilDead(pid, 3_000)).toBe(true)
      expect(await waitUntilDead(mcPid, 3_000)).toBe(true)
      if (url) {
        await expect(respCommand(Number(new URL(url).port), ['PING'], { timeoutMs: 500 })).rejects.toThrow()
      }
      // A SIGKILLed parent cannot remove its temp dir; the hooks did it in the other cases.
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('env', () => {
  afterAll(async () => {
    await stopAll()
  })

  it('uses REDIS_URL, MEMCACHED_SERVERS and REDIS_CLUSTER_NODES when set', async () => {
    const saved = { ...process.env }
    try {
      process.env.REDIS_URL = 'redis://10.0.0.1:7000'
      process.env.MEMCACHED_SERVERS = ' 10.0.0.1:11211, 10.0.0.2:11211 ,'
      process.env.REDIS_CLUSTER_NODES = 'redis://10.0.0.1:7001,redis://10.0.0.2:7002'
      expect(await getRedis()).toEqual({ url: 'redis://10.0.0.1:7000', external: true })
      expect(await getMemcached()).toEqual({ servers: ['10.0.0.1:11211', '10.0.0.2:11211'], external: true })
      expect(await getRedisCluster()).toEqual({
        rootNodes: [{ url: 'redis://10.0.0.1:7001' }, { url: 'redis://10.0.0.2:7002' }],
        external: true,
      })
    } finally {
      for (const key of ['REDIS_URL', 'MEMCACHED_SERVERS', 'REDIS_CLUSTER_NODES']) {
        if (saved[key] === undefined) delete process.env[key]
        else process.env[key] = saved[key]
      }
    }
  })

  it('starts one shared Redis and Memcached per process lazily, or uses the env vars', async () => {
    const first = await getRedis()
    const second = await getRedis()
    expect(second.url).toBe(first.url)
    if (process.env.REDIS_URL) expect(first).toEqual({ url: process.env.REDIS_URL, external: true })
    else expect(first.external).toBe(false)
    const port = Number(new URL(first.url).port)
    expect(await respCommand(port, ['PING'])).toBe('+PONG\r\n')

    const mc = await getMemcached()
    expect(mc.servers).toHaveLength(mc.external ? mc.servers.length : 1)
    const [host, mcPort] = mc.servers[0].split(':')
    expect(await memcachedCommand(Number(mcPort), 'version', undefined, { host })).toMatch(/^VERSION /)
  })
})
