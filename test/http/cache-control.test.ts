import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  buildCacheControl,
  MALFORMED_ARGUMENT,
  MAX_DELTA_SECONDS,
  parseCacheControl,
  parseDeltaSeconds,
  parseExpires,
  responseFreshnessMs,
} from '../../src/http/cache-control.js'

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0)

describe('parseCacheControl', () => {
  it.each([
    ['max-age=60', { maxAge: 60 }],
    ['MAX-AGE=60', { maxAge: 60 }],
    ['  public ,  max-age = 60  ', { public: true, maxAge: 60 }],
    ['max-age="60"', { maxAge: 60 }],
    ['max-age=60, max-age=0', { maxAge: 60 }],
    ['max-age=0, max-age=60', { maxAge: 0 }],
    ['s-maxage=300, max-age=10', { sMaxAge: 300, maxAge: 10 }],
    ['stale-while-revalidate=30, stale-if-error=86400', { staleWhileRevalidate: 30, staleIfError: 86400 }],
    ['max-age=99999999999', { maxAge: MAX_DELTA_SECONDS }],
    ['no-store', { noStore: true }],
    ['No-Cache', { noCache: true }],
    ['no-cache="Set-Cookie, X-Foo"', { noCache: true }],
    ['private="authorization"', { private: true }],
    [
      'must-revalidate, proxy-revalidate, immutable',
      { mustRevalidate: true, proxyRevalidate: true, immutable: true },
    ],
    ['max-stale', { maxStale: true }],
    ['max-stale=5, min-fresh=3, only-if-cached', { maxStale: 5, minFresh: 3, onlyIfCached: true }],
    ['', {}],
    [',,,', {}],
  ])('%j', (value, expected) => {
    const cc = parseCacheControl(value)
    expect({ ...cc, directives: undefined, invalid: undefined }).toMatchObject(expected)
    expect(cc.invalid).toEqual([])
  })

  it.each([
    ['max-age=abc', 'max-age'],
    ['max-age=-1', 'max-age'],
    ['max-age=1.5', 'max-age'],
    ['max-age', 'max-age'],
    ['max-age=', 'max-age'],
    ['max-age="6 0"', 'max-age'],
    ['max-age=60s', 'max-age'],
    ['s-maxage=0x10', 's-maxage'],
    ['max-age="60', 'max-age'],
  ])('malformed %j counts as stale (0) and is reported', (value, name) => {
    const cc = parseCacheControl(value)
    expect(cc.invalid).toEqual([name])
    expect(name === 'max-age' ? cc.maxAge : cc.sMaxAge).toBe(0)
  })

  it('keeps argument text, quoted strings with escapes, and order of first appearance', () => {
    const cc = parseCacheControl('community="UCI \\"x\\", y", public, ext=tok')
    expect([...cc.directives]).toEqual([
      ['community', 'UCI "x", y'],
      ['public', true],
      ['ext', 'tok'],
    ])
  })

  it('combines repeated header lines and reads header collections', () => {
    expect(parseCacheControl(['public', 'max-age=5']).maxAge).toBe(5)
    expect(parseCacheControl({ 'cache-control': ['no-store', 'max-age=5'] }).noStore).toBe(true)
    expect(
      parseCacheControl([
        ['content-type', 'text/plain'],
        ['Cache-Control', 'private'],
      ] as [string, string][]).private,
    ).toBe(true)
    expect(parseCacheControl(undefined).noStore).toBe(false)
  })

  it('parseDeltaSeconds', () => {
    expect(parseDeltaSeconds('0')).toBe(0)
    expect(parseDeltaSeconds('007')).toBe(7)
    expect(parseDeltaSeconds('2147483649')).toBe(MAX_DELTA_SECONDS)
    expect(parseDeltaSeconds(true)).toBeUndefined()
    expect(parseDeltaSeconds('+5')).toBeUndefined()
  })
})

describe('parseExpires', () => {
  it('absent ⇒ undefined; invalid (0) ⇒ already expired; first line wins', () => {
    expect(parseExpires({}, NOW)).toBeUndefined()
    expect(parseExpires({ expires: '0' }, NOW)).toBe(Number.NEGATIVE_INFINITY)
    expect(
      parseExpires(
        [
          ['expires', 'Thu, 15 Jan 2026 12:01:00 GMT'],
          ['expires', 'Thu, 15 Jan 2026 13:00:00 GMT'],
        ],
        NOW,
      ),
    ).toBe(NOW + 60_000)
  })
})

