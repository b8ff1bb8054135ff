import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import { type Context, Hono } from 'hono'
import * as vitest from 'vitest'
import { cached } from '../../adapters/hono.js'
import { createCache } from '../../src/cache.js'
import { noteTags } from '../../src/context.js'
import { httpConformance, type MakeServer, nativeOptions, type SpecRequest } from '../conformance/http.js'
import { type ListeningServer, listening } from './listening.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function toSpec(c: Context): SpecRequest {
  const headers: Record<string, string> = {}
  c.req.raw.headers.forEach((value, name) => {
    headers[name] = value
  })
  const url = new URL(c.req.url)
  return { method: c.req.method, url: url.pathname + url.search, params: c.req.param(), headers }
}

function chunked(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i === chunks.length) return controller.close()
      if (i > 0) await new Promise((resolve) => setImmediate(resolve))
      controller.enqueue(chunks[i++]!)
    },
  })
}

function listen(app: {
  fetch: (request: Request) => Response | Promise<Response>
}): Promise<ListeningServer> {
  // @hono/node-server's default is a node:http server
  return listening(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server)
}

const makeServer: MakeServer = async (routes, { cache, use }) => {
  const app = new Hono()
  // a quiet onError: a thrown handler answers 500 (Hono's default logs the error first)
  app.onError((_err, c) => c.text('Internal Server Error', 500))
  if (use !== undefined) app.use('*', cached({ ...nativeOptions<Context, Context>(use, toSpec), cache }))
  for (const r of routes) {
    const method = r.method ?? 'GET'
    const handler = async (c: Context) => {
      const out = await r.handler(toSpec(c))
      c.status((out.status ?? 200) as 200)
      for (const [k, v] of Object.entries(out.headers ?? {})) {
        for (const item of Array.isArray(v) ? v : [v]) c.header(k, item, { append: true })
      }
      if (out.json !== undefined) return c.json(out.json)
      if (out.text !== undefined) return c.text(out.text)
      if (out.bytes !== undefined) return c.body(new Uint8Array(out.bytes))
      if (out.chunks !== undefined) return c.body(chunked(out.chunks))
      return c.body(null)
    }
    if (r.options === false || r.options === undefined) app.on(method, r.path, handler)
    else
      app.on(
        method,
        r.path,
        cached({ ...nativeOptions<Context, Context>(r.options, toSpec), cache }),
        handler,
      )
  }
  return listen(app)
}

httpConformance('hono', makeServer, vitest)

