/**
 * Conditional requests against a cached response (RFC 9110 §8.8.3, §13.1, §13.2.2): a strong ETag
 * for stored bodies, precondition evaluation, and the header set of a 304.
 */
import { createHash } from 'node:crypto'
import { headerValues } from './headers.js'
import { parseHttpDate } from './http-date.js'
import type { HeaderInput } from './types.js'

/** A strong validator for `body`: `"` + 27 base64url chars of its SHA-256 (162 bits) + `"`. */
export function strongEtag(body: Uint8Array): string {
  return '"' + createHash('sha256').update(body).digest('base64url').slice(0, 27) + '"'
}

/** The validators of a stored response. */
export interface Validators {
  etag?: string | undefined
  lastModified?: string | undefined
}

/** A parsed entity-tag. */
export interface EntityTag {
  weak: boolean
  opaque: string
}

const ETAG = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/

/** Parses one entity-tag (`"x"` or `W/"x"`); `undefined` when malformed. */
export function parseEtag(value: string): EntityTag | undefined {
  const m = ETAG.exec(value.trim())
  return m ? { weak: m[1] !== undefined, opaque: m[2]! } : undefined
}

/**
 * Parses an `If-Match` / `If-None-Match` value: `'*'`, a list of entity-tags, or `undefined` when
 * any member is malformed (the condition is then ignored rather than guessed).
 */
export function parseEtagList(values: readonly string[]): '*' | EntityTag[] | undefined {
  const joined = values.join(',')
  if (joined.trim() === '*') return '*'
  const tags: EntityTag[] = []
  // entity-tags cannot contain '"' inside, so splitting on commas outside quotes is exact
  const members = joined.match(/(?:W\/)?"[^"]*"|[^,\s][^,]*/g) ?? []
  for (const member of members) {
    const tag = parseEtag(member)
    if (!tag) return undefined
    tags.push(tag)
  }
  return tags.length > 0 ? tags : undefined
}

/** Outcome of evaluating preconditions against a cached representation. */
export type ConditionalResult = 'not-modified' | 'precondition-failed' | undefined

/**
 * Evaluates `If-Match`, `If-Unmodified-Since`, `If-None-Match` and `If-Modified-Since` in the order
 * of RFC 9110 §13.2.2. `'not-modified'` ⇒ answer 304; `'precondition-failed'` ⇒ 412 (or forward);
 * `undefined` ⇒ send the full response. `If-None-Match` uses weak comparison, `If-Match` strong;
 * `If-Modified-Since` counts only without `If-None-Match`, for GET/HEAD, with exactly one valid
 * HTTP-date and a valid stored `Last-Modified`.
 */
export function evaluateConditional(
  reqHeaders: HeaderInput,
  stored: Validators,
  method = 'GET',
): ConditionalResult {
  const safe = method === 'GET' || method === 'HEAD'
  const etag = stored.etag === undefined ? undefined : parseEtag(stored.etag)
  const lastModified = parseHttpDate(stored.lastModified)

  const ifMatch = headerValues(reqHeaders, 'if-match')
  if (ifMatch.length > 0) {
    const list = parseEtagList(ifMatch)
    const ok =
      list === '*' ||
      (list !== undefined &&
        etag !== undefined &&
        !etag.weak &&
        list.some((t) => !t.weak && t.opaque === etag.opaque))
    if (!ok) return 'precondition-failed'
  } else {
    const ius = singleDate(reqHeaders, 'if-unmodified-since')
    if (ius !== undefined && lastModified !== undefined && lastModified > ius) return 'precondition-failed'
  }

  const ifNoneMatch = headerValues(reqHeaders, 'if-none-match')
  if (ifNoneMatch.length > 0) {
    const list = parseEtagList(ifNoneMatch)
    const matched =
      list === '*' || (list !== undefined && etag !== undefined && list.some((t) => t.opaque === etag.opaque))
    if (matched) return safe ? 'not-modified' : 'precondition-failed'
    return undefined
  }

  if (!safe) return undefined
  const ims = singleDate(reqHeaders, 'if-modified-since')
  if (ims !== undefined && lastModified !== undefined && lastModified <= ims) return 'not-modified'
  return undefined
}

function singleDate(headers: HeaderInput, name: string): number | undefined {
  const values = headerValues(headers, name)
  return values.length === 1 ? parseHttpDate(values[0]) : undefined
}

/** `true` when a GET/HEAD may be answered with 304 Not Modified from the stored validators. */
export function isNotModified(reqHeaders: HeaderInput, stored: Validators, method = 'GET'): boolean {
  return evaluateConditional(reqHeaders, stored, method) === 'not-modified'
}

const NOT_MODIFIED_HEADERS = new Set([
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
  'last-modified',
])

/**
 * The stored headers a 304 carries (RFC 9110 §15.4.5): `Cache-Control`, `Content-Location`,
 * `Date`, `ETag`, `Expires`, `Vary` and `Last-Modified`, in stored order; nothing body-related.
 */
export function notModifiedHeaders(headers: readonly (readonly [string, string])[]): [string, string][] {
  return headers
    .filter(([n]) => NOT_MODIFIED_HEADERS.has(n.toLowerCase()))
    .map(([n, v]) => [n.toLowerCase(), v])
}

/** Picks the conditional request headers (before the adapter strips them from the native request). */
export function conditionalHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  names: readonly string[],
): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {}
  for (const n of names) if (headers[n] !== undefined) out[n] = headers[n]
  return out
}
