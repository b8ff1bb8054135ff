import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import express, { type Request, type Response } from 'express'
import * as vitest from 'vitest'
import { cached } from '../../adapters/express.js'
import { httpConformance, type MakeServer, nativeOptions, type SpecRequest } from '../conformance/http.js'

function toSpec(req: Request): SpecRequest {
  const params: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.params ?? {}))
    params[k] = Array.isArray(v) ? v.join('/') : String(v)
  return { method: req.method, url: req.originalUrl, params, headers: req.headers }
}

const makeServer: MakeServer = async (routes, { cache, use }) => {
  const app = express()
  if (use !== undefined) app.use(cached({ ...nativeOptions<Request, Response>(use, toSpec), cache }))
  for (const r of routes) {
    const method = (r.method ?? 'GET').toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'
    const mw =
      r.options === false || r.options === undefined
        ? []
        : [cached({ ...nativeOptions(r.options, toSpec), cache })]
    app[method](r.path, ...mw, async (req: Request, res: Response) => {
      const out = await r.handler(toSpec(req))
      res.status(out.status ?? 200)
      for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v)
      if (out.json !== undefined) res.json(out.json)
      else if (out.text !== undefined) res.send(out.text)
      else if (out.bytes !== undefined) res.send(Buffer.from(out.bytes))
      else if (out.chunks !== undefined) {
        const chunks = out.chunks
        Readable.from(
          (async function* () {
            for (const c of chunks) {
              yield Buffer.from(c)
              await new Promise((resolve) => setImmediate(resolve))
            }
          })(),
        ).pipe(res)
      } else res.end()
    })
  }
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

httpConformance('express', makeServer, vitest)

vitest.describe('express adapter', () => {
  vitest.it('cached() validates options at setup', () => {
    vitest.expect(() => cached({ ttl: -1 })).toThrow(/ttl/)
    vitest.expect(typeof cached()).toBe('function')
  })
})
