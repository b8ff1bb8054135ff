/**
 * The calls of a tier stack to its tiers, guarded. Every remote call has a deadline (a slot in one shared
 * `Deadlines`, not a timer per call) and goes through a circuit breaker: after `threshold` consecutive failures
 * a tier is skipped for `breakDuration`, then one probe decides. A tier that says which node holds a key
 * (`nodeOf`) also has one breaker per node, which the calls for its keys go through (see {@link NodeBreakers}).
 * A failed, timed-out or skipped call becomes `FAILED` (a miss for reads, `false` for writes); a value the tier
 * finds too large becomes `TOO_LARGE`, and the older value of its key there is deleted. When a tier or node
 * answers again, its retry queue is replayed.
 */
import { Breaker, type BreakerState, isNodeFailure, isWriteRefusal, NodeBreakers } from './breaker.js'
import { Deadlines, type Pending } from './deadlines.js'
import { TierError, TimeoutError, ValueTooLargeError } from './errors.js'
import type { RetryQueue } from './retry-queue.js'
import type { Payload, RemoteTier, Tier } from './tiers/types.js'

/** A call that failed or timed out (reported), or was skipped by an open breaker. */
export const FAILED = Symbol('failed')
/** A value the tier refused as too large (reported; the older value of the key there is being deleted). */
export const TOO_LARGE = Symbol('too large')
const SKIPPED: Promise<typeof FAILED> = Promise.resolve(FAILED)

/** What a guarded call gives: its result, or why there is none. */
export type Outcome<R> = R | typeof FAILED | typeof TOO_LARGE
const identity = <T>(r: T): T => r

/** What the guarded calls take from the stack's options (see `LowerOptions`). */
export interface TierCallOptions {
  /** Breaker settings, or `false` for none. @default { threshold: 5, breakDuration: 2000 } */
  breaker?: { threshold: number; breakDuration: number } | false
  /** Called for every tier failure. */
  onError: (error: TierError, key: string | undefined) => void
  /** Called when a tier's breaker changes state (`node` set for the breaker of one node of a multi-node tier). */
  onBreaker?: ((tier: string, state: BreakerState, node?: string) => void) | undefined
}

export class TierCalls {
  readonly #tiers: readonly Tier[]
  readonly #o: TierCallOptions
  /** The stack's retry queues (filled by the stack), kicked when their tier or node answers again. */
  readonly #retry: readonly (RetryQueue | undefined)[]
  /** Deletes `key` from tier `i`, whose older value must not outlive a newer one skipped as too large. */
  readonly #drop: (i: number, key: string) => void
  /** One per tier (undefined for local tiers or without breaker). */
  readonly breakers: readonly (Breaker | undefined)[]
  /** Per-node breakers of each tier with `nodeOf` (undefined for the others or without breaker). */
  readonly #nodes: readonly (NodeBreakers | undefined)[]
  /** The deadlines of pending remote calls (one timer per duration, not per call). */
  readonly #deadlines = new Deadlines()

