import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { INFLUENCE_HEADERS, influenceKey } from '../../src/http/influence.js'
import { queryPairs, splitTarget } from '../../src/http/key.js'
import {
  hasNotableHeader,
  isNeverStoredStatus,
  requestBypassReason,
  responseStoreReason,
  urlBypassReason,
  validateCachedOptions,
} from '../../src/http/policy.js'
import type { HttpPolicyOptions, HttpRequestView } from '../../src/http/types.js'

function req(
  headers: HttpRequestView['headers'] = {},
  extra: Partial<HttpRequestView> = {},
): HttpRequestView {
  return { method: 'GET', protocol: 'https', host: 'example.com', url: '/p?x=1', headers, ...extra }
}

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0)
const DATE = 'Thu, 15 Jan 2026 12:00:00 GMT'

describe('requestBypassReason', () => {
  const manyParams = '/p?' + Array.from({ length: 65 }, (_, i) => `p${i}=1`).join('&')
  const table: [string, HttpRequestView, HttpPolicyOptions, string | undefined][] = [
    ['plain GET', req(), {}, undefined],
    ['plain HEAD', req({}, { method: 'HEAD' }), {}, undefined],
    ['POST', req({}, { method: 'POST' }), {}, 'method'],
    ['OPTIONS', req({}, { method: 'OPTIONS' }), {}, 'method'],
    ['lower-case get is not GET', req({}, { method: 'get' }), {}, 'method'],
    ['X-HTTP-Method-Override', req({ 'x-http-method-override': 'DELETE' }), {}, 'method-override'],
    ['X-HTTP-Method', req({ 'x-http-method': 'PUT' }), {}, 'method-override'],
    ['X-Method-Override (empty)', req({ 'x-method-override': '' }), {}, 'method-override'],
    ['url over 2 KiB', req({}, { url: '/' + 'a'.repeat(2048) }), {}, 'url-too-long'],
    ['url exactly 2 KiB', req({}, { url: '/' + 'a'.repeat(2047) }), {}, undefined],
    [
      'multi-byte url counted in bytes',
      req({}, { url: '/' + 'é'.repeat(10) }),
      { maxUrlBytes: 20 },
      'url-too-long',
    ],
    ['65 params', req({}, { url: manyParams }), {}, 'too-many-params'],
    ['65 params allowed', req({}, { url: manyParams }), { maxQueryParams: 65 }, undefined],
    ['GET with hasBody', req({}, { hasBody: true }), {}, 'body'],
    ['GET with content-length', req({ 'content-length': '5' }), {}, 'body'],
    ['GET with content-length 0', req({ 'content-length': '0' }), {}, undefined],
    ['GET with bogus content-length', req({ 'content-length': 'abc' }), {}, 'body'],
    ['GET with transfer-encoding', req({ 'transfer-encoding': 'chunked' }), {}, 'body'],
    ['Range', req({ range: 'bytes=0-10' }), {}, 'range'],
    ['If-Range', req({ 'if-range': '"x"' }), {}, 'range'],
    ['Authorization', req({ authorization: 'Bearer t' }), {}, 'authorization'],
    ['empty Authorization still counts', req({ authorization: '' }), {}, 'authorization'],
    ['Authorization on a public route', req({ authorization: 'Bearer t' }), { public: true }, undefined],
    [
      'Authorization in per-user mode',
      req({ authorization: 'Bearer t' }),
      { private: () => 'u1' },
      undefined,
    ],
    ['Cookie', req({ cookie: 'sid=1' }), {}, 'cookie'],
    ['empty Cookie header', req({ cookie: '' }), {}, undefined],
    ['Cookie with ignoreCookies', req({ cookie: 'sid=1' }), { ignoreCookies: true }, undefined],
    ['Cookie with an allowlist', req({ cookie: 'sid=1; lang=fr' }), { cookies: ['lang'] }, undefined],
    ['Cookie in per-user mode', req({ cookie: 'sid=1' }), { private: true }, undefined],
    [
      'Cookie on a public route (public is about Authorization)',
      req({ cookie: 'sid=1' }),
      { public: true },
      'cookie',
    ],
    ['request no-cache is ignored', req({ 'cache-control': 'no-cache', pragma: 'no-cache' }), {}, undefined],
    ['request no-store is ignored', req({ 'cache-control': 'no-store, max-age=0' }), {}, undefined],
    ['?force style flags are ignored', req({}, { url: '/p?force=1&nocache=1' }), {}, undefined],
    [
      'custom bypass',
      req({ 'x-admin-refresh': '1' }),
      { bypass: (r) => r.headers['x-admin-refresh'] === '1' },
      'custom',
    ],
    ['custom bypass declines', req(), { bypass: () => false }, undefined],
    ['method wins over auth', req({ authorization: 'x' }, { method: 'PUT' }), {}, 'method'],
  ]
  it.each(table)('%s', (_name, r, opts, expected) => {
    expect(requestBypassReason(r, opts)).toBe(expected)
  })
})

