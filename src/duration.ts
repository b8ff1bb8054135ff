/**
 * A duration option: a number is **seconds** (like HTTP `max-age`), a string carries a unit
 * (`'500ms'`, `'30s'`, `'5m'`, `'1h'`, `'7d'`). `0` means "do not store"; `Infinity` means "no expiry".
 */
export type Duration = number | `${number}${DurationUnit}` | `${number} ${DurationUnit}`
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd'

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/

/** Parses a {@link Duration} into milliseconds, or throws a `TypeError` naming `option` and the value. */
export function toMs(value: unknown, option: string): number {
  if (typeof value === 'number') {
    if (value === Number.POSITIVE_INFINITY) return value
    if (Number.isFinite(value) && value >= 0) return value * 1000
  } else if (typeof value === 'string') {
    const m = PATTERN.exec(value.trim())
    if (m) return Number(m[1]) * UNIT_MS[m[2] as DurationUnit]
  }
  throw new TypeError(
    `Expected \`${option}\` to be a duration (seconds as a non-negative number, Infinity, or a string like '500ms', '30s', '5m', '1h', '7d'), got ${describe(value)}`,
  )
}

/** Like {@link toMs} but `undefined` yields `fallback`. */
export function optionalMs(value: unknown, option: string, fallback: number): number {
  return value === undefined ? fallback : toMs(value, option)
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return 'a function'
  if (value === null) return 'null'
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object'
  return String(value)
}
