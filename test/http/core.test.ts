import { describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../../src/cache.js'
import { collectTags } from '../../src/context.js'
import { type CachedOptions, createHttpCache, type HttpCache } from '../../src/http/core.js'
import { invalidateKey, invalidateUrl, keyTag, urlTag } from '../../src/http/invalidate.js'
import type { HttpRequestView } from '../../src/http/types.js'
import type { LocalTier } from '../../src/tiers/types.js'

interface Out {
  status?: number
  headers?: Record<string, string | string[]>
  body?: string
}
interface Result {
  kind: string
  status: number
  headers: Record<string, string>
  body: string | undefined
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function view(url = '/p/1', headers: Record<string, string> = {}, method = 'GET'): HttpRequestView {
  return { method, protocol: 'http', host: 'example.com', url, headers: { ...headers } }
}

function record(pairs: readonly (readonly [string, string])[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [n, v] of pairs) out[n] = out[n] === undefined ? v : `${out[n]}, ${v}`
  return out
}

function flat(headers: Record<string, string | string[]>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [n, v] of Object.entries(headers)) out[n.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v
  return out
}

/** A minimal adapter: what every framework adapter does, without a framework. */
async function drive(
  http: HttpCache<HttpRequestView, undefined>,
  v: HttpRequestView,
  handler: () => Out | Promise<Out>,
  hooks: { onMiss?: (m: { abort(): void }) => void } = {},
): Promise<Result> {
  const d = await http.begin(v, v, undefined)
  if (d.kind === 'hit') {
    return { kind: 'hit', status: d.status, headers: record(d.headers), body: text(d.body) }
  }
  if (d.kind === 'bypass') {
    const r = await handler()
    const headers = r.headers ?? {}
    await d.onResponse?.(r.status ?? 200, headers)
    return {
      kind: 'bypass',
      status: r.status ?? 200,
      headers: { ...flat(headers), ...record(d.headers) },
      body: r.body,
    }
  }
  const original = { ...v.headers }
  for (const h of d.stripRequestHeaders) delete (v.headers as Record<string, unknown>)[h]
  hooks.onMiss?.(d)
  let r: Out
  try {
    r = await d.run(async () => handler())
  } catch (err) {
    const reply = await d.fail(err)
    if (reply === undefined) return { kind: 'miss', status: 500, headers: {}, body: 'error' }
    return { kind: 'miss', status: reply.status, headers: record(reply.headers), body: text(reply.body) }
  } finally {
    Object.assign(v.headers, original)
  }
  const status = r.status ?? 200
  const headers = r.headers ?? {}
  const body = new TextEncoder().encode(r.body ?? '')
  if (!d.wantsBody(status, headers) || body.byteLength > http.maxBodySize) {
    return { kind: 'miss', status, headers: record(d.stream(status, headers)), body: r.body }
  }
  const reply = await d.finish({ status, headers, body })
  return { kind: 'miss', status: reply.status, headers: record(reply.headers), body: text(reply.body) }
}

function text(body: Uint8Array | undefined): string | undefined {
  return body === undefined ? undefined : new TextDecoder().decode(body)
}

function setup(options: CachedOptions<HttpRequestView, undefined> = {}, cache: Cache = createCache()) {
  return { cache, http: createHttpCache<HttpRequestView, undefined>({ cache, ttl: 60, ...options }) }
}

function counter(out: (n: number) => Out = (n) => ({ body: `v${n}` }), delay = 0) {
  const fn = async () => {
    const n = ++fn.calls
    if (delay > 0) await sleep(delay)
    return out(n)
  }
  fn.calls = 0
  return fn
}

describe('createHttpCache: options', () => {
  it.each([
    [{ ttl: -1 }, /ttl/],
    [{ ttl: '5 parsecs' }, /ttl/],
    [{ private: true }, /private/],
    [{ tll: 60 }, /tll/],
    [{ maxVariants: 0 }, /maxVariants/],
    [{ cacheStatus: 'bad name' }, /cacheStatus/],
    [{ tags: 'a' }, /tags/],
    [{ tags: [''] }, /tags/],
    [{ staleIfError: -5 }, /staleIfError/],
    [{ hitForMiss: 'x' }, /hitForMiss/],
    [{ lockTimeout: 0 }, /lockTimeout/],
    [{ statuses: [206] }, /206/],
    [{ cache: {} }, /cache/],
    [{ public: true, private: () => 'u' }, /mutually exclusive/],
    [{ etag: 'yes' }, /etag/],
    [{ backgroundRevalidate: 'yes' }, /backgroundRevalidate/],
  ])('%j throws a TypeError naming the option', (options, pattern) => {
    expect(() => createHttpCache(options as CachedOptions)).toThrow(TypeError)
    expect(() => createHttpCache(options as CachedOptions)).toThrow(pattern)
  })

  it('accepts no options (default cache)', () => {
    expect(createHttpCache().maxBodySize).toBe(1_048_576)
  })
})

describe('createHttpCache: miss, hit, headers', () => {
  it('stores a 200 and replays status, headers and body with Age, Cache-Status, ETag and Date', async () => {
    const { http } = setup()
    const h = counter((n) => ({
      headers: { 'content-type': 'text/plain', 'x-a': ['1', '2'] },
      body: `v${n}`,
    }))
    const a = await drive(http, view(), h)
    expect(a.kind).toBe('miss')
    expect(a.headers['cache-status']).toBe('tiercache; fwd=uri-miss; stored')
    expect(a.headers.etag).toMatch(/^"[\w-]{27}"$/)
    const b = await drive(http, view(), h)
    expect(h.calls).toBe(1)
    expect(b).toMatchObject({ kind: 'hit', status: 200, body: 'v1' })
    expect(b.headers['cache-status']).toMatch(/^tiercache; hit; ttl=(59|60)$/)
    expect(b.headers.age).toBe('0')
    expect(b.headers['x-a']).toBe('1, 2')
    expect(b.headers['content-length']).toBe('2')
    expect(b.headers.etag).toBe(a.headers.etag)
    expect(b.headers.date).toBe(a.headers.date)
  })

  it('keeps the app ETag; cacheStatus false or renamed', async () => {
    const { cache } = setup()
    const off = createHttpCache<HttpRequestView, undefined>({ cache, ttl: 60, cacheStatus: false })
    const r = await drive(off, view('/a'), () => ({ headers: { etag: '"app"' }, body: 'x' }))
    expect(r.headers['cache-status']).toBeUndefined()
    expect(r.headers.etag).toBe('"app"')
    const named = createHttpCache<HttpRequestView, undefined>({ cache, ttl: 60, cacheStatus: 'edge' })
    expect((await drive(named, view('/b'), () => ({ body: 'x' }))).headers['cache-status']).toMatch(/^edge; /)
  })

  it('answers If-None-Match and If-Modified-Since with 304 from the cache', async () => {
    const { http } = setup()
    const lm = 'Wed, 14 Jan 2026 12:00:00 GMT'
    const h = counter(() => ({ headers: { 'last-modified': lm }, body: 'hello' }))
    const a = await drive(http, view(), h)
    const etag = a.headers.etag!
    const b = await drive(http, view('/p/1', { 'if-none-match': etag }), h)
    expect(b.status).toBe(304)
    expect(b.body).toBeUndefined()
    expect(b.headers.etag).toBe(etag)
    const c = await drive(http, view('/p/1', { 'if-modified-since': lm }), h)
    expect(c.status).toBe(304)
    expect(h.calls).toBe(1)
  })

  it('a conditional request that fills the cache gets a 304 and stores the full response', async () => {
    const { http } = setup()
    let seen: string | undefined = 'unset'
    const v = view('/p/1', { 'if-none-match': '"app"' })
    const h = counter(() => {
      seen = v.headers['if-none-match'] as string | undefined
      return { headers: { etag: '"app"' }, body: 'full' }
    })
    const a = await drive(http, v, h)
    expect(seen).toBeUndefined()
    expect(a.status).toBe(304)
    const b = await drive(http, view(), h)
    expect(b).toMatchObject({ kind: 'hit', status: 200, body: 'full' })
  })

  it('HEAD is answered from the GET entry without a body; a HEAD miss stores nothing', async () => {
    const { http } = setup()
    const h = counter()
    const miss = await drive(http, view('/p/1', {}, 'HEAD'), h)
    expect(miss.kind).toBe('bypass')
    expect(miss.headers['cache-status']).toBe('tiercache; fwd=uri-miss')
    await drive(http, view(), h)
    const head = await drive(http, view('/p/1', {}, 'HEAD'), h)
    expect(head).toMatchObject({ kind: 'hit', status: 200, body: undefined })
    expect(head.headers['content-length']).toBe('2')
    expect(h.calls).toBe(2)
  })
})

describe('createHttpCache: decide', () => {
  it('a fresh hit (also of a Vary variant) is returned without a promise; misses, stale and HEAD are promises', async () => {
    const { http } = setup({ ttl: '200ms' })
    const v = view('/d')
    const miss = http.decide(v, {} as HttpRequestView, undefined)
    expect(miss).toBeInstanceOf(Promise)
    const m = await miss
    if (m.kind === 'miss') m.abort() // releases the flight
    await drive(http, view('/d'), counter())
    const hit = http.decide(view('/d'), {} as HttpRequestView, undefined)
    expect(hit).not.toBeInstanceOf(Promise)
    expect(hit).toMatchObject({ kind: 'hit', status: 200 })
    expect(record((hit as { headers: [string, string][] }).headers)['cache-status']).toBe(
      'tiercache; hit; ttl=0',
    )
    expect(http.decide(view('/d', {}, 'HEAD'), {} as HttpRequestView, undefined)).toBeInstanceOf(Promise)
    const cond = http.decide(view('/d', { 'if-none-match': '*' }), {} as HttpRequestView, undefined)
    expect(cond).toMatchObject({ kind: 'hit', status: 304 })
    await drive(
      http,
      view('/vary', { 'accept-language': 'de' }),
      counter(() => ({ headers: { vary: 'Accept-Language' }, body: 'de' })),
    )
    expect(
      http.decide(view('/vary', { 'accept-language': 'de' }), {} as HttpRequestView, undefined),
    ).toMatchObject({
      kind: 'hit',
    })
    expect(
      http.decide(view('/vary', { 'accept-language': 'fr' }), {} as HttpRequestView, undefined),
    ).toBeInstanceOf(Promise)
    await sleep(250)
    expect(http.decide(view('/d'), {} as HttpRequestView, undefined)).toBeInstanceOf(Promise)
  })
})

describe('createHttpCache: request keys and shared hit replies', () => {
  it('the scheme, host and route pattern stay in the key when the URL alone is remembered', async () => {
    const { http } = setup({ ttl: 60 })
    const at = (protocol: string, host: string, pattern?: string): HttpRequestView => ({
      ...view('/k'),
      protocol,
      host,
      route: pattern === undefined ? undefined : { pattern, params: {} },
    })
    const first = counter((n) => ({ body: `a${n}` }))
    expect((await drive(http, at('http', 'a.example'), first)).body).toBe('a1') // the route's "home"
    // a fresh view per request: the view doubles as the native request, which marks nested layers
    const others = [
      () => at('https', 'a.example'),
      () => at('http', 'b.example'),
      () => at('http', 'a.example', '/:x'),
    ]
    for (const [i, v] of others.entries()) {
      expect(
        (
          await drive(
            http,
            v(),
            counter(() => ({ body: `other${i}` })),
          )
        ).body,
      ).toBe(`other${i}`)
    }
    expect((await drive(http, at('http', 'a.example'), first)).body).toBe('a1')
    for (const [i, v] of others.entries()) {
      const again = await drive(
        http,
        v(),
        counter(() => ({ body: 'never' })),
      )
      expect([again.kind, again.body]).toEqual(['hit', `other${i}`])
    }
    expect((await drive(http, { ...at('http', 'a.example'), url: '/k?x=1' }, first)).body).toBe('a2')
  })

  it('two routes reading one entry (a custom key) keep their own Cache-Status names on shared hits', async () => {
    const cache = createCache()
    const a = createHttpCache<HttpRequestView, undefined>({
      cache,
      ttl: 60,
      key: () => 'same',
      cacheStatus: 'a',
    })
    const b = createHttpCache<HttpRequestView, undefined>({
      cache,
      ttl: 60,
      key: () => 'same',
      cacheStatus: 'b',
    })
    await drive(a, view('/x'), counter())
    for (let i = 0; i < 2; i++) {
      for (const [http, name] of [
        [a, 'a'],
        [b, 'b'],
      ] as const) {
        const d = http.decide(view('/x'), {} as HttpRequestView, undefined)
        if (d instanceof Promise || d.kind !== 'hit') throw new Error('expected a hit')
        expect(record(d.headers)['cache-status']).toBe(`${name}; hit; ttl=60`)
      }
    }
  })

  it('plain GETs share one frozen hit decision per second; conditional requests get their own', async () => {
    const { http } = setup({ ttl: 60 })
    await drive(
      http,
      view('/s'),
      counter(() => ({ headers: { 'x-a': ['1', '2'] }, body: 's' })),
    )
    const a = http.decide(view('/s', { accept: '*/*' }), {} as HttpRequestView, undefined)
    const b = http.decide(view('/s'), {} as HttpRequestView, undefined)
    expect(a).toBe(b)
    if (a instanceof Promise || a.kind !== 'hit') throw new Error('expected a hit')
    expect(Object.isFrozen(a)).toBe(true)
    expect(a.record).toMatchObject({ 'x-a': ['1', '2'], 'cache-status': 'tiercache; hit; ttl=60' })
    expect(Object.keys(a.record!)).toEqual(
      a.headers.map(([n]) => n).filter((n, i, all) => all.indexOf(n) === i),
    )
    const cond = http.decide(view('/s', { 'if-none-match': '"x"' }), {} as HttpRequestView, undefined)
    expect(cond).not.toBe(a)
    expect(cond).toMatchObject({ kind: 'hit', status: 200 })
    expect((cond as { record?: unknown }).record).toBeUndefined()
  })
})

describe('createHttpCache: coalescing', () => {
  it('50 concurrent misses run the handler once; waiters are marked collapsed', async () => {
    const { http } = setup()
    const h = counter(undefined, 30)
    const results = await Promise.all(Array.from({ length: 50 }, () => drive(http, view(), h)))
    expect(h.calls).toBe(1)
    expect(results.every((r) => r.body === 'v1' && r.status === 200)).toBe(true)
    expect(results.filter((r) => r.kind === 'miss')).toHaveLength(1)
    expect(results.filter((r) => r.headers['cache-status']?.endsWith('collapsed'))).toHaveLength(49)
  })

  it('an uncacheable response releases waiters to run the handler, then hit-for-miss skips waiting', async () => {
    const { http } = setup()
    const h = counter((n) => ({ headers: { 'set-cookie': `session=${n}` }, body: `v${n}` }), 40)
    const results = await Promise.all(Array.from({ length: 5 }, () => drive(http, view(), h)))
    expect(h.calls).toBe(5)
    const cookies = results.map((r) => r.headers['set-cookie'])
    expect(new Set(cookies).size).toBe(5)
    for (const r of results) expect(r.body).toBe(`v${r.headers['set-cookie']!.slice(8)}`)
    const t0 = performance.now()
    await Promise.all(Array.from({ length: 5 }, () => drive(http, view(), h)))
    expect(performance.now() - t0).toBeLessThan(150)
    expect(h.calls).toBe(10)
  })

  it('a thrown handler releases waiters, who run the handler themselves', async () => {
    const { http } = setup()
    const h = counter(undefined, 30)
    let first = true
    const handler = async () => {
      if (first) {
        first = false
        await sleep(30)
        throw new Error('boom')
      }
      return h()
    }
    const results = await Promise.all(Array.from({ length: 4 }, () => drive(http, view(), handler)))
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 500])
  })

  it('an aborted leader releases waiters', async () => {
    const { http } = setup()
    const h = counter(undefined, 50)
    const leader = drive(http, view(), h, { onMiss: (m) => setTimeout(() => m.abort(), 10) })
    await sleep(1)
    const waiter = drive(http, view(), h)
    const r = await waiter
    expect(r.status).toBe(200)
    await leader
  })

  it('a waiter gives up after lockTimeout and runs the handler itself', async () => {
    const { http } = setup({ lockTimeout: '50ms' })
    const h = counter(undefined, 300)
    const leader = drive(http, view(), h)
    await sleep(1)
    const t0 = performance.now()
    const waiter = await drive(http, view(), h)
    expect(performance.now() - t0).toBeLessThan(450)
    expect(waiter.headers['cache-status']).toContain('detail=lock-timeout')
    await leader
  })
})

