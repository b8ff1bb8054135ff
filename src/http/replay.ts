/**
 * Background revalidation on Node's `http` server (every bundled adapter): a copy of a request is sent
 * through the app again, inside the process, as if a client had sent it, so that the route's handler
 * refreshes a stale response while the request that found it stale was answered with the stale copy
 * (Varnish grace mode, nginx `proxy_cache_background_update`). The copy goes through every middleware
 * the original went through, with the original's headers (minus conditional ones) and client address;
 * its response is written to a socket that drops the bytes.
 */
import { EventEmitter } from 'node:events'
import { IncomingMessage, ServerResponse } from 'node:http'
import { Duplex } from 'node:stream'
import { CONDITIONAL_HEADERS } from './reply.js'

/** Set on the copy's `IncomingMessage`: no client can send it, so only a replay is read as one. */
const REPLAY = Symbol('tiercache.replay')

/** Longest a replayed request may run before its response is dropped. */
const REPLAY_LIMIT_MS = 60_000

/** Whether `req` is a copy made by {@link replayRequest}. */
export function isReplay(req: IncomingMessage | undefined): boolean {
  return req !== undefined && (req as { [REPLAY]?: boolean })[REPLAY] === true
}

/** A socket that accepts and drops what is written, with the original connection's addresses. */
class NullSocket extends Duplex {
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly remoteFamily: string | undefined
  readonly localAddress: string | undefined
  readonly localPort: number | undefined
  readonly encrypted: boolean | undefined

  constructor(from: IncomingMessage['socket']) {
    super()
    this.remoteAddress = from.remoteAddress
    this.remotePort = from.remotePort
    this.remoteFamily = from.remoteFamily
    this.localAddress = from.localAddress
    this.localPort = from.localPort
    this.encrypted = (from as { encrypted?: boolean }).encrypted
  }
  override _read(): void {}
  override _write(
    _chunk: unknown,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    callback()
  }
  setTimeout(): this {
    return this
  }
  setNoDelay(): this {
    return this
  }
  setKeepAlive(): this {
    return this
  }
  ref(): this {
    return this
  }
  unref(): this {
    return this
  }
}

/**
 * Sends a GET copy of `original` through the server it arrived on, on the next turn of the event loop.
 * `done` runs once when the copy's response has finished (or failed, or ran over a minute). Returns
 * `false`, and does nothing, when there is no server to send it through (HTTP/2, a request not from a
 * Node `http`/`https` server).
 */
export function replayRequest(original: IncomingMessage, done: () => void): boolean {
  const socket = original.socket as (IncomingMessage['socket'] & { server?: unknown }) | null
  const server = socket?.server
  if (socket === null || !(server instanceof EventEmitter) || original.httpVersionMajor !== 1) return false
  const fake = new NullSocket(socket)
  const req = new IncomingMessage(fake as unknown as IncomingMessage['socket'])
  ;(req as { [REPLAY]?: boolean })[REPLAY] = true
  req.method = 'GET'
  req.url = original.url ?? '/'
  req.httpVersion = original.httpVersion
  req.httpVersionMajor = original.httpVersionMajor
  req.httpVersionMinor = original.httpVersionMinor
  const headers: Record<string, string | string[] | undefined> = { ...original.headers }
  for (const name of [...CONDITIONAL_HEADERS, 'content-length', 'transfer-encoding', 'expect']) {
    delete headers[name]
  }
  req.headers = headers as IncomingMessage['headers']
  const raw: string[] = []
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) raw.push(name, v)
  }
  req.rawHeaders = raw
  req.complete = true
  req.push(null)
  const res = new ServerResponse(req)
  res.assignSocket(fake as unknown as Parameters<ServerResponse['assignSocket']>[0])
  let settled = false
  const timer = setTimeout(() => res.destroy(), REPLAY_LIMIT_MS)
  timer.unref()
  const finish = (): void => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    fake.destroy()
    done()
  }
  res.once('finish', finish)
  res.once('close', finish)
  setImmediate(() => {
    try {
      server.emit('request', req, res)
    } catch {
      res.destroy()
      finish()
    }
  })
  return true
}
