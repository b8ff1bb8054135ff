import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '..')

it('the npm start demo shows misses, hits, coalescing, tag invalidation and stale-while-revalidate, with Cache-Status', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [resolve(root, 'node_modules/tsx/dist/cli.mjs'), 'examples/demo.ts', '--once'],
    { cwd: root, env: { ...process.env, PORT: '0' }, timeout: 30_000 },
  )
  const lines = stdout.split('\n')
  const line = (prefix: string) => lines.find((l) => l.startsWith(prefix)) ?? ''
  expect(line('1st request')).toMatch(/db calls: 2 .*Cache-Status: tiercache; fwd=uri-miss; stored$/)
  expect(line('2nd request')).toMatch(/db calls: 2 .*Cache-Status: tiercache; hit; ttl=\d+$/)
  expect(line('20 concurrent')).toContain('one handler run (db calls: 3); 19 waited for it')
  // the route named no tags: the product's tag reached the response through the service read
  expect(line('next request')).toMatch(/db calls: 4 .*fwd=uri-miss; stored$/)
  expect(line('and a hit again')).toMatch(/db calls: 4 .*; hit; ttl=\d+$/)
  expect(line('report: miss')).toContain('fwd=uri-miss; stored')
  expect(line('report: hit')).toMatch(/; hit; ttl=\d+$/)
  expect(line('report after its ttl')).toMatch(/; hit; ttl=-\d+; detail=stale-while-revalidate$/)
  expect(line('report: refreshed')).toMatch(/; hit; ttl=\d+$/)
  expect(line('report builds so far')).toContain('-> 2')
  expect(stdout).toMatch(/stats: hits=\d+ misses=\d+ coalesced=19 loads=\d+/)
})
