/**
 * Type tests of the Express `cached()`: a handler after it keeps the route parameters Express reads
 * from the path, and the middleware fits wherever Express takes a `RequestHandler`.
 */
import express, { type Request, type RequestHandler, type Response } from 'express'
import { describe, expectTypeOf, it } from 'vitest'
import { cached } from '../../adapters/express.js'

describe('express cached()', () => {
  it('keeps the path parameters of the route for the handler after it', () => {
    const app = express()
    app.get('/products/:id', cached({ ttl: 60 }), (req, res) => {
      expectTypeOf(req.params.id).toEqualTypeOf<string>()
      res.end()
    })
    app.get('/a/:x/:y', cached(), (req, res) => {
      expectTypeOf(req.params).toEqualTypeOf<{ x: string } & { y: string }>()
      res.end()
    })
    express.Router().get('/items/:sku', cached(), (req, res) => {
      expectTypeOf(req.params.sku).toEqualTypeOf<string>()
      res.end()
    })
  })

  it('is accepted by app.use, in handler arrays and as a RequestHandler; handlers may annotate their types', () => {
    const app = express()
    app.use(cached())
    app.use('/api', cached({ ttl: 1 }))
    const handler: RequestHandler = cached()
    app.get('/d', [cached(), handler], (_req: Request, res: Response) => {
      res.end()
    })
    app.post('/c', cached(), (req: Request<{ id: string }, unknown, { name: string }>, res: Response) => {
      expectTypeOf(req.body.name).toEqualTypeOf<string>()
      res.end()
    })
  })
})
