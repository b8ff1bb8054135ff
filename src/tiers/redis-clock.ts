/**
 * The Redis server's clock minus this process's clock (see RemoteTier.clockOffset), measured with `TIME`. The
 * generation reads (`redis-generation.ts`) take a measurement beside them at most every CLOCK_CHECK_MS, so the
 * offset costs no round trip of its own and no timer. A reading whose round trip took too long is not used, and
 * an offset within the measurement's noise is 0, not corrected.
 */

/** How often the server's clock is read again, ms. */
const CLOCK_CHECK_MS = 30_000
/** A clock reading whose round trip took longer than this is not used, ms. */
const CLOCK_MAX_RTT_MS = 200
/** Offsets smaller than this are measurement noise and not corrected, ms. */
const CLOCK_TOLERANCE_MS = 50

/** The server clock's offset, as last measured. */
export interface ServerClock {
  /** The server's clock minus ours, ms (0 until measured). No I/O: the tier's `clockOffset`. */
  readonly offset: () => number
  /** Whether a measurement is due (none in the last CLOCK_CHECK_MS). */
  readonly due: () => boolean
  /** Reads the server's clock once; rejects when `TIME` fails (the offset then stays as it was). */
  readonly measure: () => Promise<void>
}

/** A server clock measured through `sendKeyless` (a keyless read-only command, see `RedisConnection`). */
export function serverClock(sendKeyless: (args: string[]) => Promise<unknown>): ServerClock {
  let offset = 0
  let nextClock = 0
  const measure = async (): Promise<void> => {
    nextClock = Date.now() + CLOCK_CHECK_MS
    const t0 = Date.now()
    const reply = await sendKeyless(['TIME'])
    const t1 = Date.now()
    if (!Array.isArray(reply) || t1 - t0 > CLOCK_MAX_RTT_MS) return // an imprecise reading is not used
    const server = Number(reply[0]) * 1000 + Number(reply[1]) / 1000
    if (!Number.isFinite(server)) return
    const measured = server - (t0 + t1) / 2
    offset = Math.abs(measured) < CLOCK_TOLERANCE_MS ? 0 : Math.round(measured)
  }
  return {
    offset: () => offset,
    due: () => Date.now() >= nextClock,
    measure,
  }
}
