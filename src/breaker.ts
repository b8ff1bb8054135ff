export type BreakerState = 'closed' | 'open' | 'half-open'

/**
 * The circuit breaker of one remote tier, plus a write gate for tiers that refuse writes while reads work
 * (out of memory): writes stop for a window and the refusal is reported once per window.
 */
export class Breaker {
  state: BreakerState = 'closed'
  failures = 0
  #until = 0
  #probing = false
  #writesUntil = 0
  #writeProbing = false
  constructor(
    readonly threshold: number,
    readonly breakDuration: number,
    readonly onChange: (state: BreakerState) => void,
  ) {}

  /** Whether a call may go to the tier now; in half-open, true once (the probe). */
  allow(): boolean {
    if (this.state === 'closed') return true
    if (this.state === 'open') {
      if (Date.now() < this.#until) return false
      this.#set('half-open')
    }
    if (this.#probing) return false
    this.#probing = true
    return true
  }

  success(): void {
    this.failures = 0
    this.#probing = false
    if (this.state !== 'closed') this.#set('closed')
  }

  failure(): void {
    this.#probing = false
    if (this.state === 'half-open' || ++this.failures >= this.threshold) {
      this.#until = Date.now() + this.breakDuration
      this.failures = 0
      this.#set('open')
    }
  }

  /** Whether a write may go to the tier (false inside a write-refusal window but for one probe after it). */
  allowWrite(): boolean {
    if (this.#writesUntil === 0) return true
    if (Date.now() < this.#writesUntil || this.#writeProbing) return false
    this.#writeProbing = true
    return true
  }

  /** A write was refused; true when this opens a new window (report it), false inside one. */
  writeRefused(): boolean {
    this.#writeProbing = false
    this.#writesUntil = Date.now() + this.breakDuration
    return this.#reportedWindow()
  }

  writeAccepted(): void {
    this.#writeProbing = false
    this.#writesUntil = 0
    this.#lastReport = 0
  }

  #lastReport = 0
  #reportedWindow(): boolean {
    const now = Date.now()
    if (now - this.#lastReport < this.breakDuration) return false
    this.#lastReport = now
    return true
  }

  #set(state: BreakerState): void {
    this.state = state
    this.onChange(state)
  }
}

/**
 * The per-node breakers of a remote tier whose keys live on several servers (a tier with `nodeOf`, such as a
 * Redis Cluster): one {@link Breaker} per node, created on first use, with the tier's settings. A call for a
 * key goes through the breaker of the node holding it, so a dead node's keys are skipped while the other
 * nodes keep being used, and the tier's own breaker (kept for calls no single node owns: `clear()`, calls
 * before the tier knows its nodes) is not opened by one node. With every node down, every node's breaker
 * opens and nothing is sent. Holds one breaker per node name the tier reports (its servers: a few).
 */
export class NodeBreakers {
  readonly #nodes = new Map<string, Breaker>()
  constructor(
    readonly threshold: number,
    readonly breakDuration: number,
    readonly onChange: (node: string, state: BreakerState) => void,
  ) {}

  /** The breaker of `node`. */
  of(node: string): Breaker {
    let b = this.#nodes.get(node)
    if (b === undefined) {
      b = new Breaker(this.threshold, this.breakDuration, (state) => this.onChange(node, state))
      this.#nodes.set(node, b)
    }
    return b
  }

  /** The state of each node's breaker, by node name. */
  states(): Record<string, BreakerState> {
    const out: Record<string, BreakerState> = {}
    for (const [node, b] of this.#nodes) out[node] = b.state
    return out
  }
}

/**
 * A tier marks an error `nodeFailure: true` when one node of several failed (its keys miss, the others
 * work): reported, but not counted by the tier's breaker.
 */
export function isNodeFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { nodeFailure?: unknown }).nodeFailure === true
}

/** Errors of a reachable server that refuses writes: Redis OOM / READONLY, memcached out of memory. */
export function isWriteRefusal(err: unknown): boolean {
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : ''
  return /^(OOM|READONLY)\b|out of memory|SERVER_ERROR out of memory/i.test(message)
}
