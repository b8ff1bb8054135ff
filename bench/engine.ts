/**
 * Engine suites: L1 hit of `getOrSet` against baselines and peers, a skewed 10k-key trace, and stampedes.
 * Every row carries correctness checks (values, loader run counts); timing never fails a run, a wrong
 * value or loader count does.
 */
import { isDeepStrictEqual } from 'node:util'
import { LRUCache } from 'lru-cache'
import {
  type Candidate,
  compare,
  cpuNs,
  type Measured,
  median,
  mulberry32,
  nowNs,
  quantile,
  sleep,
} from './lib.js'
import { BATCH, type HitSubject, HOT, ITEM_ID, type Item, makeItem, peerFactories } from './peers.js'
import { tiercache } from './subject.js'

const { createCache } = tiercache

/** How much work each suite does. */
export interface Mode {
  name: 'full' | 'quick' | 'tiny'
  rounds: number
  warmupMs: number
  sampleMs: number
  traceKeys: number
  traceOps: number
  stampedeRounds: number
}

export const MODES: Record<Mode['name'], Mode> = {
  full: {
    name: 'full',
    rounds: 41,
    warmupMs: 300,
    sampleMs: 5,
    traceKeys: 10_000,
    traceOps: 100_000,
    stampedeRounds: 15,
  },
  quick: {
    name: 'quick',
    rounds: 7,
    warmupMs: 50,
    sampleMs: 3,
    traceKeys: 10_000,
    traceOps: 100_000,
    stampedeRounds: 3,
  },
  tiny: {
    name: 'tiny',
    rounds: 1,
    warmupMs: 0,
    sampleMs: 0.5,
    traceKeys: 1_000,
    traceOps: 10_000,
    stampedeRounds: 1,
  },
}

/** A speed target: the row's ratio must be at most (`<=`) or at least (`>=`) `value`. */
export interface Target {
  op: '<=' | '>='
  value: number
}

/** One line of the report. */
export interface Row {
  suite: string
  name: string
  /** Median time per operation (or per run, see `unit`), in nanoseconds. */
  ns: number
  unit: 'op' | 'run'
  /** Median per-round time ratio against `baseline` (below 1: faster than the baseline). */
  ratio: number
  ratioP25: number
  ratioP75: number
  baseline: string
  target?: Target
  /** Correctness problems; empty when every check passed. */
  problems: string[]
  note?: string
}

export interface SuiteInfo {
  name: string
  title: string
}

export const ENGINE_SUITES: SuiteInfo[] = [
  { name: 'l1', title: 'L1 hit, sequential `await getOrSet(hot, loader)`' },
  { name: 'l1-batch', title: `L1 hit, ${BATCH} concurrent calls awaited with Promise.all` },
  { name: 'trace', title: '10k-key trace, 90% hits, 80/20 skew' },
  { name: 'stampede', title: 'stampede with a 20 ms loader' },
]

export interface EngineResult {
  rows: Row[]
  /** Settings used for each L1 subject, for the legend. */
  settings: Array<{ name: string; settings: string }>
}

export function meets(ratio: number, t: Target): boolean {
  return t.op === '<=' ? ratio <= t.value : ratio >= t.value
}

/** Clock of the CPU-bound suites (L1, trace): process CPU time unless BENCH_CLOCK=wall. */
const clock: () => number = process.env.BENCH_CLOCK === 'wall' ? nowNs : cpuNs

const FLOOR = 'async Map get-or-set (floor)'
const TIERCACHE = 'tiercache getOrSet'

// -------------------------------------------------------------------------------------------------------
// L1 hit: baselines and tiercache (peers live in peers.ts)
// -------------------------------------------------------------------------------------------------------

