import { TierError } from './errors.js'

/** Default bound of each remote tier's retry queue. */
export const RETRY_QUEUE_SIZE = 10_000
/** Keys sent per replayed delete call (`deleteMany` when the tier has it). */
const RETRY_BATCH = 100
/** Replays are retried at this interval (ms) when the tier has no breaker. */
const RETRY_INTERVAL = 1000

/** What a retry queue needs from its tier stack. */
export interface RetryTarget {
  /** Name of the tier, in reports. */
  readonly name: string
  /** Most keys kept; beyond it the oldest are dropped and reported. */
  readonly limit: number
  /** The tier's breaker `breakDuration` (ms), or undefined without breaker. */
  readonly breakDuration: number | undefined
  /**
   * For a tier whose keys live on several nodes: the node holding a key. Replays then go node by node, and a
   * failing node holds back only its own keys.
   */
  readonly route?: ((key: string) => string | undefined) | undefined
  /** Whether the stack is closed: nothing is replayed then. */
  closed(): boolean
  /** Sends a `clear()` through the tier's deadline and breaker; false when it failed. */
  clear(): Promise<boolean>
  /**
   * Sends the deletes of `keys` (one batch, all on one node when routed) through the tier's deadline and
   * breaker (that node's); false when it failed.
   */
  delete(keys: string[]): Promise<boolean>
  onError(error: TierError, key: string | undefined): void
}

/**
 * The invalidations a remote tier did not acknowledge, replayed when it answers again: deleted keys (in the
 * order they failed; a key deleted again moves to the end) and a pending `clear()`.
 */
export class RetryQueue {
  /** Key -> sequence number of its latest enqueue (a replay removes a key only if not enqueued again since). */
  readonly keys = new Map<string, number>()
  clear = false
  seq = 0
  replaying = false
  kicked = false
  /** The last replay left keys of failing nodes behind: only the timer or a node recovering replays again. */
  held = false
  timer: NodeJS.Timeout | undefined
  dropped = 0
  lastDropReport = 0
  readonly #t: RetryTarget

  constructor(target: RetryTarget) {
    this.#t = target
  }

  get size(): number {
    return this.keys.size + (this.clear ? 1 : 0)
  }

  /** Queues the delete of `key` (bounded: the oldest key is dropped and reported). */
  enqueue(key: string): void {
    if (this.clear) return // the pending clear() removes it anyway
    this.keys.delete(key)
    this.keys.set(key, ++this.seq)
    if (this.keys.size > this.#t.limit) {
      let oldest: string | undefined
      for (const k of this.keys.keys()) {
        oldest = k
        break
      }
      if (oldest !== undefined) this.keys.delete(oldest)
      this.dropped++
      const now = Date.now()
      // Reported at most once a second, with the count dropped since the last report.
      if (now - this.lastDropReport >= 1000) {
        const n = this.dropped
        this.dropped = 0
        this.lastDropReport = now
        const err = new Error(
          `retry queue full (${this.#t.limit} keys): dropped ${n} unacknowledged delete${n === 1 ? '' : 's'}, the oldest of ${JSON.stringify(oldest)}`,
        )
        this.#t.onError(new TierError(this.#t.name, 'retry', err, oldest), oldest)
      }
    }
    this.arm()
  }

  /** Makes sure a replay is attempted later (unref'ed timer; also after any success). */
  arm(): void {
    if (this.timer !== undefined || this.replaying || this.#t.closed() || this.size === 0) return
    const d = this.#t.breakDuration
    const wait = d === undefined ? RETRY_INTERVAL : Math.min(d, RETRY_INTERVAL * 5)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.replay()
    }, wait)
    this.timer.unref()
  }

  /**
   * Replays the queue soon after a successful call. Deferred, so that the caller of that call (a `set` of a
   * queued key removes it from the queue) runs first: a replay never deletes a newer value. When the last
   * replay of a routed queue left keys of a failing node behind, only `force` (that node answers again)
   * replays before the timer: the successes of the other nodes do not rescan the queue each time.
   */
  kick(force = false): void {
    if (this.replaying || this.kicked || (this.held && !force)) return
    this.kicked = true
    setImmediate(() => {
      this.kicked = false
      this.replay()
    })
  }

  idle(): void {
    if (this.size === 0 && this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
  }

  /** Drops everything queued and the pending replay timer (the stack closes). */
  drop(): void {
    this.keys.clear()
    this.clear = false
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /**
   * Sends the queued invalidations, in batches, through the same deadline and breaker as any call (the first
   * batch is the breaker's probe when it is half-open). Stops at the first failure and tries again later.
   * A routed queue replays each node's keys on their own (nodes in parallel) and stops only the failing
   * node's. Never throws.
   */
  replay(): void {
    if (this.replaying || this.#t.closed() || this.size === 0) return
    this.replaying = true
    this.held = false
    const t = this.#t
    const run = async (): Promise<void> => {
      while (!t.closed() && this.size !== 0) {
        if (this.clear) {
          if (!(await t.clear())) return
          this.clear = false
          this.keys.clear()
          continue
        }
        if (t.route === undefined) {
          if (!(await this.#send(this.keys, RETRY_BATCH))) return
          continue
        }
        const byNode = new Map<string | undefined, Array<[string, number]>>()
        for (const entry of this.keys) {
          const node = t.route(entry[0])
          const list = byNode.get(node)
          if (list === undefined) byNode.set(node, [entry])
          else list.push(entry)
        }
        const sent = await Promise.all(
          Array.from(byNode.values(), async (entries) => {
            for (let at = 0; at < entries.length; at += RETRY_BATCH) {
              if (!(await this.#send(entries.slice(at, at + RETRY_BATCH), RETRY_BATCH))) return false
            }
            return true
          }),
        )
        if (!sent.every(Boolean)) {
          this.held = true
          return
        }
      }
    }
    run()
      .catch(() => {})
      .finally(() => {
        this.replaying = false
        if (this.size === 0) this.idle()
        else this.arm()
      })
  }

  /** Sends the deletes of the first `max` of `entries` as one batch; true when acknowledged. */
  async #send(entries: Iterable<[string, number]>, max: number): Promise<boolean> {
    const batch: Array<[string, number]> = []
    for (const entry of entries) {
      batch.push(entry)
      if (batch.length === max) break
    }
    if (!(await this.#t.delete(batch.map(([k]) => k)))) return false
    // Keys deleted again meanwhile stay queued: their latest delete was not the one replayed.
    for (const [k, n] of batch) if (this.keys.get(k) === n) this.keys.delete(k)
    return true
  }
}
