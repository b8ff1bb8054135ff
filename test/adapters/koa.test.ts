import { Readable } from 'node:stream'
import Router from '@koa/router'
import Koa, { type Context } from 'koa'
import * as vitest from 'vitest'
import { cached } from '../../adapters/koa.js'
import { createCache } from '../../src/cache.js'
import { noteTags } from '../../src/context.js'
import { httpConformance, type MakeServer, nativeOptions, type SpecRequest } from '../conformance/http.js'
import { type ListeningServer, listening } from './listening.js'
import { slowStream } from './slow-stream.js'

const { describe, it, expect, afterEach } = vitest

function toSpec(ctx: Context): SpecRequest {
  const params: Record<string, string> = {}
  for (const [k, v] of Object.entries((ctx.params ?? {}) as Record<string, unknown>)) params[k] = String(v)
  return { method: ctx.method, url: ctx.originalUrl, params, headers: ctx.req.headers }
}

/** Chunks written one by one with a pause between them (a body of unknown length). */
function listen(app: Koa): Promise<ListeningServer> {
  app.silent = true // thrown handlers are expected in these tests; Koa still answers 500
  return listening(app.listen(0, '127.0.0.1'))
}

const makeServer: MakeServer = async (routes, { cache, use }) => {
  const app = new Koa()
  const router = new Router()
  if (use !== undefined) app.use(cached({ ...nativeOptions<Context, Context>(use, toSpec), cache }))
  for (const r of routes) {
    const method = (r.method ?? 'GET').toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'
    const mw =
      r.options === false || r.options === undefined
        ? []
        : [cached({ ...nativeOptions<Context, Context>(r.options, toSpec), cache })]
    router[method](r.path, ...mw, async (ctx: Context) => {
      const out = await r.handler(toSpec(ctx))
      ctx.status = out.status ?? 200
      for (const [k, v] of Object.entries(out.headers ?? {})) ctx.set(k, v)
      if (out.json !== undefined) ctx.body = out.json
      else if (out.text !== undefined) ctx.body = out.text
      else if (out.bytes !== undefined) ctx.body = Buffer.from(out.bytes)
      else if (out.chunks !== undefined) ctx.body = slowStream(out.chunks)
      else ctx.body = ''
    })
  }
  app.use(router.routes())
  return listen(app)
}

httpConformance('koa', makeServer, vitest)