describe('createHttpCache: collapsed and request tags', () => {
  it('a request right after the store (same millisecond or not) is a hit, never collapsed', async () => {
    const { http } = setup()
    const h = counter()
    for (let i = 0; i < 300; i++) {
      const first = await drive(http, view(`/p/${i}`), h)
      const second = await drive(http, view(`/p/${i}`), h)
      expect(first.headers['cache-status']).toBe('tiercache; fwd=uri-miss; stored')
      expect(second.headers['cache-status']).toMatch(/^tiercache; hit; ttl=(59|60)$/)
    }
  })

  it("waiters that coalesced onto another request's handler run note the stored response's tags", async () => {
    const cache = createCache()
    const { http } = setup({ tags: ['route'] }, cache)
    let db = 0
    const handler = async (): Promise<Out> => {
      await sleep(30)
      const v = await cache.getOrSet('product:42', () => ++db, { tags: ['product:42'] })
      return { body: `v${v}` }
    }
    const sets = Array.from({ length: 5 }, () => new Set<string>())
    const results = await Promise.all(sets.map((set) => collectTags(set, () => drive(http, view(), handler))))
    expect(db).toBe(1)
    expect(results.filter((r) => r.headers['cache-status']?.endsWith('collapsed'))).toHaveLength(4)
    for (const set of sets)
      expect([...set]).toEqual(expect.arrayContaining(['product:42', 'route', urlTag('/p/1')]))
    // a later hit notes them too
    const later = new Set<string>()
    await collectTags(later, () => drive(http, view(), handler))
    expect([...later]).toEqual(expect.arrayContaining(['product:42', 'route', urlTag('/p/1')]))
  })
})

