/** `tiercache/redis`: the Redis tier (standalone or cluster, node-redis 5 via @keyv/redis). */
export {
  type KeyvRedisLike,
  type RedisTier,
  type RedisTierConnection,
  type RedisTierOptions,
  redisTier,
} from './tiers/redis.js'
