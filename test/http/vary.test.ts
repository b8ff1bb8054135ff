import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  encodingMatchesVariant,
  negotiateEncoding,
  normalizeFieldValue,
  parseVary,
  varyKey,
} from '../../src/http/vary.js'

describe('parseVary', () => {
  it.each([
    [{}, []],
    [{ vary: 'Accept-Encoding' }, ['accept-encoding']],
    [
      { vary: ' Accept-Language ,accept-encoding, ACCEPT-encoding ,, ' },
      ['accept-encoding', 'accept-language'],
    ],
    [{ vary: ['Origin', 'accept'] }, ['accept', 'origin']],
    [{ vary: 'accept, *' }, '*'],
    [{ vary: '*' }, '*'],
    [{ vary: 'bad header' }, '*'],
    [{ vary: '"quoted"' }, '*'],
  ])('%j ⇒ %j', (headers, expected) => {
    expect(parseVary(headers)).toEqual(expected)
  })

  it('reads pairs across lines', () => {
    expect(
      parseVary([
        ['vary', 'b'],
        ['Vary', 'a'],
      ]),
    ).toEqual(['a', 'b'])
  })
})

describe('negotiateEncoding', () => {
  it.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip, deflate', 'gzip'],
    ['gzip;q=1.0, br;q=0.9', 'gzip'],
    ['br;q=0.5, gzip;q=0.5', 'br'],
    ['GZIP', 'gzip'],
    ['x-gzip', 'gzip'],
    ['br;q=0, gzip;q=0', 'identity'],
    ['br;q=0, gzip', 'gzip'],
    ['*', 'br'],
    ['*;q=0', undefined],
    ['*;q=0, identity', 'identity'],
    ['*;q=0.5, br;q=0', 'gzip'],
    ['identity;q=0, gzip', 'gzip'],
    ['identity;q=0', undefined],
    ['deflate', 'identity'],
    ['zstd;q=1, gzip;q=0.1', 'gzip'],
    ['gzip;q=2', 'identity'],
    ['gzip;q=0.5000', 'identity'],
    ['gzip;q=abc, br', 'br'],
    ['gzip ; q=0.5 ; foo=bar', 'gzip'],
    ['gzip, gzip;q=0', 'identity'],
  ])('%j ⇒ %j', (header, expected) => {
    expect(negotiateEncoding(header)).toBe(expected)
  })

  it('uses the server list and order', () => {
    expect(negotiateEncoding('gzip, br', ['gzip', 'br', 'identity'])).toBe('gzip')
    expect(negotiateEncoding('zstd, gzip', ['zstd', 'gzip'])).toBe('zstd')
    expect(negotiateEncoding('br', ['gzip'])).toBeUndefined()
    expect(negotiateEncoding('br', ['gzip', 'identity'])).toBe('identity')
  })
})

describe('normalizeFieldValue', () => {
  it('trims, collapses whitespace, combines lines', () => {
    expect(normalizeFieldValue(['  text/html,\t\tapplication/json  ', '', 'a   b'])).toBe(
      'text/html, application/json, a b',
    )
  })
})