/** The floor for any Promise-returning API: an async function over a Map. */
async function floorSubject(): Promise<HitSubject> {
  let loads = 0
  const map = new Map<string, Item>()
  const loader = async (): Promise<Item> => {
    loads++
    return makeItem()
  }
  async function getOrSet(key: string, load: () => Promise<Item>): Promise<Item> {
    let v = map.get(key)
    if (v === undefined) {
      v = await load()
      map.set(key, v)
    }
    return v
  }
  await getOrSet(HOT, loader)
  return {
    name: FLOOR,
    settings: 'async function: Map.get, on a miss await loader() and Map.set',
    kind: 'baseline',
    async seq(n) {
      let bad = 0
      for (let i = 0; i < n; i++) {
        const v = await getOrSet(HOT, loader)
        if (v.id !== ITEM_ID) bad++
      }
      return bad
    },
    async batch(n) {
      let bad = 0
      const ps: Promise<Item>[] = new Array(BATCH)
      for (let b = 0; b < n; b += BATCH) {
        for (let j = 0; j < BATCH; j++) ps[j] = getOrSet(HOT, loader)
        for (const v of await Promise.all(ps)) if (v.id !== ITEM_ID) bad++
      }
      return bad
    },
    one: () => getOrSet(HOT, loader),
    loads: () => loads,
    close: async () => {},
  }
}

/** Raw lru-cache, synchronous: what a hit costs without any Promise. */
async function lruSubject(): Promise<HitSubject> {
  let loads = 0
  const lru = new LRUCache<string, Item>({ max: 10_000, ttl: 3_600_000 })
  const fill = (): Item => {
    loads++
    const v = makeItem()
    lru.set(HOT, v)
    return v
  }
  fill()
  return {
    name: 'lru-cache get (sync)',
    settings: 'new LRUCache({ max: 10000, ttl: 1h }); lru.get(key) ?? load, no await',
    kind: 'baseline',
    async seq(n) {
      let bad = 0
      for (let i = 0; i < n; i++) {
        const v = lru.get(HOT) ?? fill()
        if (v.id !== ITEM_ID) bad++
      }
      return bad
    },
    async batch(n) {
      let bad = 0
      for (let i = 0; i < n; i++) {
        const v = lru.get(HOT) ?? fill()
        if (v.id !== ITEM_ID) bad++
      }
      return bad
    },
    one: async () => lru.get(HOT) ?? fill(),
    loads: () => loads,
    close: async () => {},
  }
}

async function tiercacheSubject(): Promise<HitSubject> {
  let loads = 0
  const cache = createCache({ ttl: '1h' })
  const loader = async (): Promise<Item> => {
    loads++
    return makeItem()
  }
  await cache.getOrSet(HOT, loader)
  return {
    name: TIERCACHE,
    settings:
      "createCache({ ttl: '1h' }), other options at their defaults (memoryTier(), jitter, earlyRefresh)",
    kind: 'tiercache',
    async seq(n) {
      let bad = 0
      for (let i = 0; i < n; i++) {
        const v = await cache.getOrSet(HOT, loader)
        if (v.id !== ITEM_ID) bad++
      }
      return bad
    },
    async batch(n) {
      let bad = 0
      const ps: Promise<Item>[] = new Array(BATCH)
      for (let b = 0; b < n; b += BATCH) {
        for (let j = 0; j < BATCH; j++) ps[j] = cache.getOrSet(HOT, loader)
        for (const v of await Promise.all(ps)) if (v.id !== ITEM_ID) bad++
      }
      return bad
    },
    one: () => cache.getOrSet(HOT, loader),
    loads: () => loads,
    close: () => cache.close(),
  }
}

interface Tracked {
  subject: HitSubject
  pkg: string
  bad: number
  errors: string[]
}

/** Wraps a subject's loop as a timed candidate; a throwing call is recorded, not fatal. */
function hitCandidate(t: Tracked, variant: 'seq' | 'batch'): Candidate {
  return {
    name: t.subject.name,
    async sample(ops) {
      const start = clock()
      try {
        t.bad += variant === 'seq' ? await t.subject.seq(ops) : await t.subject.batch(ops)
      } catch (err) {
        if (t.errors.length < 3) t.errors.push(`threw: ${String(err)}`)
      }
      return clock() - start
    },
  }
}

