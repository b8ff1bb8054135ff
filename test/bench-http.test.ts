import { describe, expect, it } from 'vitest'
import { cacheStatus, isHit, probe, spawnServer } from '../bench/http.js'
import { BODY_BYTES, BODY_TEXT, FRAMEWORKS } from '../bench/http-server.js'

// The servers of the `http` bench suite, checked for what the suite relies on: the exact 1 KB body, a
// hit from the second request on, and a handler that ran once. No timing: the suite itself measures.
describe('bench http servers', () => {
  it('the item body is exactly 1 KB of JSON', () => {
    expect(Buffer.byteLength(BODY_TEXT)).toBe(BODY_BYTES)
    expect(JSON.parse(BODY_TEXT)).toMatchObject({ id: 42 })
  })

  it('reads Cache-Status hits', () => {
    expect(isHit('tiercache; hit; ttl=60')).toBe(true)
    expect(isHit('tiercache; fwd=uri-miss; stored')).toBe(false)
    expect(isHit('other; hit, tiercache; fwd=stale')).toBe(false)
  })

  const servers = [...FRAMEWORKS.map((f) => [f, 'cached'] as const), ['koa', 'cached-app'] as const]
  for (const [framework, variant] of servers) {
    it(`${framework} ${variant}: serves the same body from the cache, handler runs once`, async () => {
      const server = await spawnServer(framework, variant)
      try {
        const responses = []
        for (let i = 0; i < 3; i++) responses.push(await probe(server.url))
        for (const r of responses) {
          expect(r.status).toBe(200)
          expect(r.body).toBe(BODY_TEXT)
          expect(String(r.headers['content-type'])).toMatch(/^application\/json/)
        }
        expect(cacheStatus(responses[0]!)).toMatch(/fwd=uri-miss; stored/)
        expect(isHit(cacheStatus(responses[1]!))).toBe(true)
        expect(isHit(cacheStatus(responses[2]!))).toBe(true)
        expect(await server.count()).toBe(1)
      } finally {
        await server.close()
      }
    }, 20_000)
  }
})
