import { describe, expect, it } from 'vitest'
import {
  evaluateConditional,
  isNotModified,
  notModifiedHeaders,
  parseEtag,
  parseEtagList,
  strongEtag,
} from '../../src/http/conditional.js'

describe('strongEtag', () => {
  it('is a quoted 27-char base64url prefix of SHA-256', () => {
    expect(strongEtag(new Uint8Array())).toBe('"47DEQpj8HBSa-_TImW-5JCeuQeR"')
    expect(strongEtag(new TextEncoder().encode('hello'))).toBe('"LPJNul-wow4m6DsqxbninhsWHlw"')
    expect(strongEtag(new Uint8Array([1]))).not.toBe(strongEtag(new Uint8Array([2])))
  })
})

describe('parseEtag / parseEtagList', () => {
  it.each([
    ['"abc"', { weak: false, opaque: 'abc' }],
    ['W/"abc"', { weak: true, opaque: 'abc' }],
    ['""', { weak: false, opaque: '' }],
    ['abc', undefined],
    ['w/"abc"', undefined],
    ['"a"b"', undefined],
    ['"a b"', undefined],
  ])('%j', (v, expected) => {
    expect(parseEtag(v)).toEqual(expected)
  })

  it('parses lists, * and rejects malformed lists', () => {
    expect(parseEtagList(['"a", W/"b"', '"c,d"'])).toEqual([
      { weak: false, opaque: 'a' },
      { weak: true, opaque: 'b' },
      { weak: false, opaque: 'c,d' },
    ])
    expect(parseEtagList([' * '])).toBe('*')
    expect(parseEtagList(['"a", junk'])).toBeUndefined()
    expect(parseEtagList([''])).toBeUndefined()
  })
})

