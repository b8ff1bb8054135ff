/**
 * tiercache benchmarks: one table of ratios measured side by side in one run.
 *
 *   npm run bench                 all suites, full rounds
 *   npm run bench -- l1 trace     only suites whose name contains one of the words
 *   BENCH_QUICK=1 npm run bench   few rounds: a smoke run, figures are rough
 *
 *   npm run bench -- http         the HTTP suite only (frameworks under autocannon, one child process each)
 *
 * Exits non-zero when a correctness check fails (wrong value, wrong loader count, a call that throws,
 * a wrong HTTP response or handler run count).
 * Missing a speed target is reported (MISS), never an error.
 */
import { availableParallelism, cpus, loadavg } from 'node:os'
import { ENGINE_SUITES, MODES, meets, type Row, runEngineSuites } from './engine.js'
import {
  formatHttpTarget,
  formatRps,
  HTTP_SUITE,
  type HttpRow,
  httpMeets,
  httpMode,
  runHttpSuite,
} from './http.js'
import { REDIS_SUITES, runRedisSuites } from './redis.js'
import { runSerializerBench } from './serializer.js'
import { subjectNote } from './subject.js'

const SERIALIZER_BASELINE = 'JSON.stringify/parse (lossy)'

function formatTime(ns: number, unit: Row['unit']): string {
  if (!Number.isFinite(ns)) return '-'
  const per = unit === 'op' ? '/op' : '/run'
  if (ns < 10_000) return `${ns.toFixed(ns < 100 ? 1 : 0)} ns${per}`
  if (ns < 10_000_000) return `${(ns / 1000).toFixed(1)} µs${per}`
  return `${(ns / 1e6).toFixed(1)} ms${per}`
}

function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return '-'
  return `${r < 10 ? r.toFixed(2) : r.toFixed(1)}x`
}

function formatTarget(row: Row): string {
  const t = row.target
  if (t === undefined) return ''
  const v = t.value < 1 ? `${t.value.toFixed(2)}x (≥ ${(1 / t.value).toFixed(0)}x faster)` : `${t.value}x`
  return `${t.op === '<=' ? '≤' : '≥'} ${v}`
}

/** A row of the table: engine rows (time, lower ratio is faster) or http rows (req/s, higher is faster). */
type TableRow = Row | HttpRow

