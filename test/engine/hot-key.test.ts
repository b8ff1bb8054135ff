import { monitorEventLoopDelay } from 'node:perf_hooks'
import Keyv from 'keyv'
import { expect, it } from 'vitest'
import { createCache, memoryTier } from '../../src/index.js'
import { keyvTier } from '../../src/keyv.js'

/**
 * RELIABILITY 21 (hot key), scaled to a shared CI machine: one key hammered for 3 s with a 500 ms TTL.
 * Loader runs stay at about one per TTL window and lower-tier reads at about one per L1 expiry (an early
 * refresh must not re-read the same entry from L2 on every hit near expiry: a bug this test found).
 */
it('a hot key: loader ≤ 1 run per TTL, L2 reads ≤ 1 per L1 expiry, event loop keeps turning', async () => {
  const store = new Map<string, unknown>()
  let l2Gets = 0
  const counting = {
    get: (k: string) => {
      l2Gets++
      return store.get(k)
    },
    set: (k: string, v: unknown) => {
      store.set(k, v)
      return true
    },
    delete: (k: string) => store.delete(k),
    clear: () => store.clear(),
  }
  const cache = createCache({
    tiers: [memoryTier(), keyvTier(new Keyv({ store: counting as unknown as Map<string, unknown> }))],
    ttl: '500ms',
    jitter: 0,
    staleWhileRevalidate: 1,
  })
  let loads = 0
  const loader = async () => {
    loads++
    await new Promise((r) => setTimeout(r, 5))
    return { hot: true, n: loads }
  }
  const delay = monitorEventLoopDelay({ resolution: 5 })
  delay.enable()
  const durationMs = 3000
  const start = performance.now()
  let calls = 0
  while (performance.now() - start < durationMs) {
    const batch: Promise<{ hot: boolean }>[] = []
    for (let i = 0; i < 50; i++) batch.push(cache.getOrSet('hot', loader))
    const values = await Promise.all(batch)
    calls += values.length
    expect(values.every((v) => v.hot)).toBe(true)
    await new Promise((r) => setImmediate(r))
  }
  delay.disable()
  const elapsed = performance.now() - start
  const windows = Math.ceil(elapsed / 500)
  const rate = (calls / elapsed) * 1000
  // At least the throughput needed for the claim to mean something on this machine.
  expect(rate).toBeGreaterThan(5000)
  expect(loads).toBeGreaterThanOrEqual(windows - 1)
  expect(loads).toBeLessThanOrEqual(windows + 1)
  expect(l2Gets).toBeLessThanOrEqual(windows + 2)
  // Event-loop delay depends on this shared machine's load: reported, not asserted (speed belongs in bench/).
  console.log(
    `hot key: ${Math.round(rate)} calls/s, ${loads} loads in ${windows} TTL windows, ${l2Gets} L2 reads, ` +
      `event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
  )
  expect(cache.stats().inFlight).toBeLessThanOrEqual(1)
  await cache.close()
}, 20_000)
