/**
 * `tiercache/express`: `app.get('/products/:id', cached({ ttl: 60 }), handler)` or `app.use(cached(...))`.
 * Translates Express requests and responses for the HTTP core; all decisions live in `src/http`.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { CachedOptions } from '../src/http/cached-options.js'
import { createHttpCache, type HttpDecision } from '../src/http/core.js'
import type { MissDecision } from '../src/http/fill.js'
import { applyWriteHead as applyHead, replaceHeaders as setPairs } from '../src/http/node.js'
import type { HttpReply } from '../src/http/reply.js'
import type { HttpRequestView } from '../src/http/types.js'

/** Options of the Express `cached()`: function options receive Express's `req` (and `res`). */
export type ExpressCachedOptions = CachedOptions<Request, Response>

/**
 * What `cached()` returns: an Express middleware generic in the route parameters, so that a handler after
 * it keeps the parameter types Express reads from the path (`app.get('/products/:id', cached(), (req) =>
 * req.params.id)` is a `string`). A plain `RequestHandler` would fix them to `ParamsDictionary`.
 */
export type CachedMiddleware = <P>(req: Request<P>, res: Response, next: NextFunction) => void

type Chunk = string | Uint8Array
type Callback = (error?: Error | null) => void
const noop = (): void => {}

/** A middleware that answers from the cache, or runs the route and stores what it may. */
export function cached(options?: ExpressCachedOptions): CachedMiddleware {
  const http = createHttpCache<Request, Response>(options, { incoming: (req) => req })
  const act = (req: Request, res: Response, next: NextFunction, d: HttpDecision): void => {
    if (d.kind === 'hit') {
      send(res, d)
      return
    }
    if (d.kind === 'bypass') {
      for (const [name, value] of d.headers) res.setHeader(name, value)
      const after = d.onResponse
      if (after !== undefined) onHead(res, () => void after(res.statusCode, res.getHeaders()).catch(noop))
      next()
      return
    }
    for (const name of d.stripRequestHeaders) delete req.headers[name]
    capture(res, d, http.maxBodySize)
    d.run(() => next())
  }
  const middleware: RequestHandler = function tiercache(req, res, next): void {
    const d = http.decide(view(req), req, res)
    if (d instanceof Promise) d.then((x) => act(req, res, next, x), next)
    else act(req, res, next, d)
  }
  return middleware as CachedMiddleware
}

/** The request as Express parsed it (host and protocol honour `trust proxy`). */
function view(req: Request): HttpRequestView {
  const path = req.route?.path
  const headers = req.headers
  // Express's `protocol` and `host` getters each look up the app's compiled `trust proxy` function and
  // call it; Express moves every request onto its own prototypes, so each of those lookups is slow. With
  // `trust proxy` off (the default) both getters reduce to the socket and the Host header: read those.
  const direct = !req.app.settings['trust proxy']
  return {
    method: req.method,
    protocol: direct ? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http') : req.protocol,
    host: direct ? (headers.host ?? '') : hostOf(req),
    url: req.originalUrl,
    headers,
    route: typeof path === 'string' ? { pattern: req.baseUrl + path, params: params(req) } : undefined,
  }
}

/**
 * The host as Express validated it (`trust proxy` decides whether X-Forwarded-Host counts), with its port.
 * Express 5's `req.host` is that. Express 4 (which still has `req.param`) deprecates `req.host` and has only
 * `req.hostname`, without the port: the port comes from the Host header when that is the host it chose.
 */
function hostOf(req: Request): string {
  if (typeof (req as { param?: unknown }).param !== 'function') return req.host ?? ''
  const name = req.hostname ?? ''
  const raw = req.headers.host
  return raw?.startsWith(name) && raw.charCodeAt(name.length) === 0x3a ? raw : name
}

