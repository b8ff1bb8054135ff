/**
 * `Cache-Control` and `Expires`: parsing (RFC 9111 §5.2, §5.3), the
 * freshness lifetime of a response (RFC 9111 §4.2.1, no heuristics), and the outgoing header for the
 * route option `cacheControl`.
 */
import { describe, toMs } from '../duration.js'
import { headerValue, headerValues } from './headers.js'
import { parseHttpDate } from './http-date.js'
import type { CacheControlOptions, HeaderInput } from './types.js'

/** Largest delta-seconds value kept; larger values are clamped to it (RFC 9111 §1.2.2). */
export const MAX_DELTA_SECONDS = 2_147_483_648

/** The directives of one `Cache-Control` field (request or response), names lower-cased. */
export interface CacheControl {
  /**
   * Every directive in order of first appearance: `true` when it has no argument,
   * {@link MALFORMED_ARGUMENT} when unparsable. Duplicates: first wins.
   */
  directives: ReadonlyMap<string, string | true>
  /**
   * Delta-seconds directives present with a malformed argument. Their typed value is `0`:
   * RFC 9111 §4.2.1 encourages treating invalid freshness information as stale.
   */
  invalid: readonly string[]
  maxAge?: number
  sMaxAge?: number
  staleWhileRevalidate?: number
  staleIfError?: number
  /** Request directive; `true` when present without a value (any staleness accepted). */
  maxStale?: number | true
  minFresh?: number
  noStore: boolean
  /** `no-cache`, qualified (`no-cache="set-cookie"`) or not: both are treated as unqualified. */
  noCache: boolean
  /** `private`, qualified or not: both are treated as unqualified. */
  private: boolean
  public: boolean
  mustRevalidate: boolean
  proxyRevalidate: boolean
  mustUnderstand: boolean
  noTransform: boolean
  immutable: boolean
  onlyIfCached: boolean
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/

/** Splits a field value into `[name, argument]` elements, honouring quoted strings with escapes. */
function tokenize(value: string): [string, string | true][] {
  const out: [string, string | true][] = []
  let i = 0
  const n = value.length
  const skipWs = () => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++
  }
  while (i < n) {
    skipWs()
    let name = ''
    while (i < n && TCHAR.test(value[i]!)) name += value[i++]
    skipWs()
    let arg: string | true = true
    let ok = name.length > 0
    if (value[i] === '=') {
      i++
      skipWs()
      if (value[i] === '"') {
        i++
        let s = ''
        let closed = false
        while (i < n) {
          const c = value[i++]!
          if (c === '\\' && i < n) s += value[i++]
          else if (c === '"') {
            closed = true
            break
          } else s += c
        }
        arg = s
        ok &&= closed
      } else {
        let s = ''
        while (i < n && TCHAR.test(value[i]!)) s += value[i++]
        arg = s
      }
      skipWs()
    }
    // anything else before the next comma makes this element malformed
    if (i < n && value[i] !== ',') {
      ok = false
      let inQuote = false
      while (i < n && (inQuote || value[i] !== ',')) {
        if (value[i] === '"') inQuote = !inQuote
        else if (value[i] === '\\' && inQuote) i++
        i++
      }
    }
    if (value[i] === ',') i++
    if (ok) out.push([name.toLowerCase(), arg])
    else if (name) out.push([name.toLowerCase(), MALFORMED])
  }
  return out
}

/**
 * The argument recorded in {@link CacheControl.directives} for an element whose syntax could not be
 * parsed (e.g. an unterminated quoted string); its name is kept so a restrictive directive still
 * applies, and a delta-seconds directive counts as invalid.
 */
export const MALFORMED_ARGUMENT = '\u0000malformed'
const MALFORMED = MALFORMED_ARGUMENT

const DELTA_NAMES = {
  'max-age': 'maxAge',
  's-maxage': 'sMaxAge',
  'stale-while-revalidate': 'staleWhileRevalidate',
  'stale-if-error': 'staleIfError',
  'min-fresh': 'minFresh',
} as const

const FLAG_NAMES = {
  'no-store': 'noStore',
  'no-cache': 'noCache',
  private: 'private',
  public: 'public',
  'must-revalidate': 'mustRevalidate',
  'proxy-revalidate': 'proxyRevalidate',
  'must-understand': 'mustUnderstand',
  'no-transform': 'noTransform',
  immutable: 'immutable',
  'only-if-cached': 'onlyIfCached',
} as const

/** Parses delta-seconds (digits only, clamped to 2^31); `undefined` when malformed. */
export function parseDeltaSeconds(value: string | true): number | undefined {
  if (value === true || !/^[0-9]+$/.test(value)) return undefined
  const n = Number(value)
  return Math.min(n, MAX_DELTA_SECONDS)
}

/**
 * Parses a `Cache-Control` field (request or response). Accepts a single value, repeated header
 * lines, or a header collection to read it from. Names are case-insensitive; arguments may be
 * tokens or quoted strings; on duplicates the first occurrence wins.
 */