  constructor(
    tiers: readonly Tier[],
    retry: readonly (RetryQueue | undefined)[],
    options: TierCallOptions,
    drop: (i: number, key: string) => void,
  ) {
    this.#tiers = tiers
    this.#o = options
    this.#retry = retry
    this.#drop = drop
    const b = options.breaker === undefined ? { threshold: 5, breakDuration: 2000 } : options.breaker
    this.breakers = tiers.map((t) =>
      t.kind === 'remote' && b !== false
        ? new Breaker(b.threshold, b.breakDuration, (state) => options.onBreaker?.(t.name, state))
        : undefined,
    )
    this.#nodes = tiers.map((t, i) =>
      t.kind === 'remote' && b !== false && typeof t.nodeOf === 'function'
        ? new NodeBreakers(b.threshold, b.breakDuration, (node, state) => {
            options.onBreaker?.(t.name, state, node)
            // The node answers again: replay what it missed now (a replay does not wait on failing nodes).
            if (state === 'closed') this.#retry[i]?.kick(true)
          })
        : undefined,
    )
  }

  /** The breaker state of each tier (`undefined` for local tiers). */
  breakerStates(): (BreakerState | undefined)[] {
    return this.breakers.map((b) => b?.state)
  }

  /** The state of each node's breaker, for each tier (`undefined` for tiers without nodes). */
  nodeBreakerStates(): (Record<string, BreakerState> | undefined)[] {
    return this.#nodes.map((n) => n?.states())
  }

  /**
   * The breaker a call for `key` on tier `i` goes through: the breaker of the node holding the key when the
   * tier says which one, else the tier's.
   */
  breakerFor(i: number, key: string | undefined): Breaker | undefined {
    const nodes = this.#nodes[i]
    if (nodes === undefined || key === undefined) return this.breakers[i]
    const node = (this.#tiers[i] as RemoteTier).nodeOf?.(key)
    return node === undefined ? this.breakers[i] : nodes.of(node)
  }

  /**
   * Whether `payload` is over remote tier `i`'s `maxValueBytes`. If so the value is skipped for the tier:
   * reported, and an older value of the key there deleted.
   */
  oversized(i: number, key: string, payload: Payload): boolean {
    const t = this.#tiers[i]! as RemoteTier
    const limit = t.maxValueBytes
    if (limit === undefined) return false
    const size = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength
    if (size <= limit) return false
    this.#tooLarge(i, t, key, new ValueTooLargeError(key, size, limit, t.name))
    return true
  }

  /**
   * Runs a tier call with a deadline and the breaker of `route` (see `breakerFor`; `key` unless a batch of
   * keys on one node, reported without a key, gives one of them); failures are reported and become `FAILED`.
   * A call skipped by an open breaker is `FAILED` without a report (the opening was reported).
   * One promise per call, and a slot in a shared deadline queue instead of a timer: this is on the path of
   * every remote write.
   */
  guard<R>(
    i: number,
    op: string,
    key: string | undefined,
    ms: number,
    call: () => R | Promise<R>,
    replay = false,
    route = key,
  ): Promise<Outcome<R>> {
    const t = this.#tiers[i]!
    if (t.kind === 'local') {
      try {
        return Promise.resolve(call())
      } catch (err) {
        this.#o.onError(err instanceof TierError ? err : new TierError(t.name, op, err, key), key)
        return Promise.resolve(FAILED)
      }
    }
    const b = this.breakerFor(i, route)
    if (b !== undefined && !b.allow()) return SKIPPED
    return this.#remote(i, b, op, key, ms, call, identity, replay)
  }

  /**
   * A read of remote tier `i` like `guard`'s, whose outcome (the value, `FAILED` or `TOO_LARGE`) goes
   * through `then` in the step that settles the call: on a Redis hit, decoding and the engine's handling
   * take no promise step of their own. An error thrown by `then` rejects the returned promise.
   */
  read<R, U>(
    i: number,
    key: string,
    ms: number,
    call: () => R | Promise<R>,
    then: (r: Outcome<R>) => U | Promise<U>,
  ): Promise<U> {
    const b = this.breakerFor(i, key)
    if (b !== undefined && !b.allow()) return SKIPPED.then(then)
    return this.#remote(i, b, 'get', key, ms, call, then, false)
  }

  #remote<R, U>(
    i: number,
    b: Breaker | undefined,
    op: string,
    key: string | undefined,
    ms: number,
    call: () => R | Promise<R>,
    then: (r: Outcome<R>) => U | Promise<U>,
    replay: boolean,
  ): Promise<U> {
    let p: Promise<R>
    try {
      p = Promise.resolve(call())
    } catch (err) {
      p = Promise.reject(err)
    }
    const q = replay ? undefined : this.#retry[i]
    if (ms === Number.POSITIVE_INFINITY) {
      return p.then(
        (r) => {
          b?.success()
          if (q !== undefined && q.size !== 0) q.kick()
          return then(r)
        },
        (err: unknown) => then(this.#failed(i, b, op, key, err)),
      )
    }
    return new Promise((resolve, reject) => {
      const finish = (r: Outcome<R>): void => {
        try {
          resolve(then(r))
        } catch (err) {
          reject(err)
        }
      }
      const pending: Pending = {
        done: false,
        at: 0,
        queue: undefined,
        expire: () => {
          const t = this.#tiers[i]!
          const err = new TimeoutError(`${t.name} ${op} took over ${ms} ms`, ms, { code: 'E_TIER_TIMEOUT' })
          finish(this.#failed(i, b, op, key, err))
        },
      }
      this.#deadlines.add(pending, ms)
      p.then(
        (r) => {
          if (!this.#deadlines.settle(pending)) return
          b?.success()
          // The tier answers again: send what it missed.
          if (q !== undefined && q.size !== 0) q.kick()
          finish(r)
        },
        (err: unknown) => {
          if (this.#deadlines.settle(pending)) finish(this.#failed(i, b, op, key, err))
        },
      )
    })
  }

  /** Classifies and reports a failed remote call; updates the tier's breaker. */
  #failed(
    i: number,
    b: Breaker | undefined,
    op: string,
    key: string | undefined,
    err: unknown,
  ): typeof FAILED | typeof TOO_LARGE {
    const t = this.#tiers[i]! as RemoteTier
    if (err instanceof ValueTooLargeError) {
      // The value's fault, not the tier's: no breaker failure.
      b?.success()
      this.#tooLarge(i, t, key ?? '', err)
      return TOO_LARGE
    }
    if (op === 'set' && isWriteRefusal(err)) {
      // The tier answers but refuses writes (out of memory): reads go on, writes pause for a window,
      // and the refusal is reported once per window instead of once per write.
      b?.success()
      if (b === undefined || b.writeRefused()) this.#o.onError(new TierError(t.name, op, err, key), key)
      return FAILED
    }
    // One node of a multi-node tier failing (the tier fails its keys fast by itself) is not the tier failing.
    if (!isNodeFailure(err)) b?.failure()
    this.#o.onError(err instanceof TierError ? err : new TierError(t.name, op, err, key), key)
    return FAILED
  }

  /** The value is skipped for this tier; an older value of the key there must not outlive it. */
  #tooLarge(i: number, t: RemoteTier, key: string, err: ValueTooLargeError): void {
    this.#o.onError(new TierError(t.name, 'set', err, key), key)
    this.#drop(i, key)
  }
}
