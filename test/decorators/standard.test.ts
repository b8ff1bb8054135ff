/**
 * `@cached` as a TC39 standard decorator (TypeScript's default mode).
 *
 * Vitest transforms test files with Oxc, which does not lower standard decorators (and Node 20 cannot
 * run them), so the decorated classes live in `standard/services.ts` (type-checked by the root
 * tsconfig as standard decorators) and are compiled here with esbuild, which implements the TC39
 * decorators proposal. The compiled module's relative imports are pointed at the same source files,
 * so it shares `src/` module instances (and the default cache) with this test.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'
import { afterAll, expect, it } from 'vitest'
import type { MakeServices } from './services.js'
import { decoratorSuite } from './suite.js'

const here = dirname(fileURLToPath(import.meta.url))
let compiled: Promise<MakeServices> | undefined
let tmp: string | undefined

async function compile(): Promise<MakeServices> {
  const file = join(here, 'standard', 'services.ts')
  const result = await transform(await readFile(file, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: 'es2022',
    sourcefile: file,
    // As tsx does. Without it esbuild renames a decorated class that refers to itself
    // (`class _ProductService`), which changes `constructor.name` and so the default keys.
    keepNames: true,
    tsconfigRaw: { compilerOptions: { experimentalDecorators: false } },
  })
  if (!result.code.includes('__decorateElement')) throw new Error('esbuild did not emit standard decorators')
  const code = result.code.replace(
    /(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.\.?\/[^'"]+)\2/g,
    (_, pre, q, spec) => {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts')
      return `${pre}${q}${target}${q}`
    },
  )
  tmp = await mkdtemp(join(tmpdir(), 'tiercache-decorators-'))
  // `.ts` so that Vitest runs it through its own module graph instead of handing it to Node.
  const out = join(tmp, 'services.ts')
  await writeFile(out, code)
  const mod: { makeServices: MakeServices } = await import(/* @vite-ignore */ out)
  return mod.makeServices
}

afterAll(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true })
})

decoratorSuite('standard', () => (compiled ??= compile()))

it('the compiled fixture shares src/ with this test (one default cache)', async () => {
  const fromFixture = await import(/* @vite-ignore */ join(here, '..', '..', 'src', 'default.ts'))
  const { defaultCache } = await import('../../src/index.js')
  expect(fromFixture.defaultCache()).toBe(defaultCache())
})
