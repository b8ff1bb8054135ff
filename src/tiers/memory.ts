import { LRUCache } from 'lru-cache'
import type { Entry } from '../entry.js'
import { estimateSize, toBytes } from './size.js'
import type { LocalTier } from './types.js'

export interface MemoryTierOptions {
  /**
   * Most entries held; the least recently used is evicted beyond it.
   * @default 10_000
   */
  max?: number
  /**
   * Byte budget, as a number of bytes or a string like `'100mb'`, `'512kb'`, `'1gb'`. Sizes are estimated
   * from the value (strings, buffers, nested objects) when it is stored, never on a hit.
   * @default undefined (bounded by `max` only)
   */
  maxSize?: number | string
  /**
   * Largest single entry, in estimated bytes; larger values are served but not kept in memory.
   * @default maxSize / 4 when `maxSize` is set
   */
  maxEntrySize?: number | string
  /** Name used in stats and events. @default 'memory' */
  name?: string
}

/**
 * The in-process tier: lru-cache holding entry objects. A hit is one `Map` lookup plus the LRU bump;
 * nothing is serialized or copied.
 */
export function memoryTier(options: MemoryTierOptions = {}): LocalTier {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Expected \`memoryTier\` options to be an object, got ${String(options)}`)
  }
  const max = options.max ?? 10_000
  if (!Number.isInteger(max) || max <= 0) {
    throw new TypeError(`Expected \`max\` to be a positive integer, got ${String(max)}`)
  }
  const maxSize = options.maxSize === undefined ? undefined : toBytes(options.maxSize, 'maxSize')
  const entryLimit =
    options.maxEntrySize === undefined
      ? maxSize === undefined
        ? undefined
        : Math.max(1, Math.floor(maxSize / 4))
      : toBytes(options.maxEntrySize, 'maxEntrySize')
  // An entry larger than the whole budget would evict everything else and still not fit.
  const maxEntrySize =
    entryLimit === undefined || maxSize === undefined ? entryLimit : Math.min(entryLimit, maxSize)
  const name = options.name ?? 'memory'

  const tier: LocalTier = {
    kind: 'local',
    name,
    onEvict: undefined,
    get: (key) => lru.get(key),
    set(key, entry, ttlMs) {
      // Expiry is the engine's (it reads the entry's own times); lru-cache only bounds entries and bytes.
      void ttlMs
      if (maxEntrySize === undefined) {
        lru.set(key, entry)
        return
      }
      const size = estimateSize(entry.v) + key.length * 2 + 64
      if (size > maxEntrySize) {
        lru.delete(key)
        return
      }
      lru.set(key, entry, maxSize === undefined ? undefined : { size })
    },
    delete: (key) => {
      lru.delete(key)
    },
    clear: () => lru.clear(),
    get size() {
      return lru.size
    },
  }

  const lru = new LRUCache<string, Entry>({
    max,
    ...(maxSize === undefined ? {} : { maxSize, maxEntrySize }),
    ttlAutopurge: false,
    allowStale: false,
    updateAgeOnGet: false,
    dispose: (_value, key, reason) => {
      if (reason === 'evict' && tier.onEvict !== undefined) tier.onEvict(key)
    },
  })
  return tier
}
