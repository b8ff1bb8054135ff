import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  hashKeyParts,
  keyPath,
  keyQuery,
  matchesParam,
  normalizeEscapes,
  requestKey,
  requestKeyParts,
} from '../../src/http/key.js'
import type { HttpPolicyOptions, HttpRequestView } from '../../src/http/types.js'

function req(url: string, extra: Partial<HttpRequestView> = {}): HttpRequestView {
  return { method: 'GET', protocol: 'https', host: 'example.com', url, headers: {}, ...extra }
}

const KEY = /^http:[A-Za-z0-9_-]{43}$/

describe('normalizeEscapes', () => {
  it.each([
    ['abc', 'abc'],
    ['%41%62%7e%2D%2e%5F', 'Ab~-._'],
    ['%2f%3b%c3%a9', '%2F%3B%C3%A9'],
    ['%20+', '%20+'],
    ['100%', undefined],
    ['%G1', undefined],
    ['%4', undefined],
  ])('%j ⇒ %j', (input, expected) => {
    expect(normalizeEscapes(input)).toBe(expected)
  })
})

describe('matchesParam', () => {
  it('matches exact names and trailing-* prefixes', () => {
    expect(matchesParam('utm_source', ['utm_*'])).toBe(true)
    expect(matchesParam('utm', ['utm_*'])).toBe(false)
    expect(matchesParam('gclid', ['utm_*', 'gclid'])).toBe(true)
    expect(matchesParam('gclid2', ['gclid'])).toBe(false)
    expect(matchesParam('anything', ['*'])).toBe(true)
  })
})

describe('keyPath', () => {
  it.each([
    ['/products/42', false, '/products/42'],
    ['/products/%34%32', false, '/products/%34%32'],
    ['/products/%34%32', true, '/products/42'],
    ['/caf%c3%a9', true, '/caf%C3%A9'],
    ['/a%20b', true, '/a%20b'],
    ['/a/', false, '/a/'],
    ['/', false, '/'],
    ['/a%3Bb', false, '/a%3Bb'],
  ])('%j (normalize=%s) ⇒ %j', (path, normalize, expected) => {
    expect(keyPath(path, normalize)).toBe(expected)
  })

  // RELIABILITY 37: deception and normalisation tricks bypass
  it.each([
    '/account;x.css',
    '/account;jsessionid=1',
    '/account%2Fx.css',
    '/account%2fx.css',
    '/account/..%2fstatic/x.css',
    '/account/../static/x.css',
    '/account/./x',
    '/account/%2e%2e/x',
    '/account/%2E/x',
    '/account/.',
    '/account\\x.css',
    '/account%5cx.css',
    '//evil.com/account',
    '/account//x',
    '/a%00b',
    '/a%0d%0aSet-Cookie:x',
    '/a%7f',
    '/a\u0000b',
    '/a b',
    '/a\tb',
    '/caf\u00e9',
    '/a#frag',
    'account',
    '*',
    'http://example.com/account',
    '/100%',
    '/%zz',
    '/a%E9',
  ])('bypasses %j', (path) => {
    expect(keyPath(path, true)).toBeUndefined()
    expect(keyPath(path, false)).toBeUndefined()
  })
})

