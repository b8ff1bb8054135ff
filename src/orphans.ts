import type { Flight } from './flight.js'

/** Most given-up loads tracked; beyond it the oldest is cancelled (its result will not be stored). */
const MAX_ORPHANS = 1000

/**
 * Loads whose callers all gave up (`hardTimeout`) but that still run, one per key. Such a load left the
 * in-flight map, so a newer load of the key may start and store first; keeping the old one here lets a
 * `delete`/`set` of the key cancel it, and marks it `orphaned` so it never overwrites a newer entry.
 */
export class Orphans {
  readonly #flights = new Map<string, Flight>()

  add(flight: Flight): void {
    flight.orphaned = true
    const k = flight.k
    const prev = this.#flights.get(k)
    if (prev !== undefined) {
      prev.cancelled = true
      this.#flights.delete(k)
    }
    this.#flights.set(k, flight)
    if (this.#flights.size > MAX_ORPHANS) {
      for (const [oldKey, old] of this.#flights) {
        old.cancelled = true
        this.#flights.delete(oldKey)
        break
      }
    }
    const drop = (): void => {
      if (this.#flights.get(k) === flight) this.#flights.delete(k)
    }
    flight.done.then(drop, drop)
  }

  /** Cancels the given-up load of `k`, if any: its result is not stored. */
  cancel(k: string): void {
    const orphan = this.#flights.get(k)
    if (orphan !== undefined) {
      orphan.cancelled = true
      this.#flights.delete(k)
    }
  }

  clear(): void {
    this.#flights.clear()
  }
}