describe('createHttpCache: freshness', () => {
  it('without ttl: stored by max-age, not stored without explicit freshness', async () => {
    const cache = createCache()
    const http = createHttpCache<HttpRequestView, undefined>({ cache })
    const a = counter(() => ({ headers: { 'cache-control': 'max-age=30' }, body: 'a' }))
    await drive(http, view('/a'), a)
    const hit = await drive(http, view('/a'), a)
    expect(hit.kind).toBe('hit')
    expect(hit.headers['cache-status']).toMatch(/ttl=(29|30)/)
    expect(hit.headers['cache-control']).toBe('max-age=30')
    const b = counter()
    const r = await drive(http, view('/b'), b)
    expect(r.headers['cache-status']).toContain('detail=no-freshness')
    await drive(http, view('/b'), b)
    expect(b.calls).toBe(2)
  })

  it('cacheControl is emitted on stored responses only', async () => {
    const { http } = setup({ cacheControl: { public: true, maxAge: 10 } })
    const r = await drive(http, view('/a'), () => ({ body: 'a' }))
    expect(r.headers['cache-control']).toBe('public, max-age=10')
    const p = await drive(http, view('/b'), () => ({ headers: { 'cache-control': 'no-store' }, body: 'b' }))
    expect(p.headers['cache-control']).toBe('no-store')
  })

  it('stale-while-revalidate: one request refreshes, the others get the stale response at once', async () => {
    const { http } = setup({ ttl: '100ms', staleWhileRevalidate: 10 })
    const h = counter(undefined, 60)
    await drive(http, view(), h)
    await sleep(120)
    const refresher = drive(http, view(), h)
    await sleep(5)
    const t0 = performance.now()
    const stale = await drive(http, view(), h)
    expect(performance.now() - t0).toBeLessThan(40)
    expect(stale.body).toBe('v1')
    expect(stale.headers['cache-status']).toMatch(/hit; ttl=-\d+; detail=stale-while-revalidate/)
    const fresh = await refresher
    expect(fresh.body).toBe('v2')
    expect(fresh.headers['cache-status']).toBe('tiercache; fwd=stale; stored')
    expect((await drive(http, view(), h)).body).toBe('v2')
  })

  it('stale-if-error: a 5xx or a throw within the window serves the stale response', async () => {
    const { http } = setup({ ttl: '50ms', staleIfError: 60 })
    await drive(http, view(), () => ({ body: 'good' }))
    await sleep(70)
    const five = await drive(http, view(), () => ({ status: 503, body: 'down' }))
    expect(five).toMatchObject({ status: 200, body: 'good' })
    expect(five.headers['cache-status']).toMatch(/fwd=stale; fwd-status=503; ttl=-\d+; detail=stale-if-error/)
    const thrown = await drive(http, view(), () => {
      throw new Error('db down')
    })
    expect(thrown).toMatchObject({ status: 200, body: 'good' })
  })

  it('without staleIfError a 5xx passes through and is not stored', async () => {
    const { http } = setup()
    const h = counter((n) => ({ status: 500, body: `e${n}` }))
    expect((await drive(http, view(), h)).body).toBe('e1')
    expect((await drive(http, view(), h)).body).toBe('e2')
  })
})