describe('varyKey', () => {
  const headers = (h: Record<string, string | string[]>) => ({ headers: h })

  it('is empty when nothing varies', () => {
    expect(varyKey([], headers({}))).toBe('')
  })

  it('encodes normalised values, absent distinct from empty', () => {
    expect(varyKey(['accept'], headers({ accept: ' text/html ' }))).toBe('6:accept9:text/html')
    expect(varyKey(['accept'], headers({}))).toBe('6:accept-')
    expect(varyKey(['accept'], headers({ accept: '' }))).toBe('6:accept0:')
    expect(varyKey(['Origin', 'accept'], headers({ origin: 'https://a.example' }))).toBe(
      '6:accept-6:origin17:https://a.example',
    )
  })

  it('collapses Accept-Encoding to the negotiated coding (one variant per br/gzip/identity)', () => {
    const chrome = varyKey(['accept-encoding'], headers({ 'accept-encoding': 'gzip, deflate, br, zstd' }))
    expect(chrome).toBe('15:accept-encoding2:br')
    expect(varyKey(['accept-encoding'], headers({ 'accept-encoding': 'br' }))).toBe(chrome)
    expect(varyKey(['accept-encoding'], headers({ 'accept-encoding': 'gzip' }))).toBe(
      '15:accept-encoding4:gzip',
    )
    expect(varyKey(['accept-encoding'], headers({}))).toBe('15:accept-encoding8:identity')
    expect(varyKey(['accept-encoding'], headers({ 'accept-encoding': 'deflate' }))).toBe(
      '15:accept-encoding8:identity',
    )
    expect(varyKey(['accept-encoding'], headers({ 'accept-encoding': '*;q=0' }))).toBe('15:accept-encoding!')
    expect(
      varyKey(['accept-encoding'], headers({ 'accept-encoding': 'zstd' }), {
        encodings: ['zstd', 'identity'],
      }),
    ).toBe('15:accept-encoding4:zstd')
  })

  it('lower-cases Accept-Language and combines repeated lines', () => {
    const a = varyKey(['accept-language'], headers({ 'accept-language': 'en-US,  fr;q=0.5' }))
    expect(a).toBe('15:accept-language15:en-us, fr;q=0.5')
    expect(varyKey(['accept-language'], headers({ 'accept-language': ['EN-us', 'fr;q=0.5'] }))).toBe(
      varyKey(['accept-language'], headers({ 'accept-language': 'en-us, fr;q=0.5' })),
    )
  })

  it('keeps different values apart', () => {
    const de = varyKey(['accept-language'], headers({ 'accept-language': 'de' }))
    expect(varyKey(['accept-language'], headers({ 'accept-language': 'fr' }))).not.toBe(de)
    // length prefixes: no ambiguity between names and values
    expect(varyKey(['a', 'b'], headers({ a: '1:b' }))).not.toBe(varyKey(['a', 'b'], headers({ b: '' })))
  })

  it('refuses * and credentials outside per-user mode', () => {
    expect(varyKey('*', headers({}))).toBeUndefined()
    expect(varyKey(['accept', '*'], headers({}))).toBeUndefined()
    expect(varyKey(['cookie'], headers({ cookie: 'a=1' }))).toBeUndefined()
    expect(varyKey(['Authorization'], headers({}))).toBeUndefined()
    expect(varyKey(['cookie'], headers({ cookie: 'a=1' }), { private: true })).toBe('6:cookie3:a=1')
  })
})

describe('encodingMatchesVariant', () => {
  it.each([
    [{ 'content-encoding': 'br' }, 'gzip, br', true],
    [{ 'content-encoding': 'gzip' }, 'gzip, br', false],
    [{}, 'gzip, br', false],
    [{}, undefined, true],
    [{ 'content-encoding': 'GZIP' }, 'gzip', true],
    [{ 'content-encoding': 'gzip' }, undefined, false],
  ])('%j for %j ⇒ %s', (res, accept, expected) => {
    const req = { headers: accept === undefined ? {} : { 'accept-encoding': accept } }
    expect(encodingMatchesVariant(res, req)).toBe(expected)
  })
})

describe('negotiateEncoding (property)', () => {
  const coding = fc.constantFrom('br', 'gzip', 'GZIP', 'x-gzip', 'identity', 'deflate', 'zstd', '*')
  const q = fc.constantFrom('', ';q=0', ';q=0.0', ';q=0.5', ';q=1', ';q=0.001', ';q=bad', ' ; q=0')
  const header = fc
    .array(fc.tuple(coding, q), { maxLength: 6 })
    .map((els) => els.map(([c, w]) => c + w).join(', '))

  function weight(h: string, name: string): number | undefined {
    let found: number | undefined
    for (const el of h.split(',')) {
      const [c, ...params] = el.split(';')
      const n = c!
        .trim()
        .toLowerCase()
        .replace(/^x-gzip$/, 'gzip')
      if (n !== name) continue
      const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
      const w = qp === undefined ? 1 : /^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(qp) ? Number(qp.slice(2)) : 0
      found = Math.min(found ?? 1, w)
    }
    return found
  }

  it('never picks a coding the client excluded', () => {
    fc.assert(
      fc.property(header, (h) => {
        const chosen = negotiateEncoding(h)
        if (chosen === undefined) return
        expect(['br', 'gzip', 'identity']).toContain(chosen)
        const own = weight(h, chosen)
        if (own !== undefined) expect(own).toBeGreaterThan(0)
        else if (chosen !== 'identity') expect(weight(h, '*')).toBeGreaterThan(0)
        else expect(weight(h, '*') ?? 1).toBeGreaterThan(0)
      }),
      { numRuns: 3_000 },
    )
  })
})
