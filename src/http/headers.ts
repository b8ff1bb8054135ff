/**
 * Header plumbing for stored responses: reading either header shape, choosing what may be stored,
 * the `Age` value and the RFC 9211 `Cache-Status` value.
 */
import type { HeaderInput, HeaderPairs } from './types.js'

function isPairs(headers: HeaderInput): headers is HeaderPairs {
  return Array.isArray(headers)
}

/** Every value of header `name` (case-insensitive), in order; repeated headers and arrays expanded. */
export function headerValues(headers: HeaderInput | undefined, name: string): string[] {
  if (headers === undefined) return []
  const lower = name.toLowerCase()
  const out: string[] = []
  if (isPairs(headers)) {
    for (const [n, v] of headers) if (n.toLowerCase() === lower) out.push(v)
    return out
  }
  for (const n of Object.keys(headers)) {
    if (n.toLowerCase() !== lower) continue
    const v = headers[n]
    if (Array.isArray(v)) out.push(...v)
    else if (v !== undefined) out.push(String(v))
  }
  return out
}

/** Header `name` with repeated values combined by `', '`, or `undefined` when absent. */
export function headerValue(headers: HeaderInput | undefined, name: string): string | undefined {
  const values = headerValues(headers, name)
  return values.length === 0 ? undefined : values.join(', ')
}

const NEVER_STORED = new Set([
  // hop-by-hop (RFC 9110 §7.6.1) and their common non-standard relatives
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  // recomputed on every replay, or debug output of this or another cache
  'age',
  'cache-status',
  'x-cache',
  // never stored: a response carrying it is only storable under `stripSetCookie`
  'set-cookie',
])

/**
 * The end-to-end headers worth storing, as lower-case ordered pairs (arrays become repeated pairs).
 * Drops hop-by-hop headers (including every name listed in `Connection`), `Age`, `Cache-Status`,
 * `X-Cache`, and always `Set-Cookie`.
 */
export function storableHeaders(raw: HeaderInput): [string, string][] {
  const pairs: [string, string][] = []
  if (isPairs(raw)) {
    for (const [n, v] of raw) pairs.push([n.toLowerCase(), v])
  } else {
    for (const n of Object.keys(raw)) {
      const v = raw[n]
      if (Array.isArray(v)) for (const item of v) pairs.push([n.toLowerCase(), item])
      else if (v !== undefined) pairs.push([n.toLowerCase(), String(v)])
    }
  }
  const listed = new Set<string>()
  for (const [n, v] of pairs) {
    if (n !== 'connection') continue
    for (const token of v.split(',')) {
      const t = token.trim().toLowerCase()
      if (t) listed.add(t)
    }
  }
  return pairs.filter(([n]) => !NEVER_STORED.has(n) && !listed.has(n))
}

/**
 * The `Age` to send on a hit, in whole seconds: time since `storedAt` plus the age the response
 * already had when stored (`storedAge`, e.g. from an upstream `Age`). Never negative.
 */
export function ageSeconds(storedAt: number, now: number, storedAge = 0): number {
  const since = Number.isFinite(now - storedAt) ? Math.floor((now - storedAt) / 1000) : 0
  const prior = Number.isFinite(storedAge) && storedAge > 0 ? Math.floor(storedAge) : 0
  return Math.max(0, since) + prior
}

/** Why a request was forwarded to the handler (RFC 9211 §2.2). */
export type CacheStatusFwd = 'uri-miss' | 'vary-miss' | 'miss' | 'stale' | 'bypass' | 'request' | 'method'

/** Parameters of one `Cache-Status` entry. */
export interface CacheStatusParams {
  /** Cache name, a token or any printable string. @default 'tiercache' */
  cache?: string
  /** Served from the cache without forwarding. Mutually exclusive with `fwd`. @default false */
  hit?: boolean
  /** Why the request went to the handler. @default undefined (not emitted) */
  fwd?: CacheStatusFwd
  /** Status the handler returned (only emitted together with `fwd`). @default undefined */
  fwdStatus?: number
  /** Remaining freshness in seconds; negative when serving stale. Rounded to an integer. @default undefined */
  ttl?: number
  /** The forwarded response was stored. @default false */
  stored?: boolean
  /** The request waited on another request's in-flight load. @default false */
  collapsed?: boolean
  /** The cache key (exposing it is opt-in; it is always quoted). @default undefined */
  key?: string
  /** Free-form detail, e.g. the bypass reason; quoted unless it is a token. @default undefined */
  detail?: string
}

const SF_TOKEN = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/

function sfString(value: string): string {
  // sf-string allows printable ASCII only; anything else is replaced rather than emitted raw.
  const printable = value.replace(/[^\x20-\x7e]/g, '?')
  return '"' + printable.replace(/[\\"]/g, (c) => '\\' + c) + '"'
}

function sfTokenOrString(value: string): string {
  return SF_TOKEN.test(value) ? value : sfString(value)
}

/**
 * One RFC 9211 `Cache-Status` list member, e.g. `tiercache; hit; ttl=42`,
 * `tiercache; fwd=uri-miss; stored`, `tiercache; fwd=bypass; detail=authorization`.
 * @throws TypeError when both `hit` and `fwd` are given.
 */
export function cacheStatus(params: CacheStatusParams): string {
  if (params.hit && params.fwd !== undefined) {
    throw new TypeError('Cache-Status: `hit` and `fwd` are mutually exclusive')
  }
  const parts = [sfTokenOrString(params.cache ?? 'tiercache')]
  if (params.hit) parts.push('hit')
  if (params.fwd !== undefined) {
    parts.push(`fwd=${params.fwd}`)
    if (params.fwdStatus !== undefined && Number.isInteger(params.fwdStatus)) {
      parts.push(`fwd-status=${params.fwdStatus}`)
    }
  }
  if (params.ttl !== undefined && Number.isFinite(params.ttl)) {
    parts.push(`ttl=${Math.round(params.ttl) || 0}`)
  }
  if (params.stored) parts.push('stored')
  if (params.collapsed) parts.push('collapsed')
  if (params.key !== undefined) parts.push(`key=${sfString(params.key)}`)
  if (params.detail !== undefined) parts.push(`detail=${sfTokenOrString(params.detail)}`)
  return parts.join('; ')
}

/** The handler's headers as pairs, without a `Cache-Status` (an outer layer's): the fill sends its own. */
export function handlerPairs(headers: HeaderInput): [string, string][] {
  return toPairs(headers).filter(([n]) => n !== 'cache-status')
}

/** Converts either header shape to lower-case pairs, keeping every header. */
export function toPairs(headers: HeaderInput): [string, string][] {
  if (Array.isArray(headers)) return headers.map(([n, v]) => [n.toLowerCase(), v])
  const out: [string, string][] = []
  const record = headers as Readonly<Record<string, string | string[] | number | undefined>>
  for (const n of Object.keys(record)) {
    const v = record[n]
    if (Array.isArray(v)) for (const item of v) out.push([n.toLowerCase(), item])
    else if (v !== undefined) out.push([n.toLowerCase(), String(v)])
  }
  return out
}

export function hasHeader(pairs: readonly (readonly [string, string])[], name: string): boolean {
  return pairs.some(([n]) => n === name)
}
