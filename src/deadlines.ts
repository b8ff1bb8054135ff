/**
 * Deadlines of remote calls without one timer per call. The calls of one duration (a tier stack's read
 * timeout, say) expire in the order they started, so they form a FIFO queue, and one timer, armed for the
 * oldest call not yet settled, serves all of them. A call that settles in time is only marked; the sweep
 * drops it when it reaches the front. Per call that is an array slot instead of a `Timeout` object, a
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

  /** Marks `p` settled; false if it was already settled or expired. */
  settle(p: Pending): boolean {
    if (p.done) return false
    p.done = true
    if (--this.#live === 0 && this.#refed) {
      // Nothing left to expire: the timer must not keep the process alive (it stays armed for reuse).
      this.#timer?.unref()
      this.#refed = false
    }
    return true
  }

  readonly #sweep = (): void => {
    this.#timer = undefined
    const items = this.#items
    const now = Date.now()
    let head = this.#head
    while (head < items.length) {
      const p = items[head]!
      if (!p.done && p.at > now) break
      items[head++] = undefined
      if (this.settle(p)) p.expire()
    }
    if (head === items.length) {
      this.#items = []
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

  /** Marks `p` settled so it does not expire; false if it had settled or expired already. */
  settle(p: Pending): boolean {
    return p.queue === undefined ? !p.done && (p.done = true) : p.queue.settle(p)
  }
}
