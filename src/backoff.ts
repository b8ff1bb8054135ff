/** Most keys in back-off at once; beyond it the oldest back-off is dropped (that key's retry comes sooner). */
const MAX_BACKOFF = 10_000

/**
 * Keys whose last load failed while a stale value was served (`graceBackoff`): until their time is up,
 * callers get the stale value without a new load, so a failing backend is not hit by every request.
 */
export class Backoff {
  readonly #until = new Map<string, number>()
  readonly #ms: number

  /** `ms`: how long a key waits after a failed load; 0 turns back-off off. */
  constructor(ms: number) {
    this.#ms = ms
  }

  /** Starts (or restarts) the back-off of `k` at `now`. */
  enter(k: string, now: number): void {
    if (this.#ms <= 0) return
    this.#until.set(k, now + this.#ms)
    if (this.#until.size > MAX_BACKOFF) {
      for (const oldest of this.#until.keys()) {
        this.#until.delete(oldest)
        break
      }
    }
  }

  /** Whether `k` is in back-off at `now` (an expired back-off is dropped). */
  active(k: string, now: number): boolean {
    if (this.#until.size === 0) return false
    const until = this.#until.get(k)
    if (until === undefined) return false
    if (now < until) return true
    this.#until.delete(k)
    return false
  }

  /** Ends the back-off of `k` (a load succeeded, or the key was written or deleted). */
  delete(k: string): void {
    if (this.#until.size !== 0) this.#until.delete(k)
  }

  clear(): void {
    this.#until.clear()
  }

  /** Drops every back-off that ended before `now`. */
  prune(now: number): void {
    for (const [k, until] of this.#until) if (until <= now) this.#until.delete(k)
  }
}
