/**
 * The synchronous fast path of a GET: a fresh stored response read from the memory tier is answered
 * in the same tick, and a plain request's reply is shared by every hit on that response within a second.
 */
import type { Cache } from '../cache.js'
import type { HitDecision } from './decision.js'
import { ageSeconds } from './headers.js'
import { hashKeyParts } from './key.js'
import { fastRecord } from './node.js'
import { type CachedResponse, type HttpEntry, replayResponse } from './reply.js'
import type { HttpPolicyOptions, HttpRequestView } from './types.js'
import { varyKey } from './vary.js'

/** Remaining freshness for `Cache-Status`: whole seconds, at most -1 once stale. */
export function ttlSeconds(v: CachedResponse, now: number): number {
  const s = (v.freshUntil - now) / 1000
  return s > 0 ? Math.round(s) : Math.min(-1, Math.floor(s))
}

/**
 * The last fresh-hit reply of each stored response, for plain GETs: it changes only when `Age` or the
 * `Cache-Status` ttl (whole seconds) does, so hits within a second share one frozen reply.
 */
const hitMemo = new WeakMap<CachedResponse, { route: object; ttl: number; age: number; hit: HitDecision }>()

/**
 * A fresh stored response read synchronously from the memory tier, or `undefined` when the full
 * lookup must run (nothing in memory, stale, a hit-for-miss marker, a missing variant, a failing
 * cache). `route` is the route's HTTP cache (its `cache` is read here, and its replies are its own);
 * `hitStatus` is its `Cache-Status` of a fresh hit up to the ttl value (`undefined`: disabled).
 */
export function freshHit(
  route: { readonly cache: Cache },
  hitStatus: string | undefined,
  policy: HttpPolicyOptions,
  view: HttpRequestView,
  primary: string,
  plain: boolean,
): HitDecision | undefined {
  try {
    const cache = route.cache
    let v = cache.peek<HttpEntry>(primary)
    if (v?.kind === 'vary') {
      const vk = varyKey(v.names, view, policy)
      v = vk === undefined ? undefined : cache.peek<HttpEntry>(hashKeyParts([primary, vk]))
    }
    if (v?.kind !== 'response') return undefined
    const now = Date.now()
    if (now >= v.freshUntil) return undefined
    const ttl = ttlSeconds(v, now)
    // a plain request (no conditional header) gets the same reply as every other one this second
    const memo = plain ? hitMemo.get(v) : undefined
    if (
      memo !== undefined &&
      memo.route === route &&
      memo.ttl === ttl &&
      memo.age === ageSeconds(v.storedAt, now)
    )
      return memo.hit
    const status: [string, string][] = hitStatus === undefined ? [] : [['cache-status', hitStatus + ttl]]
    const reply = replayResponse(v, view.method, view.headers, status, now)
    if (!plain) return { kind: 'hit', status: reply.status, headers: reply.headers, body: reply.body }
    const hit: HitDecision = Object.freeze({
      kind: 'hit',
      status: reply.status,
      headers: Object.freeze(reply.headers) as [string, string][],
      body: reply.body,
      record: Object.freeze(fastRecord(reply.headers)),
    })
    // per route too: two routes reading one entry (a custom `key`) may name their Cache-Status apart
    hitMemo.set(v, { route, ttl, age: ageSeconds(v.storedAt, now), hit })
    return hit
  } catch {
    return undefined
  }
}
