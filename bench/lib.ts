import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * Timing helpers for side-by-side benchmarks on a noisy machine.
 *
 * Every candidate times itself (so per-sample setup such as creating a fresh cache is excluded) and
 * reports elapsed nanoseconds for a given number of operations. `compare()` warms every candidate up,
 * sizes samples so that each takes about `sampleMs`, then runs `rounds` rounds in which every candidate
 * takes one sample, in an order that rotates and alternates direction from round to round. Drift (other
 * tenants, GC, CPU frequency) therefore hits every candidate alike. We report the median ns/op and the
 * median of the per-round ratios against the baseline (each ratio compares samples taken moments apart).
 * A scavenge runs before every sample, so that no candidate pays for collecting another one's garbage.
 */

/** A candidate of one comparison. */
export interface Candidate {
  name: string
  /** Runs `ops` operations and returns the elapsed time of the measured part, in nanoseconds. */
  sample(ops: number): Promise<number>
  /** Operations per sample when they cannot be chosen (e.g. one whole trace); calibrated otherwise. */
  fixedOps?: number
}

export interface Measured {
  name: string
  /** Median ns per operation over the rounds. */
  nsPerOp: number
  /** Median of per-round (candidate ns/op) / (baseline ns/op): below 1 is faster than the baseline. */
  ratio: number
  /** 25th and 75th percentiles of the per-round ratios: the spread to judge the noise by. */
  ratioP25: number
  ratioP75: number
  rounds: number
  opsPerSample: number
  /** ns/op of each round, in round order (to pair candidates round by round). */
  samples: number[]
}

export interface CompareOptions {
  /** Name of the baseline candidate (ratios are relative to it). */
  baseline: string
  rounds: number
  /** Warm-up time per candidate, in milliseconds (at least one sample is always run). */
  warmupMs: number
  /** Target duration of one sample, in milliseconds (for candidates without `fixedOps`). */
  sampleMs: number
}

/** Current time in nanoseconds, as a float (hrtime, monotonic). */
export function nowNs(): number {
  return Number(process.hrtime.bigint())
}

/**
 * CPU time of this process (user + system, all threads), in nanoseconds. On a shared VM this leaves out
 * the time the scheduler gave to other processes, which wall time cannot; use it for CPU-bound loops.
 * Resolution is 1 µs, so samples should last milliseconds.
 */
export function cpuNs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) * 1000
}

type GcFn = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void
let gcFn: GcFn | undefined

/**
 * A young-generation collection (scavenge), so that one candidate's short-lived garbage is not collected
 * during the next one's sample. Not a full GC: that shrinks the young generation and hands concurrent
 * sweeping to the next sample, which punishes allocation-heavy candidates. Uses `global.gc`
 * (node --expose-gc) or enables it at run time.
 */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    const exposed = (globalThis as { gc?: GcFn }).gc
    if (exposed !== undefined) gcFn = exposed
    else {
      setFlagsFromString('--expose-gc')
      gcFn = runInNewContext('gc') as GcFn
    }
  }
  gcFn({ type: 'minor', execution: 'sync' })
}

/** Lets timers, I/O callbacks and finalizers run between samples. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5)
}

/** Linear-interpolated quantile `q` (0..1) of `values`. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

/** Runs candidate `c` repeatedly for about `ms` milliseconds. */
async function warmup(c: Candidate, ms: number): Promise<void> {
  const ops = c.fixedOps ?? 1000
  const end = performance.now() + ms
  do {
    await c.sample(ops)
    await yieldToLoop()
  } while (performance.now() < end)
}

/** Operations per sample so that one sample of `c` takes about `sampleMs`. */
async function calibrate(c: Candidate, sampleMs: number): Promise<number> {
  if (c.fixedOps !== undefined) return c.fixedOps
  let ops = 100
  for (;;) {
    const ns = await c.sample(ops)
    if (ns >= (sampleMs * 1e6) / 4 || ops >= 1e8) {
      const perOp = ns / ops
      return Math.max(100, Math.round((sampleMs * 1e6) / perOp / 100) * 100)
    }
    ops *= 4
  }
}

/** Order of the candidates in round `r`: rotated by r, reversed every other round. */
export function roundOrder(n: number, r: number): number[] {
  const order = Array.from({ length: n }, (_, i) => (i + r) % n)
  return r % 2 === 1 ? order.reverse() : order
}

/** Measures the candidates side by side. See the module comment for the method. */
export async function compare(candidates: readonly Candidate[], o: CompareOptions): Promise<Measured[]> {
  const base = candidates.findIndex((c) => c.name === o.baseline)
  if (base < 0) throw new Error(`baseline ${o.baseline} is not a candidate`)
  for (const c of candidates) await warmup(c, o.warmupMs)
  const ops: number[] = []
  for (const c of candidates) ops.push(await calibrate(c, o.sampleMs))
  const perOp: number[][] = candidates.map(() => [])
  for (let r = 0; r < o.rounds; r++) {
    const row: number[] = new Array(candidates.length)
    for (const i of roundOrder(candidates.length, r)) {
      await yieldToLoop()
      collectGarbage()
      row[i] = (await candidates[i]!.sample(ops[i]!)) / ops[i]!
    }
    for (let i = 0; i < row.length; i++) perOp[i]!.push(row[i]!)
  }
  return candidates.map((c, i) => {
    const ratios = perOp[i]!.map((v, r) => v / perOp[base]![r]!)
    return {
      name: c.name,
      nsPerOp: median(perOp[i]!),
      ratio: median(ratios),
      ratioP25: quantile(ratios, 0.25),
      ratioP75: quantile(ratios, 0.75),
      rounds: o.rounds,
      opsPerSample: ops[i]!,
      samples: perOp[i]!,
    }
  })
}

/** Deterministic PRNG (mulberry32): the same seed gives the same sequence on every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
