import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import * as vitest from 'vitest'
import { cached, tiercachePlugin } from '../../adapters/fastify.js'
import { createCache } from '../../src/cache.js'
import {
  httpConformance,
  type MakeServer,
  nativeOptions,
  type RouteSpec,
  type SpecRequest,
} from '../conformance/http.js'
import { slowStream } from './slow-stream.js'

const { describe, it, expect, afterEach } = vitest

function toSpec(req: FastifyRequest): SpecRequest {
  const params: Record<string, string> = {}
  for (const [k, v] of Object.entries((req.params ?? {}) as Record<string, unknown>)) params[k] = String(v)
  return { method: req.method, url: req.url, params, headers: req.headers }
}

function specHandler(r: RouteSpec) {
  return async function handler(req: FastifyRequest, reply: FastifyReply) {
    const out = await r.handler(toSpec(req))
    reply.code(out.status ?? 200)
    for (const [k, v] of Object.entries(out.headers ?? {})) reply.header(k, v)
    if (out.json !== undefined) return out.json
    if (out.text !== undefined) return reply.send(out.text)
    if (out.bytes !== undefined) return reply.send(Buffer.from(out.bytes))
    if (out.chunks !== undefined) return reply.send(slowStream(out.chunks))
    return reply.send()
  }
}

async function listen(app: FastifyInstance) {
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return { url, close: () => app.close() }
}

/** Routes with `cached()` route options; `use` (app-wide) becomes the plugin with `global: true`. */
const makeServer: MakeServer = async (routes, { cache, use }) => {
  const app = Fastify({ forceCloseConnections: true })
  if (use !== undefined) {
    await app.register(tiercachePlugin, { ...nativeOptions(use, toSpec), cache, global: true })
  }
  try {
    for (const r of routes) {
      const hooks =
        r.options === false || r.options === undefined
          ? {}
          : cached({ ...nativeOptions(r.options, toSpec), cache })
      app.route({ method: r.method ?? 'GET', url: r.path, ...hooks, handler: specHandler(r) })
    }
    return await listen(app)
  } catch (error) {
    await app.close()
    throw error
  }
}

/** Every route through the plugin and `config.cache`. */
const makePluginServer: MakeServer = async (routes, { cache, use }) => {
  const app = Fastify({ forceCloseConnections: true })
  await app.register(tiercachePlugin, {
    ...nativeOptions(use ?? {}, toSpec),
    cache,
    global: use !== undefined,
  })
  try {
    for (const r of routes) {
      const config = r.options ? { cache: nativeOptions(r.options, toSpec) } : {}
      app.route({ method: r.method ?? 'GET', url: r.path, config, handler: specHandler(r) })
    }
    return await listen(app)
  } catch (error) {
    await app.close()
    throw error
  }
}

httpConformance('fastify', makeServer, vitest)
httpConformance('fastify plugin', makePluginServer, vitest)