describe('keyQuery', () => {
  it.each([
    [undefined, ''],
    ['', ''],
    ['&&', ''],
    ['b=2&a=1', 'a=1&b=2'],
    ['id=2&id=1', 'id=2&id=1'],
    ['b=1&id=2&a=0&id=1', 'a=0&b=1&id=2&id=1'],
    ['a[]=2&a=1', 'a[]=2&a=1'],
    ['a=1&a[]=2', 'a=1&a[]=2'],
    ['b=1&a%5B%5D=2&a=1', 'a%5B%5D=2&a=1&b=1'],
    ['a.b=1&a=2', 'a.b=1&a=2'],
    ['%61=%31', 'a=1'],
    ['q=caf%c3%a9', 'q=caf%C3%A9'],
    ['q=a+b', 'q=a+b'],
    ['q=a%20b', 'q=a%20b'],
    ['q=a;b=c', 'q=a;b=c'],
    ['q=a%3Bb=c', 'q=a%3Bb=c'],
    ['flag&flag=', 'flag&flag='],
    ['utm_source=x&utm_medium=y&fbclid=1&gclid=2&q=1', 'q=1'],
    ['%75tm_source=x&q=1', 'q=1'],
    ['B=1&a=2', 'B=1&a=2'],
  ])('%j ⇒ %j', (query, expected) => {
    expect(keyQuery(query)).toBe(expected)
  })

  it('honours query.ignore and query.allow', () => {
    expect(keyQuery('utm_source=x&q=1', { query: { ignore: [] } })).toBe('q=1&utm_source=x')
    expect(keyQuery('sid=1&q=1', { query: { ignore: ['sid'] } })).toBe('q=1')
    expect(keyQuery('page=2&sort=asc', { query: { allow: ['page', 'sort'] } })).toBe('page=2&sort=asc')
    expect(keyQuery('page=2&cb=123', { query: { allow: ['page'] } })).toBeUndefined()
    expect(keyQuery('page=2&utm_x=1', { query: { allow: ['page'] } })).toBe('page=2')
    expect(keyQuery('f_a=1&f_b=2', { query: { allow: ['f_*'] } })).toBe('f_a=1&f_b=2')
  })

  it.each([
    ['q=100%', 'invalid escape'],
    ['q=%ff', 'invalid UTF-8'],
    ['%ff=1', 'invalid UTF-8 name'],
    ['q=%00', 'encoded NUL'],
    ['q=a%0Ab', 'encoded LF'],
    ['q=a b', 'raw space'],
    ['q=\u00e9', 'raw non-ASCII'],
  ])('bypasses %j (%s)', (query) => {
    expect(keyQuery(query)).toBeUndefined()
  })

  it('bypasses more than maxQueryParams parameters', () => {
    const q = Array.from({ length: 65 }, (_, i) => `p${i}=1`).join('&')
    expect(keyQuery(q)).toBeUndefined()
    expect(keyQuery(q, { maxQueryParams: 65 })).toBeTypeOf('string')
  })
})

describe('requestKeyParts / requestKey', () => {
  it('has the documented parts', () => {
    expect(requestKeyParts(req('/products/42?b=2&a=1'))).toEqual([
      'tiercache-http-1',
      'GET',
      'https',
      'example.com',
      undefined,
      '/products/42',
      'a=1&b=2',
      undefined,
      undefined,
    ])
    expect(
      requestKeyParts(
        req('/p/%34%32', {
          route: { pattern: '/p/:id', params: { id: '42' } },
          headers: { cookie: 'sid=x; lang=fr' },
        }),
        { cookies: ['lang'] },
        'user-7',
      ),
    ).toEqual([
      'tiercache-http-1',
      'GET',
      'https',
      'example.com',
      '/p/:id',
      '/p/42',
      '',
      '4:lang2:fr',
      'user-7',
    ])
  })

  it('is a fixed-length hash of a length-prefixed tuple', () => {
    const k = requestKey(req('/a'))!
    expect(k).toMatch(KEY)
    expect(k).toBe(hashKeyParts(requestKeyParts(req('/a'))!))
    // length prefixes keep parts apart
    expect(hashKeyParts(['ab', 'c'])).not.toBe(hashKeyParts(['a', 'bc']))
    expect(hashKeyParts(['', undefined])).not.toBe(hashKeyParts([undefined, '']))
    expect(hashKeyParts(['1:a'])).not.toBe(hashKeyParts(['a']))
  })

  it('GET and HEAD share a key; scheme, host, path, query, route and partition split it', () => {
    const base = requestKey(req('/a?x=1'))
    expect(requestKey(req('/a?x=1', { method: 'HEAD' }))).toBe(base)
    expect(requestKey(req('/a?x=1', { host: 'EXAMPLE.com' }))).toBe(base)
    expect(requestKey(req('/a?x=1', { protocol: 'HTTPS' }))).toBe(base)
    expect(requestKey(req('/a?x=1&utm_campaign=z'))).toBe(base)
    for (const other of [
      req('/a?x=1', { protocol: 'http' }),
      req('/a?x=1', { host: 'example.com:8443' }),
      req('/a?x=1', { host: 'evil.com' }),
      req('/A?x=1'),
      req('/a/?x=1'),
      req('/a?x=2'),
      req('/a?x=1&x=1'),
      req('/a?x=1', { route: { pattern: '/a', params: {} } }),
    ]) {
      expect(requestKey(other)).not.toBe(base)
    }
    expect(requestKey(req('/a?x=1'), {}, 'u1')).not.toBe(base)
    expect(requestKey(req('/a?x=1'), {}, 'u1')).not.toBe(requestKey(req('/a?x=1'), {}, 'u2'))
  })

  it('keys allow-listed cookies only, distinguishing absent from empty', () => {
    const opts: HttpPolicyOptions = { cookies: ['lang'] }
    const fr = requestKey(req('/', { headers: { cookie: 'sid=1; lang=fr' } }), opts)
    expect(requestKey(req('/', { headers: { cookie: 'lang=fr; sid=2' } }), opts)).toBe(fr)
    expect(requestKey(req('/', { headers: { cookie: 'lang=en' } }), opts)).not.toBe(fr)
    const none = requestKey(req('/', { headers: { cookie: 'sid=1' } }), opts)
    expect(requestKey(req('/'), opts)).toBe(none)
    expect(requestKey(req('/', { headers: { cookie: 'lang=' } }), opts)).not.toBe(none)
  })

  it.each([
    ['POST method', req('/a', { method: 'POST' })],
    ['empty host', req('/a', { host: '' })],
    ['host with path', req('/a', { host: 'example.com/evil' })],
    ['host with space', req('/a', { host: 'example.com x' })],
    ['host with CRLF', req('/a', { host: 'example.com\r\nx' })],
    ['odd scheme', req('/a', { protocol: 'ht tp' })],
    ['url too long', req('/' + 'a'.repeat(2048))],
    ['allow-list violation', req('/a?cb=1')],
    ['deception path', req('/account;x.css')],
  ])('undefined for %s', (name, r) => {
    const opts: HttpPolicyOptions = name === 'allow-list violation' ? { query: { allow: ['page'] } } : {}
    expect(requestKey(r, opts)).toBeUndefined()
  })

  it('accepts IPv6 and port hosts', () => {
    expect(requestKey(req('/', { host: '[::1]:3000' }))).toMatch(KEY)
    expect(requestKey(req('/', { host: 'localhost:3000' }))).toMatch(KEY)
  })
})

