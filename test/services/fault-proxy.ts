/**
 * A small TCP proxy on 127.0.0.1:0 in front of a server, for fault tests: adds latency per chunk
 * (both directions, order preserved), can turn into a blackhole (accepts and reads, never forwards
 * nor replies), and can reset every client connection.
 */
import { connect, createServer, type Socket } from 'node:net'
import { LOOPBACK } from './ports.js'

export interface FaultProxyOptions {
  targetHost?: string
  /** Initial latency in ms (default 0). */
  latencyMs?: number
}

export interface FaultProxy {
  readonly host: string
  readonly port: number
  /** `127.0.0.1:PORT` (memcached-style server address). */
  readonly address: string
  /** `redis://127.0.0.1:PORT`, for a proxy in front of Redis. */
  readonly url: string
  /** Client connections currently open through the proxy. */
  readonly connections: number
  /** Delay applied to every chunk, in each direction (a round trip gets it twice). */
  setLatency(ms: number): void
  /** When on: keep accepting and reading, but drop everything (no forwarding, no replies). */
  blackhole(on: boolean): void
  /** Destroys all client connections (and their upstream connections). */
  reset(): void
  /** Resets and stops listening. */
  close(): Promise<void>
}

interface ProxyState {
  latencyMs: number
  blackholed: boolean
}

/** Moves data from `src` to `dst`, each chunk delayed by the current latency, in order. */
class DelayedPipe {
  private readonly queue: { data: Buffer; due: number }[] = []
  private timer: NodeJS.Timeout | undefined
  private ended = false

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly state: ProxyState,
  ) {
    src.on('data', (chunk: Buffer) => this.push(chunk))
    src.on('end', () => {
      this.ended = true
      this.maybeEnd()
    })
  }

  private push(chunk: Buffer): void {
    if (this.state.blackholed) return
    if (this.state.latencyMs <= 0 && this.queue.length === 0) {
      this.write(chunk)
      return
    }
    this.queue.push({ data: chunk, due: performance.now() + this.state.latencyMs })
    this.schedule()
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return
    const wait = Math.max(0, Math.ceil(this.queue[0].due - performance.now()))
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.flush()
    }, wait)
  }

  private flush(): void {
    const now = performance.now()
    while (this.queue.length > 0 && this.queue[0].due <= now) {
      const { data } = this.queue.shift()!
      if (!this.state.blackholed) this.write(data)
    }
    this.schedule()
    this.maybeEnd()
  }

  private write(data: Buffer): void {
    if (this.dst.destroyed) return
    if (!this.dst.write(data)) {
      this.src.pause()
      this.dst.once('drain', () => this.src.resume())
    }
  }

  private maybeEnd(): void {
    if (this.ended && this.queue.length === 0 && !this.dst.destroyed) this.dst.end()
  }

  dispose(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.queue.length = 0
  }
}

export function startFaultProxy(targetPort: number, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const targetHost = options.targetHost ?? LOOPBACK
  const state: ProxyState = { latencyMs: options.latencyMs ?? 0, blackholed: false }
  const clients = new Set<Socket>()

  const server = createServer({ allowHalfOpen: true }, (client) => {
    clients.add(client)
    const upstream = connect({ host: targetHost, port: targetPort, allowHalfOpen: true })
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    const pipes = [new DelayedPipe(client, upstream, state), new DelayedPipe(upstream, client, state)]
    const teardown = (): void => {
      for (const pipe of pipes) pipe.dispose()
      client.destroy()
      upstream.destroy()
      clients.delete(client)
    }
    client.on('error', teardown)
    client.on('close', teardown)
    upstream.on('error', () => {
      // A blackhole stays silent even when the target is gone: keep absorbing client bytes.
      if (state.blackholed) upstream.destroy()
      else teardown()
    })
    upstream.on('close', () => {
      if (!state.blackholed) teardown()
    })
  })

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: 0, host: LOOPBACK }, () => {
      server.off('error', reject)
      const address = server.address()
      if (address === null || typeof address === 'string') {
        reject(new Error('fault proxy: could not read the bound port'))
        return
      }
      const port = address.port
      const reset = (): void => {
        for (const client of [...clients]) client.destroy()
      }
      resolve({
        host: LOOPBACK,
        port,
        address: `${LOOPBACK}:${port}`,
        url: `redis://${LOOPBACK}:${port}`,
        get connections() {
          return clients.size
        },
        setLatency(ms: number) {
          state.latencyMs = Math.max(0, ms)
        },
        blackhole(on: boolean) {
          state.blackholed = on
        },
        reset,
        close() {
          reset()
          return new Promise<void>((done) => server.close(() => done()))
        },
      })
    })
  })
}
