import { ENTRY_VERSION, type Entry } from './entry.js'
import { TierError, TimeoutError } from './errors.js'
import type { Payload, Tier } from './tiers/types.js'

/** How entries become payloads for remote tiers. */
export interface EntryCodec {
  serialize(value: unknown): Payload
  deserialize(data: Payload): unknown
}

export interface LowerOptions {
  /** Index in the cache's tier list of the first tier handled here. */
  offset: number
  codec: EntryCodec
  /** Deadline of a remote read, ms. */
  readTimeout: number
  /** Deadline of a remote write or delete, ms. */
  writeTimeout: number
  /** Called for every tier failure (already counted by the caller of `onError`). */
  onError: (error: TierError, key: string | undefined) => void
}

/**
 * The tiers below L1. Reads go top-down and stop at the first usable entry; writes go to every tier.
 * Every remote call has a deadline; a failure or timeout is a miss for reads and `false` for writes.
 */
export class Lower {
  readonly #tiers: readonly Tier[]
  readonly #o: LowerOptions

  constructor(tiers: readonly Tier[], options: LowerOptions) {
    this.#tiers = tiers
    this.#o = options
  }

  /** The first entry found top-down, with the index of its tier in the cache's tier list. */
  async get(key: string): Promise<{ entry: Entry; tier: number } | undefined> {
    for (let i = 0; i < this.#tiers.length; i++) {
      const entry = await this.#getFrom(i, key)
      if (entry !== undefined) return { entry, tier: i + this.#o.offset }
    }
    return undefined
  }

  /** Writes `entry` to the lower tiers above `tier` (a cache-list index), after a hit in `tier`. */
  async backfill(key: string, entry: Entry, tier: number): Promise<void> {
    const upto = tier - this.#o.offset
    const jobs: Promise<boolean>[] = []
    for (let i = 0; i < upto; i++) jobs.push(this.#setTo(i, key, entry))
    await Promise.all(jobs)
  }

  /** Writes to every lower tier; true when all acknowledged. */
  async set(key: string, entry: Entry): Promise<boolean> {
    const results = await Promise.all(this.#tiers.map((_, i) => this.#setTo(i, key, entry)))
    return results.every(Boolean)
  }

  async delete(key: string): Promise<boolean> {
    const results = await Promise.all(
      this.#tiers.map((t) => this.#guard(t, 'delete', key, this.#o.writeTimeout, () => t.delete(key))),
    )
    return results.every((r) => r !== FAILED)
  }

  async clear(): Promise<boolean> {
    const results = await Promise.all(
      this.#tiers.map((t) => this.#guard(t, 'clear', undefined, this.#o.writeTimeout * 10, () => t.clear())),
    )
    return results.every((r) => r !== FAILED)
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#tiers.map((t) => t.close?.()))
  }

  async #getFrom(i: number, key: string): Promise<Entry | undefined> {
    const t = this.#tiers[i]!
    if (t.kind === 'local') return t.get(key)
    const data = await this.#guard(t, 'get', key, this.#o.readTimeout, () => t.get(key))
    if (data === FAILED || data === undefined) return undefined
    try {
      return decodeEntry(this.#o.codec.deserialize(data))
    } catch (err) {
      this.#o.onError(new TierError(t.name, 'decode', err, key), key)
      // A corrupt, foreign or old-format entry is a miss; remove it so it is rewritten.
      this.#guard(t, 'delete', key, this.#o.writeTimeout, () => t.delete(key)).catch(() => {})
      return undefined
    }
  }

  async #setTo(i: number, key: string, entry: Entry): Promise<boolean> {
    const t = this.#tiers[i]!
    const ttl = entry.s - Date.now()
    if (ttl <= 0) return true
    if (t.kind === 'local') {
      t.set(key, entry, ttl)
      return true
    }
    let payload: Payload
    try {
      payload = this.#o.codec.serialize([ENTRY_VERSION, entry])
    } catch (err) {
      this.#o.onError(new TierError(t.name, 'encode', err, key), key)
      return false
    }
    const r = await this.#guard(t, 'set', key, this.#o.writeTimeout, () => t.set(key, payload, ttl))
    return r !== FAILED
  }

  /** Runs a tier call with a deadline; failures are reported and become `FAILED`. */
  async #guard<R>(
    t: Tier,
    op: string,
    key: string | undefined,
    ms: number,
    call: () => R | Promise<R>,
  ): Promise<R | typeof FAILED> {
    let timer: NodeJS.Timeout | undefined
    try {
      const p = Promise.resolve().then(call)
      if (t.kind === 'local' || ms === Number.POSITIVE_INFINITY) return await p
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new TimeoutError(`${t.name} ${op} took over ${ms} ms`, ms, { code: 'E_TIER_TIMEOUT' })),
          ms,
        )
      })
      p.catch(() => {})
      return await Promise.race([p, deadline])
    } catch (err) {
      this.#o.onError(err instanceof TierError ? err : new TierError(t.name, op, err, key), key)
      return FAILED
    } finally {
      clearTimeout(timer)
    }
  }
}

const FAILED = Symbol('failed')

/** Checks the envelope of a decoded remote entry; anything else is an error (read as a miss). */
export function decodeEntry(decoded: unknown): Entry {
  if (!Array.isArray(decoded) || decoded.length !== 2) throw new TypeError('not a tiercache entry')
  if (decoded[0] !== ENTRY_VERSION)
    throw new TypeError(`entry format ${String(decoded[0])} is not ${ENTRY_VERSION}`)
  const e = decoded[1] as Entry
  if (
    e === null ||
    typeof e !== 'object' ||
    typeof e.c !== 'number' ||
    typeof e.f !== 'number' ||
    typeof e.s !== 'number'
  ) {
    throw new TypeError('malformed tiercache entry')
  }
  if (typeof e.w !== 'number') e.w = e.f
  if (typeof e.d !== 'number') e.d = 0
  return e
}