describe('createHttpCache: Vary', () => {
  it('stores one variant per normalised header value and never serves another variant', async () => {
    const { http } = setup()
    const h = async () => ({ headers: { vary: 'Accept-Language' }, body: 'x' })
    let calls = 0
    const by = (lang: string) => async () => {
      calls++
      await h()
      return { headers: { vary: 'Accept-Language' }, body: `lang=${lang}` }
    }
    expect((await drive(http, view('/p', { 'accept-language': 'en' }), by('en'))).body).toBe('lang=en')
    expect((await drive(http, view('/p', { 'accept-language': 'fr' }), by('fr'))).body).toBe('lang=fr')
    const en = await drive(http, view('/p', { 'accept-language': 'EN' }), by('en2'))
    expect(en).toMatchObject({ kind: 'hit', body: 'lang=en' })
    const fr = await drive(http, view('/p', { 'accept-language': 'fr' }), by('fr2'))
    expect(fr).toMatchObject({ kind: 'hit', body: 'lang=fr' })
    expect(calls).toBe(2)
  })

  it('caps the variants per URL', async () => {
    const { http } = setup({ maxVariants: 2 })
    const h = (v: string) => () => ({ headers: { vary: 'x-v' }, body: v })
    for (const v of ['a', 'b', 'c']) await drive(http, view('/p', { 'x-v': v }), h(v))
    expect((await drive(http, view('/p', { 'x-v': 'a' }), h('a2'))).kind).toBe('hit')
    expect((await drive(http, view('/p', { 'x-v': 'b' }), h('b2'))).kind).toBe('hit')
    const c = await drive(http, view('/p', { 'x-v': 'c' }), h('c2'))
    expect(c.kind).toBe('miss')
    expect(c.body).toBe('c2')
  })

  it('Vary: * and Vary: Cookie are not stored', async () => {
    const { http } = setup()
    const star = counter(() => ({ headers: { vary: '*' }, body: 's' }))
    await drive(http, view('/s'), star)
    await drive(http, view('/s'), star)
    expect(star.calls).toBe(2)
    const cookie = counter(() => ({ headers: { vary: 'Cookie' }, body: 'c' }))
    await drive(http, view('/c'), cookie)
    await drive(http, view('/c'), cookie)
    expect(cookie.calls).toBe(2)
  })
})

