/**
 * The one entry format of every tier. The memory tier keeps it as an object; remote tiers keep it
 * serialized. Field names are short because remote tiers store them on every entry.
 */
export interface Entry<T = unknown> {
  /** The value (for a negative entry, the error). */
  v: T
  /** When the load that produced this value started (epoch ms). Tag invalidations after it win. */
  c: number
  /** Fresh until (epoch ms); `Infinity` for no expiry. */
  f: number
  /** Stale until (epoch ms): the end of the stale-while-revalidate / stale-if-error windows; `f <= s`. */
  s: number
  /** The end of the stale-while-revalidate window (epoch ms), `f <= w <= s`. */
  w: number
  /** How long the loader took (ms), for probabilistic early refresh. */
  d: number
  /** Tags (already scoped), if any. */
  g?: string[] | undefined
  /** Set on a negative entry: `v` is the cached error. */
  x?: 1 | undefined
}

/** Format version of serialized entries; a different version is read as a miss. */
export const ENTRY_VERSION = 1
