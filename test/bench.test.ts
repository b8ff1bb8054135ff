import { describe, expect, it } from 'vitest'
import { makeTrace, runTiny } from '../bench/engine.js'

// Runs the benchmark suites with very few iterations to check what they check (values, loader run
// counts). Timing is never asserted: the figures of a tiny run mean nothing.
describe('bench harness', () => {
  it('every suite passes its correctness checks in tiny mode', async () => {
    const { rows } = await runTiny()
    const suites = new Set(rows.map((r) => r.suite))
    expect([...suites].sort()).toEqual(['l1', 'l1-batch', 'stampede', 'trace'])
    const failures = rows
      .filter((r) => r.problems.length > 0)
      .map((r) => `${r.suite} / ${r.name}: ${r.problems}`)
    expect(failures).toEqual([])
    for (const r of rows) expect(Number.isFinite(r.ns), `${r.suite} / ${r.name}`).toBe(true)
  }, 20_000)

  it('the trace is deterministic, touches every key and has the requested skew', () => {
    const a = makeTrace(1000, 10_000)
    const b = makeTrace(1000, 10_000)
    expect(a.seq).toEqual(b.seq)
    expect(new Set(a.seq).size).toBe(1000)
    expect(a.hotShare).toBeCloseTo(0.8, 5)
  })
})
