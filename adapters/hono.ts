/**
 * `tiercache/hono`: `app.get('/products/:id', cached({ ttl: 60 }), handler)` or `app.use('/api/*', cached(...))`.
 * Translates Hono's `Request`/`Response` for the HTTP core; all decisions live in `src/http`.
 */
import { IncomingMessage } from 'node:http'
import type { Context, Env, MiddlewareHandler, Next } from 'hono'
import type { CachedOptions } from '../src/http/cached-options.js'
import { createHttpCache, type HttpDecision } from '../src/http/core.js'
import type { MissDecision } from '../src/http/fill.js'
import { singleValuedHeaders } from '../src/http/node.js'
import type { HttpReply } from '../src/http/reply.js'
import type { HttpRequestView } from '../src/http/types.js'

/** Options of the Hono `cached()`: function options receive the Hono context `c` (as both arguments). */
export type HonoCachedOptions<E extends Env = Env> = CachedOptions<Context<E>, Context<E>>

type Pairs = [string, string][]
const NULL_BODY = new Set([101, 103, 204, 205, 304])
const noop = (): void => {}

/** A middleware that answers from the cache, or runs the route and stores what it may. */
export function cached<E extends Env = Env>(options?: HonoCachedOptions<E>): MiddlewareHandler<E> {
  const http = createHttpCache<Context<E>, Context<E>>(options, { incoming: nodeIncoming })
  const max = http.maxBodySize
  const act = async (c: Context<E>, next: Next, d: HttpDecision): Promise<Response | void> => {
    if (d.kind === 'hit') return reply(d)
    if (d.kind === 'bypass') {
      await next()
      if (d.onResponse !== undefined) await d.onResponse(c.res.status, [...c.res.headers]).catch(noop)
      addHeaders(c, d.headers)
      return
    }
    strip(c, d.stripRequestHeaders)
    const signal = c.req.raw.signal
    const onAbort = (): void => d.abort()
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      const before = c.error
      try {
        await d.run(next)
      } catch (err) {
        // only non-Error throws (or an onError that rethrows) get here; Hono turns the rest into c.error
        const stale = await d.fail(err)
        if (stale === undefined) throw err
        return setRes(c, reply(stale))
      }
      const res = c.res
      if (c.error !== undefined && c.error !== before && res.status >= 500) {
        // the handler threw and the app's onError answered: a stale response may replace it
        const stale = await d.fail(c.error)
        if (stale !== undefined) setRes(c, reply(stale))
        return
      }
      setRes(c, await capture(res, d, max))
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }
  return function tiercache(c, next) {
    const d = http.decide(view(c), c, c)
    if (d instanceof Promise) return d.then((x) => act(c, next, x))
    // a fresh hit: answered in this tick, no promise
    if (d.kind === 'hit') return reply(d) as unknown as Promise<Response>
    return act(c, next, d)
  }
}

/** The request as Hono parsed it: scheme and host from the URL the server built (Host header on Node). */
function view(c: Context): HttpRequestView {
  const url = c.req.url
  const start = url.indexOf('://') + 3
  const slash = url.indexOf('/', start)
  const headers = nodeIncoming(c)?.headers ?? requestHeaders(c.req.raw)
  // `routePath` is deprecated in late 4.x in favour of `hono/route`, but it exists in every Hono 4
  const pattern = c.req.routePath
  return {
    method: c.req.method,
    protocol: url.slice(0, start - 3),
    host: slash < 0 ? url.slice(start) : url.slice(start, slash),
    url: slash < 0 ? '/' : url.slice(slash),
    headers,
    route: pattern ? { pattern, params: c.req.param() as Record<string, string> } : undefined,
  }
}

/**
 * On @hono/node-server (HTTP/1), Node's request (`c.env.incoming`): its header record, which
 * node-server's own header lookups read too (no `Headers` is built for the request), and the request
 * a background refresh copies.
 */
function nodeIncoming(c: Context): IncomingMessage | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming
  return incoming instanceof IncomingMessage && incoming.httpVersionMajor === 1 ? incoming : undefined
}

/** A fetch `Request`'s headers as a record (other runtimes, HTTP/2). */
function requestHeaders(req: Request): Record<string, string> {
  const headers: Record<string, string> = {}
  req.headers.forEach((value, name) => {
    headers[name] = value
  })
  return headers
}

type Body = Uint8Array | ReadableStream<Uint8Array> | null | undefined
function respond(status: number, headers: Pairs, body: Body, record?: HttpReply['record']): Response {
  return new Response(body === undefined || NULL_BODY.has(status) ? null : body, {
    status,
    headers: singleValuedHeaders({ headers, record }) ?? headers,
  })
}
const reply = (r: HttpReply): Response => respond(r.status, r.headers, r.body, r.record)

/** Replaces `c.res` without Hono merging the previous response's headers into it. */
function setRes(c: Context, res: Response): void {
  c.res = undefined
  c.res = res
}

function addHeaders(c: Context, add: Pairs): void {
  if (add.length === 0) return
  try {
    for (const [name, value] of add) c.res.headers.set(name, value)
  } catch {
    // immutable headers (a Response from fetch()): copy the response
    const res = new Response(c.res.body, c.res)
    for (const [name, value] of add) res.headers.set(name, value)
    setRes(c, res)
  }
}

/** Removes request headers before the handler runs; `Request` headers may be immutable (then the request is copied). */
function strip(c: Context, names: readonly string[]): void {
  if (names.length === 0) return
  try {
    for (const name of names) c.req.raw.headers.delete(name)
  } catch {
    const headers = new Headers(c.req.raw.headers)
    for (const name of names) headers.delete(name)
    c.req.raw = new Request(c.req.raw, { headers })
  }
}

/** Buffers the handler's body up to `max` bytes for the core; beyond it, or when the core says so, streams it through. */
async function capture(res: Response, miss: MissDecision, max: number): Promise<Response> {
  const { status } = res
  const headers: Pairs = [...res.headers]
  if (!miss.wantsBody(status, headers)) return respond(status, miss.stream(status, headers), res.body)
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = res.body?.getReader()
  while (reader !== undefined) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.byteLength
    if (size > max) return respond(status, miss.stream(status, headers), rest(chunks, reader))
  }
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
  return reply(await miss.finish({ status, headers, body }))
}

/** The chunks read so far, then the rest of the handler's stream as it comes. */
function rest(
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of head) controller.enqueue(chunk)
    },
    async pull(controller) {
      const { done, value } = await reader.read()
      if (done) controller.close()
      else controller.enqueue(value)
    },
    cancel(reason) {
      return reader.cancel(reason)
    },
  })
}
