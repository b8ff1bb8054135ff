/**
 * The tier conformance suite: one set of behaviours every tier and tier stack must show through
 * `createCache({ tiers })`. Written once with the test runner injected, so it runs under Vitest here and
 * under any runner with the same small surface (describe / it / expect / beforeAll / afterAll) elsewhere.
 *
 * ```ts
 * import { afterAll, beforeAll, describe, expect, it } from 'vitest'
 * tierConformance('redis', async () => {
 *   const cache = createCache({ tiers: [redisTier({ url })] })
 *   return { cache, cleanup: () => cache.close(), shared: true, remote: ... }
 * }, { describe, it, expect, beforeAll, afterAll })
 * ```
 */
import { type Cache, ENTRY_VERSION_FOR_TESTS, jsonSerializer, type RemoteTier } from './deps.js'

/** What `makeCache` returns. */
export interface ConformanceTarget {
  cache: Cache
  /** Closes the cache (and anything else made for it). */
  cleanup(): Promise<void>
  /**
   * True when a second `makeCache()` sees the same store (a shared tier), as another process would:
   * enables the cross-instance tests (reads through the remote tier, backfill, delete and clear reach).
   */
  shared?: boolean
  /** The lowest remote tier of the stack, to write corrupt, foreign and old-format payloads directly. */
  remote?: RemoteTier
}

type Fn = () => unknown

/** The assertion methods the suite uses (Vitest's and Jest's `expect` fit). */
export interface Matchers {
  toBe(expected: unknown): void
  toEqual(expected: unknown): void
  toStrictEqual(expected: unknown): void
  toBeUndefined(): void
  toBeGreaterThan(n: number): void
  toBeGreaterThanOrEqual(n: number): void
  toBeLessThan(n: number): void
  toBeLessThanOrEqual(n: number): void
  readonly not: Matchers
}

