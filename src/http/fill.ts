/**
 * A cache fill: the request that runs the handler for a missing (or stale) entry. It decides from the
 * handler's response what is stored (response, Vary index and variant, or a hit-for-miss marker),
 * completes the engine flight its waiters share, and tells the adapter what to send.
 *
 * Every path settles the flight exactly once (store, not storable, 5xx, thrown handler, abort), so
 * waiters are always released.
 */

import { closeTagCollector, openTagCollector } from '../context.js'
import { isNotModified, notModifiedHeaders } from './conditional.js'
import type { FillInit, FillShared, FlightSlot } from './fill-inputs.js'
import { handlerPairs } from './headers.js'
import { hashKeyParts } from './key.js'
import type { CapturedResponse, MissDecision } from './miss.js'
import { responseStoreReason, storedResponseReason } from './policy.js'
import {
  type CachedResponse,
  firstHeader,
  type HttpEntry,
  type HttpReply,
  replayResponse,
  type VaryIndex,
  withLength,
} from './reply.js'
import { markPrivate, responseEntry } from './response-entry.js'
import type { HeaderInput } from './types.js'
import { parseVary, sameList, varyKey } from './vary.js'

export type { CapturedResponse, FillInit, FillShared, FlightSlot, MissDecision }

const noop = (): void => {}

export class Fill<Req, Res> implements MissDecision {
  readonly kind = 'miss'
  readonly tags = new Set<string>()
  readonly stripRequestHeaders: readonly string[]
  #settled = false
  /** Whether `run` opened the tag collector (closed when the fill settles). */
  #collecting = false
  /** Route tags of nested layers that stepped aside for this fill. */
  readonly #adopted: (() => readonly string[])[] = []
  readonly #s: FillShared<Req, Res>
  readonly #i: FillInit<Req, Res>

  constructor(shared: FillShared<Req, Res>, init: FillInit<Req, Res>) {
    this.#s = shared
    this.#i = init
    this.stripRequestHeaders = Object.keys(init.conditional)
  }

