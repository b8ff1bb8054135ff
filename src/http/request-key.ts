/**
 * The request keys of one route, remembered by the raw request parts they are derived from, so that a
 * repeated request skips the key derivation (parsing, normalizing, hashing) in `key.ts`.
 */
import { requestKey } from './key.js'
import type { HttpPolicyOptions, HttpRequestView } from './types.js'

/** Most request keys remembered per route (raw request parts to hashed key). */
const KEY_MEMO_SIZE = 10_000

export class RequestKeys {
  readonly #policy: HttpPolicyOptions
  /** Hashed request keys by their raw parts (`null`: the URL bypasses), bounded, oldest dropped first. */
  readonly #keys = new Map<string, string | null>()
  /** Hashed request keys by URL alone, for requests with the scheme, host and pattern of the first one. */
  #home:
    | { protocol: string; host: string; pattern: string | undefined; keys: Map<string, string | null> }
    | undefined

  constructor(policy: HttpPolicyOptions) {
    this.#policy = policy
  }

  /** The request key, remembered by the raw parts it is derived from (unless it depends on cookies). */
  get(view: HttpRequestView, partition: string | undefined): string | undefined {
    const policy = this.#policy
    if (policy.cookies !== undefined) return requestKey(view, policy, partition)
    const pattern = view.route?.pattern
    // the route's own traffic (the scheme, host and pattern of its first request, shared entries): the
    // URL alone finds the key, without building the raw string
    const home = this.#home
    if (partition === undefined && home !== undefined) {
      if (view.protocol === home.protocol && view.host === home.host && pattern === home.pattern) {
        const memo = home.keys.get(view.url)
        if (memo !== undefined) return memo ?? undefined
        const key = requestKey(view, policy, undefined)
        if (home.keys.size >= KEY_MEMO_SIZE) home.keys.delete(home.keys.keys().next().value!)
        home.keys.set(view.url, key ?? null)
        return key
      }
    } else if (partition === undefined) {
      this.#home = { protocol: view.protocol, host: view.host, pattern, keys: new Map() }
    }
    const raw =
      `${view.method === 'HEAD' ? 'GET' : view.method} ${view.protocol.length}:${view.protocol}` +
      `${view.host.length}:${view.host}${pattern === undefined ? '-' : `${pattern.length}:${pattern}`}` +
      `${view.url.length}:${view.url}${partition ?? '-'}`
    const memo = this.#keys.get(raw)
    if (memo !== undefined) return memo ?? undefined
    const key = requestKey(view, policy, partition)
    if (this.#keys.size >= KEY_MEMO_SIZE) this.#keys.delete(this.#keys.keys().next().value!)
    this.#keys.set(raw, key ?? null)
    return key
  }
}
