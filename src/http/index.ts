/**
 * `tiercache/http`: the framework-neutral building blocks of the HTTP response cache, for writing
 * adapters. Pure functions only: no engine, no framework, no I/O.
 */
export * from './cache-control.js'
export * from './conditional.js'
export * from './cookies.js'
export * from './headers.js'
export * from './http-date.js'
export * from './key.js'
export * from './policy.js'
export type * from './types.js'
export * from './vary.js'
