/**
 * Request cookies, for the `cookies` allowlist: only the listed cookies become part of the key,
 * every other cookie is ignored (RFC 6265 §5.4 `Cookie` syntax, parsed leniently as browsers send it).
 */
import type { HttpRequestView } from './types.js'

/**
 * Parses the request's `Cookie` header(s) into `[name, value]` pairs in header order. Repeated
 * `Cookie` lines (HTTP/2) are joined with `; `. Names and values are trimmed; a value wrapped in
 * double quotes keeps its quotes (frameworks differ on unquoting, so the raw form is keyed).
 * Elements without `=` or with an empty name are skipped.
 */
export function parseCookieHeader(header: string | readonly string[] | undefined): [string, string][] {
  if (header === undefined) return []
  const raw = typeof header === 'string' ? header : header.join('; ')
  const out: [string, string][] = []
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const name = part.slice(0, eq).trim()
    if (!name) continue
    out.push([name, part.slice(eq + 1).trim()])
  }
  return out
}

/** `true` when the request's `Cookie` header carries anything but whitespace and separators. */
export function hasCookies(req: Pick<HttpRequestView, 'headers'>): boolean {
  const header = req.headers.cookie
  if (header === undefined) return false
  // anything beyond separators counts, even a malformed pair the app might still read
  return /[^\s;]/.test(typeof header === 'string' ? header : header.join(';'))
}

/**
 * The cookies of `req` whose names are in `names` (exact, case-sensitive), as `[name, value]`
 * pairs sorted by name; duplicates of one name keep their header order (frameworks usually read
 * the first). This is what the key includes under the `cookies` option.
 */
export function keyedCookies(
  req: Pick<HttpRequestView, 'headers'>,
  names: readonly string[],
): [string, string][] {
  const wanted = new Set(names)
  const picked = parseCookieHeader(req.headers.cookie).filter(([name]) => wanted.has(name))
  // Array.prototype.sort is stable, so same-name cookies keep their relative order
  return picked.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}
