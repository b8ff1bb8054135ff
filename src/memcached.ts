/** `tiercache/memcached`: the Memcached tier and a Keyv-compatible Memcached store (the `memcached` client). */
export {
  type MemcachedStore,
  type MemcachedTier,
  type MemcachedTierOptions,
  memcachedStore,
  memcachedTier,
} from './tiers/memcached.js'
