export { Cache, createCache, type SetOptions, type WrapOptions } from './cache.js'
export {
  type CachedMethodDecorator,
  type CachedMethodOptions,
  type CacheMethodOptions,
  cached,
  invalidateCall,
} from './decorators.js'
export { defaultCache, setDefaultCache } from './default.js'
export { type Duration, type DurationUnit, toMs } from './duration.js'
export type { Entry } from './entry.js'
export * from './errors.js'
export type { CacheEventName, CacheEvents } from './events.js'
export type { LoaderContext } from './flight.js'
export { callKey, encodeKey, hashKey, joinKey } from './keys.js'
export type { CacheOptions, EntryOptions } from './options.js'
export type { Serializer } from './serializer.js'
export { compressed, defaultSerializer, jsonSerializer, v8Serializer } from './serializer.js'
export type { BreakerOptions, TierStackOptions } from './stack.js'
export type { CacheStats } from './stats.js'
export { type MemoryTierOptions, memoryTier } from './tiers/memory.js'
export type { LocalTier, Payload, RemoteTier, Tier } from './tiers/types.js'