describe('responseStoreReason', () => {
  const ok = (headers: [string, string][], status = 200, bodySize?: number) => ({ status, headers, bodySize })
  const ttl: HttpPolicyOptions = { ttl: 60 }
  const table: [string, ReturnType<typeof ok>, HttpPolicyOptions, string | undefined][] = [
    ['200 with ttl', ok([['content-type', 'text/html']]), ttl, undefined],
    ['200 with max-age, no ttl', ok([['cache-control', 'max-age=60']]), {}, undefined],
    ['200 with s-maxage, no ttl', ok([['cache-control', 's-maxage=60']]), {}, undefined],
    [
      '200 with future Expires, no ttl',
      ok([
        ['date', DATE],
        ['expires', 'Thu, 15 Jan 2026 12:05:00 GMT'],
      ]),
      {},
      undefined,
    ],
    ['200 without freshness, no ttl', ok([['content-type', 'text/html']]), {}, 'no-freshness'],
    ['404 by default', ok([], 404), ttl, 'status'],
    ['500', ok([], 500), ttl, 'status'],
    ['400 (CPDoS)', ok([], 400), ttl, 'status'],
    ['404 opted in', ok([], 404), { ttl: 5, statuses: [200, 404] }, undefined],
    ['206 even if listed at runtime', ok([], 206), { ttl: 5, statuses: [206] }, 'status'],
    ['304 even if listed at runtime', ok([], 304), { ttl: 5, statuses: [304] }, 'status'],
    ['Set-Cookie', ok([['set-cookie', 'session=A']]), ttl, 'set-cookie'],
    [
      'Set-Cookie with stripSetCookie',
      ok([['set-cookie', 'session=A']]),
      { ttl: 60, stripSetCookie: true },
      undefined,
    ],
    ['no-store', ok([['cache-control', 'no-store']]), ttl, 'no-store'],
    [
      'no-store wins over ignoreResponseDirectives',
      ok([['cache-control', 'max-age=60, NO-STORE']]),
      { ttl: 60, ignoreResponseDirectives: true },
      'no-store',
    ],
    ['no-cache', ok([['cache-control', 'no-cache']]), ttl, 'no-cache'],
    ['qualified no-cache', ok([['cache-control', 'no-cache="set-cookie", max-age=60']]), ttl, 'no-cache'],
    ['private', ok([['cache-control', 'private, max-age=60']]), ttl, 'private'],
    [
      'private in per-user mode',
      ok([['cache-control', 'private, max-age=60']]),
      { ttl: 60, private: true },
      undefined,
    ],
    ['max-age=0', ok([['cache-control', 'max-age=0']]), ttl, 'max-age-0'],
    ['s-maxage=0', ok([['cache-control', 'max-age=60, s-maxage=0']]), ttl, 'max-age-0'],
    [
      'max-age=0 but s-maxage=600 (CDN pattern)',
      ok([['cache-control', 'max-age=0, s-maxage=600']]),
      {},
      undefined,
    ],
    ['malformed max-age is stale', ok([['cache-control', 'max-age=soon']]), ttl, 'max-age-0'],
    [
      'max-age=0 overridden',
      ok([['cache-control', 'max-age=0']]),
      { ttl: 60, ignoreResponseDirectives: true },
      undefined,
    ],
    ['Expires: 0', ok([['expires', '0']]), ttl, 'expired'],
    [
      'Expires in the past',
      ok([
        ['date', DATE],
        ['expires', 'Thu, 15 Jan 2026 11:00:00 GMT'],
      ]),
      {},
      'expired',
    ],
    ['Expires: 0 overridden', ok([['expires', '0']]), { ttl: 60, ignoreResponseDirectives: true }, undefined],
    [
      'Expires ignored when max-age is present',
      ok([
        ['cache-control', 'max-age=60'],
        ['expires', '0'],
      ]),
      {},
      undefined,
    ],
    ['Vary: *', ok([['vary', 'Accept, *']]), ttl, 'vary-star'],
    [
      'Vary: Cookie',
      ok([
        ['vary', 'accept-encoding'],
        ['vary', 'Cookie'],
      ]),
      ttl,
      'vary-credentials',
    ],
    ['Vary: Authorization', ok([['vary', 'Authorization']]), ttl, 'vary-credentials'],
    ['Vary: Cookie in per-user mode', ok([['vary', 'Cookie']]), { ttl: 60, private: true }, undefined],
    ['Vary: Accept-Encoding', ok([['vary', 'Accept-Encoding']]), ttl, undefined],
    ['event stream', ok([['content-type', 'Text/Event-Stream; charset=utf-8']]), ttl, 'event-stream'],
    ['body of exactly 1 MiB', ok([], 200, 1_048_576), ttl, undefined],
    ['body over 1 MiB', ok([], 200, 1_048_577), ttl, 'body-too-large'],
    ['body over maxBodySize', ok([], 200, 11), { ttl: 60, maxBodySize: 10 }, 'body-too-large'],
  ]
  it.each(table)('%s', (_name, res, opts, expected) => {
    expect(responseStoreReason(res, opts, undefined, NOW)).toBe(expected)
  })

  describe('responses to requests with Authorization (RFC 9111 §3.5)', () => {
    const auth = req({ authorization: 'Bearer t' })
    it.each([
      ['max-age only', 'max-age=60', { public: true, ttl: 60 }, 'authorization'],
      ['public', 'public, max-age=60', { public: true }, undefined],
      ['s-maxage', 's-maxage=60', { public: true }, undefined],
      ['must-revalidate', 'must-revalidate, max-age=60', { public: true }, undefined],
      ['per-user mode needs none', 'max-age=60', { private: true }, undefined],
    ] as const)('%s', (_name, cc, opts, expected) => {
      expect(responseStoreReason({ status: 200, headers: { 'cache-control': cc } }, opts, auth, NOW)).toBe(
        expected,
      )
    })
    it('does not apply without Authorization', () => {
      expect(
        responseStoreReason({ status: 200, headers: { 'cache-control': 'max-age=60' } }, {}, req(), NOW),
      ).toBe(undefined)
    })
  })
})

