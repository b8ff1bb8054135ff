/**
 * `tiercache/koa`: `router.get('/products/:id', cached({ ttl: 60 }), handler)` with @koa/router, or
 * `app.use(cached(...))`. Translates Koa's context for the HTTP core; all decisions live in `src/http`.
 */
import { Readable } from 'node:stream'
import type { Context, Middleware, Next } from 'koa'
import type { CachedOptions } from '../src/http/cached-options.js'
import { createHttpCache, type HttpDecision } from '../src/http/core.js'
import type { MissDecision } from '../src/http/fill.js'
import { readUpTo, replaceHeaders, toBuffer } from '../src/http/node.js'
import type { HttpReply } from '../src/http/reply.js'
import type { HttpRequestView } from '../src/http/types.js'

/** Options of the Koa `cached()`: function options receive Koa's `ctx` (as both `req` and `res`). */
export type KoaCachedOptions = CachedOptions<Context, Context>

/** Statuses Koa sends without a body (`statuses.empty`). */
const NO_BODY = new Set([204, 205, 304])
const EMPTY = Buffer.alloc(0)

/** A middleware that answers from the cache, or runs the rest of the chain and stores what it may. */
export function cached(options?: KoaCachedOptions): Middleware {
  const http = createHttpCache<Context, Context>(options, { incoming: (ctx) => ctx.req })
  const act = async (ctx: Context, next: Next, d: HttpDecision): Promise<void> => {
    if (d.kind === 'hit') return send(ctx, d)
    if (d.kind === 'bypass') {
      for (const [name, value] of d.headers) ctx.set(name, value)
      await next()
      await d.onResponse?.(ctx.status, ctx.response.headers).catch(() => {})
      return
    }
    for (const name of d.stripRequestHeaders) delete ctx.req.headers[name]
    ctx.res.once('close', () => d.abort())
    try {
      await d.run(next)
      if (ctx.respond === false || ctx.headerSent) {
        d.stream(ctx.status, ctx.response.headers) // written outside Koa: nothing to capture
        return
      }
      const body = await capture(ctx, d, http.maxBodySize)
      if (body !== undefined)
        send(ctx, await d.finish({ status: ctx.status, headers: ctx.response.headers, body }))
    } catch (err) {
      const reply = await d.fail(err)
      if (reply === undefined) throw err
      send(ctx, reply)
    }
  }
  return function tiercache(ctx: Context, next: Next): Promise<void> | undefined {
    const d = http.decide(view(ctx), ctx, ctx)
    if (d instanceof Promise) return d.then((x) => act(ctx, next, x))
    // a fresh hit: answered in this tick, no promise (koa-compose wraps the return value)
    if (d.kind === 'hit') return void send(ctx, d)
    return act(ctx, next, d)
  }
}

/** The request as Koa parsed it (`ctx.host` and `ctx.protocol` honour `app.proxy`). */
function view(ctx: Context): HttpRequestView {
  // @koa/router sets `routerPath` for the layer running now and `_matchedRoute` for the route that
  // matched; only when they agree is this middleware on that route (not a `router.use` layer)
  const pattern: unknown = ctx.routerPath
  const params: unknown = ctx.params
  const onRoute = typeof pattern === 'string' && pattern === ctx._matchedRoute && typeof params === 'object'
  return {
    method: ctx.method,
    protocol: ctx.protocol,
    host: ctx.host,
    url: ctx.originalUrl,
    headers: ctx.req.headers,
    route: onRoute && params !== null ? { pattern, params: params as Record<string, string> } : undefined,
    hasBody: (ctx.request.length ?? 0) > 0 || ctx.get('transfer-encoding') !== '',
  }
}

/**
 * The handler's body as the bytes Koa would send, or `undefined` when it is being streamed through
 * (too big, or not storable: the core said so and the headers are already set).
 */
async function capture(ctx: Context, miss: MissDecision, max: number): Promise<Buffer | undefined> {
  const body: unknown = ctx.body
  if (NO_BODY.has(ctx.status)) return EMPTY
  if (body === null || body === undefined) {
    if ((ctx.response as { _explicitNullBody?: boolean })._explicitNullBody) return EMPTY
    ctx.type = 'text' // Koa answers with the status message
    return Buffer.from(ctx.req.httpVersionMajor >= 2 ? String(ctx.status) : ctx.message || String(ctx.status))
  }
  if (Buffer.isBuffer(body)) return body
  if (typeof body === 'string') return Buffer.from(body)
  const source = streamOf(body)
  if (source === undefined) return Buffer.from(JSON.stringify(body)) // Koa already set the JSON type
  if (!miss.wantsBody(ctx.status, ctx.response.headers)) {
    setPairs(ctx, miss.stream(ctx.status, ctx.response.headers))
    return undefined
  }
  const read = await readUpTo(source, max)
  if (read.body !== undefined) return read.body
  const headers = miss.stream(ctx.status, ctx.response.headers)
  ctx.body = Readable.from(read.rest)
  setPairs(ctx, headers)
  return undefined
}

/** The async-iterable behind a stream-like body Koa would pipe (Node stream, web stream, Blob, Response). */
function streamOf(body: unknown): AsyncIterable<unknown> | undefined {
  if (body instanceof Blob) return body.stream()
  if (body instanceof Response) return body.body ?? Readable.from([])
  if (body instanceof ReadableStream) return body
  if (typeof body === 'object' && typeof (body as Readable).pipe === 'function') return body as Readable
  return undefined
}

/** Sends a reply through Koa: its status, exactly its headers, its body. */
function send(ctx: Context, reply: HttpReply): void {
  ctx.status = reply.status
  if (reply.body === undefined) {
    ctx.body = EMPTY
    replaceHeaders(ctx.res, reply.headers, reply.record) // after: Koa set Content-Length 0
    return
  }
  // before: with Content-Type set, Koa's body setter skips its MIME lookup (its Content-Length is ours)
  replaceHeaders(ctx.res, reply.headers, reply.record)
  ctx.body = toBuffer(reply.body)
}

/** Replaces every response header with `pairs` (repeated names become one multi-valued header). */
function setPairs(ctx: Context, pairs: readonly (readonly [string, string])[]): void {
  replaceHeaders(ctx.res, pairs)
}