  run<T>(fn: () => T): T {
    if (this.#settled || this.#collecting) return fn()
    this.#collecting = true
    return openTagCollector(this.tags, fn)
  }

  wantsBody(status: number, headers: HeaderInput): boolean {
    if (this.#settled) return false
    const now = Date.now()
    if (status >= 500 && this.#usableStale(now) !== undefined) return true
    const length = Number(firstHeader(headers, 'content-length'))
    const bodySize = Number.isSafeInteger(length) && length >= 0 ? length : undefined
    return (
      responseStoreReason({ status, headers, bodySize }, this.#s.o.policy, this.#i.view, now) === undefined
    )
  }

  stream(status: number, headers: HeaderInput): [string, string][] {
    const reason =
      responseStoreReason({ status, headers }, this.#s.o.policy, this.#i.view) ?? 'body-too-large'
    if (!this.#settled) this.#pass(reason, status < 500)
    return [...markPrivate(this.#s.o, handlerPairs(headers)), ...this.#status({ detail: reason })]
  }

  async finish(c: CapturedResponse): Promise<HttpReply> {
    const now = Date.now()
    if (this.#settled || c.body === undefined) {
      if (!this.#settled) this.#pass('body-too-large', true)
      return this.#plain(c, this.#status({}))
    }
    if (c.status >= 500) {
      const stale = this.#usableStale(now)
      if (stale !== undefined) {
        this.#release(new Error(`handler responded ${c.status}`), 0, undefined)
        return this.#staleReply(stale, now, c.status)
      }
    }
    let reason = storedResponseReason(c, c.body, this.#s.o.policy, this.#s.o.ttlMs, this.#i.view, now)
    let tags: string[] | undefined
    if (reason === undefined) {
      try {
        tags = this.#entryTags()
      } catch {
        reason = 'tags-error'
      }
    }
    if (reason !== undefined || tags === undefined) {
      this.#pass(reason ?? 'tags-error', c.status < 500)
      return this.#plain(c, this.#status({ detail: reason }))
    }
    const entry = responseEntry(this.#s.o, c, c.body, now)
    const placed = this.#place(c, entry, tags)
    if (placed !== undefined) {
      this.#pass(placed, true)
      return this.#plain(c, this.#status({ detail: placed }))
    }
    const { method } = this.#i.view
    return replayResponse(entry, method, this.#i.conditional, this.#status({ stored: true }), now)
  }

  async fail(error: unknown): Promise<HttpReply | undefined> {
    if (this.#settled) return undefined
    const now = Date.now()
    const stale = this.#usableStale(now)
    this.#release(error instanceof Error ? error : new Error(String(error)), 0, undefined)
    return stale === undefined ? undefined : this.#staleReply(stale, now, undefined)
  }

  abort(): void {
    if (!this.#settled) this.#pass('aborted', false)
  }

  /** A nested layer stepped aside for this fill: its route tags tag the stored response too. */
  adoptTags(tags: () => readonly string[]): void {
    this.#adopted.push(tags)
  }

  /**
   * Stores `entry` where it belongs: under the URL key, or under its variant key with the Vary index
   * under the URL key. Returns a reason when it cannot be stored (too many variants).
   */
  #place(c: CapturedResponse, entry: CachedResponse, tags: string[]): string | undefined {
    const { key, primary, index } = this.#i
    const life = entry.revalidateUntil - entry.storedAt
    const names = parseVary(c.headers) as string[]
    if (names.length === 0) {
      if (key === primary) this.#release(entry, life, tags)
      else {
        this.#set(primary, entry, life, tags)
        this.#release(entry, 0, undefined)
      }
      return undefined
    }
    const vk = varyKey(names, this.#i.view, this.#s.o.policy)!
    const variantKey = hashKeyParts([primary, vk])
    const known = index !== undefined && sameList(index.names, names) ? index.variants : []
    const isNew = !known.includes(vk)
    if (isNew && known.length >= this.#s.o.maxVariants) return 'too-many-variants'
    const next: VaryIndex = { kind: 'vary', names, variants: isNew ? [...known, vk] : known }
    if (key === variantKey) {
      this.#release(entry, life, tags)
      if (isNew) this.#set(primary, next, life, tags)
    } else if (key === primary) {
      this.#set(variantKey, entry, life, tags)
      this.#release(next, life, tags)
    } else {
      this.#set(variantKey, entry, life, tags)
      this.#set(primary, next, life, tags)
      this.#release(entry, 0, undefined)
    }
    return undefined
  }

  /** The tags every entry of this fill carries: its URL's, and its custom key's when the route has one. */
  #implicitTags(): string[] {
    const { urlTag, keyTag } = this.#i
    return keyTag === undefined ? [urlTag] : [urlTag, keyTag]
  }

  #entryTags(): string[] {
    const { tags } = this.#s.o
    const out = new Set<string>(this.#implicitTags())
    const lists = this.#adopted.map((f) => f())
    lists.push((typeof tags === 'function' ? tags(this.#i.req, this.#i.res) : tags) ?? [])
    for (const list of lists) {
      for (const t of list) {
        if (typeof t !== 'string' || t === '')
          throw new TypeError('Expected `tags` to return non-empty strings')
        out.add(t)
      }
    }
    for (const t of this.tags) if (t !== '') out.add(t)
    return [...out]
  }

  /** Not stored: waiters run the handler themselves; `remember` keeps a hit-for-miss marker. */
  #pass(reason: string, remember: boolean): void {
    const ttl = remember ? this.#s.o.hitForMissMs : 0
    let tags: string[] | undefined
    try {
      tags = ttl > 0 ? this.#entryTags() : undefined
    } catch {
      tags = this.#implicitTags()
    }
    this.#release({ kind: 'pass', reason }, ttl, tags)
  }

  /** Settles the flight (or writes with `set` when there is none). `lifeMs` 0 stores nothing. */
  #release(value: HttpEntry | Error, lifeMs: number, tags: string[] | undefined): void {
    if (this.#settled) return
    this.#settled = true
    if (this.#collecting) closeTagCollector()
    this.#i.onSettle?.()
    const slot = this.#i.slot
    if (value instanceof Error) {
      slot?.reject(value)
      return
    }
    if (slot === undefined) {
      this.#set(this.#i.key, value, lifeMs, tags)
      return
    }
    if (lifeMs > 0) slot.ctx.setTtl(lifeMs / 1000)
    else slot.ctx.skipCache()
    if (tags !== undefined) slot.ctx.setTags(tags)
    this.#s.collapse(this.#i.key)
    slot.resolve(value)
  }

  #set(key: string, value: HttpEntry, lifeMs: number, tags: string[] | undefined): void {
    if (lifeMs <= 0) return
    // `since`: an invalidation (tags, clear, newer value) during the handler run wins over this write;
    // not for a Vary index, which updates the index this request read (possibly in the same ms)
    this.#s.cache
      .set(key, value, {
        ttl: lifeMs / 1000,
        staleIfError: `${this.#s.extraMs}ms`,
        jitter: 0,
        tags,
        since: value.kind === 'vary' ? undefined : this.#i.since,
        localOnly: this.#s.o.private !== undefined,
      })
      .catch(noop)
  }

  #usableStale(now: number): CachedResponse | undefined {
    const slot = this.#i.slot
    const s = this.#i.stale ?? (slot?.ctx.hasStale ? slot.ctx.stale : undefined)
    if (s === undefined || s.kind !== 'response') return undefined
    return now < s.freshUntil + this.#s.o.sieMs ? s : undefined
  }

  #staleReply(stale: CachedResponse, now: number, fwdStatus: number | undefined): HttpReply {
    const ttl = Math.min(-1, Math.floor((stale.freshUntil - now) / 1000))
    const status = this.#s.status({ fwd: 'stale', fwdStatus, ttl, detail: 'stale-if-error' })
    return replayResponse(stale, this.#i.view.method, this.#i.conditional, status, now)
  }

  /** The handler's response as it is (not stored), with `Cache-Status`. */
  #plain(c: CapturedResponse, status: [string, string][]): HttpReply {
    const pairs = markPrivate(this.#s.o, handlerPairs(c.headers))
    const cond = this.#i.conditional
    if (c.status === 200 && c.body !== undefined && this.stripRequestHeaders.length > 0) {
      const validators = {
        etag: firstHeader(pairs, 'etag'),
        lastModified: firstHeader(pairs, 'last-modified'),
      }
      if (isNotModified(cond, validators, this.#i.view.method)) {
        return { status: 304, headers: [...notModifiedHeaders(pairs), ...status], body: undefined }
      }
    }
    const headers = withLength(pairs, c.status, c.body?.byteLength)
    headers.push(...status)
    return { status: c.status, headers, body: c.body }
  }

  #status(extra: { stored?: boolean; detail?: string | undefined }): [string, string][] {
    const detail = extra.detail ?? this.#i.detail
    return this.#s.status({ fwd: this.#i.fwd, stored: extra.stored, detail })
  }
}
