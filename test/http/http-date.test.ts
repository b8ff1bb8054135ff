import { describe, expect, it } from 'vitest'
import { parseHttpDate } from '../../src/http/http-date.js'

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0)

describe('parseHttpDate', () => {
  const t = Date.UTC(1994, 10, 6, 8, 49, 37)
  it.each([
    ['Sun, 06 Nov 1994 08:49:37 GMT', t],
    ['Sunday, 06-Nov-94 08:49:37 GMT', t],
    ['Sun Nov  6 08:49:37 1994', t],
    ['Sun Nov 16 08:49:37 1994', Date.UTC(1994, 10, 16, 8, 49, 37)],
    ['  Sun, 06 Nov 1994 08:49:37 GMT  ', t],
    ['Thu, 01 Jan 1970 00:00:00 GMT', 0],
    ['Sat, 01 Jan 0050 00:00:00 GMT', -60_589_296_000_000],
    ['Tue, 29 Feb 2028 00:00:00 GMT', Date.UTC(2028, 1, 29)],
    ['Wed, 31 Dec 2025 23:59:60 GMT', Date.UTC(2025, 11, 31, 23, 59, 59)],
  ])('%j', (value, expected) => {
    expect(parseHttpDate(value, NOW)).toBe(expected)
  })

  it.each([
    '0',
    '-1',
    '',
    'tomorrow',
    'Sun, 06 Nov 1994 08:49:37 UTC',
    'Sun, 6 Nov 1994 08:49:37 GMT',
    'sun, 06 nov 1994 08:49:37 gmt',
    'Sun, 06 Nov 1994 24:00:00 GMT',
    'Sun, 06 Nov 1994 08:60:00 GMT',
    'Sun, 31 Feb 1994 08:49:37 GMT',
    'Sun, 00 Nov 1994 08:49:37 GMT',
    '1994-11-06T08:49:37Z',
    'Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT',
  ])('rejects %j', (value) => {
    expect(parseHttpDate(value, NOW)).toBeUndefined()
  })

  it('maps two-digit years more than 50 years ahead into the past century', () => {
    expect(parseHttpDate('Saturday, 01-Jan-77 00:00:00 GMT', NOW)).toBe(Date.UTC(1977, 0, 1))
    expect(parseHttpDate('Wednesday, 01-Jan-76 00:00:00 GMT', NOW)).toBe(Date.UTC(2076, 0, 1))
    expect(parseHttpDate('Friday, 01-Jan-49 00:00:00 GMT', NOW)).toBe(Date.UTC(2049, 0, 1))
  })
})
