/**
 * `tiercache/http`: the framework-neutral HTTP response cache, for writing adapters. `createHttpCache`
 * is the middleware core every adapter drives; the rest are its pure building blocks (no framework,
 * no I/O). Loading this module also installs `cache.http.invalidate(url)` and `cache.http.invalidateKey(key)`.
 */
export * from './cache-control.js'
export * from './cached-options.js'
export * from './conditional.js'
export * from './cookies.js'
export * from './core.js'
export * from './headers.js'
export * from './http-date.js'
export * from './invalidate.js'
export * from './key.js'
export type { CapturedResponse, MissDecision } from './miss.js'
export * from './node.js'
export * from './policy.js'
export * from './replay.js'
export * from './reply.js'
export type * from './types.js'
export * from './vary.js'