describe('isNeverStoredStatus', () => {
  it.each([
    [100, true],
    [103, true],
    [200, false],
    [206, true],
    [304, true],
    [404, false],
  ])('%d ⇒ %s', (status, expected) => {
    expect(isNeverStoredStatus(status)).toBe(expected)
  })
})

describe('validateCachedOptions', () => {
  it.each([
    undefined,
    {},
    { ttl: 60, statuses: [200, 301, 404, 410] },
    { ttl: '5m', public: true, cacheControl: { public: true, maxAge: 60 } },
    { private: () => 'u', cookies: ['lang'] },
    { ignoreCookies: true, query: { ignore: ['utm_*', 'ref'], allow: ['page', 'f_*'] } },
    { maxUrlBytes: 4096, maxQueryParams: 0, maxBodySize: 0, encodings: ['zstd', 'gzip'] },
    { ttl: 0, ignoreResponseDirectives: true, stripSetCookie: true, bypass: () => false },
    { cacheControl: 'no-cache', unknownOption: 1 },
  ])('accepts %j', (opts) => {
    expect(() => validateCachedOptions(opts)).not.toThrow()
  })

  it.each([
    [null, 'Expected `options` to be an object, got null'],
    [{ ttl: -1 }, /Expected `ttl` to be a duration.*got -1/],
    [{ ttl: '5 parsecs' }, /`ttl`.*"5 parsecs"/],
    [{ statuses: 200 }, 'Expected `statuses` to be a non-empty array of status codes, got 200'],
    [{ statuses: [] }, 'Expected `statuses` to be a non-empty array of status codes, got an array'],
    [{ statuses: ['200'] }, 'Expected `statuses` to be an array of status codes, got "200"'],
    [{ statuses: [200, 600] }, 'Expected `statuses` to be an array of status codes, got 600'],
    [
      { statuses: [200, 206] },
      '`statuses` must not include 206: 1xx, 206 and 304 responses are never stored',
    ],
    [{ statuses: [304] }, '`statuses` must not include 304: 1xx, 206 and 304 responses are never stored'],
    [{ statuses: [101] }, '`statuses` must not include 101: 1xx, 206 and 304 responses are never stored'],
    [{ public: 'yes' }, 'Expected `public` to be a boolean, got "yes"'],
    [{ ignoreCookies: 1 }, 'Expected `ignoreCookies` to be a boolean, got 1'],
    [
      { private: 'user' },
      'Expected `private` to be a function returning the user identity, or a boolean, got "user"',
    ],
    [{ bypass: true }, 'Expected `bypass` to be a function, got true'],
    [{ maxUrlBytes: 0 }, 'Expected `maxUrlBytes` to be an integer >= 1, got 0'],
    [{ maxQueryParams: 1.5 }, 'Expected `maxQueryParams` to be an integer >= 0, got 1.5'],
    [{ maxBodySize: Number.POSITIVE_INFINITY }, 'Expected `maxBodySize` to be an integer >= 0, got Infinity'],
    [{ cookies: 'sid' }, 'Expected `cookies` to be an array of cookie names, got "sid"'],
    [{ cookies: ['a b'] }, 'Expected `cookies[]` to be cookie names, got "a b"'],
    [{ encodings: [] }, 'Expected `encodings` to be a non-empty array, got an array'],
    [{ encodings: ['gzip;q=1'] }, 'Expected `encodings[]` to be content-coding names, got "gzip;q=1"'],
    [{ query: 'utm_*' }, 'Expected `query` to be an object, got "utm_*"'],
    [{ query: { ignore: ['*utm'] } }, /Expected `query.ignore\[\]` to be parameter names.*got "\*utm"/],
    [{ query: { allow: [''] } }, /Expected `query.allow\[\]`/],
    [{ cacheControl: { maxAge: -5 } }, /`cacheControl.maxAge`.*-5/],
    [
      { public: true, private: () => 'u' },
      '`public` and `private` are mutually exclusive: a route is shared or per-user',
    ],
    [{ ignoreCookies: true, cookies: ['lang'] }, /`ignoreCookies` and `cookies` are mutually exclusive/],
    [{ ignoreResponseDirectives: true }, /`ignoreResponseDirectives` requires `ttl`/],
  ])('rejects %j', (opts, message) => {
    expect(() => validateCachedOptions(opts)).toThrow(TypeError)
    expect(() => validateCachedOptions(opts)).toThrow(message)
  })
})