vitest.describe('hono adapter', () => {
  const { describe, it, expect, afterEach } = vitest
  const open: { close(): Promise<void> }[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()))
  })
  async function start(app: { fetch: (request: Request) => Response | Promise<Response> }) {
    const server = await listen(app)
    open.push(server)
    return (path: string, init?: RequestInit) => fetch(server.url + path, init)
  }

  describe('setup', () => {
    it('cached() validates options at setup and returns a named middleware', () => {
      expect(() => cached({ ttl: -1 })).toThrow(/ttl/)
      expect(() => cached({ tll: 1 } as never)).toThrow(/tll/)
      expect(cached().name).toBe('tiercache')
    })

    it("function options see the app's typed context", async () => {
      type AppEnv = { Variables: { user: string } }
      const app = new Hono<AppEnv>()
      let n = 0
      app.use('*', async (c, next) => {
        c.set('user', c.req.header('x-user') ?? '')
        await next()
      })
      app.get('/me', cached<AppEnv>({ ttl: 60, private: (c) => c.get('user'), cache: createCache() }), (c) =>
        c.text(`${c.get('user')} ${++n}`),
      )
      const get = await start(app)
      const as = async (user: string) => (await get('/me', { headers: { 'x-user': user } })).text()
      expect([await as('ann'), await as('bob'), await as('ann')]).toEqual(['ann 1', 'bob 2', 'ann 1'])
    })
  })

  describe('usage', () => {
    it('headers of earlier middleware: set before next() they are stored and replayed; set after, fresh on a hit', async () => {
      let requests = 0
      let runs = 0
      const app = new Hono()
      app.use('*', async (c, next) => {
        const n = String(++requests)
        c.header('x-before', n)
        await next()
        c.header('x-after', n)
      })
      app.get('/page', cached({ ttl: 60, cache: createCache() }), (c) => c.text(`run ${++runs}`))
      const get = await start(app)
      const a = await get('/page')
      const b = await get('/page')
      expect(b.headers.get('cache-status')).toMatch(/^tiercache; hit; ttl=/)
      expect(await b.text()).toBe('run 1')
      expect([a.headers.get('x-before'), a.headers.get('x-after')]).toEqual(['1', '1'])
      expect([b.headers.get('x-before'), b.headers.get('x-after')]).toEqual(['1', '2'])
    })

    it('app.use on a prefix caches every route below it, keyed per URL', async () => {
      const app = new Hono()
      let n = 0
      app.use('/api/*', cached({ ttl: 60, cache: createCache() }))
      app.get('/api/items/:id', (c) => c.json({ id: c.req.param('id'), n: ++n }))
      app.get('/other', (c) => c.text(`other ${++n}`))
      const get = await start(app)
      const a = await get('/api/items/1')
      const b = await get('/api/items/1')
      expect(await b.json()).toEqual(await a.json())
      expect(b.headers.get('cache-status')).toMatch(/^tiercache; hit/)
      expect(await (await get('/api/items/2')).json()).toEqual({ id: '2', n: 2 })
      expect(await (await get('/other')).text()).toBe('other 3')
      expect((await get('/other')).headers.get('cache-status')).toBeNull()
    })

    it('c.json, c.text, c.body(bytes) and c.body(stream) replay identically', async () => {
      const app = new Hono()
      const cache = createCache()
      const calls = { n: 0 }
      const enc = new TextEncoder()
      app.get('/json', cached({ ttl: 60, cache }), (c) => c.json({ a: 1, n: ++calls.n }))
      app.get('/text', cached({ ttl: 60, cache }), (c) => c.text(`héllo ${++calls.n}`))
      app.get('/bytes', cached({ ttl: 60, cache }), (c) => {
        c.header('content-type', 'application/octet-stream')
        return c.body(new Uint8Array([0, 1, 2, 255, ++calls.n]))
      })
      app.get('/stream', cached({ ttl: 60, cache }), (c) => {
        c.header('content-type', 'text/plain')
        return c.body(chunked([enc.encode('one '), enc.encode('two '), enc.encode(`${++calls.n}`)]))
      })
      app.get('/raw', cached({ ttl: 60, cache }), () => new Response(`raw ${++calls.n}`, { status: 200 }))
      const get = await start(app)
      for (const path of ['/json', '/text', '/bytes', '/stream', '/raw']) {
        const before = calls.n
        const a = await get(path)
        const b = await get(path)
        const [ab, bb] = [Buffer.from(await a.arrayBuffer()), Buffer.from(await b.arrayBuffer())]
        expect(bb.equals(ab), path).toBe(true)
        expect(b.headers.get('content-type'), path).toBe(a.headers.get('content-type'))
        // a replay within the same millisecond as the store reports `stored; collapsed` (core compares ms)
        expect(b.headers.get('cache-status'), path).toMatch(
          /^tiercache; (hit|fwd=uri-miss; stored; collapsed)/,
        )
        expect(calls.n, path).toBe(before + 1)
      }
    })

    it('route tags receive the Hono context', async () => {
      const app = new Hono()
      const cache = createCache()
      let n = 0
      const mw = cached({ ttl: 60, cache, tags: (c) => [`item:${c.req.param('id')}`] })
      app.get('/items/:id', mw, (c) => c.text(`${c.req.param('id')} ${++n}`))
      const get = await start(app)
      await get('/items/5')
      expect(await (await get('/items/5')).text()).toBe('5 1')
      await cache.invalidateTags(['item:5'])
      expect(await (await get('/items/5')).text()).toBe('5 2')
    })

    it('tags noted while the handler runs (AsyncLocalStorage through next()) tag the response', async () => {
      const app = new Hono()
      const cache = createCache()
      let n = 0
      app.get('/products/:id', cached({ ttl: 60, cache }), async (c) => {
        await sleep(1)
        noteTags([`product:${c.req.param('id')}`])
        return c.text(`p ${++n}`)
      })
      const get = await start(app)
      await get('/products/42')
      expect(await (await get('/products/42')).text()).toBe('p 1')
      await cache.invalidateTags(['product:42'])
      expect(await (await get('/products/42')).text()).toBe('p 2')
    })

    it('Cache-Status is added to a bypassed response with immutable headers (Response.redirect)', async () => {
      const app = new Hono()
      app.get('/go', cached({ ttl: 60, cache: createCache() }), () =>
        Response.redirect('http://example.com/', 302),
      )
      const get = await start(app)
      const res = await get('/go', { headers: { authorization: 'Bearer x' }, redirect: 'manual' })
      expect(res.status).toBe(302)
      expect(res.headers.get('location')).toBe('http://example.com/')
      expect(res.headers.get('cache-status')).toBe('tiercache; fwd=bypass; detail=authorization')
    })

    it('the handler sees no conditional headers on a fill; the 304 comes from the cache', async () => {
      const app = new Hono()
      const seen: (string | undefined)[] = []
      app.get('/p', cached({ ttl: 60, cache: createCache() }), (c) => {
        seen.push(c.req.header('if-none-match'))
        return c.text('body')
      })
      const get = await start(app)
      const res = await get('/p', { headers: { 'if-none-match': '"nope"' } })
      expect(res.status).toBe(200)
      expect(seen).toEqual([undefined])
    })
  })

  describe('errors', () => {
    it("HTTPException and the default onError: Hono's error response is sent and nothing is stored", async () => {
      const { HTTPException } = await import('hono/http-exception')
      const app = new Hono()
      let n = 0
      app.get('/p', cached({ ttl: 60, cache: createCache() }), () => {
        n++
        throw new HTTPException(404, { message: 'gone' })
      })
      const get = await start(app)
      const a = await get('/p')
      const b = await get('/p')
      expect([a.status, b.status]).toEqual([404, 404])
      expect(await b.text()).toBe('gone')
      expect(n).toBe(2)
    })

    it('stale-if-error also replaces a thrown non-Error value', async () => {
      const app = new Hono()
      let mode = 'ok'
      app.get('/p', cached({ ttl: '100ms', staleIfError: 60, cache: createCache() }), (c) => {
        if (mode === 'throw') throw 'not an Error'
        return c.text('good')
      })
      const get = await start(app)
      await get('/p')
      await sleep(150)
      mode = 'throw'
      const res = await get('/p')
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('good')
      expect(res.headers.get('cache-status')).toMatch(/fwd=stale/)
    })

    it('an event stream is passed through as it comes, not buffered', async () => {
      const app = new Hono()
      const enc = new TextEncoder()
      let release: () => void = () => {}
      const gate = new Promise<void>((r) => {
        release = r
      })
      app.get('/events', cached({ ttl: 60, cache: createCache() }), (c) => {
        c.header('content-type', 'text/event-stream')
        let i = 0
        return c.body(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              if (i === 1) await gate
              if (i === 2) return controller.close()
              controller.enqueue(enc.encode(`data: ${i++}\n\n`))
            },
          }),
        )
      })
      const get = await start(app)
      const res = await get('/events')
      expect(res.headers.get('cache-status')).toMatch(/fwd=uri-miss/)
      const reader = res.body!.getReader()
      const first = await reader.read()
      expect(new TextDecoder().decode(first.value)).toBe('data: 0\n\n')
      release()
      let rest = ''
      for (let r = await reader.read(); !r.done; r = await reader.read())
        rest += new TextDecoder().decode(r.value)
      expect(rest).toBe('data: 1\n\n')
    })
  })
})