// ---------------------------------------------------------------------------------------------
// RELIABILITY 39: if two requests share a key, the framework's parsed request is identical.
// ---------------------------------------------------------------------------------------------

/** What a handler sees: the path (raw, or decoded segments once a route matched) and the query. */
function frameworkView(url: string, routed: boolean): unknown {
  const u = new URL(url, 'http://h')
  const rawPath = url.split('?')[0]!
  const path = routed ? u.pathname.split('/').map((s) => decodeURIComponent(s)) : rawPath
  // qs-style grouping: parameters sharing a base name keep their relative order
  const groups = new Map<string, [string, string][]>()
  for (const [name, value] of new URLSearchParams(u.search)) {
    if (/^utm_|^fbclid$|^gclid$/.test(name)) continue
    const base = /^[^[.]*/.exec(name)![0]
    groups.set(base, [...(groups.get(base) ?? []), [name, value]])
  }
  return { path, query: [...groups].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)) }
}

// Each atom class lists spellings; two URLs are built from one structure with independently chosen
// spellings (and parameter order), so equal keys are frequent and every collision is checked.
const PATH_CLASSES = [
  ['a', '%61'],
  ['A', '%41'],
  ['j', '%6a', '%6A'],
  ['.', '%2e', '%2E'],
  ['~', '%7e', '%7E'],
  ['-', '%2D', '%2d'],
  ['%20', '+', '%2B', '%2b'],
  ['%C3%A9', '%c3%a9', '%E9'],
  [';', '%3B', '%3b'],
  ['%2F', '/', '%5C', '%'],
]
const NAME_CLASSES = [
  ['a', '%61', 'A'],
  ['b', '%62'],
  ['a[]', 'a%5B%5D', 'a%5b%5d', 'a[%5D'],
  ['a.b', 'a%2Eb', 'a%2eb'],
  ['utm_x', '%75tm_x', 'utm%5Fx'],
  ['a+b', 'a%20b', 'a%2Bb'],
  [''],
]
const VALUE_CLASSES = [
  ['1', '%31'],
  ['+', '%20', '%2B', '%2b'],
  [';', '%3B'],
  ['x%3Dy', 'x=y'],
  ['%e9', '%C3%A9', '%c3%a9'],
  ['%26', '&', '%2526'],
  [''],
]

const structure = fc.record({
  segments: fc.array(fc.array(fc.nat(PATH_CLASSES.length - 1), { maxLength: 3 }), {
    minLength: 1,
    maxLength: 3,
  }),
  params: fc.array(
    fc.tuple(
      fc.nat(NAME_CLASSES.length - 1),
      fc.option(fc.nat(VALUE_CLASSES.length - 1), { nil: undefined }),
    ),
    { maxLength: 4 },
  ),
  hasQuery: fc.boolean(),
})
const spellings = fc.array(fc.nat(3), { minLength: 40, maxLength: 40 })

