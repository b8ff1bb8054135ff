/**
 * Deadlines of remote calls without one timer per call. The calls of one duration (a tier stack's read
 * timeout, say) expire in the order they started, so they form a FIFO queue, and one timer, armed for the
 * oldest call not yet settled, serves all of them. A call that settles in time is marked, and leaves the
 * queue at once when it is at the front (calls mostly settle in the order they started); one settled behind
 * a slower call drops what its expiry closed over and leaves when the front reaches it. (Until this was so,
 * every call stayed queued until its deadline, and under load those survivors were most of the GC's work.)
 * Per call that is an array slot instead of a `Timeout` object, a
 * timer-list insert and a removal (and, one call at a time, a libuv timer start and stop). The timer holds
 * the process open only while some call is unsettled, like a timer per call would.
 */

/** A call waiting for its deadline: `expire` runs at the deadline unless the call was settled before. */
export interface Pending {
  /** Set once the call settled or expired. */
  done: boolean
  /** Deadline, epoch ms (set by `Deadlines.add`). */
  at: number
  /** The queue that holds it (set by `Deadlines.add`). */
  queue?: DeadlineQueue | undefined
  expire(): void
}

const noop = (): void => {}

export class DeadlineQueue {
  readonly #ms: number
  #items: (Pending | undefined)[] = []
  #head = 0
  /** Calls in the queue not settled yet. */
  #live = 0
  #timer: NodeJS.Timeout | undefined = undefined
  #refed = false

  constructor(ms: number) {
    this.#ms = ms
  }

  add(p: Pending, now: number): void {
    p.at = now + this.#ms
    p.queue = this
    this.#items.push(p)
    this.#live++
    if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#sweep, this.#ms)
      this.#refed = true
    } else if (!this.#refed) {
      this.#timer.ref()
      this.#refed = true
    }
  }

  /** Calls held in the queue: the unsettled ones, and settled ones behind an unsettled one. */
  get held(): number {
    return this.#items.length - this.#head
  }

  /** Marks `p` settled; false if it was already settled or expired. */
  settle(p: Pending): boolean {
    if (p.done) return false
    p.done = true
    p.expire = noop // whatever the call's expiry closed over is not held until the sweep
    if (--this.#live === 0 && this.#refed) {
      // Nothing left to expire: the timer must not keep the process alive (it stays armed for reuse).
      this.#timer?.unref()
      this.#refed = false
    }
    // Calls mostly settle in the order they started: drop the settled ones at the front now, so that a
    // settled call is garbage at once instead of living (and being copied by the GC) until its deadline.
    const items = this.#items
    let head = this.#head
    if (items[head] === p) {
      do items[head++] = undefined
      while (head < items.length && items[head]!.done)
      if (head === items.length) {
        items.length = 0
        head = 0
      }
      this.#head = head
    }
    return true
  }

  readonly #sweep = (): void => {
    this.#timer = undefined
    const now = Date.now()
    // (only this sweep replaces the array; an expiry that settles another call only moves `#head`)
    const items = this.#items
    while (this.#head < items.length) {
      const p = items[this.#head]!
      if (!p.done && p.at > now) break
      items[this.#head++] = undefined
      const expire = p.expire
      if (this.settle(p)) expire()
    }
    let head = this.#head
    if (head === items.length) {
      items.length = 0
      this.#head = 0
      this.#refed = false
      return
    }
    const next = items[head]!
    if (head > 1024 && head * 2 > items.length) {
      this.#items = items.slice(head)
      head = 0
    }
    this.#head = head
    this.#timer = setTimeout(this.#sweep, Math.max(1, next.at - now))
    this.#refed = true
  }
}

/** The deadline queues of one owner (a tier stack), one per duration in ms. */
export class Deadlines {
  readonly #queues = new Map<number, DeadlineQueue>()

  /** Expires `p` after `ms` (finite) unless `settle(p)` comes first. */
  add(p: Pending, ms: number): void {
    let q = this.#queues.get(ms)
    if (q === undefined) this.#queues.set(ms, (q = new DeadlineQueue(ms)))
    q.add(p, Date.now())
  }

  /** Calls held in the queue of duration `ms` (see `DeadlineQueue.held`). */
  held(ms: number): number {
    return this.#queues.get(ms)?.held ?? 0
  }

  /** Marks `p` settled so it does not expire; false if it had settled or expired already. */
  settle(p: Pending): boolean {
    return p.queue === undefined ? !p.done && (p.done = true) : p.queue.settle(p)
  }
}
