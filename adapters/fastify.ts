/**
 * `tiercache/fastify`: `fastify.get('/products/:id', cached({ ttl: 60 }), handler)`, or the plugin
 * `fastify.register(tiercachePlugin, { cache })` with `{ config: { cache: { ttl: 60 } } }` per route.
 * Translates Fastify requests and replies for the HTTP core; all decisions live in `src/http`.
 */
import { Readable } from 'node:stream'
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
  RouteShorthandOptions,
} from 'fastify'
import fp from 'fastify-plugin'
import type { CachedOptions } from '../src/http/cached-options.js'
import { createHttpCache, type HttpDecision } from '../src/http/core.js'
import { toBuffer as buf, headerRecord, readUpTo } from '../src/http/node.js'
import type { HttpReply } from '../src/http/reply.js'
import type { HttpRequestView } from '../src/http/types.js'

/** Options of the Fastify `cached()`: function options receive Fastify's `request` (and `reply`). */
export type FastifyCachedOptions = CachedOptions<FastifyRequest, FastifyReply>

/** Options of `tiercachePlugin`: defaults for every cached route, plus `global`. */
export interface TiercachePluginOptions extends FastifyCachedOptions {
  /** Cache every route registered after the plugin, not only those with `config.cache`. @default false */
  global?: boolean
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** tiercache options of this route (needs `tiercachePlugin`); `false` opts out of `global`. */
    cache?: FastifyCachedOptions | boolean
  }
}

const HOOKS = ['preHandler', 'onSend', 'onError'] as const
/** Route options carrying the hooks; spread them into your own route options if you have some. */
export type CachedRouteOptions = {
  [K in (typeof HOOKS)[number]]-?: Exclude<RouteShorthandOptions[K], readonly unknown[] | undefined>
}
type State = HttpDecision & { stale?: HttpReply | undefined }
const ours = new WeakSet<object>()
const noop = (): void => {}

/** Route options whose hooks answer from the cache, or run the handler and store what they may. */
export function cached(options?: FastifyCachedOptions): CachedRouteOptions {
  const http = createHttpCache<FastifyRequest, FastifyReply>(options, { incoming: (request) => request.raw })
  const states = new WeakMap<FastifyRequest, State>()
  // callback style: `done` runs the handler synchronously, so it runs inside the tag collector
  function decide(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, d: State) {
    if (d.kind === 'hit') {
      // nothing to remember: onSend passes a payload through when the request has no state
      apply(reply, d, false)
      // a HEAD route's own onSend sets Content-Length 0 for an empty payload, but not for a stream
      reply.send(
        d.body !== undefined ? buf(d.body) : request.method === 'HEAD' ? Readable.from([]) : undefined,
      )
      return
    }
    states.set(request, d)
    if (d.kind === 'miss') {
      for (const name of d.stripRequestHeaders) delete request.headers[name]
      // a client gone before the response releases the waiters now (a no-op once the fill settled);
      // a listener on misses only, where an `onRequestAbort` hook would add one to every request
      reply.raw.once('close', () => d.abort())
      d.run(() => done())
    } else {
      for (const [name, value] of d.headers) reply.header(name, value)
      done()
    }
  }
  function tiercacheLookup(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    const d = http.decide(view(request), request, reply)
    if (d instanceof Promise)
      d.then(
        (x) => decide(request, reply, done, x),
        () => done(),
      ) // fail open
    else decide(request, reply, done, d)
  }
  // callback style too: a hit's payload goes on without a promise
  function tiercacheCapture(
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (err: Error | null, payload?: unknown) => void,
  ) {
    const d = states.get(request)
    if (d === undefined || d.kind === 'hit') return done(null, payload)
    capture(reply, d, payload).then((p) => done(null, p), done)
  }
  async function capture(reply: FastifyReply, d: State, payload: unknown): Promise<unknown> {
    if (d.kind === 'hit') return payload
    if (d.kind === 'bypass') {
      await d.onResponse?.(reply.statusCode, reply.getHeaders()).catch(noop)
      return payload
    }
    if (d.stale !== undefined) return apply(reply, d.stale, true)
    const status = reply.statusCode
    const headers = reply.getHeaders()
    const pass = (body: unknown): unknown => {
      apply(reply, { status, headers: d.stream(status, headers), body: undefined }, true)
      return body
    }
    if (!d.wantsBody(status, headers)) return pass(payload)
    // a stream that fails goes through onError (tiercacheError) like a handler error
    const body =
      payload === null || payload === undefined
        ? Buffer.alloc(0)
        : typeof payload === 'string'
          ? Buffer.from(payload)
          : payload instanceof Readable
            ? await readUpTo(payload, http.maxBodySize).then((r) => r.body ?? Readable.from(r.rest))
            : payload // a Buffer; web streams and Response objects are passed through, not stored
    if (!Buffer.isBuffer(body) || body.byteLength > http.maxBodySize) return pass(body)
    return apply(reply, await d.finish({ status, headers, body }), true)
  }
  async function tiercacheError(request: FastifyRequest, _reply: FastifyReply, error: Error) {
    const d = states.get(request)
    if (d?.kind === 'miss') d.stale = await d.fail(error)
  }
  const hooks = {
    preHandler: tiercacheLookup,
    onSend: tiercacheCapture,
    onError: tiercacheError,
  }
  for (const name of HOOKS) ours.add(hooks[name])
  return hooks
}

/** The request as Fastify parsed it (`host` and `protocol` honour `trustProxy`). */
function view(request: FastifyRequest): HttpRequestView {
  const pattern = request.routeOptions.url
  return {
    method: request.method,
    protocol: request.protocol,
    host: request.host,
    url: request.url,
    headers: request.headers,
    route: pattern === undefined ? undefined : { pattern, params: request.params as Record<string, string> },
  }
}

/** Sets the reply's status and headers (replacing the handler's when `replace`); returns the payload. */
function apply(reply: FastifyReply, r: HttpReply, replace: boolean): Buffer | null {
  if (replace) for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name)
  reply.code(r.status).headers(headerRecord(r))
  return r.body === undefined ? null : buf(r.body)
}

type Hooked = Partial<Record<(typeof HOOKS)[number], unknown>>

/** Adds the hooks to routes with `config.cache` (every route with `global`), with the plugin's options as defaults. */
async function tiercache(fastify: FastifyInstance, options: TiercachePluginOptions): Promise<void> {
  const { global = false, ...defaults } = options
  createHttpCache(defaults) // validates the defaults now
  fastify.addHook('onRoute', function tiercacheRoute(route: RouteOptions) {
    const own = route.config?.cache
    if (own === false || (own === undefined && !global)) return
    const target = route as Hooked
    const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])
    if (list(target.preHandler).some((h) => ours.has(h as object))) return // already has cached()
    const hooks = cached({ ...defaults, ...(typeof own === 'object' ? own : {}) })
    for (const name of HOOKS) target[name] = [...list(target[name]), hooks[name]]
  })
}

/** The plugin form: per-route `config.cache`, defaults shared by every cached route. */
export const tiercachePlugin = fp(tiercache, { fastify: '5.x', name: 'tiercache' })
