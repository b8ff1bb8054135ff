/**
 * What the HTTP cache tells an adapter to do with a request: bypass (run the handler normally), hit
 * (answer from the cache) or miss (run the handler and capture its response, see `miss.ts`).
 */
import type { MissDecision } from './miss.js'
import type { HttpReply, StatusHeader } from './reply.js'
import type { HeaderInput } from './types.js'

/** Run the handler normally; nothing is looked up or stored (`reason: 'nested'`: an outer layer is). */
export interface BypassDecision {
  readonly kind: 'bypass'
  /** Why, e.g. `'method'`, `'authorization'`, `'cookie'`, `'url'`, `'cache-error'`, `'head-miss'`. */
  readonly reason: string
  /**
   * Headers to add to the handler's response (`Cache-Status`). A nested `cached()` on the same request
   * that takes over empties this list while the handler runs (its own `Cache-Status` wins).
   */
  readonly headers: [string, string][]
  /**
   * Unsafe methods only: call with the handler's status and headers once they are final (before
   * sending), so that a 2xx/3xx invalidates the URL's cached responses before the client sees it.
   */
  readonly onResponse?: ((status: number, headers: HeaderInput) => Promise<void>) | undefined
}

/** Answer from the cache: send this and skip the handler. */
export interface HitDecision extends HttpReply {
  readonly kind: 'hit'
}

/** What `begin` tells the adapter to do. */
export type HttpDecision = BypassDecision | HitDecision | MissDecision

/** A bypass for `reason`, its `Cache-Status` saying so. */
export function bypassDecision(status: StatusHeader, reason: string): BypassDecision {
  return { kind: 'bypass', reason, headers: status({ fwd: 'bypass', detail: reason }) }
}