async function l1Suites(mode: Mode, variants: Array<'seq' | 'batch'>): Promise<EngineResult> {
  const tracked: Tracked[] = []
  const rows: Row[] = []
  const setup: Array<{ pkg: string; create: () => Promise<HitSubject> }> = [
    { pkg: 'floor', create: floorSubject },
    { pkg: 'lru-cache', create: lruSubject },
    { pkg: 'tiercache', create: tiercacheSubject },
    ...peerFactories().filter((p) => p.alt !== true || process.env.BENCH_PEER_VARIANTS === '1'),
  ]
  for (const s of setup) {
    try {
      tracked.push({ subject: await s.create(), pkg: s.pkg, bad: 0, errors: [] })
    } catch (err) {
      rows.push({
        suite: 'l1',
        name: s.pkg,
        ns: Number.NaN,
        unit: 'op',
        ratio: Number.NaN,
        ratioP25: Number.NaN,
        ratioP75: Number.NaN,
        baseline: FLOOR,
        problems: [`failed to set up: ${String(err)}`],
      })
    }
  }
  for (const variant of variants) {
    const suite = variant === 'seq' ? 'l1' : 'l1-batch'
    const list = variant === 'seq' ? tracked : tracked.filter((t) => t.pkg !== 'lru-cache')
    for (const t of list) {
      t.bad = 0
      t.errors = []
    }
    const measured = await compare(
      list.map((t) => hitCandidate(t, variant)),
      { baseline: FLOOR, rounds: mode.rounds, warmupMs: mode.warmupMs, sampleMs: mode.sampleMs },
    )
    const byName = new Map(measured.map((m) => [m.name, m]))
    for (const t of list) {
      const m = byName.get(t.subject.name)!
      const problems = [...t.errors]
      if (t.bad > 0) problems.push(`${t.bad} wrong values`)
      rows.push({
        suite,
        name: t.subject.name,
        ns: m.nsPerOp,
        unit: 'op',
        ratio: m.ratio,
        ratioP25: m.ratioP25,
        ratioP75: m.ratioP75,
        baseline: FLOOR,
        target: t.pkg === 'tiercache' && variant === 'seq' ? { op: '<=', value: 2 } : undefined,
        problems,
      })
    }
    rows.push(fastestPeerRow(suite, list, measured, variant === 'seq'))
  }
  // Final checks: one more value (deep equality) and the loader count (only the warm-up miss).
  for (const t of tracked) {
    const row = rows.find(
      (r) => r.suite === (variants[0] === 'seq' ? 'l1' : 'l1-batch') && r.name === t.subject.name,
    )
    try {
      const v = await t.subject.one()
      if (!isDeepStrictEqual(v, makeItem())) row?.problems.push('value differs from the loader value')
    } catch (err) {
      row?.problems.push(`threw: ${String(err)}`)
    }
    if (t.subject.loads() !== 1) row?.problems.push(`loader ran ${t.subject.loads()} times (expected 1)`)
    await t.subject.close().catch(() => {})
  }
  return { rows, settings: tracked.map((t) => ({ name: t.subject.name, settings: t.subject.settings })) }
}

/**
 * tiercache against the fastest peer configuration of this run: the median over rounds of
 * (tiercache ns/op) / (peer ns/op). "3x faster" is a ratio of at most 1/3.
 */
function fastestPeerRow(suite: string, list: Tracked[], measured: Measured[], withTarget: boolean): Row {
  const peerNames = new Set(list.filter((t) => t.subject.kind === 'peer').map((t) => t.subject.name))
  const fastest = measured
    .filter((m) => peerNames.has(m.name))
    .reduce<Measured | undefined>((a, m) => (a === undefined || m.nsPerOp < a.nsPerOp ? m : a), undefined)
  const tc = measured.find((m) => m.name === TIERCACHE)
  if (fastest === undefined || tc === undefined) {
    return {
      suite,
      name: 'tiercache vs fastest peer',
      ns: Number.NaN,
      unit: 'op',
      ratio: Number.NaN,
      ratioP25: Number.NaN,
      ratioP75: Number.NaN,
      baseline: 'fastest peer',
      problems: ['no peer or no tiercache measurement'],
    }
  }
  const ratios = tc.samples.map((v, r) => v / fastest.samples[r]!)
  return {
    suite,
    name: `tiercache vs fastest peer`,
    ns: tc.nsPerOp,
    unit: 'op',
    ratio: median(ratios),
    ratioP25: quantile(ratios, 0.25),
    ratioP75: quantile(ratios, 0.75),
    baseline: fastest.name,
    target: withTarget ? { op: '<=', value: 1 / 3 } : undefined,
    problems: [],
    note:
      median(ratios) <= 1
        ? `tiercache is ${(1 / median(ratios)).toFixed(1)}x faster than ${fastest.name}`
        : `tiercache is ${median(ratios).toFixed(1)}x slower than ${fastest.name}`,
  }
}