describe('fastify adapter', () => {
  const apps: FastifyInstance[] = []
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()))
  })
  async function start(app: FastifyInstance) {
    apps.push(app)
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    const get = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(url + path, init)
      const text = await res.text()
      return { status: res.status, text, headers: res.headers, cs: res.headers.get('cache-status') ?? '' }
    }
    return { url, get }
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

  it('cached() validates options at setup; the plugin validates its defaults and each config.cache', async () => {
    expect(() => cached({ ttl: -1 })).toThrow(/ttl/)
    expect(() => cached({ tll: 1 } as never)).toThrow(/tll/)
    await expect(
      Fastify()
        .register(tiercachePlugin, { ttl: 'soon' as never })
        .ready(),
    ).rejects.toThrow(/ttl/)
    const app = Fastify()
    await app.register(tiercachePlugin)
    expect(() => app.get('/x', { config: { cache: { maxVariants: 0 } } }, () => 'x')).toThrow(/maxVariants/)
    await app.close()
  })

  it('headers of earlier hooks: set in onRequest they are stored and replayed; set in onSend, fresh on a hit', async () => {
    let requests = 0
    let runs = 0
    const app = Fastify()
    app.addHook('onRequest', async (request, reply) => {
      const n = String(++requests)
      ;(request as FastifyRequest & { n?: string }).n = n
      reply.header('x-before', n)
    })
    app.addHook('onSend', async (request, reply) => {
      reply.header('x-after', (request as FastifyRequest & { n?: string }).n)
    })
    app.get('/page', cached({ ttl: 60, cache: createCache() }), async () => `run ${++runs}`)
    const { get } = await start(app)
    const a = await get('/page')
    const b = await get('/page')
    expect(b.cs).toMatch(/^tiercache; hit; ttl=/)
    expect(b.text).toBe('run 1')
    expect([a.headers.get('x-before'), a.headers.get('x-after')]).toEqual(['1', '1'])
    expect([b.headers.get('x-before'), b.headers.get('x-after')]).toEqual(['1', '2'])
  })

  it('the shorthand form fastify.get(path, cached(), handler), typed params included', async () => {
    const app = Fastify()
    let n = 0
    app.get<{ Params: { id: string } }>('/p/:id', cached({ ttl: 60, cache: createCache() }), async (req) => ({
      id: req.params.id,
      n: ++n,
    }))
    const { get } = await start(app)
    const a = await get('/p/1')
    const b = await get('/p/1')
    expect(a.cs).toBe('tiercache; fwd=uri-miss; stored')
    expect(b.cs).toBe('tiercache; hit; ttl=60')
    expect(JSON.parse(b.text)).toEqual({ id: '1', n: 1 })
  })

  it('plugin: config.cache caches a route with the plugin defaults; other routes are untouched', async () => {
    const app = Fastify()
    const cache = createCache()
    await app.register(tiercachePlugin, { cache, ttl: 60, cacheStatus: 'app' })
    let n = 0
    app.get('/on', { config: { cache: { tags: ['on'] } } }, async () => `on ${++n}`)
    app.get('/defaults', { config: { cache: true } }, async () => `defaults ${++n}`)
    app.get('/off', async () => `off ${++n}`)
    const { get } = await start(app)
    expect((await get('/on')).text).toBe('on 1')
    expect((await get('/on')).cs).toBe('app; hit; ttl=60')
    expect((await get('/defaults')).text).toBe('defaults 2')
    expect((await get('/defaults')).text).toBe('defaults 2')
    expect((await get('/off')).cs).toBe('')
    expect((await get('/off')).text).toBe('off 4')
    await cache.invalidateTags(['on'])
    expect((await get('/on')).text).toBe('on 5')
  })

  it('plugin global: every later route is cached, config.cache overrides or opts out, cached() is not doubled', async () => {
    const app = Fastify()
    const cache = createCache()
    await app.register(tiercachePlugin, { cache, ttl: 60, global: true })
    let n = 0
    app.get('/all', async () => `all ${++n}`)
    app.get('/out', { config: { cache: false } }, async () => `out ${++n}`)
    app.get('/short', { config: { cache: { ttl: 1 } } }, async () => `short ${++n}`)
    app.get('/own', cached({ ttl: 60, cache, cacheStatus: 'own' }), async () => `own ${++n}`)
    const { get } = await start(app)
    await get('/all')
    expect((await get('/all')).cs).toBe('tiercache; hit; ttl=60')
    await get('/out')
    expect((await get('/out')).cs).toBe('')
    await get('/short')
    expect((await get('/short')).cs).toBe('tiercache; hit; ttl=1')
    await get('/own')
    expect((await get('/own')).cs).toBe('own; hit; ttl=60')
  })

  it('objects through the serializer (response schema) and streams are stored and replayed byte for byte', async () => {
    const app = Fastify()
    const cache = createCache()
    let n = 0
    const schema = { response: { 200: { type: 'object', properties: { n: { type: 'integer' } } } } }
    app.get('/obj', { ...cached({ ttl: 60, cache }), schema }, async () => ({ n: ++n, hidden: 'dropped' }))
    app.get('/file', cached({ ttl: 60, cache }), async (_req, reply) => {
      reply.header('content-type', 'text/plain')
      return reply.send(Readable.from([`part ${++n}|`, Buffer.from('two|'), 'three']))
    })
    const { get } = await start(app)
    const a = await get('/obj')
    const b = await get('/obj')
    expect(a.text).toBe('{"n":1}')
    expect(b.text).toBe(a.text)
    expect(b.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(b.cs).toMatch(/hit/)
    const c = await get('/file')
    const d = await get('/file')
    expect(c.text).toBe('part 2|two|three')
    expect(d.text).toBe(c.text)
    expect(d.headers.get('content-length')).toBe(String(c.text.length))
    expect(d.cs).toMatch(/hit/)
  })

  it('the host is the one Fastify validated: X-Forwarded-Host counts only with trustProxy', async () => {
    const hostOf = async (trustProxy: boolean) => {
      const app = Fastify({ trustProxy })
      let n = 0
      app.get('/h', cached({ ttl: 60, cache: createCache() }), async (req) => `${req.host} ${++n}`)
      const { url } = await start(app)
      // fetch cannot set Host; node:http can
      const { request } = await import('node:http')
      const ask = (host: string) =>
        new Promise<string>((resolve, reject) => {
          const req = request(
            `${url}/h`,
            { headers: { host, 'x-forwarded-host': 'shop.example' } },
            (res) => {
              let body = ''
              res.on('data', (c) => {
                body += c
              })
              res.on('end', () => resolve(body))
            },
          )
          req.on('error', reject)
          req.end()
        })
      return [await ask('a.example'), await ask('b.example')]
    }
    expect(await hostOf(false)).toEqual(['a.example 1', 'b.example 2'])
    expect(await hostOf(true)).toEqual(['shop.example 1', 'shop.example 1'])
  })

  it('tags read inside the handler reach the stored response, after async hooks and awaits', async () => {
    const { noteTags } = await import('../../src/context.js')
    const app = Fastify()
    const cache = createCache()
    app.addHook('onRequest', async () => {
      await sleep(1)
    })
    app.addHook('preHandler', async () => {
      await sleep(1)
    })
    let n = 0
    app.get('/t/:id', cached({ ttl: 60, cache }), async (req) => {
      await sleep(5)
      noteTags([`thing:${(req.params as { id: string }).id}`])
      return `t ${++n}`
    })
    const { get } = await start(app)
    expect((await get('/t/1')).text).toBe('t 1')
    expect((await get('/t/1')).text).toBe('t 1')
    await cache.invalidateTags(['thing:1'])
    expect((await get('/t/1')).text).toBe('t 2')
  })

  it("the lookup runs after the app's auth hooks: a hit is never served to a rejected request", async () => {
    const app = Fastify()
    app.addHook('preHandler', async (req, reply) => {
      if (req.headers['x-api-key'] !== 'k') return reply.code(401).send('no')
    })
    app.get('/secret', cached({ ttl: 60, cache: createCache() }), async () => 'secret')
    const c = cached({ ttl: 60, cache: createCache() })
    const auth = async (req: FastifyRequest, reply: FastifyReply) => {
      if (req.headers['x-route-key'] !== 'r') return reply.code(403).send('route says no')
    }
    app.get('/route-auth', { ...c, preHandler: [auth, c.preHandler] }, async () => 'route secret')
    const { get } = await start(app)
    expect((await get('/secret', { headers: { 'x-api-key': 'k' } })).text).toBe('secret')
    const denied = await get('/secret')
    expect(denied.status).toBe(401)
    expect(denied.text).toBe('no')
    const keys = { 'x-api-key': 'k', 'x-route-key': 'r' }
    expect((await get('/route-auth', { headers: keys })).text).toBe('route secret')
    expect((await get('/route-auth', { headers: keys })).cs).toMatch(/hit/)
    expect((await get('/route-auth', { headers: { 'x-api-key': 'k' } })).status).toBe(403)
  })

  it('a client that disconnects releases the waiters at once', async () => {
    const app = Fastify({ forceCloseConnections: true })
    const starts: number[] = []
    app.get('/slow', cached({ ttl: 60, cache: createCache() }), async () => {
      starts.push(performance.now())
      await sleep(starts.length === 1 ? 1000 : 10)
      return 'done'
    })
    const { get } = await start(app)
    const ac = new AbortController()
    const leader = get('/slow', { signal: ac.signal }).catch(() => undefined)
    await sleep(50)
    const waiter = get('/slow')
    await sleep(50)
    const abortedAt = performance.now()
    ac.abort()
    expect((await waiter).text).toBe('done')
    expect(starts.length).toBe(2)
    expect(starts[1]! - abortedAt).toBeLessThan(500)
    await leader
  })

  it('a handler error goes through Fastify error handling (onError releases the fill)', async () => {
    const app = Fastify()
    let n = 0
    app.get('/e', cached({ ttl: 60, cache: createCache() }), async () => {
      if (++n === 1) throw Object.assign(new Error('teapot'), { statusCode: 418 })
      return 'fine'
    })
    const { get } = await start(app)
    const a = await get('/e')
    expect(a.status).toBe(418)
    expect(JSON.parse(a.text).message).toBe('teapot')
    expect((await get('/e')).text).toBe('fine')
    expect((await get('/e')).cs).toMatch(/hit/)
  })

  it('a streamed body that fails while buffered is a handler error; the next request runs the handler', async () => {
    const app = Fastify()
    let n = 0
    app.get('/s', cached({ ttl: 60, cache: createCache() }), async (_req, reply) => {
      const mine = ++n
      return reply.send(
        Readable.from(
          (async function* () {
            yield Buffer.from('start|')
            if (mine === 1) throw new Error('disk gone')
            yield Buffer.from('end')
          })(),
        ),
      )
    })
    const { get } = await start(app)
    expect((await get('/s')).status).toBe(500)
    expect((await get('/s')).text).toBe('start|end')
    expect((await get('/s')).cs).toMatch(/hit/)
  })
})
