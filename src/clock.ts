/**
 * A coarse wall clock for hot paths: `Date.now()` costs tens of nanoseconds on virtual machines (it is
 * most of an L1 hit), so the value is reused until a 1 ms timer (unref'd) clears it. Expiry may thus be
 * seen up to 1 ms late, or as late as the event loop is blocked. When `Date` has been replaced (fake timers
 * in tests), every call reads the replacement directly.
 */
const RealDate = Date
const schedule = setTimeout
let cached = 0
let timer: ReturnType<typeof setTimeout> | undefined

function expire(): void {
  timer = undefined
}

export function now(): number {
  if (globalThis.Date !== RealDate) return Date.now()
  if (timer !== undefined) return cached
  cached = RealDate.now()
  timer = schedule(expire, 1)
  timer.unref()
  return cached
}