vitest.describe('hono: without @hono/node-server (app.request, headers read from the fetch Request)', () => {
  vitest.it('hits, bypasses Authorization and keys Vary from the Request headers', async () => {
    const { expect } = vitest
    const cache = createCache()
    let calls = 0
    const app = new Hono()
    app.get('/p', cached({ ttl: 60, cache }), (c) => {
      c.header('vary', 'accept-language')
      return c.text(`v${++calls} ${c.req.header('accept-language') ?? '-'}`)
    })
    const get = async (headers: Record<string, string> = {}) => {
      const res = await app.request('http://example.com/p', { headers })
      return { text: await res.text(), cs: res.headers.get('cache-status') ?? '' }
    }
    expect(await get({ 'accept-language': 'de' })).toEqual({
      text: 'v1 de',
      cs: 'tiercache; fwd=uri-miss; stored',
    })
    expect((await get({ 'accept-language': 'de' })).cs).toMatch(/^tiercache; hit/)
    expect((await get({ 'accept-language': 'fr' })).text).toBe('v2 fr')
    expect((await get({ 'accept-language': 'de' })).text).toBe('v1 de')
    const auth = await get({ 'accept-language': 'de', authorization: 'Bearer x' })
    expect(auth.text).toBe('v3 de')
    expect(auth.cs).toMatch(/fwd=bypass/)
    expect(calls).toBe(3)
  })
})
