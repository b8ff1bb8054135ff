/**
 * The HTTP conformance suite, written once and run against every framework adapter over real HTTP
 * (servers on 127.0.0.1 port 0, `fetch`). An adapter's test supplies `makeServer`, which turns the
 * framework-neutral {@link RouteSpec}s into native routes behind its `cached(...)`.
 *
 * Checks the behaviour of issue 4 and RELIABILITY 33-40: replay fidelity, coalescing and waiter
 * release, SWR and stale-if-error, headers (Age, Cache-Status, ETag, 304, Date), HEAD, freshness
 * modes, safe defaults, Vary, poisoning, deception, key normalisation, bounded memory, invalidation
 * (unsafe methods, URL, route tags, automatic tags), streaming past `maxBodySize`, fail-open.
 */
import { gzipSync } from 'node:zlib'
import type * as Vitest from 'vitest'
import { type Cache, createCache } from '../../src/cache.js'
import { openTagCollectors } from '../../src/context.js'
import type { CachedOptions } from '../../src/http/cached-options.js'
import { INFLUENCE_HEADERS } from '../../src/http/core.js'
import { invalidateUrl } from '../../src/http/invalidate.js'
import { keyvTier } from '../../src/tiers/keyv.js'
import { memoryTier } from '../../src/tiers/memory.js'
import type { LocalTier } from '../../src/tiers/types.js'

/** A request as neutral handlers and option functions see it. */
export interface SpecRequest {
  method: string
  /** Path and query as received. */
  url: string
  params: Record<string, string>
  headers: Record<string, string | string[] | undefined>
}

/** A neutral response. Exactly one of `text`, `json`, `bytes`, `chunks` (or none: empty body). */
export interface SpecResponse {
  status?: number
  headers?: Record<string, string | string[]>
  text?: string
  json?: unknown
  bytes?: Uint8Array
  /** Written one by one with a pause between them (a streamed body of unknown length). */
  chunks?: Uint8Array[]
}

/** Route options with function options taking the neutral request. */
export type SpecOptions = Omit<CachedOptions<SpecRequest, SpecRequest>, 'cache'>

/** One route: the adapter registers `method path` with `cached({ ...options, cache })` unless `options` is false. */
export interface RouteSpec {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** `:name` segments only, e.g. `/items/:id`. */
  path: string
  options?: SpecOptions | false
  /** May throw (the framework's error handling must then answer 500). */
  handler: (req: SpecRequest) => SpecResponse | Promise<SpecResponse>
}

export interface ServerOptions {
  cache: Cache
  /** When set, also mount `cached({ ...use, cache })` app-wide, before the routes. */
  use?: SpecOptions
}

export type MakeServer = (
  routes: RouteSpec[],
  options: ServerOptions,
) => Promise<{ url: string; close(): Promise<void> }>

/**
 * Maps neutral option functions to native ones, given how the adapter builds a {@link SpecRequest}
 * from its native request.
 */
export function nativeOptions<Req, Res>(
  options: SpecOptions,
  toSpec: (req: Req) => SpecRequest,
): CachedOptions<Req, Res> {
  const { private: priv, bypass, key, tags, ...rest } = options
  const out: CachedOptions<Req, Res> = { ...rest }
  if (priv !== undefined) out.private = (req) => priv(toSpec(req))
  if (bypass !== undefined) out.bypass = (req) => bypass(toSpec(req))
  if (key !== undefined) out.key = (req) => key(toSpec(req))
  if (typeof tags === 'function') out.tags = (req) => tags(toSpec(req), toSpec(req))
  else if (tags !== undefined) out.tags = tags
  return out
}

