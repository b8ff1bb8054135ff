import { describe, expect, it } from 'vitest'
import { hasCookies, keyedCookies, parseCookieHeader } from '../../src/http/cookies.js'

describe('parseCookieHeader', () => {
  it.each([
    [undefined, []],
    ['', []],
    ['a=1', [['a', '1']]],
    [
      ' a = 1 ;b=2;; c="x y" ',
      [
        ['a', '1'],
        ['b', '2'],
        ['c', '"x y"'],
      ],
    ],
    [
      'a=1; a=2',
      [
        ['a', '1'],
        ['a', '2'],
      ],
    ],
    ['novalue; =x; b=', [['b', '']]],
    ['token=a=b=c', [['token', 'a=b=c']]],
    [
      ['a=1', 'b=2'],
      [
        ['a', '1'],
        ['b', '2'],
      ],
    ],
  ])('%j', (header, expected) => {
    expect(parseCookieHeader(header)).toEqual(expected)
  })
})

describe('hasCookies', () => {
  it.each([
    [undefined, false],
    ['', false],
    [' ; ;', false],
    ['a=1', true],
    ['garbage', true],
    [['', 'a=1'], true],
  ])('%j ⇒ %s', (cookie, expected) => {
    expect(hasCookies({ headers: { cookie } })).toBe(expected)
  })
})

describe('keyedCookies', () => {
  it('keeps listed names only, sorted by name, duplicates in header order', () => {
    expect(
      keyedCookies({ headers: { cookie: 'sid=s; lang=fr; theme=dark; lang=de; Lang=x' } }, ['theme', 'lang']),
    ).toEqual([
      ['lang', 'fr'],
      ['lang', 'de'],
      ['theme', 'dark'],
    ])
    expect(keyedCookies({ headers: {} }, ['lang'])).toEqual([])
  })
})
