/**
 * Any Keyv instance or Keyv storage adapter (@keyv/redis, @keyv/postgres, @keyv/sqlite, a `Map`...) as a
 * remote tier. It goes through Keyv's API, so it inherits Keyv's behaviour: Keyv's own envelope and
 * serialization around our payload, Keyv's namespace, and Keyv's expiry check (Keyv compares the writer's
 * `expires` with the reader's clock; the engine's envelope carries its own times too). For Redis prefer
 * `redisTier`, which talks to the client directly and is faster.
 *
 * Payloads are stored as strings: text as `'s' + text`, bytes as `'b' + base64`, so any Keyv serializer
 * and any store keeps them exactly (the first character tells which one it is, so nothing is ambiguous).
 *
 * Failures: a Keyv instance the tier creates (from a store) has `throwOnErrors: true`, so store errors reach
 * the engine (counted, breaker). A Keyv instance you pass keeps its own setting: with Keyv's default
 * (`throwOnErrors: false`) a failed read looks like a miss to the engine; a failed write (`set` resolving
 * `false`) is still reported.
 *
 * `clear()` is Keyv's `clear()`: with a namespace, stores that support it remove only that namespace's keys
 * (check your store: some clear everything they hold).
 */
import { Keyv, type KeyvStoreAdapter } from 'keyv'
import type { Payload, RemoteTier } from './types.js'

export interface KeyvTierOptions {
  /** Name used in stats, events and errors. @default 'keyv' */
  name?: string
  /**
   * Keyv namespace for a Keyv instance the tier creates from a store (a Keyv instance you pass keeps its own).
   * @default 'tiercache'
   */
  namespace?: string
  /**
   * Disconnect the store on `close()`. Keyv instances and stores you pass are yours to close by default.
   * @default false
   */
  disconnectOnClose?: boolean
}

/** A Keyv-backed tier. */
export interface KeyvTier extends RemoteTier {
  /** The Keyv instance in use. */
  readonly keyv: Keyv
}

/** A Keyv instance, a Keyv storage adapter, or a `Map` (what `new Keyv({ store })` accepts). */
export type KeyvLike = Keyv | KeyvStoreAdapter | Map<unknown, unknown>

/** A tier on a Keyv instance or a Keyv storage adapter. */
export function keyvTier(keyvOrStore: KeyvLike, options: KeyvTierOptions = {}): KeyvTier {
  if (keyvOrStore === null || typeof keyvOrStore !== 'object') {
    throw new TypeError(`Expected a Keyv instance or a Keyv store, got ${String(keyvOrStore)}`)
  }
  const keyv =
    keyvOrStore instanceof Keyv || isKeyvLike(keyvOrStore)
      ? (keyvOrStore as Keyv)
      : new Keyv({
          store: keyvOrStore,
          namespace: options.namespace ?? 'tiercache',
          throwOnErrors: true,
        })
  const name = options.name ?? 'keyv'

  const tier: KeyvTier = {
    kind: 'remote',
    name,
    keyv,
    async get(key) {
      return decode(await keyv.get<unknown>(key))
    },
    async getMany(keys) {
      if (keys.length === 0) return []
      const values = await keyv.getMany<unknown>([...keys])
      return values.map(decode)
    },
    async set(key, value, ttlMs) {
      if (!(ttlMs > 0)) return
      const ok = await keyv.set(
        key,
        encode(value),
        ttlMs === Number.POSITIVE_INFINITY ? undefined : Math.max(1, Math.ceil(ttlMs)),
      )
      if (ok === false) throw new Error(`Keyv did not store ${JSON.stringify(key)}`)
    },
    async delete(key) {
      await keyv.delete(key)
    },
    async deleteMany(keys) {
      if (keys.length > 0) await keyv.deleteMany([...keys])
    },
    async clear() {
      await keyv.clear()
    },
    async close() {
      if (options.disconnectOnClose === true) await keyv.disconnect()
    },
  }
  return tier
}

function encode(value: Payload): string {
  if (typeof value === 'string') return `s${value}`
  return `b${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}`
}

function decode(stored: unknown): Payload | undefined {
  if (typeof stored !== 'string' || stored.length === 0) {
    // Something this tier did not write: hand it on as text so the engine reports it and reads a miss.
    return stored === undefined || stored === null ? undefined : String(stored)
  }
  const kind = stored.charCodeAt(0)
  if (kind === 0x73 /* s */) return stored.slice(1)
  if (kind === 0x62 /* b */) return Buffer.from(stored.slice(1), 'base64')
  return stored
}

/** A Keyv instance from another copy of the keyv package (instanceof fails across copies). */
function isKeyvLike(x: object): boolean {
  const k = x as { getMany?: unknown; hooks?: unknown; stats?: unknown; store?: unknown }
  return typeof k.getMany === 'function' && k.hooks !== undefined && k.stats !== undefined && 'store' in k
}
