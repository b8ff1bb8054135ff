/**
 * The Redis tier's namespace generation, and `clear()` with it.
 *
 * Keys: `<prefix><generation>:<key>`. The generation is a decimal number stored in Redis at
 * `<prefix>#gen` and cached by every process; `clear()` is one `INCR` of it, so the keys written before are
 * no longer read and age out by their own TTL (no `KEYS`, no `SCAN`, no `FLUSHALL`; entries written with an
 * infinite TTL stay until Redis evicts them). Other processes pick the new generation up within
 * `generationCheckInterval` (the invalidation bus can tell them sooner): the cached generation is re-read
 * lazily on use, in the background, at most once per interval (no timer). A missing generation key (first
 * start, a restarted or evicting Redis) is created with the current time as its value, so losing it makes
 * older entries unreachable instead of bringing them back.
 *
 * A generation read has its own deadline (twice the connect timeout), so on a stalled server the callers
 * waiting for it do not pile up; when it fails the last known generation stays in use. The server's clock
 * (`redis-clock.ts`) is measured beside these reads.
 */
import type { ServerClock } from './redis-clock.js'
import { noop, type RedisConnection } from './redis-connection.js'

/** What the generation needs from the tier's options, validated. */
export interface GenerationSettings {
  /** The tier's key prefix. */
  prefix: string
  /** The tier's name, for errors. */
  name: string
  /** The connect timeout, ms: a generation read times out after twice this. */
  connectTimeout: number
  /** `generationCheckInterval`, ms. */
  checkInterval: number
}

/** The generation of a tier's keys, as cached by this process. */
export interface Generation {
  /** The key prefix with the generation, or a promise of it when the generation is not known yet. */
  readonly keyBase: () => string | Promise<string>
  /** The key prefix with the generation if known, else `undefined`. No I/O (for `nodeOf`). */
  readonly known: () => string | undefined
  /** Starts a new generation (`clear()`): one `INCR`, sent through `counted` (the tier's pending count). */
  readonly clear: (counted: <T>(p: Promise<T>) => Promise<T>) => Promise<void>
}

/** The generation of the keys under `settings.prefix` on `redis`; nothing is read until first needed. */
export function createGeneration(
  redis: RedisConnection,
  clock: ServerClock,
  settings: GenerationSettings,
): Generation {
  const { prefix, name, connectTimeout, checkInterval } = settings
  const { conn } = redis
  const genKey = `${prefix}#gen`
  let gen: string | undefined
  let base = ''
  let nextCheck = 0
  let loading: Promise<string> | undefined
  const useGen = (g: string): string => {
    if (g !== gen) {
      gen = g
      base = `${prefix}${g}:`
    }
    nextCheck = Date.now() + checkInterval
    return g
  }
  const loadGen = (): Promise<string> => {
    if (loading !== undefined) return loading
    const read = (async () => {
      const initial = redis.initial
      if (initial !== undefined) await initial
      let v = await conn.get(genKey)
      if (v === null || v === undefined) {
        await conn.set(genKey, String(Date.now()), { NX: true })
        v = await conn.get(genKey)
      }
      if (clock.due()) await clock.measure().catch(noop) // TIME refused: no correction
      return useGen(String(v))
    })()
    // Its own deadline: on a stalled server, callers waiting for the generation must not pile up.
    let timer: NodeJS.Timeout | undefined
    const p = Promise.race([
      read,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name}: generation read timed out`)), connectTimeout * 2)
      }),
    ])
    read.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    )
    loading = p
    p.then(
      () => {
        loading = undefined
      },
      () => {
        loading = undefined
        // Keep the last known generation; try again after an interval, not on every call.
        if (gen !== undefined) nextCheck = Date.now() + checkInterval
      },
    )
    return p
  }
  const keyBase = (): string | Promise<string> => {
    if (gen !== undefined) {
      if (Date.now() >= nextCheck && loading === undefined) loadGen().catch(noop)
      return base
    }
    return loadGen().then(() => base)
  }

  return {
    keyBase,
    known: () => (gen === undefined ? undefined : base),
    clear: async (counted) => {
      const n = await counted(conn.incr(genKey))
      useGen(String(n))
    },
  }
}
