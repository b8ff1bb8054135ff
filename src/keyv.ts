/** `tiercache/keyv`: any Keyv instance or Keyv storage adapter as a tier. */
export { type KeyvLike, type KeyvTier, type KeyvTierOptions, keyvTier } from './tiers/keyv.js'
