/**
 * HTTP-date parsing (RFC 9110 §5.6.7), shared by `Expires`, `Date`, `Last-Modified` and the
 * conditional request headers.
 */

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'
const MON = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})'
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MON} (\\d{4}) ${TIME} GMT$`)
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MON}-(\\d{2}) ${TIME} GMT$`)
const ASCTIME = new RegExp(`^${DAY} ${MON} ([ \\d]\\d) ${TIME} (\\d{4})$`)

function build(year: number, mon: string, day: number, h: number, m: number, s: number): number | undefined {
  const month = MONTHS.indexOf(mon.toLowerCase())
  if (h > 23 || m > 59 || s > 60 || day < 1) return undefined
  const d = new Date(Date.UTC(2000, month, day, h, m, Math.min(s, 59)))
  // setUTCFullYear keeps years 0-99 literal (Date.UTC would map them to 19xx)
  d.setUTCFullYear(year, month, day)
  const t = d.getTime()
  // reject day overflow such as 31 Feb
  if (new Date(t).getUTCDate() !== day) return undefined
  return t
}

/**
 * Parses an HTTP-date (IMF-fixdate, obsolete RFC 850 and asctime forms; RFC 9110 §5.6.7) to epoch
 * milliseconds, or `undefined` when it is not a valid HTTP-date. Case-sensitive as the grammar says.
 * Two-digit RFC 850 years more than 50 years in the future are taken as the past century.
 */
export function parseHttpDate(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  let m = IMF_FIXDATE.exec(v)
  if (m) return build(Number(m[3]), m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  m = RFC850.exec(v)
  if (m) {
    const yy = Number(m[3])
    const thisYear = new Date(now).getUTCFullYear()
    let year = Math.floor(thisYear / 100) * 100 + yy
    if (year > thisYear + 50) year -= 100
    return build(year, m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  }
  m = ASCTIME.exec(v)
  if (m) return build(Number(m[6]), m[1]!, Number(m[2]!.trim()), Number(m[3]), Number(m[4]), Number(m[5]))
  return undefined
}
