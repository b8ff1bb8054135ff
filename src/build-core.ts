import { Core } from './core.js'
import { optionalMs } from './duration.js'
import { TierError } from './errors.js'
import { type CacheOptions, checkPositiveInt } from './options.js'
import { Lower, resolveTierStackOptions } from './stack.js'
import { memoryTier } from './tiers/memory.js'
import type { Tier } from './tiers/types.js'

/**
 * The engine behind a new cache: the tiers checked and split into L1 (a first local tier) and the stack
 * below it (remote tiers with deadlines, breakers and retry queues), reporting into the core's counters
 * and events.
 */
export function buildCore(options: CacheOptions): Core {
  const tiers = options.tiers ?? [memoryTier()]
  checkTiers(tiers)
  const l1 = tiers[0]?.kind === 'local' ? tiers[0] : undefined
  const below = l1 === undefined ? tiers : tiers.slice(1)
  let core: Core | undefined
  const stack = resolveTierStackOptions(options)
  const lower =
    below.length === 0
      ? undefined
      : new Lower(below, {
          offset: l1 === undefined ? 0 : 1,
          codec: stack.codec,
          readTimeout: stack.readTimeout,
          writeTimeout: stack.writeTimeout,
          breaker: stack.breaker,
          retryQueueSize: stack.retryQueueSize,
          onBreaker: (tier, state, node) => {
            const what = node === undefined ? `circuit ${state}` : `circuit ${state} for node ${node}`
            core!.report(new TierError(tier, 'breaker', new Error(what)), 'tier:breaker')
          },
          onError: (error, key) => {
            core!.counters.tierErrors++
            core!.report(error, `tier:${error.operation}`, key)
          },
        })
  core = new Core({
    l1,
    lower,
    tierNames: tiers.map((t) => t.name),
    clone: options.clone === true,
    refreshConcurrency: checkPositiveInt(options.refreshConcurrency, 'refreshConcurrency', 10),
    graceBackoff: optionalMs(options.graceBackoff, 'graceBackoff', 5000),
    throwOnTierError: options.throwOnTierError === true,
  })
  return core
}

function checkTiers(tiers: unknown): asserts tiers is readonly Tier[] {
  if (!Array.isArray(tiers) || tiers.length === 0) {
    throw new TypeError('Expected `tiers` to be a non-empty array of tiers (e.g. [memoryTier()])')
  }
  tiers.forEach((t: Partial<Tier> | null, i) => {
    if (
      t === null ||
      typeof t !== 'object' ||
      (t.kind !== 'local' && t.kind !== 'remote') ||
      typeof t.get !== 'function'
    ) {
      throw new TypeError(
        `Expected \`tiers[${i}]\` to be a tier (memoryTier(), redisTier(), ...), got ${String(t)}`,
      )
    }
  })
}