// -------------------------------------------------------------------------------------------------------
// Trace: 10k keys, 90% hits, 80/20 skew
// -------------------------------------------------------------------------------------------------------

export interface Trace {
  keys: string[]
  values: Array<{ id: number; key: string }>
  /** Key indices, in access order. */
  seq: Uint32Array
  /** Fraction of accesses going to the hottest 20% of keys. */
  hotShare: number
}

/**
 * A deterministic trace over `keyCount` keys and `ops` accesses: every key is touched (its first touch is
 * the only miss, so hits = 1 - keyCount/ops, 90% with the defaults), and exactly 80% of all accesses go to
 * the hottest 20% of keys, uniformly within each group, shuffled with a seeded PRNG.
 */
export function makeTrace(keyCount: number, ops: number, seed = 0x5eed): Trace {
  const rand = mulberry32(seed)
  const hot = Math.floor(keyCount * 0.2)
  const cold = keyCount - hot
  const hotAccesses = Math.round(ops * 0.8)
  const seq = new Uint32Array(ops)
  let n = 0
  for (let i = 0; i < keyCount; i++) seq[n++] = i
  for (let i = hot; i < hotAccesses; i++) seq[n++] = Math.floor(rand() * hot)
  while (n < ops) seq[n++] = hot + Math.floor(rand() * cold)
  for (let i = ops - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    const t = seq[i]!
    seq[i] = seq[j]!
    seq[j] = t
  }
  // Spread the hot keys over the key space, so that "hot" is not "low index".
  const perm = Array.from({ length: keyCount }, (_, i) => i)
  for (let i = keyCount - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    const t = perm[i]!
    perm[i] = perm[j]!
    perm[j] = t
  }
  let hotCount = 0
  for (let i = 0; i < ops; i++) {
    if (seq[i]! < hot) hotCount++
    seq[i] = perm[seq[i]!]!
  }
  const keys = Array.from({ length: keyCount }, (_, i) => `user:${i}:profile`)
  const values = keys.map((key, id) => ({ id, key }))
  return { keys, values, seq, hotShare: hotCount / ops }
}

