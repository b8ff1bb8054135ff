/** The HTTP conformance server of the Express adapter, shared by the Express 5 and Express 4 runs. */
import type { Express, NextFunction, Request, Response } from 'express'
import { cached } from '../../adapters/express.js'
import { type MakeServer, nativeOptions, type SpecRequest } from '../conformance/http.js'
import { listening } from './listening.js'
import { slowStream } from './slow-stream.js'

function toSpec(req: Request): SpecRequest {
  const params: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.params ?? {}))
    params[k] = Array.isArray(v) ? v.join('/') : String(v)
  return { method: req.method, url: req.originalUrl, params, headers: req.headers }
}

/**
 * The conformance server on an Express app made by `createApp`: Express 5, or Express 4 (the `express4`
 * alias) to show the adapter runs on both.
 */
export const expressServer =
  (createApp: () => Express): MakeServer =>
  async (routes, { cache, use }) => {
    const app = createApp()
    if (use !== undefined) app.use(cached({ ...nativeOptions<Request, Response>(use, toSpec), cache }))
    for (const r of routes) {
      const method = (r.method ?? 'GET').toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'
      const mw =
        r.options === false || r.options === undefined
          ? []
          : [cached({ ...nativeOptions(r.options, toSpec), cache })]
      // A rejection goes to next() by hand: Express 4 does not catch promises (Express 5 would).
      app[method](r.path, ...mw, (req: Request, res: Response, next: NextFunction) => {
        respond(req, res).catch(next)
      })
      const respond = async (req: Request, res: Response): Promise<void> => {
        const out = await r.handler(toSpec(req))
        res.status(out.status ?? 200)
        for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v)
        if (out.json !== undefined) res.json(out.json)
        else if (out.text !== undefined) res.send(out.text)
        else if (out.bytes !== undefined) res.send(Buffer.from(out.bytes))
        else if (out.chunks !== undefined) slowStream(out.chunks).pipe(res)
        else res.end()
      }
    }
    return listening(app.listen(0, '127.0.0.1'))
  }