describe('koa adapter', () => {
  const open: { close(): Promise<void> }[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()))
  })

  async function serve(app: Koa) {
    const server = await listen(app)
    open.push(server)
    return async (path: string, init: RequestInit = {}) => {
      const res = await fetch(server.url + path, init)
      const body = Buffer.from(await res.arrayBuffer())
      return { status: res.status, headers: res.headers, body, cs: res.headers.get('cache-status') ?? '' }
    }
  }

  it('cached() validates options at setup and returns a named middleware', () => {
    expect(() => cached({ ttl: -1 })).toThrow(/ttl/)
    expect(() => cached({ tll: 5 } as never)).toThrow(/tll/)
    expect(cached().name).toBe('tiercache')
  })

  it('app.use(cached()) caches plain Koa middleware, with no router', async () => {
    const cache = createCache()
    let calls = 0
    const app = new Koa()
    app.use(cached({ ttl: 60, cache }))
    app.use((ctx) => {
      ctx.body = { calls: ++calls, path: ctx.path }
    })
    const get = await serve(app)
    const a = await get('/anything?x=1')
    const b = await get('/anything?x=1')
    expect(a.cs).toBe('tiercache; fwd=uri-miss; stored')
    expect(b.cs).toMatch(/^tiercache; hit; ttl=/)
    expect(JSON.parse(b.body.toString())).toEqual({ calls: 1, path: '/anything' })
    expect((await get('/other')).cs).toBe('tiercache; fwd=uri-miss; stored')
    expect(calls).toBe(2)
  })

  it('headers of earlier middleware: set before next() they are stored and replayed; set after, fresh on a hit', async () => {
    let requests = 0
    let runs = 0
    const app = new Koa()
    app.use(async (ctx, next) => {
      const n = String(++requests)
      ctx.set('x-before', n)
      await next()
      ctx.set('x-after', n)
    })
    app.use(cached({ ttl: 60, cache: createCache() }))
    app.use((ctx) => {
      ctx.body = `run ${++runs}`
    })
    const get = await serve(app)
    const a = await get('/page')
    const b = await get('/page')
    expect(b.cs).toMatch(/^tiercache; hit; ttl=/)
    expect(b.body.toString()).toBe('run 1')
    expect([a.headers.get('x-before'), a.headers.get('x-after')]).toEqual(['1', '1'])
    expect([b.headers.get('x-before'), b.headers.get('x-after')]).toEqual(['1', '2'])
  })

  it('ctx.body as an object, a Buffer, a Node stream, a web stream: Koa serialisation, replayed byte-identical', async () => {
    const cache = createCache()
    const calls = { n: 0 }
    const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251))
    const router = new Router()
    const opts = { ttl: 60, cache }
    router.get('/object', cached(opts), (ctx) => {
      calls.n++
      ctx.body = { hello: 'wörld', list: [1, 2] }
    })
    router.get('/buffer', cached(opts), (ctx) => {
      calls.n++
      ctx.body = bytes
    })
    router.get('/html', cached(opts), (ctx) => {
      calls.n++
      ctx.body = '<p>hi</p>'
    })
    router.get('/node-stream', cached(opts), (ctx) => {
      calls.n++
      ctx.type = 'text/csv'
      ctx.body = slowStream([bytes.subarray(0, 2000), bytes.subarray(2000)])
    })
    router.get('/web-stream', cached(opts), (ctx) => {
      calls.n++
      ctx.body = Readable.toWeb(slowStream([bytes.subarray(0, 10), bytes.subarray(10, 20)]))
    })
    const app = new Koa()
    app.use(router.routes())
    const get = await serve(app)

    const expected: Record<string, [string, Buffer]> = {
      '/object': ['application/json; charset=utf-8', Buffer.from('{"hello":"wörld","list":[1,2]}')],
      '/buffer': ['application/octet-stream', bytes],
      '/html': ['text/html; charset=utf-8', Buffer.from('<p>hi</p>')],
      '/node-stream': ['text/csv; charset=utf-8', bytes],
      '/web-stream': ['application/octet-stream', bytes.subarray(0, 20)],
    }
    for (const [path, [type, body]] of Object.entries(expected)) {
      const a = await get(path)
      const b = await get(path)
      expect(a.cs, path).toBe('tiercache; fwd=uri-miss; stored')
      expect(b.cs, path).toMatch(/hit/)
      for (const got of [a, b]) {
        expect(got.status, path).toBe(200)
        expect(got.headers.get('content-type'), path).toBe(type)
        expect(got.headers.get('content-length'), path).toBe(String(body.length))
        expect(got.body.equals(body), path).toBe(true)
      }
    }
    expect(calls.n).toBe(5)
  })

  it("a route that sets no body gets Koa's 404 and is not stored; a stream over maxBodySize passes through", async () => {
    const cache = createCache()
    const calls = { empty: 0, big: 0 }
    const router = new Router()
    router.get('/empty', cached({ ttl: 60, cache }), () => {
      calls.empty++
    })
    router.get('/big', cached({ ttl: 60, cache, maxBodySize: 100 }), (ctx) => {
      calls.big++
      ctx.body = slowStream([Buffer.alloc(80, 1), Buffer.alloc(80, 2), Buffer.alloc(80, 3)])
    })
    const app = new Koa()
    app.use(router.routes())
    const get = await serve(app)
    for (let i = 0; i < 2; i++) {
      const e = await get('/empty')
      expect(e.status).toBe(404)
      expect(e.body.toString()).toBe('Not Found')
      const big = await get('/big')
      expect(big.body.length).toBe(240)
      expect(big.body[239]).toBe(3)
      expect(big.cs).toContain('detail=body-too-large')
    }
    expect(calls).toEqual({ empty: 2, big: 2 })
  })

  it('the @koa/router pattern is keyed: percent-encoded variants of a path share an entry', async () => {
    const cache = createCache()
    let calls = 0
    const router = new Router()
    router.get('/p/:id', cached({ ttl: 60, cache, tags: (ctx) => [`p:${ctx.params.id}`] }), (ctx) => {
      ctx.body = `p ${ctx.params.id} ${++calls}`
    })
    const app = new Koa()
    app.use(router.routes())
    const get = await serve(app)
    expect((await get('/p/42')).body.toString()).toBe('p 42 1')
    expect((await get('/p/%34%32')).body.toString()).toBe('p 42 1')
    await cache.invalidateTags(['p:42'])
    expect((await get('/p/%34%32')).body.toString()).toBe('p 42 2')
  })

  it('host follows app.proxy: X-Forwarded-Host is the host only when Koa trusts the proxy', async () => {
    const make = async (proxy: boolean) => {
      const app = new Koa({ proxy })
      const seen: string[] = []
      app.use(cached({ ttl: 60, cache: createCache() }))
      app.use((ctx) => {
        seen.push(ctx.host)
        ctx.body = `host ${ctx.host}`
      })
      return { get: await serve(app), seen }
    }
    // an X-Forwarded-Host that is not a valid host: keyed only if Koa takes it as the host
    const bad = { 'x-forwarded-host': 'evil host!' }
    const trusted = await make(true)
    const t = await trusted.get('/', { headers: bad })
    expect(t.body.toString()).toBe('host evil host!')
    expect(t.cs).toContain('fwd=bypass')
    const untrusted = await make(false)
    await untrusted.get('/', { headers: bad })
    const u = await untrusted.get('/', { headers: bad })
    expect(u.body.toString()).toMatch(/^host 127\.0\.0\.1:\d+$/)
    expect(u.cs).toMatch(/hit/)
    // with a trusted proxy, each forwarded host gets its own entries
    await trusted.get('/', { headers: { 'x-forwarded-host': 'a.example' } })
    const a = await trusted.get('/', { headers: { 'x-forwarded-host': 'a.example' } })
    const b = await trusted.get('/', { headers: { 'x-forwarded-host': 'b.example' } })
    expect([a.body.toString(), a.cs.includes('hit')]).toEqual(['host a.example', true])
    expect([b.body.toString(), b.cs.includes('hit')]).toEqual(['host b.example', false])
  })

  it("a thrown handler goes through Koa's error handling; within staleIfError the stale response is sent", async () => {
    const cache = createCache()
    let mode = 'ok'
    const router = new Router()
    router.get('/p', cached({ ttl: '150ms', staleIfError: 60, cache }), (ctx) => {
      if (mode === 'throw') throw Object.assign(new Error('down'), { status: 503, expose: true })
      ctx.body = 'good'
    })
    router.get('/q', cached({ ttl: 60, cache }), () => {
      throw Object.assign(new Error('teapot'), { status: 418, expose: true })
    })
    const app = new Koa()
    app.use(router.routes())
    const get = await serve(app)
    await get('/p')
    await new Promise((r) => setTimeout(r, 200))
    mode = 'throw'
    const stale = await get('/p')
    expect([stale.status, stale.body.toString()]).toEqual([200, 'good'])
    expect(stale.cs).toMatch(/fwd=stale/)
    const q = await get('/q')
    expect([q.status, q.body.toString()]).toEqual([418, 'teapot'])
  })

  it('the handler runs inside the tag collector: tags noted during the request (even after an await) tag the response', async () => {
    // what the engine will do for data read through a cache; calls the hook directly, so this checks
    // only the adapter's side (next() runs inside collectTags)
    const cache = createCache()
    let calls = 0
    const router = new Router()
    router.get('/products/:id', cached({ ttl: 60, cache }), async (ctx) => {
      await new Promise((r) => setImmediate(r))
      noteTags([`product:${ctx.params.id}`])
      ctx.body = { id: ctx.params.id, v: ++calls }
    })
    const app = new Koa()
    app.use(router.routes())
    const get = await serve(app)
    await get('/products/42')
    expect((await get('/products/42')).cs).toMatch(/hit/)
    await cache.invalidateTags(['product:42'])
    const after = await get('/products/42')
    expect(after.cs).toBe('tiercache; fwd=uri-miss; stored')
    expect(JSON.parse(after.body.toString())).toEqual({ id: '42', v: 2 })
  })
})