export function parseCacheControl(input: string | readonly string[] | HeaderInput | undefined): CacheControl {
  let raw: string | undefined
  if (typeof input === 'string') raw = input
  else if (input === undefined) raw = undefined
  else if (Array.isArray(input) && input.every((v) => typeof v === 'string')) raw = input.join(', ')
  else raw = headerValue(input as HeaderInput, 'cache-control')

  const directives = new Map<string, string | true>()
  for (const [name, arg] of tokenize(raw ?? '')) if (!directives.has(name)) directives.set(name, arg)

  const cc: CacheControl = {
    directives,
    invalid: [],
    noStore: false,
    noCache: false,
    private: false,
    public: false,
    mustRevalidate: false,
    proxyRevalidate: false,
    mustUnderstand: false,
    noTransform: false,
    immutable: false,
    onlyIfCached: false,
  }
  const invalid: string[] = []
  for (const [name, arg] of directives) {
    if (name in DELTA_NAMES) {
      const seconds = parseDeltaSeconds(arg)
      if (seconds === undefined) invalid.push(name)
      cc[DELTA_NAMES[name as keyof typeof DELTA_NAMES]] = seconds ?? 0
    } else if (name === 'max-stale') {
      if (arg === true) cc.maxStale = true
      else {
        const seconds = parseDeltaSeconds(arg)
        if (seconds === undefined) invalid.push(name)
        cc.maxStale = seconds ?? 0
      }
    } else if (name in FLAG_NAMES) {
      cc[FLAG_NAMES[name as keyof typeof FLAG_NAMES]] = true
    }
  }
  cc.invalid = invalid
  return cc
}

/**
 * `Expires` as epoch ms. An invalid value (including `0`) means "already expired" (RFC 9111 §5.3),
 * returned as `-Infinity`; `undefined` only when the header is absent. With several `Expires`
 * lines the first is used.
 */
export function parseExpires(headers: HeaderInput, now: number = Date.now()): number | undefined {
  const values = headerValues(headers, 'expires')
  if (values.length === 0) return undefined
  return parseHttpDate(values[0], now) ?? Number.NEGATIVE_INFINITY
}

/**
 * Freshness lifetime of a response in ms for a shared cache (RFC 9111 §4.2.1): `s-maxage`, else
 * `max-age`, else `Expires − Date` (with `now` standing in for a missing or invalid `Date`).
 * Malformed `max-age`/`s-maxage` count as 0; invalid `Expires` as expired. Never negative.
 * `undefined` when the response gives no explicit freshness (no heuristic freshness is applied).
 */
export function responseFreshnessMs(headers: HeaderInput, now: number = Date.now()): number | undefined {
  const cc = parseCacheControl(headers)
  if (cc.sMaxAge !== undefined) return cc.sMaxAge * 1000
  if (cc.maxAge !== undefined) return cc.maxAge * 1000
  const expires = parseExpires(headers, now)
  if (expires === undefined) return undefined
  const date = parseHttpDate(headerValues(headers, 'date')[0], now) ?? now
  return Math.max(0, expires - date)
}

function seconds(value: CacheControlOptions[keyof CacheControlOptions], option: string): number {
  const ms = toMs(value, `cacheControl.${option}`)
  return Math.min(MAX_DELTA_SECONDS, Math.max(0, Math.floor(ms / 1000)))
}

/**
 * The outgoing `Cache-Control` for the route option `cacheControl`, e.g.
 * `public, max-age=60, s-maxage=300, stale-while-revalidate=30`. Durations are whole seconds
 * (rounded down, clamped to 0…2^31), so a negative value is never emitted. A string is validated
 * (no control characters) and returned trimmed. Throws `TypeError` naming the option on bad input.
 */
export function buildCacheControl(options: CacheControlOptions | string): string {
  if (typeof options === 'string') {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
    if (/[\u0000-\u001f\u007f]/.test(options) || options.trim() === '') {
      throw new TypeError(
        `Expected \`cacheControl\` to be a non-empty header value without control characters, got ${describe(options)}`,
      )
    }
    return options.trim()
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`Expected \`cacheControl\` to be an object or a string, got ${describe(options)}`)
  }
  if (options.public !== undefined && typeof options.public !== 'boolean') {
    throw new TypeError(`Expected \`cacheControl.public\` to be a boolean, got ${describe(options.public)}`)
  }
  const parts: string[] = []
  if (options.public) parts.push('public')
  if (options.maxAge !== undefined) parts.push(`max-age=${seconds(options.maxAge, 'maxAge')}`)
  if (options.sMaxAge !== undefined) parts.push(`s-maxage=${seconds(options.sMaxAge, 'sMaxAge')}`)
  if (options.staleWhileRevalidate !== undefined) {
    parts.push(`stale-while-revalidate=${seconds(options.staleWhileRevalidate, 'staleWhileRevalidate')}`)
  }
  if (options.staleIfError !== undefined) {
    parts.push(`stale-if-error=${seconds(options.staleIfError, 'staleIfError')}`)
  }
  if (parts.length === 0) {
    throw new TypeError(
      'Expected `cacheControl` to set at least one of public, maxAge, sMaxAge, staleWhileRevalidate, staleIfError',
    )
  }
  return parts.join(', ')
}
