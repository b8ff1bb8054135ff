import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * Builds the package and uses it the way a user does: through `exports`, from ESM and from CommonJS,
 * in plain Node and in TypeScript (node16 resolution, both module kinds).
 */
const root = resolve(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>
}
const subpaths = Object.keys(pkg.exports).filter((p) => p !== './package.json')
let dir: string

function node(file: string): string {
  return execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 30_000 }).trim()
}

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'node_modules/tsup/dist/cli-default.js')], {
    cwd: root,
    stdio: 'pipe',
    timeout: 120_000,
  })
  dir = mkdtempSync(join(tmpdir(), 'tiercache-pkg-'))
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(root, join(dir, 'node_modules', 'tiercache'), 'dir')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
}, 180_000)

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const script = `
  const cache = createCache()
  let runs = 0
  const load = async () => { runs++; return { at: new Date(0), n: 1n } }
  Promise.all([cache.getOrSet('k', load), cache.getOrSet('k', load)]).then(async ([a, b]) => {
    console.log(JSON.stringify({ same: a === b, runs, date: a.at instanceof Date, big: typeof a.n }))
    await cache.close()
  })
`

describe('package exports', () => {
  it('works from ESM import', () => {
    writeFileSync(join(dir, 'esm.mjs'), `import { createCache } from 'tiercache'\n${script}`)
    expect(JSON.parse(node('esm.mjs'))).toEqual({ same: true, runs: 1, date: true, big: 'bigint' })
  })

  it('works from CommonJS require', () => {
    writeFileSync(join(dir, 'cjs.cjs'), `const { createCache } = require('tiercache')\n${script}`)
    expect(JSON.parse(node('cjs.cjs'))).toEqual({ same: true, runs: 1, date: true, big: 'bigint' })
  })

  it.each(subpaths)('subpath %s loads from both module systems', (sub) => {
    const spec = sub === '.' ? 'tiercache' : `tiercache/${sub.slice(2)}`
    writeFileSync(join(dir, 'sub.mjs'), `import * as m from '${spec}'; console.log(Object.keys(m).length)`)
    writeFileSync(join(dir, 'sub.cjs'), `console.log(Object.keys(require('${spec}')).length)`)
    const esm = Number(node('sub.mjs'))
    const cjs = Number(node('sub.cjs'))
    expect(esm).toBeGreaterThan(0)
    expect(cjs).toBe(esm)
  })

  it.each([
    ['tiercache', ['keyv', 'redis', 'memcached', 'express', 'koa', 'fastify', 'hono']],
    ['tiercache/express', ['keyv', 'redis', 'memcached', 'koa', 'fastify', 'hono']],
    ['tiercache/http', ['keyv', 'redis', 'memcached', 'express', 'koa', 'fastify', 'hono']],
    ['tiercache/hono', ['keyv', 'redis', 'memcached', 'express', 'koa', 'fastify']],
    ['tiercache/koa', ['keyv', 'redis', 'memcached', 'express', 'fastify', 'hono']],
    ['tiercache/fastify', ['keyv', 'redis', 'memcached', 'express', 'koa', 'hono']],
  ])('%s loads no code of other entries (%s)', (spec, forbidden) => {
    writeFileSync(
      join(dir, 'loaded.cjs'),
      `require('${spec}'); console.log(JSON.stringify(Object.keys(require.cache)))`,
    )
    const loaded = JSON.parse(node('loaded.cjs')) as string[]
    for (const name of forbidden as string[]) {
      expect(
        loaded.filter((f) => f.includes(`/node_modules/${name}/`) || f.includes(`/node_modules/@keyv/`)),
      ).toEqual([])
    }
  })

  it("the Hono entry's types never mention another framework", () => {
    for (const ext of ['d.ts', 'd.cts']) {
      const types = readFileSync(join(root, `dist/adapters/hono.${ext}`), 'utf8')
      expect(types).toContain('hono')
      expect(types).not.toMatch(/express|koa|fastify/i)
    }
  })

  it('type-checks for TypeScript users in ESM and CommonJS (node16 resolution)', () => {
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'node16',
          moduleResolution: 'node16',
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules/@types')],
        },
        files: ['use.mts', 'use.cts'],
      }),
    )
    const body = `
      const cache = createCache({ ttl: '5m' })
      const n: Promise<number> = cache.getOrSet('k', async (ctx) => { ctx.setTtl(10); return 1 })
      void n
    `
    writeFileSync(join(dir, 'use.mts'), `import { createCache } from 'tiercache'\n${body}`)
    writeFileSync(
      join(dir, 'use.cts'),
      `import tiercache = require('tiercache')\nconst { createCache } = tiercache\n${body}`,
    )
    const out = (() => {
      try {
        execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], {
          encoding: 'utf8',
          timeout: 60_000,
        })
        return ''
      } catch (err) {
        return String((err as { stdout?: string }).stdout ?? err)
      }
    })()
    expect(out).toBe('')
  })
})
