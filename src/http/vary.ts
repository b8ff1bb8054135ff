/**
 * `Vary`: which request headers select a variant, and the normalised secondary key built from their
 * values (RFC 9111 §4.1; HTTP-RULES 7; RELIABILITY 35).
 */
import { headerValue, headerValues } from './headers.js'
import type { HeaderInput, HttpPolicyOptions, HttpRequestView } from './types.js'

/** Default `encodings`: what the server can produce, in its order of preference. */
export const DEFAULT_ENCODINGS: readonly string[] = ['br', 'gzip', 'identity']

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const CREDENTIAL_HEADERS = new Set(['cookie', 'authorization'])

/**
 * The field names a response varies on: lower-cased, deduplicated and sorted (so `Vary: a, b` and
 * `Vary: B, A` select the same variants), over every `Vary` line. `'*'` when any member is `*` or
 * is not a valid field name (conservatively: never matches).
 */
export function parseVary(headers: HeaderInput): '*' | string[] {
  const names = new Set<string>()
  for (const line of headerValues(headers, 'vary')) {
    for (const member of line.split(',')) {
      const name = member.trim().toLowerCase()
      if (name === '') continue
      if (name === '*' || !TOKEN.test(name)) return '*'
      names.add(name)
    }
  }
  return [...names].sort()
}

function parseQ(params: string[]): number {
  for (const p of params) {
    const [k, v] = p.split('=').map((s) => s.trim())
    if (k?.toLowerCase() !== 'q') continue
    // an invalid weight makes the coding unacceptable, so it is never chosen for this client
    return v !== undefined && /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(v) ? Number(v) : 0
  }
  return 1
}

/**
 * The content coding the server would choose: among `encodings` (server order), the one with the
 * highest q-value in `Accept-Encoding`, ties going to the server's order. Honours `q=0`, `*`, and
 * `x-gzip` as `gzip`. `identity` is acceptable unless excluded (`identity;q=0`, or `*;q=0` without
 * an `identity` entry) and implicitly weighs as much as the least preferred listed coding. A
 * missing or empty header yields `'identity'`. `undefined` when nothing acceptable is on offer.
 */
export function negotiateEncoding(
  acceptEncoding: string | undefined,
  encodings: readonly string[] = DEFAULT_ENCODINGS,
): string | undefined {
  if (acceptEncoding === undefined || acceptEncoding.trim() === '') return 'identity'
  const explicit = new Map<string, number>()
  let minQ = 1
  for (const element of acceptEncoding.split(',')) {
    const [rawName, ...params] = element.split(';')
    let name = rawName!.trim().toLowerCase()
    if (name === '') continue
    if (name === 'x-gzip') name = 'gzip'
    if (name === 'x-compress') name = 'compress'
    const q = parseQ(params)
    // a coding listed twice keeps its lowest weight
    explicit.set(name, Math.min(q, explicit.get(name) ?? 1))
    minQ = Math.min(minQ, q)
  }
  const star = explicit.get('*')
  let best: string | undefined
  let bestQ = 0
  for (const offered of encodings) {
    const e = offered.toLowerCase()
    let q = explicit.get(e)
    if (q === undefined) q = e === 'identity' ? (star ?? (minQ > 0 ? minQ : 0.001)) : (star ?? 0)
    if (q > bestQ) {
      best = e
      bestQ = q
    }
  }
  return best
}

/** Trims, collapses runs of whitespace to one space, and combines repeated lines with `', '`. */
export function normalizeFieldValue(values: readonly string[]): string {
  return values
    .map((v) => v.trim().replace(/[ \t]+/g, ' '))
    .filter((v) => v !== '')
    .join(', ')
}

function lengthPrefixed(s: string): string {
  return `${s.length}:${s}`
}

/**
 * The secondary key selecting a variant: for each varied-on header, its normalised request value
 * (absent and empty are distinct). `Accept-Encoding` collapses to {@link negotiateEncoding} over
 * `opts.encodings`; `Accept-Language` is lower-cased. `''` when the response does not vary.
 * `undefined` (do not store, do not serve) for `Vary: *`, or `Cookie`/`Authorization` outside
 * per-user mode. Before storing, also check {@link encodingMatchesVariant}.
 */
export function varyKey(
  varyNames: '*' | readonly string[],
  req: Pick<HttpRequestView, 'headers'>,
  opts: HttpPolicyOptions = {},
): string | undefined {
  if (varyNames === '*') return undefined
  const perUser = Boolean(opts.private)
  const names = [...new Set(varyNames.map((n) => n.toLowerCase()))].sort()
  let key = ''
  for (const name of names) {
    if (name === '*') return undefined
    if (CREDENTIAL_HEADERS.has(name) && !perUser) return undefined
    key += lengthPrefixed(name)
    if (name === 'accept-encoding') {
      const chosen = negotiateEncoding(headerValue(req.headers, name), opts.encodings ?? DEFAULT_ENCODINGS)
      key += chosen === undefined ? '!' : lengthPrefixed(chosen)
      continue
    }
    const values = headerValues(req.headers, name)
    if (values.length === 0) {
      key += '-'
      continue
    }
    let value = normalizeFieldValue(values)
    if (name === 'accept-language') value = value.toLowerCase()
    key += lengthPrefixed(value)
  }
  return key
}

/**
 * `true` when the response's `Content-Encoding` (absent ⇒ `identity`) is the coding
 * {@link negotiateEncoding} picks for this request. A response that varies on `Accept-Encoding`
 * but was encoded differently (the server chose otherwise) must not be stored under that variant.
 */
export function encodingMatchesVariant(
  resHeaders: HeaderInput,
  req: Pick<HttpRequestView, 'headers'>,
  opts: HttpPolicyOptions = {},
): boolean {
  const sent = normalizeFieldValue(headerValues(resHeaders, 'content-encoding')).toLowerCase() || 'identity'
  const chosen = negotiateEncoding(
    headerValue(req.headers, 'accept-encoding'),
    opts.encodings ?? DEFAULT_ENCODINGS,
  )
  return sent === (chosen ?? 'identity')
}

/** Whether two lists of field names are equal, in order. */
export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