describe('responseFreshnessMs', () => {
  const date = 'Thu, 15 Jan 2026 12:00:00 GMT'
  it.each([
    ['s-maxage beats max-age', { 'cache-control': 'max-age=10, s-maxage=300' }, 300_000],
    [
      'max-age beats Expires',
      { 'cache-control': 'max-age=10', expires: 'Thu, 15 Jan 2026 13:00:00 GMT' },
      10_000,
    ],
    ['Expires − Date', { date, expires: 'Thu, 15 Jan 2026 12:02:00 GMT' }, 120_000],
    ['Expires − now without Date', { expires: 'Thu, 15 Jan 2026 12:00:30 GMT' }, 30_000],
    ['Expires − now with invalid Date', { date: 'nope', expires: 'Thu, 15 Jan 2026 12:00:30 GMT' }, 30_000],
    ['Expires in the past', { date, expires: 'Thu, 15 Jan 2026 11:00:00 GMT' }, 0],
    ['invalid Expires', { date, expires: '0' }, 0],
    [
      'malformed max-age is stale even with Expires',
      { 'cache-control': 'max-age=x', expires: 'Thu, 15 Jan 2026 13:00:00 GMT' },
      0,
    ],
    ['max-age=0', { 'cache-control': 'public, max-age=0' }, 0],
    ['nothing explicit', { 'cache-control': 'public', 'last-modified': date }, undefined],
    ['no headers', {}, undefined],
  ])('%s', (_name, headers, expected) => {
    expect(responseFreshnessMs(headers, NOW)).toBe(expected)
  })
})

describe('buildCacheControl', () => {
  it.each([
    [{ public: true, maxAge: 60 }, 'public, max-age=60'],
    [
      { public: true, maxAge: '1m', sMaxAge: '1h', staleWhileRevalidate: 30, staleIfError: '1d' },
      'public, max-age=60, s-maxage=3600, stale-while-revalidate=30, stale-if-error=86400',
    ],
    [{ maxAge: 0 }, 'max-age=0'],
    [{ maxAge: '1500ms' }, 'max-age=1'],
    [{ maxAge: 1.9 }, 'max-age=1'],
    [{ sMaxAge: Number.POSITIVE_INFINITY }, `s-maxage=${MAX_DELTA_SECONDS}`],
    [' no-cache ', 'no-cache'],
  ] as const)('%j ⇒ %j', (options, expected) => {
    expect(buildCacheControl(options)).toBe(expected)
  })

  it.each([
    [{ maxAge: -1 }, /`cacheControl.maxAge`.*-1/],
    [{ sMaxAge: Number.NaN }, /`cacheControl.sMaxAge`.*NaN/],
    [{ staleIfError: '5 parsecs' }, /`cacheControl.staleIfError`.*"5 parsecs"/],
    [{ public: 'yes' }, /`cacheControl.public` to be a boolean, got "yes"/],
    [{}, /at least one/],
    ['max-age=5\r\nX-Evil: 1', /`cacheControl`.*control characters/],
    ['', /`cacheControl`/],
    [42, /`cacheControl` to be an object or a string, got 42/],
  ])('rejects %j', (options, message) => {
    expect(() => buildCacheControl(options as never)).toThrow(TypeError)
    expect(() => buildCacheControl(options as never)).toThrow(message)
  })
})

describe('parseCacheControl (property)', () => {
  it('never throws, keeps delta-seconds in range and lower-case names', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (value) => {
        const cc = parseCacheControl(value)
        for (const v of [cc.maxAge, cc.sMaxAge, cc.staleWhileRevalidate, cc.staleIfError, cc.minFresh]) {
          if (v !== undefined) expect(v >= 0 && v <= MAX_DELTA_SECONDS && Number.isInteger(v)).toBe(true)
        }
        for (const name of cc.directives.keys()) expect(name).toBe(name.toLowerCase())
      }),
      { numRuns: 3_000 },
    )
  })
})

describe('malformed elements', () => {
  it('keep their name with MALFORMED_ARGUMENT so restrictive directives still apply', () => {
    const cc = parseCacheControl('no-store="x, max-age=60')
    expect(cc.noStore).toBe(true)
    expect(cc.directives.get('no-store')).toBe(MALFORMED_ARGUMENT)
    expect(parseCacheControl('private junk, max-age=5').private).toBe(true)
  })
})