describe('the fast request checks agree with the full ones', () => {
  /** The URL checks as `requestBypassReason` first wrote them (byte length, then every pair counted). */
  function slowUrlReason(url: string, o: HttpPolicyOptions): string | undefined {
    if (Buffer.byteLength(url, 'utf8') > (o.maxUrlBytes ?? 2048)) return 'url-too-long'
    if (queryPairs(splitTarget(url).query).length > (o.maxQueryParams ?? 64)) return 'too-many-params'
    return undefined
  }
  const piece = fc.constantFrom('a', '=', '&', '&&', '?', '€', '%20', 'x=1', '/', ';', '😀')

  it('urlBypassReason equals byte length + pair count for any URL and limits (property)', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 120 }),
        fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
        (parts, maxUrlBytes, maxQueryParams) => {
          const url = `/p${parts.join('')}`
          const o: HttpPolicyOptions = { maxUrlBytes, maxQueryParams }
          expect(urlBypassReason(url, o)).toBe(slowUrlReason(url, o))
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('limits are exact at the edges', () => {
    expect(urlBypassReason('/' + 'a'.repeat(99), { maxUrlBytes: 100 })).toBeUndefined()
    expect(urlBypassReason('/' + 'a'.repeat(100), { maxUrlBytes: 100 })).toBe('url-too-long')
    expect(urlBypassReason('/' + '€'.repeat(33), { maxUrlBytes: 100 })).toBeUndefined() // 1 + 99 bytes
    expect(urlBypassReason('/' + '€'.repeat(34), { maxUrlBytes: 100 })).toBe('url-too-long')
    expect(urlBypassReason('/p?a&b&c', { maxQueryParams: 3 })).toBeUndefined()
    expect(urlBypassReason('/p?a&b&c&d', { maxQueryParams: 3 })).toBe('too-many-params')
    expect(urlBypassReason('/p?a&&&&&&&b', { maxQueryParams: 2 })).toBeUndefined() // empty pairs do not count
  })

  it('a request without notable headers gets exactly the URL checks, and no influence key (property)', () => {
    const names = [
      'accept',
      'accept-encoding',
      'user-agent',
      'host',
      'x-request-id',
      'authorization',
      'cookie',
      'range',
      'if-range',
      'if-none-match',
      'if-modified-since',
      'content-length',
      'transfer-encoding',
      'x-http-method-override',
      'x-forwarded-host',
      'forwarded',
      INFLUENCE_HEADERS[INFLUENCE_HEADERS.length - 1]!,
    ]
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...names), fc.constantFrom('1', '0', 'a=b', 'bytes=0-1', ' ')),
        fc.array(piece, { maxLength: 40 }),
        fc.boolean(),
        (headers, parts, ignoreCookies) => {
          const view = req(headers, { url: `/p${parts.join('')}` })
          const o: HttpPolicyOptions = { maxUrlBytes: 60, maxQueryParams: 4, ignoreCookies }
          if (hasNotableHeader(view.headers)) return
          expect(requestBypassReason(view, o)).toBe(urlBypassReason(view.url, o))
          expect(influenceKey(view.headers)).toBeUndefined()
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('hasNotableHeader sees each header the full checks read, and ignores undefined values', () => {
    for (const name of [
      'authorization',
      'cookie',
      'range',
      'if-none-match',
      'content-length',
      'x-http-method-override',
      ...INFLUENCE_HEADERS,
    ]) {
      expect(hasNotableHeader({ accept: '*/*', [name]: 'v' }), name).toBe(true)
    }
    expect(hasNotableHeader({ accept: '*/*', 'user-agent': 'x', host: 'h' })).toBe(false)
    expect(hasNotableHeader({ cookie: undefined })).toBe(false)
  })
})