async function traceSuite(mode: Mode): Promise<Row[]> {
  const trace = makeTrace(mode.traceKeys, mode.traceOps)
  const { keys, values, seq } = trace
  type V = (typeof values)[number]
  const expectedLoads = keys.length
  const hitRate = 1 - expectedLoads / seq.length

  const problems = { floor: [] as string[], tiercache: [] as string[] }
  const note = (list: string[], msg: string): void => {
    if (list.length < 3) list.push(msg)
  }

  // Loaders are created once per key and candidate, so the timed loops allocate nothing of their own.
  const floorCount = { n: 0 }
  const floorLoaders = values.map((v) => (): V => {
    floorCount.n++
    return v
  })
  const tcCount = { n: 0 }
  const tcLoaders = values.map((v) => (): V => {
    tcCount.n++
    return v
  })

  const floor: Candidate = {
    name: FLOOR,
    fixedOps: seq.length,
    async sample() {
      const map = new Map<string, V>()
      async function getOrSet(key: string, load: () => V | Promise<V>): Promise<V> {
        let v = map.get(key)
        if (v === undefined) {
          v = await load()
          map.set(key, v)
        }
        return v
      }
      floorCount.n = 0
      let bad = 0
      const start = clock()
      for (let i = 0; i < seq.length; i++) {
        const k = seq[i]!
        const v = await getOrSet(keys[k]!, floorLoaders[k]!)
        if (v !== values[k]) bad++
      }
      const ns = clock() - start
      if (bad > 0) note(problems.floor, `${bad} wrong values`)
      if (floorCount.n !== expectedLoads)
        note(problems.floor, `loader ran ${floorCount.n} times (expected ${expectedLoads})`)
      return ns
    },
  }
  const tiercache: Candidate = {
    name: TIERCACHE,
    fixedOps: seq.length,
    async sample() {
      const cache = createCache({ ttl: '1h' })
      tcCount.n = 0
      let bad = 0
      const start = clock()
      try {
        for (let i = 0; i < seq.length; i++) {
          const k = seq[i]!
          const v = await cache.getOrSet(keys[k]!, tcLoaders[k]!)
          if (v !== values[k]) bad++
        }
      } catch (err) {
        note(problems.tiercache, `threw: ${String(err)}`)
      }
      const ns = clock() - start
      await cache.close()
      if (bad > 0) note(problems.tiercache, `${bad} wrong values`)
      if (tcCount.n !== expectedLoads)
        note(problems.tiercache, `loader ran ${tcCount.n} times (expected ${expectedLoads})`)
      return ns
    },
  }
  const measured = await compare([floor, tiercache], {
    baseline: FLOOR,
    rounds: mode.rounds,
    warmupMs: mode.warmupMs,
    sampleMs: mode.sampleMs,
  })
  const info = `${keys.length} keys, ${seq.length} ops, ${(hitRate * 100).toFixed(0)}% hits, ${(trace.hotShare * 100).toFixed(0)}% to hottest 20%`
  return measured.map((m) => ({
    suite: 'trace',
    name: m.name,
    ns: m.nsPerOp,
    unit: 'op',
    ratio: m.ratio,
    ratioP25: m.ratioP25,
    ratioP75: m.ratioP75,
    baseline: FLOOR,
    target: m.name === TIERCACHE ? { op: '<=', value: 1.5 } : undefined,
    problems: m.name === TIERCACHE ? problems.tiercache : problems.floor,
    note: m.name === TIERCACHE ? info : undefined,
  }))
}

// -------------------------------------------------------------------------------------------------------
// Stampede: many concurrent callers of cold keys, a 20 ms loader
// -------------------------------------------------------------------------------------------------------

const LOADER_MS = 20
const MAP_INFLIGHT = 'Map + in-flight promise'

type GetOrSet = (key: string, loader: () => Promise<string>) => Promise<string>

/** The baseline: a Map of values plus a Map of in-flight promises, removed when they settle. */
function mapInflight(): GetOrSet {
  const values = new Map<string, string>()
  const inflight = new Map<string, Promise<string>>()
  return (key, loader) => {
    const v = values.get(key)
    if (v !== undefined) return Promise.resolve(v)
    let p = inflight.get(key)
    if (p === undefined) {
      p = (async () => {
        try {
          const loaded = await loader()
          values.set(key, loaded)
          return loaded
        } finally {
          inflight.delete(key)
        }
      })()
      inflight.set(key, p)
    }
    return p
  }
}

/**
 * One stampede: `callers` calls on each of `keyCount` cold keys, issued round-robin without awaiting,
 * then awaited together. Returns elapsed ns and records wrong values and loader counts.
 */