function spell(
  s: { segments: number[][]; params: [number, number | undefined][]; hasQuery: boolean },
  pick: number[],
  order: number[],
): string {
  let i = 0
  const choose = (cls: string[]) => cls[pick[i++ % pick.length]! % cls.length]!
  const path = '/' + s.segments.map((seg) => seg.map((c) => choose(PATH_CLASSES[c]!)).join('')).join('/')
  const pairs = s.params.map(
    ([n, v]) => choose(NAME_CLASSES[n]!) + (v === undefined ? '' : '=' + choose(VALUE_CLASSES[v]!)),
  )
  const ordered = pairs
    .map((p, j) => [order[j % order.length]! * 100 + j, p] as const)
    .sort((a, b) => a[0] - b[0])
  return path + (s.hasQuery ? '?' + ordered.map(([, p]) => p).join('&') : '')
}

const urlPair = fc
  .tuple(structure, spellings, spellings, fc.array(fc.nat(3), { minLength: 4, maxLength: 4 }))
  .map(([s, p1, p2, order]) => [spell(s, p1, [0]), spell(s, p2, order)] as const)

describe('key soundness (property, RELIABILITY 39)', () => {
  it('equal keys ⇒ identical framework view (no route: raw path)', () => {
    let collisions = 0
    fc.assert(
      fc.property(urlPair, ([u1, u2]) => {
        const k1 = requestKey(req(u1))
        const k2 = requestKey(req(u2))
        if (k1 === undefined || k1 !== k2) return
        if (u1 !== u2) collisions++
        expect(frameworkView(u1, false)).toEqual(frameworkView(u2, false))
      }),
      { numRuns: 10_000 },
    )
    expect(collisions).toBeGreaterThan(25)
  })

  it('equal keys ⇒ identical framework view (routed: decoded segments)', () => {
    const route = { pattern: '/*', params: {} }
    let collisions = 0
    fc.assert(
      fc.property(urlPair, ([u1, u2]) => {
        const k1 = requestKey(req(u1, { route }))
        const k2 = requestKey(req(u2, { route }))
        if (k1 === undefined || k1 !== k2) return
        if (u1.split('?')[0] !== u2.split('?')[0]) collisions++
        expect(frameworkView(u1, true)).toEqual(frameworkView(u2, true))
      }),
      { numRuns: 10_000 },
    )
    expect(collisions).toBeGreaterThan(500)
  })

  it('re-encoding unreserved characters, hex case and parameter order (across names) keep the key', () => {
    const unreserved = fc.constantFrom(...'aZ09-._~')
    const word = fc.array(unreserved, { minLength: 1, maxLength: 6 }).map((cs) => cs.join(''))
    const encodeSome = (s: string, mask: boolean[]) =>
      [...s]
        .map((c, i) => {
          if (!mask[i % mask.length] || !/[A-Za-z0-9\-._~]/.test(c)) return c
          const hex = c.charCodeAt(0).toString(16).padStart(2, '0')
          return '%' + (i % 2 ? hex.toUpperCase() : hex.toLowerCase())
        })
        .join('')
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 3 }),
        fc.uniqueArray(word, { minLength: 1, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        fc.func(fc.integer()),
        (segs, names, mask, rank) => {
          const safeSegs = segs.map((s) => (s === '.' || s === '..' ? 'x' + s : s))
          const params = names.filter((n) => !/^utm_|^fbclid$|^gclid$|[.]/.test(n)).map((n, i) => `${n}=${i}`)
          const original = `/${safeSegs.join('/')}?${params.join('&')}`
          const shuffled = [...params].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1))
          const variant = `/${safeSegs.map((s) => encodeSome(s, mask)).join('/')}?${shuffled.map((p) => encodeSome(p, mask)).join('&')}`
          const route = { pattern: '/*', params: {} }
          const k = requestKey(req(original, { route }))
          expect(k).toMatch(KEY)
          expect(requestKey(req(variant, { route }))).toBe(k)
        },
      ),
      { numRuns: 2_000 },
    )
  })

  it('never throws and is bounded on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 20 }), (u, host) => {
        const k = requestKey(req(u, { host }))
        if (k !== undefined) expect(k).toMatch(KEY)
      }),
      { numRuns: 5_000 },
    )
  })
})
