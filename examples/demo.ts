/**
 * `npm start`: a small Express app whose slow parts are cached on the embedded memory default.
 * It serves on PORT (default 3000), drives a few requests itself to show misses turning into hits,
 * then keeps serving until Ctrl-C. `npm start -- --once` exits after the self-drive.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
import { createCache } from '../src/index.js'

const cache = createCache({ ttl: 30, staleWhileRevalidate: 60 })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// A slow "database".
let dbCalls = 0
async function loadProduct(
  id: string,
): Promise<{ id: string; name: string; price: number; loadedAt: string }> {
  dbCalls++
  await sleep(300)
  return { id, name: `Product ${id}`, price: 10 + Number(id), loadedAt: new Date().toISOString() }
}

// A service whose method is cached with a decorator: key = class + method + arguments.
class CatalogService {
  @cache.cached({ ttl: 60, tags: (id: string) => [`product:${id}`] })
  async getProduct(id: string) {
    return loadProduct(id)
  }
}
const catalog = new CatalogService()

// A function memoized with `wrap`: same arguments share one cached result.
const getExchangeRate = cache.wrap(
  async (from: string, to: string) => {
    dbCalls++
    await sleep(200)
    return { from, to, rate: from === to ? 1 : 1.08 }
  },
  { name: 'getExchangeRate', ttl: 60 },
)

const app = express()

app.get('/products/:id', async (req, res) => {
  const id = req.params.id
  const product = await catalog.getProduct(id)
  const rate = await getExchangeRate('EUR', 'USD')
  res.json({ ...product, priceUsd: Math.round(product.price * rate.rate * 100) / 100 })
})

app.post('/products/:id/invalidate', async (req, res) => {
  await cache.invalidateTags([`product:${req.params.id}`])
  res.json({ invalidated: `product:${req.params.id}` })
})

app.get('/stats', (_req, res) => {
  res.json({ ...cache.stats(), dbCalls })
})

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => void drive())
server.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EADDRINUSE' || process.env.PORT !== undefined) throw err
  console.log('port 3000 is busy; using a free port')
  server.listen(0, '127.0.0.1')
})

async function drive(): Promise<void> {
  const { port } = server.address() as AddressInfo
  const base = `http://127.0.0.1:${port}`
  console.log(`tiercache demo on ${base}`)
  console.log(`  GET  ${base}/products/42              (slow the first time, then cached)`)
  console.log(`  POST ${base}/products/42/invalidate   (drops it by tag)`)
  console.log(`  GET  ${base}/stats\n`)

  const timed = async (label: string, method = 'GET', path = '/products/42') => {
    const t0 = performance.now()
    const res = await fetch(base + path, { method })
    await res.arrayBuffer()
    const ms = performance.now() - t0
    console.log(
      `${label.padEnd(44)} ${method} ${path.padEnd(26)} ${ms.toFixed(1).padStart(7)} ms  db calls so far: ${dbCalls}`,
    )
  }
  await timed('1st request: miss, loads from the db')
  await timed('2nd request: hit, served from memory')
  await Promise.all(
    Array.from({ length: 20 }, () => fetch(`${base}/products/7`).then((r) => r.arrayBuffer())),
  )
  console.log(
    `${'20 concurrent requests for /products/7'.padEnd(44)} -> one load (db calls so far: ${dbCalls})`,
  )
  await timed('invalidate the tag product:42', 'POST', '/products/42/invalidate')
  await timed('next request: miss again, reloads')
  await timed('and a hit again')
  const s = cache.stats()
  console.log(`\nstats: hits=${s.hits} misses=${s.misses} coalesced=${s.coalesced} loads=${s.loads}`)

  if (process.argv.includes('--once')) {
    server.close()
    await cache.close()
  } else {
    console.log('\nServing; press Ctrl-C to stop.')
  }
}