function params(req: Request): Record<string, string> {
  const p = req.params as Record<string, string | string[]>
  for (const k in p) {
    if (Array.isArray(p[k])) {
      return Object.fromEntries(Object.entries(p).map(([n, v]) => [n, Array.isArray(v) ? v.join('/') : v]))
    }
  }
  return p as Record<string, string>
}

function send(res: Response, reply: HttpReply, end: Response['end'] = res.end, cb?: Callback): void {
  setPairs(res, reply.headers, reply.record)
  res.statusCode = reply.status
  const call = end as (...a: unknown[]) => Response
  if (reply.body === undefined) call.call(res, cb)
  else call.call(res, reply.body, cb)
}

/** Calls `fn` once when the status and headers are final, just before Node writes them. */
function onHead(res: Response, fn: () => void): void {
  const writeHead = res.writeHead
  res.writeHead = function (this: Response, ...args: unknown[]) {
    res.writeHead = writeHead
    applyHead(res, args)
    fn()
    return writeHead.call(res, res.statusCode)
  } as Response['writeHead']
}

/** Buffers the handler's response up to `max` bytes for the core; beyond it, or when the core says so, streams. */
function capture(res: Response, miss: MissDecision, max: number): void {
  const { writeHead, write, end } = res
  let chunks: Buffer[] = []
  let size = 0
  let mode: 'wait' | 'buffer' | 'stream' = 'wait'
  const restore = (): void => {
    res.writeHead = writeHead
    res.write = write
    res.end = end
  }
  const toStream = (): void => {
    mode = 'stream'
    restore()
    setPairs(res, miss.stream(res.statusCode, res.getHeaders()))
    if (size > 0) (write as (...a: unknown[]) => boolean).call(res, Buffer.concat(chunks))
    chunks = []
  }
  const decide = (): void => {
    if (mode === 'wait') {
      if (miss.wantsBody(res.statusCode, res.getHeaders())) mode = 'buffer'
      else toStream()
    }
  }
  const push = (chunk: Chunk | undefined, encoding: unknown): void => {
    if (chunk === undefined || chunk === null) return
    const b =
      typeof chunk === 'string'
        ? Buffer.from(chunk, (encoding as BufferEncoding) || 'utf8')
        : Buffer.from(chunk)
    chunks.push(b)
    size += b.byteLength
    if (size > max) toStream()
  }
  res.writeHead = function (this: Response, ...args: unknown[]) {
    applyHead(res, args)
    decide()
    if (mode === 'stream') writeHead.call(res, res.statusCode)
    return res
  } as Response['writeHead']
  res.write = function (this: Response, chunk: Chunk, encoding?: unknown, cb?: unknown) {
    decide()
    if (mode === 'stream') return (write as (...a: unknown[]) => boolean).call(res, chunk, encoding, cb)
    push(chunk, typeof encoding === 'function' ? undefined : encoding)
    const done = typeof encoding === 'function' ? encoding : cb
    if (typeof done === 'function') process.nextTick(done as Callback)
    return true
  } as Response['write']
  res.end = function (this: Response, chunk?: unknown, encoding?: unknown, cb?: unknown) {
    let callback = cb as Callback | undefined
    if (typeof chunk === 'function') [callback, chunk] = [chunk as Callback, undefined]
    else if (typeof encoding === 'function') [callback, encoding] = [encoding as Callback, undefined]
    decide()
    const finishEnd = end as (...a: unknown[]) => Response
    if (mode === 'stream') return finishEnd.call(res, chunk, encoding, callback)
    push(chunk as Chunk | undefined, encoding)
    // past maxBodySize: everything buffered (this chunk included) was written by toStream
    if ((mode as string) === 'stream') return finishEnd.call(res, callback)
    restore()
    const body = Buffer.concat(chunks)
    miss.finish({ status: res.statusCode, headers: res.getHeaders(), body }).then(
      (reply) => send(res, reply, end, callback),
      (err: Error) => res.destroy(err),
    )
    return res
  } as Response['end']
  res.once('close', () => miss.abort())
}