describe('createHttpCache: per-user mode and bypass', () => {
  it('partitions by identity and marks responses private', async () => {
    const { http } = setup({ private: (req) => (req.headers['x-user'] as string | undefined) ?? null })
    const h = (u: string) => () => ({ body: `for ${u}` })
    const auth = { authorization: 'Bearer t' }
    const a = await drive(http, view('/me', { ...auth, 'x-user': 'a' }), h('a'))
    expect(a.headers['cache-control']).toBe('private')
    const b = await drive(http, view('/me', { ...auth, 'x-user': 'b' }), h('b'))
    expect(b.body).toBe('for b')
    const a2 = await drive(http, view('/me', { ...auth, 'x-user': 'a' }), h('a2'))
    expect(a2).toMatchObject({ kind: 'hit', body: 'for a' })
    expect(a2.headers['cache-control']).toBe('private')
    const anon = await drive(http, view('/me'), h('anon'))
    expect(anon.headers['cache-status']).toBe('tiercache; fwd=bypass; detail=no-identity')
  })

  it('Authorization and Cookie bypass in shared mode; request Cache-Control cannot bypass', async () => {
    const { http } = setup()
    const h = counter()
    await drive(http, view(), h)
    const auth = await drive(http, view('/p/1', { authorization: 'x' }), h)
    expect(auth.headers['cache-status']).toBe('tiercache; fwd=bypass; detail=authorization')
    const cookie = await drive(http, view('/p/1', { cookie: 'sid=1' }), h)
    expect(cookie.kind).toBe('bypass')
    const nc = await drive(http, view('/p/1', { 'cache-control': 'no-cache', pragma: 'no-cache' }), h)
    expect(nc.kind).toBe('hit')
  })

  it('fails open when the store throws', async () => {
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
    const { http } = setup({}, createCache({ tiers: [broken] }))
    const r = await drive(http, view(), () => ({ body: 'ok' }))
    expect(r).toMatchObject({ status: 200, body: 'ok' })
  })
})

