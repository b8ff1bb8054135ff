import { request as httpRequest } from 'node:http'
import { createRequire } from 'node:module'
import type { Express } from 'express'
import * as vitest from 'vitest'
import { cached } from '../../adapters/express.js'
import { createCache } from '../../src/index.js'
import { httpConformance } from '../conformance/http.js'
import { expressServer } from './express-server.js'
import { type ListeningServer, listening } from './listening.js'

// Express 4 (devDependency alias `express4`, which ships no types of its own): the same adapter and the
// same conformance suite as Express 5, over real HTTP.
const express4 = createRequire(import.meta.url)('express4') as () => Express

vitest.describe('express 4', () => {
  vitest.it('is the 4.x line', () => {
    const version = (createRequire(import.meta.url)('express4/package.json') as { version: string }).version
    vitest.expect(version.split('.')[0]).toBe('4')
  })
})

httpConformance('express 4', expressServer(express4), vitest)

vitest.describe('express 4 adapter', () => {
  let server: ListeningServer | undefined
  vitest.afterEach(async () => {
    await server?.close()
    server = undefined
  })

  vitest.it('keys by host and port without the deprecated req.host', async () => {
    const written: string[] = []
    const spy = vitest.vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })
    let runs = 0
    const app = express4()
    const cache = createCache()
    app.get('/page', cached({ ttl: 60, cache }), (req, res) => {
      runs++
      res.json({ host: req.headers.host })
    })
    server = await listening(app.listen(0, '127.0.0.1'))
    const port = Number(new URL(server.url).port)
    const get = (host: string) => request(port, '/page', host)
    try {
      const a1 = await get('example.test:8001')
      const a2 = await get('example.test:8001')
      const b1 = await get('example.test:8002')
      vitest.expect([a1.status, a2.status, b1.status]).toEqual(['fwd=uri-miss', 'hit', 'fwd=uri-miss'])
      vitest.expect(b1.body).toBe('{"host":"example.test:8002"}')
      vitest.expect(runs).toBe(2)
    } finally {
      spy.mockRestore()
      await cache.close()
    }
    vitest.expect(written.join('')).not.toMatch(/deprecated/)
  })
})

/** One GET with a given Host header; the Cache-Status detail after `tiercache; ` and the body. */
function request(port: number, path: string, host: string): Promise<{ status: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ port, host: '127.0.0.1', path, headers: { host } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => {
        const cs = String(res.headers['cache-status'] ?? '')
        resolve({
          status: cs
            .replace(/^tiercache; /, '')
            .split(';')[0]!
            .trim(),
          body,
        })
      })
    })
    req.on('error', reject)
    req.end()
  })
}