describe('evaluateConditional / isNotModified (RFC 9110 §13.2.2)', () => {
  const LM = 'Thu, 15 Jan 2026 12:00:00 GMT'
  const BEFORE = 'Thu, 15 Jan 2026 11:00:00 GMT'
  const AFTER = 'Thu, 15 Jan 2026 13:00:00 GMT'
  const stored = { etag: '"v1"', lastModified: LM }

  const table: [
    string,
    Record<string, string | string[]>,
    { etag?: string; lastModified?: string },
    string,
    string | undefined,
  ][] = [
    ['no conditionals', {}, stored, 'GET', undefined],
    ['INM match', { 'if-none-match': '"v1"' }, stored, 'GET', 'not-modified'],
    ['INM match on HEAD', { 'if-none-match': '"v1"' }, stored, 'HEAD', 'not-modified'],
    [
      'INM weak request tag matches (weak comparison)',
      { 'if-none-match': 'W/"v1"' },
      stored,
      'GET',
      'not-modified',
    ],
    ['INM against a weak stored tag', { 'if-none-match': '"v1"' }, { etag: 'W/"v1"' }, 'GET', 'not-modified'],
    ['INM in a list', { 'if-none-match': '"v0", "v1"' }, stored, 'GET', 'not-modified'],
    ['INM across lines', { 'if-none-match': ['"v0"', '"v1"'] }, stored, 'GET', 'not-modified'],
    ['INM *', { 'if-none-match': '*' }, stored, 'GET', 'not-modified'],
    ['INM mismatch', { 'if-none-match': '"v0"' }, stored, 'GET', undefined],
    ['INM is case-sensitive', { 'if-none-match': '"V1"' }, stored, 'GET', undefined],
    ['INM without stored etag', { 'if-none-match': '"v1"' }, { lastModified: LM }, 'GET', undefined],
    [
      'INM mismatch beats a matching IMS',
      { 'if-none-match': '"v0"', 'if-modified-since': AFTER },
      stored,
      'GET',
      undefined,
    ],
    [
      'malformed INM beats IMS too',
      { 'if-none-match': 'v1', 'if-modified-since': AFTER },
      stored,
      'GET',
      undefined,
    ],
    ['INM match on POST ⇒ 412', { 'if-none-match': '"v1"' }, stored, 'POST', 'precondition-failed'],
    ['IMS equal to Last-Modified', { 'if-modified-since': LM }, stored, 'GET', 'not-modified'],
    ['IMS after Last-Modified', { 'if-modified-since': AFTER }, stored, 'GET', 'not-modified'],
    ['IMS before Last-Modified', { 'if-modified-since': BEFORE }, stored, 'GET', undefined],
    [
      'IMS obsolete date format',
      { 'if-modified-since': 'Thursday, 15-Jan-26 12:00:00 GMT' },
      stored,
      'GET',
      'not-modified',
    ],
    ['IMS invalid date', { 'if-modified-since': 'yesterday' }, stored, 'GET', undefined],
    ['IMS with two lines', { 'if-modified-since': [LM, LM] }, stored, 'GET', undefined],
    ['IMS ignored for POST', { 'if-modified-since': AFTER }, stored, 'POST', undefined],
    ['IMS without stored Last-Modified', { 'if-modified-since': AFTER }, { etag: '"v1"' }, 'GET', undefined],
    [
      'IMS with invalid stored Last-Modified',
      { 'if-modified-since': AFTER },
      { lastModified: 'garbage' },
      'GET',
      undefined,
    ],
    ['If-Match strong match', { 'if-match': '"v1"', 'if-none-match': '"v1"' }, stored, 'GET', 'not-modified'],
    ['If-Match mismatch ⇒ 412', { 'if-match': '"v0"' }, stored, 'GET', 'precondition-failed'],
    ['If-Match weak never matches', { 'if-match': 'W/"v1"' }, stored, 'GET', 'precondition-failed'],
    ['If-Match *', { 'if-match': '*' }, stored, 'GET', undefined],
    [
      'If-Unmodified-Since before Last-Modified ⇒ 412',
      { 'if-unmodified-since': BEFORE },
      stored,
      'GET',
      'precondition-failed',
    ],
    ['If-Unmodified-Since after', { 'if-unmodified-since': AFTER }, stored, 'GET', undefined],
    [
      'If-Match present ⇒ If-Unmodified-Since ignored',
      { 'if-match': '"v1"', 'if-unmodified-since': BEFORE },
      stored,
      'GET',
      undefined,
    ],
  ]
  it.each(table)('%s', (_name, headers, validators, method, expected) => {
    expect(evaluateConditional(headers, validators, method)).toBe(expected)
    expect(isNotModified(headers, validators, method)).toBe(expected === 'not-modified')
  })

  it('defaults to GET and reads header pairs', () => {
    expect(isNotModified([['If-None-Match', '"v1"']], stored)).toBe(true)
  })
})

describe('notModifiedHeaders', () => {
  it('keeps only the fields a 304 carries, in order', () => {
    expect(
      notModifiedHeaders([
        ['content-type', 'text/html'],
        ['Cache-Control', 'max-age=60'],
        ['content-length', '1234'],
        ['content-encoding', 'br'],
        ['etag', '"v1"'],
        ['vary', 'accept-encoding'],
        ['last-modified', 'Thu, 15 Jan 2026 12:00:00 GMT'],
        ['date', 'Thu, 15 Jan 2026 12:00:00 GMT'],
        ['expires', 'Thu, 15 Jan 2026 13:00:00 GMT'],
        ['content-location', '/a.en'],
        ['x-powered-by', 'app'],
        ['content-range', 'bytes 0-1/2'],
      ]),
    ).toEqual([
      ['cache-control', 'max-age=60'],
      ['etag', '"v1"'],
      ['vary', 'accept-encoding'],
      ['last-modified', 'Thu, 15 Jan 2026 12:00:00 GMT'],
      ['date', 'Thu, 15 Jan 2026 12:00:00 GMT'],
      ['expires', 'Thu, 15 Jan 2026 13:00:00 GMT'],
      ['content-location', '/a.en'],
    ])
  })
})