/** The test runner the suite is written against. */
export interface Runner {
  describe(name: string, fn: () => void): void
  it(name: string, fn: () => Promise<void>, timeout?: number): void
  expect(actual: unknown): Matchers
  beforeAll(fn: Fn, timeout?: number): void
  afterAll(fn: Fn, timeout?: number): void
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

let seq = 0
/** A key unique to this run, so suites sharing a store do not see each other's entries. */
const fresh = (label: string) => `conf:${label}:${process.pid}:${Date.now().toString(36)}:${seq++}`

export function tierConformance(
  name: string,
  makeCache: () => Promise<ConformanceTarget>,
  runner: Runner,
): void {
  const { describe, it, expect } = runner
  const open = new Set<ConformanceTarget>()
  const make = async (): Promise<ConformanceTarget> => {
    const t = await makeCache()
    open.add(t)
    return t
  }
  const withCache = async (fn: (t: ConformanceTarget) => Promise<void>): Promise<void> => {
    const t = await make()
    try {
      await fn(t)
    } finally {
      open.delete(t)
      await t.cleanup()
    }
  }
  runner.afterAll(async () => {
    await Promise.allSettled([...open].map((t) => t.cleanup()))
    open.clear()
  })

  describe(`tier conformance: ${name}`, () => {
    it('set / get / has / delete round-trip', () =>
      withCache(async ({ cache }) => {
        const k = fresh('rt')
        expect(await cache.get(k)).toBeUndefined()
        expect(await cache.has(k)).toBe(false)
        expect(await cache.set(k, { a: 1, b: 'two' })).toBe(true)
        expect(await cache.get(k)).toEqual({ a: 1, b: 'two' })
        expect(await cache.has(k)).toBe(true)
        expect(await cache.delete(k)).toBe(true)
        expect(await cache.get(k)).toBeUndefined()
        expect(await cache.has(k)).toBe(false)
      }))

    it('clear removes this cache’s entries', () =>
      withCache(async ({ cache }) => {
        const a = fresh('ca')
        const b = fresh('cb')
        await cache.set(a, 1)
        await cache.set(b, 2)
        await cache.clear()
        expect(await cache.get(a)).toBeUndefined()
        expect(await cache.get(b)).toBeUndefined()
        await cache.set(a, 3)
        expect(await cache.get(a)).toBe(3)
      }))

    it('entries expire after their TTL (short real TTL)', () =>
      withCache(async ({ cache }) => {
        const k = fresh('ttl')
        await cache.set(k, 'v', { ttl: '400ms', jitter: 0 })
        expect(await cache.get(k)).toBe('v')
        await sleep(700)
        expect(await cache.get(k)).toBeUndefined()
      }))

    it('getOrSet coalesces concurrent loads and then hits', () =>
      withCache(async ({ cache }) => {
        const k = fresh('gos')
        let runs = 0
        const loader = async () => {
          runs++
          await sleep(50)
          return { n: 42 }
        }
        const results = await Promise.all(Array.from({ length: 50 }, () => cache.getOrSet(k, loader)))
        expect(runs).toBe(1)
        for (const r of results) expect(r).toEqual({ n: 42 })
        expect(await cache.getOrSet(k, loader)).toEqual({ n: 42 })
        expect(runs).toBe(1)
        expect(cache.stats().inFlight).toBe(0)
      }))

    it('null is a cacheable hit; undefined from the loader is not cached', () =>
      withCache(async ({ cache }) => {
        const k = fresh('null')
        let runs = 0
        expect(
          await cache.getOrSet(k, () => {
            runs++
            return null
          }),
        ).toBe(null)
        expect(
          await cache.getOrSet(k, () => {
            runs++
            return 'other'
          }),
        ).toBe(null)
        expect(runs).toBe(1)
        const u = fresh('undef')
        expect(
          await cache.getOrSet(u, () => {
            runs++
            return undefined
          }),
        ).toBeUndefined()
        expect(
          await cache.getOrSet(u, () => {
            runs++
            return 'later'
          }),
        ).toBe('later')
        expect(runs).toBe(3)
      }))

    it('values round-trip with their types (RELIABILITY 24)', () =>
      withCache(async (t) => {
        const reader = t.shared ? await make() : t
        for (const [label, value] of samples()) {
          const k = fresh(`ser:${label}`)
          await t.cache.set(k, value)
          // Through a second cache on the same store the value comes from the remote tier, deserialized.
          expect(await reader.cache.get(k)).toStrictEqual(value)
        }
        if (reader !== t) {
          open.delete(reader)
          await reader.cleanup()
        }
      }))

    it('a second cache on the same store reads, and sees deletes and clear', async () => {
      const a = await make()
      if (!a.shared) {
        open.delete(a)
        await a.cleanup()
        return
      }
      const b = await make()
      try {
        const k = fresh('xs')
        await a.cache.set(k, 'from-a')
        expect(await b.cache.get(k)).toBe('from-a')
        await a.cache.delete(k)
        const c = await make()
        expect(await c.cache.get(k)).toBeUndefined()
        await a.cache.set(k, 'again')
        expect(await c.cache.get(k)).toBe('again')
        await a.cache.clear()
        // A cache started after the clear (another process) does not see entries from before it. Running
        // instances see it within the tier's generation check interval (or at once through the bus).
        const d = await make()
        expect(await d.cache.get(k)).toBeUndefined()
        open.delete(c)
        open.delete(d)
        await Promise.all([c.cleanup(), d.cleanup()])
      } finally {
        open.delete(a)
        open.delete(b)
        await Promise.all([a.cleanup(), b.cleanup()])
      }
    })

    it('corrupt, foreign and old-version entries read as a miss (RELIABILITY 26)', () =>
      withCache(async ({ cache, remote }) => {
        if (remote === undefined) return
        const errors: unknown[] = []
        cache.on('error', (e) => errors.push(e.error))
        const now = Date.now()
        const entry = { v: 'old', c: now, f: now + 60_000, w: now + 60_000, s: now + 60_000, d: 0 }
        const payloads: [string, string | Uint8Array][] = [
          ['garbage text', 'not a cache entry at all'],
          ['garbage bytes', Uint8Array.of(0, 255, 2, 74, 49, 0xc3, 0x28, 3)],
          ['foreign json', JSON.stringify({ value: 'x', expires: null })],
          ['old version', jsonSerializer.serialize([ENTRY_VERSION_FOR_TESTS - 1, entry]) as string],
          ['future version', jsonSerializer.serialize([ENTRY_VERSION_FOR_TESTS + 1, entry]) as string],
          ['wrong shape', jsonSerializer.serialize([ENTRY_VERSION_FOR_TESTS, { v: 1 }]) as string],
          ['truncated', (jsonSerializer.serialize([ENTRY_VERSION_FOR_TESTS, entry]) as string).slice(0, -3)],
        ]
        for (const [label, payload] of payloads) {
          const k = fresh(`bad:${label}`)
          await remote.set(k, payload, 60_000)
          expect(await cache.get(k)).toBeUndefined()
          let runs = 0
          expect(
            await cache.getOrSet(k, () => {
              runs++
              return 'loaded'
            }),
          ).toBe('loaded')
          expect(runs).toBe(1)
        }
        expect(errors.length).toBeGreaterThanOrEqual(payloads.length)
      }))
  })
}

/** Values that must come back deep-equal with their types (RELIABILITY 24). */
function samples(): [string, unknown][] {
  return [
    ['date', new Date('2024-02-29T12:34:56.789Z')],
    ['buffer', Buffer.from([0, 1, 2, 253, 254, 255])],
    ['uint8array', Uint8Array.of(9, 8, 7)],
    ['bigint', 12345678901234567890n],
    [
      'map',
      new Map<unknown, unknown>([
        ['a', 1],
        [2, { b: new Date(0) }],
      ]),
    ],
    ['set', new Set([1, 'two', 3n])],
    ['null', null],
    ['nested undefined', { a: undefined, b: [undefined, 1], c: { d: undefined } }],
    ['NaN and -0', { nan: Number.NaN, negZero: -0, inf: Number.POSITIVE_INFINITY }],
    ['date-like string', '2024-02-29T12:34:56.789Z'],
    ['unicode', 'héllo € 😀 \u0000 \u007f'],
    ['nested', { list: [1, 'a', { deep: [new Set(['x'])] }], when: new Date(1), n: -1.5 }],
  ]
}
