/**
 * The tiercache under test: the built package in dist/ (what `npm install tiercache` runs), loaded through
 * the same files its `exports` map names. `npm run bench` builds it first.
 *
 * Why not the TypeScript sources through tsx: tsx compiles with esbuild's `keepNames`, which wraps every
 * named closure the library creates at run time in a `__name()` call (an `Object.defineProperty`). The
 * build has none of them. On a Redis hit that was two per call and about 12% of the time at 50 in flight;
 * the peers, loaded from their own compiled JavaScript, never paid it.
 *
 * `BENCH_SOURCE=1` loads the sources instead (no build needed; figures then include that overhead). The
 * tests of the benchmark (test/bench*.test.ts) run that way, through vitest.config.ts.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type * as ExpressAdapter from '../adapters/express.js'
import type * as FastifyAdapter from '../adapters/fastify.js'
import type * as HonoAdapter from '../adapters/hono.js'
import type * as KoaAdapter from '../adapters/koa.js'
import type * as Index from '../src/index.js'
import type * as Redis from '../src/redis.js'

export const fromSource = process.env.BENCH_SOURCE === '1'

/** dist/ files by the source they are built from (the entries of tsup.config.ts). */
const BUILT = {
  '../src/index.js': '../dist/index.js',
  '../src/redis.js': '../dist/redis.js',
  '../adapters/express.js': '../dist/express.js',
  '../adapters/koa.js': '../dist/koa.js',
  '../adapters/fastify.js': '../dist/fastify.js',
  '../adapters/hono.js': '../dist/hono.js',
} as const

type Source = keyof typeof BUILT

/** What the run measures, for the report. */
export const subjectNote = fromSource
  ? 'tiercache from its TypeScript sources through tsx (BENCH_SOURCE=1): includes esbuild keepNames overhead'
  : 'tiercache from the built package (dist/, as installed)'

function built(source: Source): string {
  const url = new URL(BUILT[source], import.meta.url)
  const path = fileURLToPath(url)
  if (!existsSync(path)) {
    throw new Error(
      `bench: ${BUILT[source].slice(3)} is missing; run \`npm run build\` (or set BENCH_SOURCE=1)`,
    )
  }
  return url.href
}

/** Warns when a source file is newer than the build, which then measures old code. */
function checkFresh(): void {
  if (fromSource) return
  const root = new URL('..', import.meta.url)
  const builtAt = statSync(new URL('dist/index.js', root)).mtimeMs
  const newer: string[] = []
  const walk = (dir: URL, rel: string): void => {
    if (!existsSync(dir)) return
    for (const name of readdirSync(dir)) {
      const child = new URL(name, dir)
      if (statSync(child).isDirectory()) walk(new URL(`${name}/`, dir), `${rel}${name}/`)
      else if (name.endsWith('.ts') && statSync(child).mtimeMs > builtAt) newer.push(`${rel}${name}`)
    }
  }
  walk(new URL('src/', root), 'src/')
  walk(new URL('adapters/', root), 'adapters/')
  if (newer.length > 0) {
    process.stderr.write(
      `bench: warning: ${newer.slice(0, 3).join(', ')}${newer.length > 3 ? ' ...' : ''} changed after the build; \`npm run bench\` rebuilds\n`,
    )
  }
}

async function load<T>(source: Source): Promise<T> {
  return (await import(fromSource ? source : built(source))) as T
}

if (!fromSource) {
  built('../src/index.js')
  checkFresh()
}

export const tiercache = await load<typeof Index>('../src/index.js')
export const redis = (): Promise<typeof Redis> => load<typeof Redis>('../src/redis.js')

/** The framework adapters, loaded on demand (a server child loads only its own). */
export const adapters = {
  express: () => load<typeof ExpressAdapter>('../adapters/express.js'),
  koa: () => load<typeof KoaAdapter>('../adapters/koa.js'),
  fastify: () => load<typeof FastifyAdapter>('../adapters/fastify.js'),
  hono: () => load<typeof HonoAdapter>('../adapters/hono.js'),
}