function renderTable(rows: TableRow[]): string {
  const header = ['suite', 'case', 'median', 'ratio', 'p25-p75', 'vs baseline', 'target', 'result', 'check']
  const cells = rows.map((r) => [
    r.suite,
    r.name,
    r.unit === 'req/s' ? formatRps(r.rps) : formatTime(r.ns, r.unit),
    formatRatio(r.ratio),
    Number.isFinite(r.ratioP25) ? `${r.ratioP25.toFixed(2)}-${r.ratioP75.toFixed(2)}` : '-',
    r.baseline,
    r.unit === 'req/s' ? formatHttpTarget(r.target) : formatTarget(r),
    r.target === undefined
      ? ''
      : (r.unit === 'req/s' ? httpMeets(r.ratio, r.target) : meets(r.ratio, r.target))
        ? 'PASS'
        : 'MISS',
    r.problems.length === 0 ? 'ok' : '** FAIL **',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const right = new Set([2, 3, 4])
  const line = (c: string[]): string =>
    c
      .map((v, i) => (right.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')]
  let suite = rows[0]?.suite
  for (let i = 0; i < rows.length; i++) {
    if (rows[i]!.suite !== suite) {
      out.push('')
      suite = rows[i]!.suite
    }
    out.push(line(cells[i]!))
  }
  return out.join('\n')
}

async function serializerRows(quick: boolean): Promise<Row[]> {
  try {
    const rows = await runSerializerBench(quick ? { ms: 60, rounds: 2 } : undefined)
    return rows.map((r) => ({
      suite: 'serializer',
      name: r.name,
      ns: 1e9 / r.opsPerSec,
      unit: 'op' as const,
      ratio: 1 / r.ratio,
      ratioP25: Number.NaN,
      ratioP75: Number.NaN,
      baseline: `${SERIALIZER_BASELINE} ${r.name.endsWith('100 KB') ? '100 KB' : '1 KB'}`,
      problems: [],
      note: `${r.bytes} bytes`,
    }))
  } catch (err) {
    return [
      {
        suite: 'serializer',
        name: 'serializer round trip',
        ns: Number.NaN,
        unit: 'op',
        ratio: Number.NaN,
        ratioP25: Number.NaN,
        ratioP75: Number.NaN,
        baseline: SERIALIZER_BASELINE,
        problems: [String(err)],
      },
    ]
  }
}

async function main(): Promise<number> {
  const quick = process.env.BENCH_QUICK === '1'
  const mode = quick ? MODES.quick : MODES.full
  const filters = process.argv
    .slice(2)
    .flatMap((a) => a.split(','))
    .map((a) => a.trim().toLowerCase())
    .filter((a) => a !== '')
  const include = (suite: string): boolean => filters.length === 0 || filters.some((f) => suite.includes(f))
  const known = [...ENGINE_SUITES.map((s) => s.name), 'serializer', ...REDIS_SUITES, HTTP_SUITE]
  if (!known.some(include)) {
    console.error(`No suite matches ${filters.join(', ')}. Suites: ${known.join(', ')}`)
    return 2
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  console.log(
    `tiercache bench: Node ${process.version}, ${availableParallelism()} x ${cpu}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )
  console.log(subjectNote)
  if (ENGINE_SUITES.some((s) => include(s.name))) {
    console.log(
      `mode ${mode.name}: ${mode.rounds} interleaved rounds (stampede ${mode.stampedeRounds}), ` +
        `~${mode.sampleMs} ms samples, ${mode.warmupMs} ms warm-up per candidate`,
    )
  }
  if (include(HTTP_SUITE)) {
    const h = httpMode(quick)
    console.log(
      `http: ${h.rounds} interleaved rounds of ${h.seconds} s per server, ` +
        `warm-up up to ${h.warmupRuns} x ${h.warmupSeconds} s`,
    )
  }
  console.log('')
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`)
  }
  const started = performance.now()
  const engine = await runEngineSuites(mode, include, log)
  const rows: TableRow[] = [...engine.rows]
  if (include('serializer')) {
    log('running serializer ...')
    rows.push(...(await serializerRows(quick)))
  }
  const redisSettings: Array<{ name: string; settings: string }> = []
  if (REDIS_SUITES.some(include)) {
    const redis = await runRedisSuites(mode, include, log)
    rows.push(...redis.rows)
    redisSettings.push(...redis.settings)
  }
  const httpInfo: string[] = []
  if (include(HTTP_SUITE)) {
    const http = await runHttpSuite(httpMode(quick), log)
    rows.push(...http.rows)
    httpInfo.push(...http.info)
  }

  console.log(renderTable(rows))
  console.log('')
  if (rows.some((r) => r.unit !== 'req/s')) {
    console.log(
      'ratio = median over rounds of (case time / baseline time, same round); lower is faster. ' +
        'p25-p75 = spread of those per-round ratios.',
    )
    console.log(
      'serializer rows come from bench/serializer.ts (best of its rounds, ratio = time vs its JSON baseline).',
    )
  }
  if (httpInfo.length > 0) {
    console.log(
      'http rows: median = requests/s; ratio = median over rounds of (case req/s / baseline req/s, same round); ' +
        'HIGHER is faster. p25-p75 = spread of those per-round ratios.',
    )
    for (const line of httpInfo) console.log(line)
  }
  const notes = rows.filter((r) => r.note !== undefined)
  if (notes.length > 0) {
    console.log('\nNotes:')
    for (const r of notes) console.log(`  ${r.suite} / ${r.name}: ${r.note}`)
  }
  if (engine.settings.length > 0) {
    console.log('\nSettings (L1 subjects):')
    for (const s of engine.settings) console.log(`  ${s.name}: ${s.settings}`)
  }
  if (redisSettings.length > 0) {
    console.log('\nSettings (Redis subjects):')
    for (const s of redisSettings) console.log(`  ${s.name}: ${s.settings}`)
  }
  const failed = rows.filter((r) => r.problems.length > 0)
  console.log(`\n${rows.length} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  if (failed.length > 0) {
    console.log('\n** CORRECTNESS FAILURES **')
    for (const r of failed) console.log(`  ${r.suite} / ${r.name}: ${r.problems.join('; ')}`)
    return 1
  }
  console.log('all correctness checks passed')
  return 0
}

// No top-level await, like bench/serializer.ts. Exit explicitly: some peers keep timers or handles open.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
