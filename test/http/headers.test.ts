import { describe, expect, it } from 'vitest'
import {
  ageSeconds,
  cacheStatus,
  headerValue,
  headerValues,
  storableHeaders,
} from '../../src/http/headers.js'

describe('headerValues / headerValue', () => {
  it('reads records case-insensitively and expands arrays', () => {
    const h = { Accept: ['a', 'b'], 'content-length': 12, x: undefined }
    expect(headerValues(h, 'accept')).toEqual(['a', 'b'])
    expect(headerValue(h, 'ACCEPT')).toBe('a, b')
    expect(headerValue(h, 'content-length')).toBe('12')
    expect(headerValue(h, 'x')).toBeUndefined()
    expect(headerValue(undefined, 'x')).toBeUndefined()
  })
  it('reads pairs in order', () => {
    const h: [string, string][] = [
      ['vary', 'accept'],
      ['x', '1'],
      ['Vary', 'accept-encoding'],
    ]
    expect(headerValues(h, 'vary')).toEqual(['accept', 'accept-encoding'])
  })
})

describe('storableHeaders', () => {
  it('drops hop-by-hop, Connection-listed, debug and Set-Cookie headers; keeps order and repeats', () => {
    const stored = storableHeaders([
      ['Content-Type', 'text/html'],
      ['Connection', 'keep-alive, X-Secret-Hop ,close'],
      ['Keep-Alive', 'timeout=5'],
      ['x-secret-hop', 'value'],
      ['Transfer-Encoding', 'chunked'],
      ['TE', 'trailers'],
      ['Trailer', 'x-checksum'],
      ['Upgrade', 'h2c'],
      ['Proxy-Authenticate', 'Basic'],
      ['Proxy-Authorization', 'Basic x'],
      ['Proxy-Connection', 'keep-alive'],
      ['Age', '10'],
      ['Cache-Status', 'other; hit'],
      ['X-Cache', 'HIT'],
      ['Set-Cookie', 'session=A'],
      ['Link', '</a>; rel=preload'],
      ['link', '</b>; rel=preload'],
      ['ETag', '"abc"'],
    ])
    expect(stored).toEqual([
      ['content-type', 'text/html'],
      ['link', '</a>; rel=preload'],
      ['link', '</b>; rel=preload'],
      ['etag', '"abc"'],
    ])
  })

  it('accepts a record with arrays and numbers', () => {
    expect(
      storableHeaders({
        'Content-Length': 3,
        vary: ['accept', 'accept-encoding'],
        'set-cookie': ['a=1'],
        y: undefined,
      }),
    ).toEqual([
      ['content-length', '3'],
      ['vary', 'accept'],
      ['vary', 'accept-encoding'],
    ])
  })
})

describe('ageSeconds', () => {
  it.each([
    [1000, 1000, undefined, 0],
    [1000, 1999, undefined, 0],
    [1000, 2000, undefined, 1],
    [1000, 43_500, undefined, 42],
    [5000, 1000, undefined, 0], // clock went backwards
    [1000, 11_000, 30, 40],
    [1000, 11_000, -5, 10],
    [1000, 11_000, 2.7, 12],
    [1000, 11_000, Number.NaN, 10],
    [Number.NaN, 11_000, undefined, 0],
  ])('stored %d, now %d, prior age %s ⇒ %d', (storedAt, now, prior, expected) => {
    const age = ageSeconds(storedAt, now, prior)
    expect(age).toBe(expected)
    expect(Number.isInteger(age)).toBe(true)
  })
})

describe('cacheStatus (RFC 9211)', () => {
  it.each([
    [{ hit: true, ttl: 42 }, 'tiercache; hit; ttl=42'],
    [{ hit: true, ttl: -3.4 }, 'tiercache; hit; ttl=-3'],
    [{ hit: true, ttl: -0.2 }, 'tiercache; hit; ttl=0'],
    [{ fwd: 'uri-miss', stored: true }, 'tiercache; fwd=uri-miss; stored'],
    [{ fwd: 'uri-miss', collapsed: true }, 'tiercache; fwd=uri-miss; collapsed'],
    [{ fwd: 'vary-miss', fwdStatus: 200, stored: true }, 'tiercache; fwd=vary-miss; fwd-status=200; stored'],
    [{ fwd: 'bypass', detail: 'authorization' }, 'tiercache; fwd=bypass; detail=authorization'],
    [{ fwd: 'stale', fwdStatus: 503 }, 'tiercache; fwd=stale; fwd-status=503'],
    [{ fwd: 'method' }, 'tiercache; fwd=method'],
    [{ fwd: 'miss', detail: 'too large "body"\n' }, 'tiercache; fwd=miss; detail="too large \\"body\\"?"'],
    [{ hit: true, key: 'http:abc\\' }, 'tiercache; hit; key="http:abc\\\\"'],
    [{ cache: 'edge cache', hit: true }, '"edge cache"; hit'],
    [{ fwdStatus: 200, ttl: Number.NaN }, 'tiercache'],
  ] as const)('%j ⇒ %s', (params, expected) => {
    expect(cacheStatus(params)).toBe(expected)
  })

  it('rejects hit together with fwd', () => {
    expect(() => cacheStatus({ hit: true, fwd: 'miss' })).toThrow(TypeError)
  })
})