interface Got {
  status: number
  headers: Headers
  body: Buffer
  text: string
  cs: string
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * A memory tier whose entries look fresh `lag.ms` longer (a lagging engine clock, or a tier whose
 * clock runs behind): the HTTP layer sees a response expired while the engine still hits. `lag.ms`
 * may change during a test.
 */
function laggingTier(lag: { ms: number }): LocalTier {
  const inner = memoryTier()
  return {
    kind: 'local',
    name: 'lagging',
    get: (key) => {
      const e = inner.get(key)
      return e === undefined ? undefined : { ...e, f: e.f + lag.ms, w: e.w + lag.ms, s: e.s + lag.ms }
    },
    set: (key, entry, ttlMs) => inner.set(key, entry, ttlMs + lag.ms),
    delete: (key) => inner.delete(key),
    clear: () => inner.clear(),
    get size() {
      return inner.size
    },
  }
}

function count(): { n: number } {
  return { n: 0 }
}

/** A promise with its resolve function (to learn when a handler started, or to hold it). */
function signal(): { promise: Promise<void>; resolve(): void } {
  let resolve = (): void => {}
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

type Suite = Pick<typeof Vitest, 'describe' | 'it' | 'expect' | 'afterEach'>

export function httpConformance(name: string, makeServer: MakeServer, vitest: Suite): void {
  const { describe, it, expect, afterEach } = vitest
  const open: { close(): Promise<void> }[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()))
  })

  async function serve(routes: RouteSpec[], opts: { cache?: Cache; use?: SpecOptions } = {}) {
    const cache = opts.cache ?? createCache()
    const server = await makeServer(routes, { cache, use: opts.use })
    open.push(server)
    const get = async (path: string, init: RequestInit = {}): Promise<Got> => {
      const res = await fetch(server.url + path, init)
      const body = Buffer.from(await res.arrayBuffer())
      return {
        status: res.status,
        headers: res.headers,
        body,
        text: body.toString('utf8'),
        cs: res.headers.get('cache-status') ?? '',
      }
    }
    return { cache, get, url: server.url }
  }

  /** A route whose handler counts calls and answers `out(n)` after `delay` ms. */
  function route(
    path: string,
    out: (n: number, req: SpecRequest) => SpecResponse,
    o: SpecOptions = {},
    delay = 0,
  ) {
    const c = count()
    const spec: RouteSpec = {
      path,
      options: { ttl: 60, ...o },
      handler: async (req) => {
        const n = ++c.n
        if (delay > 0) await sleep(delay)
        return out(n, req)
      },
    }
    return { spec, calls: c }
  }

  /** `spec` with a handler that first sleeps 200 ms once `slow.on` is set. */
  function slowable(spec: RouteSpec): { spec: RouteSpec; slow: { on: boolean } } {
    const slow = { on: false }
    const handler = async (req: SpecRequest) => {
      if (slow.on) await sleep(200)
      return spec.handler(req)
    }
    return { spec: { ...spec, handler }, slow }
  }

  const END_TO_END_IGNORED = new Set(['age', 'cache-status', 'connection', 'keep-alive', 'transfer-encoding'])
  function endToEnd(h: Headers): [string, string][] {
    return [...h.entries()].filter(([n]) => !END_TO_END_IGNORED.has(n))
  }

  describe(`${name}: HTTP conformance`, () => {
    describe('replay', () => {
      it('a second GET replays status, end-to-end headers and byte-identical bodies', async () => {
        const bytes = new Uint8Array(3000).map((_, i) => (i * 7) % 256)
        const routes = [
          route('/json', (n) => ({ headers: { 'x-custom': ['a', 'b'] }, json: { n, list: [1, 'two'] } })),
          route('/text', (n) => ({
            headers: { 'content-type': 'text/plain; charset=utf-8' },
            text: `text ${n} é`,
          })),
          route('/bytes', () => ({ headers: { 'content-type': 'application/octet-stream' }, bytes })),
          route('/stream', () => ({
            headers: { 'content-type': 'application/octet-stream' },
            chunks: [bytes.slice(0, 1000), bytes.slice(1000, 2000), bytes.slice(2000)],
          })),
        ]
        const { get } = await serve(routes.map((r) => r.spec))
        for (const r of routes) {
          const a = await get(r.spec.path)
          const b = await get(r.spec.path)
          expect(a.status).toBe(200)
          expect(b.status).toBe(200)
          expect(b.cs).toMatch(/^tiercache; hit; ttl=(59|60)$/)
          expect(b.body.equals(a.body)).toBe(true)
          expect(endToEnd(b.headers)).toEqual(endToEnd(a.headers))
          expect(r.calls.n).toBe(1)
        }
      })

      it('Age, Cache-Status, the stored Date, and an ETag on every stored response', async () => {
        const r = route('/p', (n) => ({ text: `v${n}` }))
        const { get } = await serve([r.spec])
        const a = await get('/p')
        expect(a.cs).toBe('tiercache; fwd=uri-miss; stored')
        await sleep(1100)
        const b = await get('/p')
        expect(Number(b.headers.get('age'))).toBeGreaterThanOrEqual(1)
        expect(b.headers.get('date')).toBe(a.headers.get('date'))
        expect(b.headers.get('etag')).toBeTruthy()
        expect(b.headers.get('etag')).toBe(a.headers.get('etag'))
      })

      it('answers If-None-Match and If-Modified-Since with 304 from the cache', async () => {
        const lm = 'Wed, 14 Jan 2026 12:00:00 GMT'
        const r = route('/p', () => ({ headers: { 'last-modified': lm }, text: 'hello' }))
        const { get } = await serve([r.spec])
        const a = await get('/p')
        const etag = a.headers.get('etag')!
        const b = await get('/p', { headers: { 'if-none-match': etag } })
        expect(b.status).toBe(304)
        expect(b.body.length).toBe(0)
        expect(b.headers.get('etag')).toBe(etag)
        const c = await get('/p', { headers: { 'if-modified-since': lm } })
        expect(c.status).toBe(304)
        expect(r.calls.n).toBe(1)
      })

      it('HEAD is answered from the GET entry without a body', async () => {
        const r = route('/p', (n) => ({ text: `value ${n}` }))
        const { get } = await serve([r.spec])
        const a = await get('/p')
        const h = await get('/p', { method: 'HEAD' })
        expect(h.status).toBe(200)
        expect(h.body.length).toBe(0)
        expect(h.cs).toMatch(/hit/)
        expect(h.headers.get('content-length')).toBe(String(a.body.length))
        expect(r.calls.n).toBe(1)
      })
    })

    describe('coalescing', () => {
      it('50 concurrent requests for a cold URL run the handler once and all get the full response', async () => {
        const r = route('/p', (n) => ({ json: { n, pad: 'x'.repeat(500) } }), {}, 300)
        const { get } = await serve([r.spec])
        const all = await Promise.all(Array.from({ length: 50 }, () => get('/p')))
        expect(r.calls.n).toBe(1)
        expect(new Set(all.map((g) => g.text)).size).toBe(1)
        expect(all.every((g) => g.status === 200 && g.body.length > 500)).toBe(true)
        // one leader stored it; the others waited on its handler run (collapsed) or, arriving late on
        // a busy machine, found it stored (hit)
        const leader = all.filter((g) => g.cs === 'tiercache; fwd=uri-miss; stored')
        const collapsed = all.filter((g) => g.cs === 'tiercache; fwd=uri-miss; stored; collapsed')
        const hits = all.filter((g) => /^tiercache; hit; ttl=(59|60)$/.test(g.cs))
        expect(leader.length).toBe(1)
        expect(collapsed.length + hits.length).toBe(49)
        expect(collapsed.length).toBeGreaterThanOrEqual(5)
      })

      it('a request right after the store is a hit, never collapsed (it waited on nobody)', async () => {
        const r = route('/p/:i', (n) => ({ text: `v${n}` }))
        const { get } = await serve([r.spec])
        for (let i = 0; i < 40; i++) {
          expect((await get(`/p/${i}`)).cs).toBe('tiercache; fwd=uri-miss; stored')
          expect((await get(`/p/${i}`)).cs).toMatch(/^tiercache; hit; ttl=(59|60)$/)
        }
      })

      it('waiters are released when the leader throws, and run the handler themselves', async () => {
        let n = 0
        const spec: RouteSpec = {
          path: '/p',
          options: { ttl: 60 },
          handler: async () => {
            const mine = ++n
            await sleep(50)
            if (mine === 1) throw new Error('boom')
            return { text: 'ok' }
          },
        }
        const { get } = await serve([spec])
        const first = get('/p')
        await sleep(10)
        const rest = await Promise.all(Array.from({ length: 4 }, () => get('/p')))
        expect((await first).status).toBe(500)
        expect(rest.map((g) => g.status)).toEqual([200, 200, 200, 200])
      })

      it('waiters are released when the leader client disconnects', async () => {
        // the leader's handler outlives the waiter's limit (and lockTimeout is 5 s): the waiter only
        // finishes in time if the disconnect releases it, and then it runs the handler itself
        let calls = 0
        let unblock = (): void => {}
        const blocked = new Promise<void>((resolve) => {
          unblock = resolve
        })
        const spec: RouteSpec = {
          path: '/p',
          options: { ttl: 60 },
          handler: async () => {
            const n = ++calls
            if (n === 1) await Promise.race([blocked, sleep(4000)])
            else await sleep(20)
            return { text: `v${n}` }
          },
        }
        const { get } = await serve([spec])
        const ac = new AbortController()
        const leader = get('/p', { signal: ac.signal }).catch(() => undefined)
        await sleep(50)
        const waiter = get('/p')
        await sleep(50)
        ac.abort()
        const t0 = performance.now()
        const w = await waiter
        expect(w.status).toBe(200)
        expect(w.text).toBe('v2')
        expect(performance.now() - t0).toBeLessThan(1000)
        expect(calls).toBe(2)
        await leader
        unblock()
      })

      it('Set-Cookie is never replayed, and such a route is not serialised (hit-for-miss)', async () => {
        const r = route(
          '/login',
          (n) => ({ headers: { 'set-cookie': `session=${n}` }, text: `user ${n}` }),
          {},
          100,
        )
        const { get } = await serve([r.spec])
        const one = await get('/login')
        const two = await get('/login')
        expect(one.headers.getSetCookie()).toEqual(['session=1'])
        expect(two.headers.getSetCookie()).toEqual(['session=2'])
        expect(two.cs).toContain('detail=set-cookie')
        const t0 = performance.now()
        const many = await Promise.all(Array.from({ length: 8 }, () => get('/login')))
        expect(performance.now() - t0).toBeLessThan(500)
        const cookies = many.map((g) => g.headers.getSetCookie()[0])
        expect(new Set(cookies).size).toBe(8)
      })
    })

    describe('stale serving', () => {
      it('an expired entry the engine still holds is refilled once, not once per request', async () => {
        // an L1 whose entries look fresh for a while longer (a lagging engine clock, or a tier whose
        // clock runs behind): the HTTP layer sees the response expired while the engine still hits
        const lagging = laggingTier({ ms: 2000 })
        const r = route('/p', (n) => ({ text: `v${n}` }), { ttl: '300ms' }, 20)
        const { get } = await serve([r.spec], { cache: createCache({ tiers: [lagging] }) })
        expect((await get('/p')).text).toBe('v1')
        await sleep(350)
        const all = await Promise.all(Array.from({ length: 20 }, () => get('/p')))
        expect(r.calls.n).toBe(2)
        expect(all.every((g) => g.status === 200 && g.text === 'v2')).toBe(true)
        expect((await get('/p')).cs).toMatch(/^tiercache; hit; ttl=0$/)
      })

      it('a request that leads the engine while another refills the expired entry waits for that refill', async () => {
        // the engine's clock catches up during a refill: later requests miss in the engine and would
        // run the handler a second time as the engine's leader
        const lag = { ms: 2000 }
        const lagging = laggingTier(lag)
        const r = route('/p', (n) => ({ text: `v${n}` }), { ttl: '400ms' }, 200)
        const { get } = await serve([r.spec], { cache: createCache({ tiers: [lagging] }) })
        expect((await get('/p')).text).toBe('v1')
        await sleep(450) // expired for the HTTP layer, still fresh for the lagging engine
        const refill = get('/p')
        await sleep(60)
        lag.ms = 0 // now expired for the engine too
        const later = await Promise.all(Array.from({ length: 5 }, () => get('/p')))
        expect((await refill).text).toBe('v2')
        expect(later.map((g) => g.text)).toEqual(Array(5).fill('v2'))
        expect(r.calls.n).toBe(2)
      })

      it('stale-while-revalidate: during a refresh other requests get the stale response at once', async () => {
        const r = route('/p', (n) => ({ text: `v${n}` }), { ttl: '300ms', staleWhileRevalidate: 30 }, 0)
        const { spec, slow } = slowable(r.spec)
        const { get } = await serve([spec])
        await get('/p')
        await sleep(350)
        slow.on = true
        const refresher = get('/p')
        await sleep(30)
        const t0 = performance.now()
        const stale = await get('/p')
        expect(performance.now() - t0).toBeLessThan(150)
        expect(stale.text).toBe('v1')
        expect(stale.cs).toMatch(/hit; ttl=-\d+; detail=stale-while-revalidate/)
        expect((await refresher).text).toBe('v2')
        expect((await get('/p')).text).toBe('v2')
      })

      it('backgroundRevalidate: the first stale request gets the stale response at once, a copy refreshes it', async () => {
        const seen: string[] = []
        const r = route(
          '/p',
          (n, req) => {
            seen.push(String(req.headers['x-client'] ?? ''))
            return { text: `v${n}` }
          },
          { ttl: '300ms', staleWhileRevalidate: 30, backgroundRevalidate: true },
          0,
        )
        const { spec, slow } = slowable(r.spec)
        const { get } = await serve([spec])
        expect((await get('/p')).text).toBe('v1')
        await sleep(350)
        slow.on = true
        const t0 = performance.now()
        const first = await get('/p', { headers: { 'x-client': 'first', 'if-none-match': '"nope"' } })
        expect(performance.now() - t0).toBeLessThan(150)
        expect(first.text).toBe('v1')
        expect(first.cs).toMatch(/hit; ttl=-\d+; detail=stale-while-revalidate/)
        const second = await get('/p')
        expect(second.text).toBe('v1') // the refresh is still running: one copy, not one per request
        await sleep(400)
        const after = await get('/p')
        expect(after.text).toBe('v2')
        expect(after.cs).toMatch(/hit; ttl=\d+/)
        expect(r.calls.n).toBe(2)
        // the copy carried the request's headers through the app
        expect(seen).toEqual(['', 'first'])
      })

      it('stale-if-error: a handler that throws or returns 5xx gets the stale response', async () => {
        const mode = { now: 'ok' }
        const spec: RouteSpec = {
          path: '/p',
          options: { ttl: '200ms', staleIfError: 60 },
          handler: () => {
            if (mode.now === 'throw') throw new Error('db down')
            if (mode.now === '503') return { status: 503, text: 'down' }
            return { text: 'good' }
          },
        }
        const { get } = await serve([spec])
        await get('/p')
        await sleep(250)
        mode.now = 'throw'
        const thrown = await get('/p')
        expect(thrown.status).toBe(200)
        expect(thrown.text).toBe('good')
        expect(thrown.cs).toMatch(/fwd=stale/)
        const { get: get2 } = await serve([{ ...spec }])
        mode.now = 'ok'
        await get2('/p')
        await sleep(250)
        mode.now = '503'
        const five = await get2('/p')
        expect(five.status).toBe(200)
        expect(five.text).toBe('good')
        expect(five.cs).toMatch(/fwd=stale; fwd-status=503/)
      })
    })

    describe('freshness and Cache-Control', () => {
      it('without ttl the response decides: max-age is stored, no explicit freshness is not', async () => {
        const a = route('/a', (n) => ({ headers: { 'cache-control': 'max-age=30' }, text: `a${n}` }), {
          ttl: undefined,
        })
        const b = route('/b', (n) => ({ text: `b${n}` }), { ttl: undefined })
        const { get } = await serve([a.spec, b.spec])
        await get('/a')
        const hit = await get('/a')
        expect(hit.cs).toMatch(/hit; ttl=(29|30)/)
        expect(hit.headers.get('cache-control')).toBe('max-age=30')
        await get('/b')
        expect((await get('/b')).cs).toContain('detail=no-freshness')
        expect(b.calls.n).toBe(2)
      })

      it("cacheControl is emitted for downstream caches; otherwise the app's header is untouched", async () => {
        const a = route('/a', () => ({ text: 'a' }), {
          cacheControl: { public: true, maxAge: 10, sMaxAge: 60 },
        })
        const b = route('/b', () => ({ headers: { 'cache-control': 'public, max-age=5' }, text: 'b' }))
        const { get } = await serve([a.spec, b.spec])
        expect((await get('/a')).headers.get('cache-control')).toBe('public, max-age=10, s-maxage=60')
        expect((await get('/a')).headers.get('cache-control')).toBe('public, max-age=10, s-maxage=60')
        expect((await get('/b')).headers.get('cache-control')).toBe('public, max-age=5')
      })
    })

    describe('safe defaults', () => {
      it('4xx and 5xx are not stored by default; statuses opts in', async () => {
        const routes = [
          route('/404', (n) => ({ status: 404, text: `nf${n}` })),
          route('/500', (n) => ({ status: 500, text: `e${n}` })),
          route('/400', (n) => ({ status: 400, text: `bad${n}` })),
          route('/404ok', (n) => ({ status: 404, text: `nf${n}` }), { statuses: [200, 404], ttl: 5 }),
        ]
        const { get } = await serve(routes.map((r) => r.spec))
        for (const r of routes.slice(0, 3)) {
          await get(r.spec.path)
          const second = await get(r.spec.path)
          expect(second.text.endsWith('2')).toBe(true)
        }
        await get('/404ok')
        expect((await get('/404ok')).text).toBe('nf1')
      })

      it('Authorization requests are neither served from nor stored in the shared cache', async () => {
        const r = route('/p', (n, req) => ({ text: `${req.headers.authorization ?? 'anon'} ${n}` }))
        const { get } = await serve([r.spec])
        const authed = await get('/p', { headers: { authorization: 'Bearer alice' } })
        expect(authed.cs).toBe('tiercache; fwd=bypass; detail=authorization')
        const anon = await get('/p')
        expect(anon.text).toBe('anon 2')
        const again = await get('/p', { headers: { authorization: 'Bearer bob' } })
        expect(again.text).toBe('Bearer bob 3')
      })

      it('Cookie requests bypass unless ignoreCookies; per-user mode partitions by identity', async () => {
        const shared = route('/shared', (n) => ({ text: `s${n}` }))
        const ignoring = route('/ignoring', (n) => ({ text: `i${n}` }), { ignoreCookies: true })
        const me = route('/me', (n, req) => ({ text: `me ${req.headers['x-user']} ${n}` }), {
          private: (req) => req.headers['x-user'] as string | undefined,
        })
        const { get } = await serve([shared.spec, ignoring.spec, me.spec])
        await get('/shared', { headers: { cookie: 'sid=1' } })
        expect((await get('/shared', { headers: { cookie: 'sid=1' } })).cs).toContain('detail=cookie')
        await get('/ignoring', { headers: { cookie: 'sid=1' } })
        expect((await get('/ignoring', { headers: { cookie: 'sid=2' } })).text).toBe('i1')
        const auth = { authorization: 'Bearer x' }
        const a = await get('/me', { headers: { ...auth, 'x-user': 'alice' } })
        const b = await get('/me', { headers: { ...auth, 'x-user': 'bob' } })
        const a2 = await get('/me', { headers: { ...auth, 'x-user': 'alice' } })
        expect([a.text, b.text, a2.text]).toEqual(['me alice 1', 'me bob 2', 'me alice 1'])
        expect(a2.headers.get('cache-control')).toBe('private')
      })

      it('per-user responses stay in the memory tier; shared ones reach the lower tier', async () => {
        const store = new Map<unknown, unknown>()
        const cache = createCache({ tiers: [memoryTier(), keyvTier(store)] })
        const shared = route('/shared', (n) => ({ text: `s${n}` }))
        const me = route('/me', (n, req) => ({ text: `me ${req.headers['x-user']} ${n}` }), {
          private: (req) => req.headers['x-user'] as string | undefined,
        })
        const { get } = await serve([shared.spec, me.spec], { cache })
        const alice = { authorization: 'Bearer a', 'x-user': 'alice' }
        await get('/me', { headers: alice })
        expect((await get('/me', { headers: alice })).text).toBe('me alice 1')
        await sleep(50)
        expect(store.size).toBe(0)
        await get('/shared')
        await sleep(50)
        expect(store.size).toBeGreaterThan(0)
      })

      it('no request header or query flag can bypass or refresh', async () => {
        const r = route('/p', (n) => ({ text: `v${n}` }))
        const { get } = await serve([r.spec])
        await get('/p')
        for (const headers of [
          { 'cache-control': 'no-cache' },
          { pragma: 'no-cache' },
          { 'cache-control': 'max-age=0' },
        ] as Record<string, string>[]) {
          expect((await get('/p', { headers })).text).toBe('v1')
        }
        expect(r.calls.n).toBe(1)
      })

      it('Range requests bypass', async () => {
        const r = route('/p', (n) => ({ text: `v${n}` }))
        const { get } = await serve([r.spec])
        await get('/p')
        expect((await get('/p', { headers: { range: 'bytes=0-1' } })).cs).toContain('detail=range')
      })

      it('a response streamed past maxBodySize is passed through whole and not stored', async () => {
        const chunk = new Uint8Array(1000).fill(65)
        const r = route('/big', () => ({ chunks: [chunk, chunk, chunk, chunk, chunk] }), {
          maxBodySize: 1500,
        })
        const { get } = await serve([r.spec])
        const a = await get('/big')
        expect(a.body.length).toBe(5000)
        expect(a.cs).toContain('detail=body-too-large')
        const b = await get('/big')
        expect(b.body.length).toBe(5000)
        expect(r.calls.n).toBe(2)
      })

      it('fails open: a broken store never fails the response', async () => {
        const broken: LocalTier = {
          kind: 'local',
          name: 'broken',
          get() {
            throw new Error('store down')
          },
          set() {
            throw new Error('store down')
          },
          delete() {},
          clear() {},
          size: 0,
        }
        const r = route('/p', (n) => ({ text: `v${n}` }))
        const { get } = await serve([r.spec], { cache: createCache({ tiers: [broken] }) })
        const a = await get('/p')
        expect(a.status).toBe(200)
        expect(a.text).toBe('v1')
      })
    })

    describe('Vary', () => {
      it('Vary: * is not stored', async () => {
        const r = route('/p', (n) => ({ headers: { vary: '*' }, text: `v${n}` }))
        const { get } = await serve([r.spec])
        await get('/p')
        expect((await get('/p')).text).toBe('v2')
      })

      it('a Vary mismatch never serves another variant', async () => {
        const r = route('/p', (n, req) => ({
          headers: { vary: 'Accept-Language' },
          text: `${req.headers['accept-language']} ${n}`,
        }))
        const { get } = await serve([r.spec])
        const lang = (l: string) => get('/p', { headers: { 'accept-language': l } })
        expect((await lang('en')).text).toBe('en 1')
        expect((await lang('fr')).text).toBe('fr 2')
        expect((await lang('en')).text).toBe('en 1')
        expect((await lang('fr')).text).toBe('fr 2')
        expect((await lang('de')).text).toBe('de 3')
      })

      it('Vary: Accept-Encoding keeps one variant per negotiated coding', async () => {
        const r = route(
          '/p',
          (n, req): SpecResponse => {
            const gz = String(req.headers['accept-encoding'] ?? '').includes('gzip')
            const body = `body ${n}`
            return gz
              ? { headers: { vary: 'Accept-Encoding', 'content-encoding': 'gzip' }, bytes: gzipSync(body) }
              : { headers: { vary: 'Accept-Encoding' }, text: body }
          },
          { encodings: ['gzip', 'identity'] },
        )
        const { get } = await serve([r.spec])
        const ae = (v: string) => get('/p', { headers: { 'accept-encoding': v } })
        expect((await ae('gzip')).text).toBe('body 1')
        expect((await ae('identity')).text).toBe('body 2')
        expect((await ae('gzip, deflate')).text).toBe('body 1')
        expect((await ae('identity')).text).toBe('body 2')
        expect(r.calls.n).toBe(2)
      })

      it('Vary: Cookie is not stored outside per-user mode', async () => {
        const r = route('/p', (n) => ({ headers: { vary: 'Cookie' }, text: `v${n}` }))
        const { get } = await serve([r.spec])
        await get('/p')
        expect((await get('/p')).text).toBe('v2')
      })
    })

    describe('attacks', () => {
      it(`unkeyed-header poisoning (${INFLUENCE_HEADERS.length + 4} headers): the victim gets the baseline`, async () => {
        const fuzzed = [
          ...INFLUENCE_HEADERS,
          'x-http-method-override',
          'x-http-method',
          'x-method-override',
          'host',
        ]
        const reflect: RouteSpec = {
          path: '/r/:i',
          options: { ttl: 60 },
          handler: (req) => {
            const seen: Record<string, unknown> = {}
            for (const h of fuzzed) if (h !== 'host' && req.headers[h] !== undefined) seen[h] = req.headers[h]
            return { headers: { 'x-reflect': JSON.stringify(seen) }, json: seen }
          },
        }
        const { get } = await serve([reflect])
        for (const [i, h] of fuzzed.entries()) {
          if (h === 'host') continue // fetch cannot set Host; the host is part of the key (see key tests)
          await get(`/r/${i}`, { headers: { [h]: 'evil.example' } })
          const victim = await get(`/r/${i}`)
          expect(victim.text, h).toBe('{}')
          expect(victim.headers.get('x-reflect'), h).toBe('{}')
        }
      })

      it('cache deception: nothing is stored for paths around a private page', async () => {
        const r = route('/account', (n) => ({ headers: { 'cache-control': 'private' }, text: `secret ${n}` }))
        const { get } = await serve([r.spec], { use: { ttl: 60 } })
        const paths = [
          '/account',
          '/account/x.css',
          '/account;x.css',
          '/account%2Fx.css',
          '/account/..%2fstatic/x.css',
          '/account.css',
        ]
        for (const p of paths) {
          await get(p)
          const again = await get(p)
          expect(again.cs, p).not.toMatch(/hit/)
          expect(again.text, p).not.toBe('secret 1')
        }
      })

      it('key normalisation: parameter order and tracking parameters share an entry; duplicates keep order', async () => {
        const r = route('/q', (n, req) => ({ text: `${req.url} ${n}` }))
        const { get } = await serve([r.spec])
        expect((await get('/q?b=2&a=1')).text).toBe('/q?b=2&a=1 1')
        expect((await get('/q?a=1&b=2')).text).toBe('/q?b=2&a=1 1')
        expect((await get('/q?a=1&utm_source=x&b=2')).text).toBe('/q?b=2&a=1 1')
        expect((await get('/q?id=1&id=2')).text).toBe('/q?id=1&id=2 2')
        expect((await get('/q?id=2&id=1')).text).toBe('/q?id=2&id=1 3')
      })

      it('10,000 random query strings keep the cache bounded (entries and bytes)', async () => {
        const tier = memoryTier({ max: 500, maxSize: '2mb' })
        const cache = createCache({ tiers: [tier] })
        const r = route('/bust', () => ({ json: { pad: 'x'.repeat(200) } }))
        const normal = route('/normal', (n) => ({ text: `n${n}` }))
        const { get } = await serve([r.spec, normal.spec], { cache })
        await get('/normal')
        const heap0 = process.memoryUsage().heapUsed
        let next = 0
        const worker = async () => {
          while (next < 10_000) {
            const i = next++
            await get(`/bust?cb=${i}-${Math.random().toString(36).slice(2)}`)
            if (i % 500 === 0) await get('/normal')
          }
        }
        await Promise.all(Array.from({ length: 32 }, worker))
        const heapMb = (process.memoryUsage().heapUsed - heap0) / 1_048_576
        console.log(
          `[${name}] after 10,000 cache-busting requests: ${tier.size} entries (cap 500, 2 MB), heap delta ${heapMb.toFixed(1)} MB`,
        )
        expect(tier.size).toBeLessThanOrEqual(500)
        expect(r.calls.n).toBe(10_000)
      }, 120_000)
    })

    describe('invalidation', () => {
      it('POST/PUT/PATCH/DELETE with 2xx/3xx invalidate the URL; 4xx do not', async () => {
        const item = route('/items/:id', (n, req) => ({ text: `item ${req.params.id} v${n}` }))
        const write = (method: RouteSpec['method'], status: number): RouteSpec => ({
          method,
          path: '/items/:id',
          options: { ttl: 60 },
          handler: () => ({ status, text: 'done' }),
        })
        const { get } = await serve([
          item.spec,
          write('POST', 200),
          write('PUT', 422),
          write('DELETE', 204),
          write('PATCH', 302),
        ])
        await get('/items/1')
        expect((await get('/items/1')).cs).toMatch(/hit/)
        await get('/items/1', { method: 'PUT' })
        expect((await get('/items/1')).cs).toMatch(/hit/)
        for (const method of ['POST', 'DELETE', 'PATCH']) {
          const w = await get('/items/1', { method, redirect: 'manual' })
          expect(w.cs).toBe('tiercache; fwd=method')
          expect((await get('/items/1')).cs, method).toBe('tiercache; fwd=uri-miss; stored')
        }
      })

      it('route tags, invalidateUrl and cache.http.invalidate', async () => {
        const r = route('/items/:id', (n, req) => ({ text: `${req.params.id} ${n}` }), {
          tags: (req) => [`item:${req.params.id}`],
        })
        const { get, cache } = await serve([r.spec])
        await get('/items/7')
        await cache.invalidateTags(['item:7'])
        expect((await get('/items/7')).text).toBe('7 2')
        await invalidateUrl(cache, '/items/7')
        expect((await get('/items/7')).text).toBe('7 3')
        await cache.http.invalidate('/items/7')
        expect((await get('/items/7')).text).toBe('7 4')
        expect((await get('/items/7')).text).toBe('7 4')
      })

      it('automatic tags: data read through the cache during the request tags the response', async () => {
        const cache = createCache()
        let db = 0
        const spec: RouteSpec = {
          path: '/products/:id',
          options: { ttl: 60 },
          handler: async (req) => {
            const id = req.params.id
            const product = await cache.getOrSet(`product:${id}`, () => ({ id, v: ++db }), {
              tags: [`product:${id}`],
            })
            return { json: product }
          },
        }
        const { get } = await serve([spec], { cache })
        expect(JSON.parse((await get('/products/42')).text)).toEqual({ id: '42', v: 1 })
        expect((await get('/products/42')).cs).toMatch(/hit/)
        await cache.invalidateTags(['product:42'])
        const after = await get('/products/42')
        expect(after.cs).toBe('tiercache; fwd=uri-miss; stored')
        expect(JSON.parse(after.text)).toEqual({ id: '42', v: 2 })
      })

      it('automatic tags tag the response when concurrent requests coalesce onto one handler run', async () => {
        const cache = createCache()
        let db = 0
        const spec: RouteSpec = {
          path: '/products/:id',
          options: { ttl: 60 },
          handler: async (req) => {
            const id = req.params.id
            await sleep(150)
            const product = await cache.getOrSet(`product:${id}`, () => ({ id, v: ++db }), {
              tags: [`product:${id}`],
            })
            return { json: product }
          },
        }
        const { get } = await serve([spec], { cache })
        const all = await Promise.all(Array.from({ length: 10 }, () => get('/products/42')))
        expect(db).toBe(1)
        expect(new Set(all.map((g) => g.text))).toEqual(new Set(['{"id":"42","v":1}']))
        await cache.invalidateTags(['product:42'])
        const after = await get('/products/42')
        expect(after.cs).toBe('tiercache; fwd=uri-miss; stored')
        expect(JSON.parse(after.text)).toEqual({ id: '42', v: 2 })
      })

      it('the tag collector is open while a handler fills and closed after every fill (stored, passed, thrown, streamed, coalesced)', async () => {
        const during: number[] = []
        const note = async (out: SpecResponse, delay = 0): Promise<SpecResponse> => {
          if (delay > 0) await sleep(delay)
          during.push(openTagCollectors())
          return out
        }
        const chunk = new Uint8Array(600).fill(97)
        const { get } = await serve([
          { path: '/stored', options: { ttl: 60 }, handler: () => note({ text: 'ok' }) },
          {
            path: '/cookie',
            options: { ttl: 60 },
            handler: () => note({ headers: { 'set-cookie': 'a=1' }, text: 'c' }),
          },
          {
            path: '/thrown',
            options: { ttl: 60 },
            handler: async () => {
              await note({})
              throw new Error('boom')
            },
          },
          {
            path: '/big',
            options: { ttl: 60, maxBodySize: 1000 },
            handler: () => note({ chunks: [chunk, chunk] }),
          },
          { path: '/slow', options: { ttl: 60 }, handler: () => note({ text: 'slow' }, 100) },
        ])
        const settled = async (): Promise<number> => {
          for (let i = 0; i < 50 && openTagCollectors() !== 0; i++) await sleep(10)
          return openTagCollectors()
        }
        for (const path of ['/stored', '/cookie', '/thrown', '/big']) {
          const res = await get(path)
          expect(res.status, path).toBe(path === '/thrown' ? 500 : 200)
          expect(await settled(), path).toBe(0)
        }
        const slow = await Promise.all(Array.from({ length: 10 }, () => get('/slow')))
        expect(slow.map((r) => r.text)).toEqual(Array(10).fill('slow'))
        expect(await settled()).toBe(0)
        expect(during).toHaveLength(5)
        for (const n of during) expect(n).toBeGreaterThanOrEqual(1)
        expect((await get('/stored')).cs).toMatch(/hit/)
        expect(openTagCollectors()).toBe(0)
      })

      it('an invalidation while the handler runs leaves nothing stored (fill and stale refresh)', async () => {
        let calls = 0
        let started = signal()
        const spec: RouteSpec = {
          path: '/items/:id',
          options: { ttl: '400ms', staleWhileRevalidate: 30, tags: (req) => [`item:${req.params.id}`] },
          handler: async () => {
            const n = ++calls
            started.resolve()
            await sleep(150)
            return { text: `v${n}` }
          },
        }
        const { get, cache } = await serve([spec])
        const first = get('/items/1')
        await started.promise
        await cache.invalidateTags(['item:1'])
        expect((await first).text).toBe('v1')
        const second = await get('/items/1')
        expect(second.cs).toBe('tiercache; fwd=uri-miss; stored')
        expect(second.text).toBe('v2')
        await sleep(450) // stale, inside stale-while-revalidate: the next request refreshes (cache.set)
        started = signal()
        const refresher = get('/items/1')
        await started.promise
        await cache.invalidateTags(['item:1'])
        expect((await refresher).text).toBe('v3')
        const third = await get('/items/1')
        expect(third.cs).toBe('tiercache; fwd=uri-miss; stored')
        expect(third.text).toBe('v4')
      })
    })

    describe('mounting', () => {
      it('works app-wide (use) as well as per route', async () => {
        const plain: RouteSpec = {
          path: '/plain/:id',
          options: false,
          handler: (req) => ({ text: `p${req.params.id}` }),
        }
        const { get } = await serve([plain], { use: { ttl: 60 } })
        await get('/plain/1')
        expect((await get('/plain/1')).cs).toMatch(/hit/)
      })

      it('nested layers (app-wide and per route) send one Cache-Status; route tags still apply', async () => {
        const r = route('/items/:id', (n, req) => ({ text: `${req.params.id} ${n}` }), {
          tags: (req) => [`item:${req.params.id}`],
        })
        const { get, cache } = await serve([r.spec], { use: { ttl: 60 } })
        const a = await get('/items/1')
        expect(a.cs).toBe('tiercache; fwd=uri-miss; stored')
        const b = await get('/items/1')
        expect(b.cs).toMatch(/^tiercache; hit; ttl=(59|60)$/)
        expect(b.text).toBe('1 1')
        await cache.invalidateTags(['item:1'])
        const c = await get('/items/1')
        expect(c.cs).toBe('tiercache; fwd=uri-miss; stored')
        expect(c.text).toBe('1 2')
        expect(r.calls.n).toBe(2)
      })

      it('nested layers: under an app-wide bypass the per-user route layer caches and owns Cache-Status', async () => {
        const me = route('/me', (n, req) => ({ text: `me ${req.headers['x-user']} ${n}` }), {
          private: (req) => req.headers['x-user'] as string | undefined,
        })
        const { get } = await serve([me.spec], { use: { ttl: 60 } })
        const headers = { authorization: 'Bearer x', 'x-user': 'alice' }
        const a = await get('/me', { headers })
        expect(a.cs).toBe('tiercache; fwd=uri-miss; stored')
        const b = await get('/me', { headers })
        expect(b.cs).toMatch(/^tiercache; hit; ttl=(59|60)$/)
        expect(b.text).toBe('me alice 1')
      })

      it('options are validated at setup with the option named', async () => {
        const bad: RouteSpec = { path: '/x', options: { ttl: -1 }, handler: () => ({}) }
        await expect(makeServer([bad], { cache: createCache() })).rejects.toThrow(/ttl/)
      })
    })
  })
}
