/**
 * `npm start`: a small Express app whose slow parts are cached on the embedded memory default: a
 * service method (decorator), a memoized function (`wrap`) and whole responses (`cached()` on the
 * routes). It serves on PORT (default 3000), drives a few requests itself to show misses turning into
 * hits (with each response's `Cache-Status`), then keeps serving until Ctrl-C. `npm start -- --once`
 * exits after the self-drive.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
import { cached } from '../adapters/express.js'
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

// The whole response is cached too. The route names no tags: the product's tags reach the response
// because the handler read the product through the cache, so invalidating `product:42` drops both.
app.get('/products/:id', cached({ ttl: 30, cache }), async (req, res) => {
  const id = req.params.id
  const product = await catalog.getProduct(id)
  const rate = await getExchangeRate('EUR', 'USD')
  res.json({ ...product, priceUsd: Math.round(product.price * rate.rate * 100) / 100 })
})

// A slow report that may be a little old: after its 1 s ttl, requests get the stale copy at once while a
// copy of the first one refreshes it in the background (stale-while-revalidate, backgroundRevalidate).
let reportRuns = 0
const reportCache = cached({ ttl: 1, staleWhileRevalidate: 60, backgroundRevalidate: true, cache })
app.get('/report', reportCache, async (_req, res) => {
  reportRuns++
  await sleep(400)
  res.json({ report: reportRuns, builtAt: new Date().toISOString() })
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
  console.log(
    `  GET  ${base}/report                   (1 s ttl, then stale while it refreshes in the background)`,
  )
  console.log(`  GET  ${base}/stats\n`)

  const timed = async (label: string, method = 'GET', path = '/products/42') => {
    const t0 = performance.now()
    const res = await fetch(base + path, { method })
    await res.arrayBuffer()
    const ms = performance.now() - t0
    const status = res.headers.get('cache-status') ?? '-'
    console.log(
      `${label.padEnd(40)} ${method.padEnd(4)} ${path.padEnd(26)} ${ms.toFixed(1).padStart(7)} ms  db calls: ${dbCalls}  Cache-Status: ${status}`,
    )
  }
  await timed('1st request: miss, loads from the db')
  await timed('2nd request: hit, served from memory')
  const statuses = await Promise.all(
    Array.from({ length: 20 }, () =>
      fetch(`${base}/products/7`).then(async (r) => {
        await r.arrayBuffer()
        return r.headers.get('cache-status') ?? ''
      }),
    ),
  )
  const collapsed = statuses.filter((v) => v.includes('collapsed')).length
  console.log(
    `${'20 concurrent requests for /products/7'.padEnd(40)} -> one handler run (db calls: ${dbCalls}); ${collapsed} waited for it (Cache-Status: ...; collapsed)`,
  )
  await timed('invalidate the tag product:42', 'POST', '/products/42/invalidate')
  await timed('next request: miss again, reloads')
  await timed('and a hit again')
  await timed('report: miss, built in 400 ms', 'GET', '/report')
  await timed('report: hit', 'GET', '/report')
  await sleep(1100)
  // past its ttl: the stale copy at once, and the handler runs in the background
  await timed('report after its ttl: stale, at once', 'GET', '/report')
  await sleep(600)
  await timed('report: refreshed in background: a hit', 'GET', '/report')
  console.log(`${'report builds so far'.padEnd(40)} -> ${reportRuns}`)
  const s = cache.stats()
  console.log(`\nstats: hits=${s.hits} misses=${s.misses} coalesced=${s.coalesced} loads=${s.loads}`)

  if (process.argv.includes('--once')) {
    server.close()
    await cache.close()
  } else {
    console.log('\nServing; press Ctrl-C to stop.')
  }
}