describe('createHttpCache: invalidation', () => {
  it('unsafe methods with 2xx/3xx invalidate the URL and same-origin Location; 4xx do not', async () => {
    const { http } = setup()
    const h = counter()
    await drive(http, view('/p/1?x=1'), h)
    await drive(http, view('/p/2'), h)
    await drive(http, view('/p/1', {}, 'POST'), () => ({ status: 400 }))
    expect((await drive(http, view('/p/1?x=1'), h)).kind).toBe('hit')
    await drive(http, view('/p/1', {}, 'POST'), () => ({ status: 303, headers: { location: '/p/2' } }))
    expect((await drive(http, view('/p/1?x=1'), h)).kind).toBe('miss')
    expect((await drive(http, view('/p/2'), h)).kind).toBe('miss')
  })

  it('invalidateUrl and cache.http.invalidate drop every entry of a path', async () => {
    const { http, cache } = setup()
    const h = counter()
    await drive(http, view('/p/1?a=1'), h)
    await drive(http, view('/p/1/'), h)
    await invalidateUrl(cache, '/p/1')
    expect((await drive(http, view('/p/1?a=1'), h)).kind).toBe('miss')
    expect((await drive(http, view('/p/1/'), h)).kind).toBe('miss')
    await cache.http.invalidate('http://example.com/p/1')
    expect((await drive(http, view('/p/1?a=1'), h)).kind).toBe('miss')
    expect(urlTag('/a%2db/?q')).toBe('http:url:/a-b')
  })

  it('invalidateKey and cache.http.invalidateKey drop the responses of a custom key, every partition', async () => {
    const cache = createCache()
    const http = createHttpCache<HttpRequestView, undefined>({
      cache,
      ttl: 60,
      key: (req) => `page:${req.url.split('?')[0]}`,
      private: (req) => (req.headers as Record<string, string>)['x-user'],
    })
    const h = counter()
    const ann = (url: string) => view(url, { 'x-user': 'ann' })
    const bob = (url: string) => view(url, { 'x-user': 'bob' })
    await drive(http, ann('/p/1?a=1'), h)
    await drive(http, bob('/p/1'), h)
    await drive(http, ann('/p/2'), h)
    expect((await drive(http, ann('/p/1?b=2'), h)).kind).toBe('hit') // the custom key ignores the query
    await invalidateKey(cache, 'page:/p/1')
    expect((await drive(http, ann('/p/1'), h)).kind).toBe('miss')
    expect((await drive(http, bob('/p/1'), h)).kind).toBe('miss')
    expect((await drive(http, ann('/p/2'), h)).kind).toBe('hit')
    await cache.http.invalidateKey(['page:/p/2'])
    expect((await drive(http, ann('/p/2'), h)).kind).toBe('miss')
    expect((await drive(http, ann('/p/1'), h)).kind).toBe('hit')
    expect(keyTag('page:/p/1')).toBe('http:key:page:/p/1')
    expect(() => keyTag('')).toThrow(TypeError)
  })

  it('route tags and tags collected during the handler invalidate the response', async () => {
    const cache = createCache()
    const http = createHttpCache<HttpRequestView, undefined>({
      cache,
      ttl: 60,
      tags: (req) => [`route:${req.url}`],
    })
    const h = counter()
    await drive(http, view('/p/1'), h)
    await cache.invalidateTags(['route:/p/1'])
    expect((await drive(http, view('/p/1'), h)).kind).toBe('miss')
    const collected = createHttpCache<HttpRequestView, undefined>({ cache, ttl: 60 })
    const d = await collected.begin(view('/q'), view('/q'), undefined)
    if (d.kind !== 'miss') throw new Error('expected a miss')
    d.tags.add('product:42')
    await d.finish({ status: 200, headers: {}, body: new TextEncoder().encode('q') })
    expect((await drive(collected, view('/q'), h)).kind).toBe('hit')
    await cache.invalidateTags(['product:42'])
    expect((await drive(collected, view('/q'), h)).kind).toBe('miss')
  })
})
