import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '..')

it('the npm start demo shows a miss, a hit, coalescing and tag invalidation', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [resolve(root, 'node_modules/tsx/dist/cli.mjs'), 'examples/demo.ts', '--once'],
    { cwd: root, env: { ...process.env, PORT: '0' }, timeout: 30_000 },
  )
  const lines = stdout.split('\n')
  const line = (prefix: string) => lines.find((l) => l.startsWith(prefix)) ?? ''
  expect(line('1st request')).toContain('db calls so far: 2')
  expect(line('2nd request')).toContain('db calls so far: 2')
  expect(line('20 concurrent')).toContain('db calls so far: 3')
  expect(line('next request')).toContain('db calls so far: 4')
  expect(line('and a hit again')).toContain('db calls so far: 4')
  expect(stdout).toMatch(/stats: hits=\d+ misses=4 coalesced=19 loads=4/)
})
