import Memcached from 'memcached'
import { MAX_KEY_BYTES } from './memcached-keys.js'

/** Memcached reads TTLs above this (seconds) as absolute Unix times. */
export const THIRTY_DAYS_S = 2_592_000
const noop = (): void => {}

export type Callback<T> = (err: unknown, result: T) => void

/** The parts of the client used here (its typings are loose). */
export interface Raw {
  get(key: string, cb: Callback<unknown>): void
  getMulti(keys: string[], cb: Callback<Record<string, unknown>>): void
  set(key: string, value: string, lifetime: number, cb: Callback<boolean>): void
  add(key: string, value: string, lifetime: number, cb: Callback<boolean>): void
  del(key: string, cb: Callback<boolean>): void
  incr(key: string, amount: number, cb: Callback<number | boolean>): void
  stats(cb: Callback<Array<Record<string, unknown>>>): void
  end(): void
  on(event: string, listener: (...args: unknown[]) => void): unknown
  HashRing?: { get(key: string): string }
  servers: string[]
}

/**
 * A `memcached` client configured against its defects: a failed node is retried after `retry` ms and never
 * removed or rehashed, the ping-based reconnect is replaced (`guardReconnect`), the pool does not retry with
 * its own backoff, and keys and values are checked by the tier, not by the client. `limit` is the server's
 * item size limit, bytes.
 */
export function createClient(
  servers: string[],
  retry: number,
  connectTimeout: number,
  limit: number,
): Memcached {
  const config = {
    // A failed node is retried after `retry` ms and never removed or rehashed.
    retry,
    remove: false,
    // So large that the "dead server" path (reconnect after `reconnect` ms by spawning `ping`) is never taken.
    failures: Number.MAX_SAFE_INTEGER,
    failuresTimeout: retry,
    reconnect: retry,
    timeout: connectTimeout,
    // The connection pool must not retry with its own backoff (1 s, 3 s, 9 s... by default).
    retries: 0,
    minTimeout: 0,
    maxTimeout: 0,
    idle: 30_000,
    // Keys are made safe (memcached-keys.ts) and values sized (memcached-values.ts) before the client sees them.
    keyCompression: false,
    maxKeySize: MAX_KEY_BYTES,
    maxValue: limit * 2,
    maxExpiration: THIRTY_DAYS_S,
    poolSize: 10,
  }
  // `failuresTimeout` is a real client option missing from its typings.
  const client = new Memcached(servers, config as Memcached.options)
  const raw = client as unknown as Raw
  guardReconnect(raw)
  // The client emits 'failure'/'issue'/'reconnecting' events; none of them is 'error', but keep it quiet.
  raw.on('error', noop)
  return client
}

interface IssueLogLike {
  failed: boolean
  locked: boolean
  isScheduledToReconnect: boolean
  failures: number
  config: { failures: number }
  attemptReconnect: () => void
  emit(event: string, ...args: unknown[]): boolean
}

/**
 * Replaces, on this client instance only, the reconnect step of each server's issue log: the client's own
 * spawns `ping` (and crashes the process when `ping` is missing). Ours marks the server usable again, so
 * the next request to it opens a real connection (which fails fast and logs a new issue if it is still down).
 */
function guardReconnect(raw: Raw): void {
  const client = raw as unknown as {
    connectionIssue: (error: unknown, stream: { serverAddress?: string }) => void
    issues: Record<string, IssueLogLike>
  }
  const original = client.connectionIssue
  if (typeof original !== 'function' || typeof client.issues !== 'object') {
    throw new Error(
      'memcached client internals changed: cannot guard its ping-based reconnect; pin memcached@2.2.2',
    )
  }
  client.connectionIssue = function guardedConnectionIssue(error, stream) {
    const server = stream?.serverAddress
    const known = server !== undefined && server in client.issues
    if (server !== undefined && !known) {
      // Let the client create the issue log, then patch it before its first timer can fire.
      original.call(this, error, stream)
      const issue = client.issues[server]
      if (issue !== undefined) issue.attemptReconnect = reconnectWithoutPing
      return
    }
    original.call(this, error, stream)
  }
}

function reconnectWithoutPing(this: IssueLogLike): void {
  this.failed = false
  this.locked = false
  this.isScheduledToReconnect = false
  this.failures = this.config.failures
  this.emit('reconnected', {})
}
