/**
 * The miss decision as an adapter sees it: the request that runs the handler, and what the adapter
 * reports back about the handler's response.
 */
import type { HttpReply } from './reply.js'
import type { HeaderInput } from './types.js'

/** A response as the adapter captured it after the handler. */
export interface CapturedResponse {
  status: number
  /** The handler's final headers (either shape). */
  headers: HeaderInput
  /** The whole body, or `undefined` when it was streamed through (over `maxBodySize`). */
  body: Uint8Array | undefined
}

/** The request that runs the handler and may fill the cache. */
export interface MissDecision {
  readonly kind: 'miss'
  /**
   * Request headers the adapter removes from the native request before running the handler (the
   * conditional ones), so a fill always gets a full response; the core answers them itself.
   */
  readonly stripRequestHeaders: readonly string[]
  /** The tags of the data the handler read through any cache (collected by `run`). */
  readonly tags: Set<string>
  /**
   * Runs the handler (`fn` calls or starts it) with this fill's tag collector open, so that the tags
   * of data it reads through any cache land in `tags`. The collector closes when the fill settles
   * (`finish`, `stream`, `fail` or `abort`).
   */
  run<T>(fn: () => T): T
  /**
   * Called once the handler's status and headers are final (first write). `true`: buffer the body up
   * to `maxBodySize` and call `finish`. `false`: call `stream` and pass the body through.
   */
  wantsBody(status: number, headers: HeaderInput): boolean
  /**
   * Pass-through (not buffering, or the body went past `maxBodySize`): nothing is stored, waiters are
   * released. Returns the headers to send instead of the handler's (theirs plus `Cache-Status`).
   */
  stream(status: number, headers: HeaderInput): [string, string][]
  /** The handler finished with a buffered body: stores it if allowed; resolves with what to send. */
  finish(captured: CapturedResponse): Promise<HttpReply>
  /**
   * The handler threw: releases waiters; resolves with a stale reply to send instead (within
   * `staleIfError`), or `undefined` to let the framework's error handling run.
   */
  fail(error: unknown): Promise<HttpReply | undefined>
  /** The client went away before the response was complete: releases waiters. Idempotent. */
  abort(): void
}
