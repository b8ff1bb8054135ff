import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { defineConfig } from 'tsup'

// Entry points: one per subpath export in package.json.
const entry = {
  index: 'src/index.ts',
  http: 'src/http/index.ts',
  redis: 'src/redis.ts',
  memcached: 'src/memcached.ts',
  keyv: 'src/keyv.ts',
  testing: 'src/testing.ts',
  express: 'adapters/express.ts',
  koa: 'adapters/koa.ts',
  fastify: 'adapters/fastify.ts',
  hono: 'adapters/hono.ts',
}

/** Declarations come from `tsc` (TypeScript 7 has no JS API for tsup's dts step); `.d.cts` copies serve `require`. */
function emitDeclarations(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  })
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const p = join(dir, name)
      return statSync(p).isDirectory() ? walk(p) : [p]
    })
  for (const file of walk('dist')) {
    if (!file.endsWith('.d.ts')) continue
    const cts = readFileSync(file, 'utf8').replace(/(from\s+['"]\.{1,2}\/[^'"]*?)\.js(['"])/g, '$1.cjs$2')
    writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), cts)
  }
}

export default defineConfig({
  entry,
  format: ['esm', 'cjs'],
  target: 'node20',
  platform: 'node',
  splitting: true,
  sourcemap: true,
  clean: true,
  dts: false,
  outDir: 'dist',
  // Optional peers and runtime dependencies stay imports; only our own code is bundled.
  external: [
    'lru-cache',
    'p-limit',
    'keyv',
    '@keyv/redis',
    'redis',
    'memcached',
    'express',
    'koa',
    'fastify',
    'fastify-plugin',
    'hono',
    'vitest',
  ],
  onSuccess: async () => emitDeclarations(),
})
