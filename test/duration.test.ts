import { describe, expect, it } from 'vitest'
import { toMs } from '../src/duration.js'

describe('durations', () => {
  it('reads numbers as seconds and strings with units', () => {
    expect(toMs(60, 'ttl')).toBe(60_000)
    expect(toMs(0.5, 'ttl')).toBe(500)
    expect(toMs(0, 'ttl')).toBe(0)
    expect(toMs(Number.POSITIVE_INFINITY, 'ttl')).toBe(Number.POSITIVE_INFINITY)
    expect(toMs('500ms', 'ttl')).toBe(500)
    expect(toMs('30s', 'ttl')).toBe(30_000)
    expect(toMs('5m', 'ttl')).toBe(300_000)
    expect(toMs('1h', 'ttl')).toBe(3_600_000)
    expect(toMs('7d', 'ttl')).toBe(604_800_000)
    expect(toMs('1.5 s', 'ttl')).toBe(1500)
  })

  it.each([
    [-1, '-1'],
    [Number.NaN, 'NaN'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
    ['5 parsecs', '"5 parsecs"'],
    ['', '""'],
    ['10', '"10"'],
    [null, 'null'],
    [{}, 'an object'],
  ])('throws a TypeError naming the option for %s', (value, shown) => {
    expect(() => toMs(value, 'staleIfError')).toThrow(TypeError)
    expect(() => toMs(value, 'staleIfError')).toThrow(`\`staleIfError\``)
    expect(() => toMs(value, 'staleIfError')).toThrow(`got ${shown}`)
  })
})