async function stampede(
  getOrSet: GetOrSet,
  keyCount: number,
  callers: number,
  problems: string[],
  round: number,
): Promise<number> {
  const keys = Array.from({ length: keyCount }, (_, i) => `stampede:${round}:${i}`)
  const runs = new Map<string, number>()
  const loaders = keys.map((k) => async (): Promise<string> => {
    runs.set(k, (runs.get(k) ?? 0) + 1)
    await sleep(LOADER_MS)
    return `value of ${k}`
  })
  const calls: Promise<string>[] = new Array(keyCount * callers)
  const start = nowNs()
  let n = 0
  for (let c = 0; c < callers; c++) {
    for (let i = 0; i < keyCount; i++) calls[n++] = getOrSet(keys[i]!, loaders[i]!)
  }
  const results = await Promise.allSettled(calls)
  const ns = nowNs() - start
  let bad = 0
  let rejected = 0
  results.forEach((r, j) => {
    if (r.status === 'rejected') rejected++
    else if (r.value !== `value of ${keys[j % keyCount]}`) bad++
  })
  const totalRuns = [...runs.values()].reduce((a, b) => a + b, 0)
  const add = (msg: string): void => {
    if (problems.length < 3) problems.push(msg)
  }
  if (rejected > 0) add(`${rejected} calls rejected`)
  if (bad > 0) add(`${bad} wrong values`)
  if (totalRuns !== keyCount || runs.size !== keyCount)
    add(`loader ran ${totalRuns} times over ${runs.size} keys (expected ${keyCount})`)
  return ns
}

async function stampedeSuite(mode: Mode): Promise<Row[]> {
  const rows: Row[] = []
  const scenarios = [
    { label: '1 key x 1000 callers', keys: 1, callers: 1000, target: 1.1 },
    { label: '100 keys x 100 callers', keys: 100, callers: 100, target: 1.15 },
  ]
  for (const s of scenarios) {
    const problems = { base: [] as string[], tc: [] as string[] }
    let round = 0
    const base: Candidate = {
      name: `${MAP_INFLIGHT}, ${s.label}`,
      fixedOps: 1,
      sample: () => stampede(mapInflight(), s.keys, s.callers, problems.base, round++),
    }
    const tc: Candidate = {
      name: `${TIERCACHE}, ${s.label}`,
      fixedOps: 1,
      async sample() {
        const cache = createCache({ ttl: '1h' })
        try {
          return await stampede((k, l) => cache.getOrSet(k, l), s.keys, s.callers, problems.tc, round++)
        } finally {
          await cache.close()
        }
      },
    }
    const measured = await compare([base, tc], {
      baseline: base.name,
      rounds: mode.stampedeRounds,
      warmupMs: mode.warmupMs,
      sampleMs: mode.sampleMs,
    })
    for (const m of measured) {
      const isTc = m.name === tc.name
      rows.push({
        suite: 'stampede',
        name: m.name,
        ns: m.nsPerOp,
        unit: 'run',
        ratio: m.ratio,
        ratioP25: m.ratioP25,
        ratioP75: m.ratioP75,
        baseline: MAP_INFLIGHT,
        target: isTc ? { op: '<=', value: s.target } : undefined,
        problems: isTc ? problems.tc : problems.base,
        note: isTc ? `loader ${LOADER_MS} ms; loader runs must be ${s.keys}` : undefined,
      })
    }
  }
  return rows
}

// -------------------------------------------------------------------------------------------------------

/** Runs the engine suites that `include` accepts (all by default). */
export async function runEngineSuites(
  mode: Mode,
  include: (suite: string) => boolean = () => true,
  log: (line: string) => void = () => {},
): Promise<EngineResult> {
  const result: EngineResult = { rows: [], settings: [] }
  const variants = (['seq', 'batch'] as const).filter((v) => include(v === 'seq' ? 'l1' : 'l1-batch'))
  if (variants.length > 0) {
    log(`running ${variants.map((v) => (v === 'seq' ? 'l1' : 'l1-batch')).join(', ')} ...`)
    const l1 = await l1Suites(mode, [...variants])
    result.rows.push(...l1.rows)
    result.settings.push(...l1.settings)
  }
  if (include('trace')) {
    log('running trace ...')
    result.rows.push(...(await traceSuite(mode)))
  }
  if (include('stampede')) {
    log('running stampede ...')
    result.rows.push(...(await stampedeSuite(mode)))
  }
  return result
}

/** The suites with very few iterations: for tests that check values and loader counts, never timing. */
export function runTiny(include?: (suite: string) => boolean): Promise<EngineResult> {
  return runEngineSuites(MODES.tiny, include)
}
