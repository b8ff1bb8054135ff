/**
 * One HTTP server of the `http` bench suite, meant to run in its own process (so that the load generator
 * and the server do not share an event loop):
 *
 *   node --import tsx bench/http-server.ts <server> <variant>
 *
 *   server   node | express | koa | fastify | hono
 *   variant  bare         the route handler returns the 1 KB item (framework JSON serialization)
 *            cached       the same route behind `cached({ ttl: 60 })`
 *            cached-slow  the same, with a handler that sleeps 5 ms first
 *            cached-app   koa only: `app.use(cached({ ttl: 60 }))` before the router, mounted as koa-cash is
 *            peer         the same route behind apicache (express) or koa-cash (koa)
 *            floor        a middleware mounted where `cached()` is (before the handler; a Fastify
 *                         preHandler hook) answers prepared bytes with a cache hit's headers straight
 *                         through Node's response (no lookup, no framework reply path): the most any
 *                         cache mounted there could reach
 *
 * The `node` server (variant `bare` only) is plain `node:http` writing the same bytes, prepared once.
 * When listening, the child prints one line `{"port":N}` on stdout. Through the IPC channel (when spawned
 * with one), the message `'count'` is answered with `{ count, cpuMicros }`: how many times the route handler
 * ran, and the CPU time (user + system) this process has used so far, in microseconds.
 * `'exit'`, SIGTERM, SIGINT or the parent going away end the process with `process.exit` (so that
 * `--cpu-prof` gets to write its profile).
 *
 * Importing this module only defines the constants below; frameworks are loaded when a server starts.
 */

import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { adapters } from './subject.js'

export const FRAMEWORKS = ['express', 'koa', 'fastify', 'hono'] as const
export type Framework = (typeof FRAMEWORKS)[number]
export type ServerKind = 'node' | Framework
export const VARIANTS = ['bare', 'cached', 'cached-slow', 'cached-app', 'peer', 'floor'] as const
export type Variant = (typeof VARIANTS)[number]

/** The route every framework registers, and the URL the load generator requests. */
export const ROUTE = '/products/:id'
export const REQUEST_PATH = '/products/42'
/** Handler delay of the `cached-slow` variant. */
export const SLOW_MS = 5
export const BODY_BYTES = 1024

export interface Item {
  id: number
  name: string
  price: number
  currency: string
  stock: number
  tags: string[]
  description: string
}

/** The item every handler returns; its `JSON.stringify` is exactly `BODY_BYTES` bytes (ASCII). */
export const ITEM: Item = makeItem()
/** What every response body must be, byte for byte. */
export const BODY_TEXT = JSON.stringify(ITEM)

function makeItem(): Item {
  const item: Item = {
    id: 42,
    name: 'Product 42',
    price: 1999,
    currency: 'EUR',
    stock: 17,
    tags: ['bench', 'http', 'cache', 'json'],
    description: '',
  }
  const words = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt. '
  const missing = BODY_BYTES - JSON.stringify(item).length
  item.description = words.repeat(Math.ceil(missing / words.length)).slice(0, missing)
  return item
}

/** The body and headers of the `floor` variant: those of a tiercache hit on this route. */
const FLOOR_BODY = Buffer.from(BODY_TEXT)
const FLOOR_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json; charset=utf-8',
  'content-length': String(FLOOR_BODY.length),
  etag: '"floor-0000000000000000000000"',
  age: '0',
  'cache-status': 'tiercache; hit; ttl=60',
}

/** Whether `kind` has `variant` (node has only `bare`; peers exist for express and koa). */
export function hasVariant(kind: ServerKind, variant: Variant): boolean {
  if (kind === 'node') return variant === 'bare'
  if (variant === 'peer') return kind === 'express' || kind === 'koa'
  if (variant === 'cached-app') return kind === 'koa'
  return true
}

let handled = 0
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const require = createRequire(import.meta.url)

/** Starts the server and resolves with its port (on 127.0.0.1). */
export async function startServer(kind: ServerKind, variant: Variant): Promise<number> {
  if (!hasVariant(kind, variant)) throw new Error(`${kind} has no ${variant} variant`)
  switch (kind) {
    case 'node':
      return listen(nodeServer())
    case 'express':
      return listen(await expressServer(variant))
    case 'koa':
      return listen(await koaServer(variant))
    case 'fastify':
      return fastifyServer(variant)
    case 'hono':
      return honoServer(variant)
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

/** The ceiling: `node:http` writing prepared bytes, no routing, no serialization. */
function nodeServer(): Server {
  const body = Buffer.from(BODY_TEXT)
  const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) }
  return createServer((_req, res) => {
    handled++
    res.writeHead(200, headers)
    res.end(body)
  })
}

async function expressServer(variant: Variant): Promise<Server> {
  const { default: express } = await import('express')
  type Handler = import('express').RequestHandler
  const app = express()
  const fast: Handler = (_req, res) => {
    handled++
    res.json(ITEM)
  }
  const slow: Handler = async (_req, res) => {
    handled++
    await sleep(SLOW_MS)
    res.json(ITEM)
  }
  if (variant === 'bare') app.get(ROUTE, fast)
  else if (variant === 'floor')
    app.get(
      ROUTE,
      (_req, res) => {
        res.writeHead(200, FLOOR_HEADERS).end(FLOOR_BODY)
      },
      fast,
    )
  else if (variant === 'peer') {
    // apicache has no types: the one function used here
    const apicache = require('apicache') as { middleware(duration: string): Handler }
    app.get(ROUTE, apicache.middleware('1 minute'), fast)
  } else {
    const { cached } = await adapters.express()
    app.get(ROUTE, cached({ ttl: 60 }), variant === 'cached' ? fast : slow)
  }
  return createServer(app)
}

async function koaServer(variant: Variant): Promise<Server> {
  const { default: Koa } = await import('koa')
  const { default: Router } = await import('@koa/router')
  type Middleware = import('koa').Middleware
  const app = new Koa()
  const router = new Router()
  const fast: Middleware = (ctx) => {
    handled++
    ctx.body = ITEM
  }
  const slow: Middleware = async (ctx) => {
    handled++
    await sleep(SLOW_MS)
    ctx.body = ITEM
  }
  if (variant === 'bare') router.get(ROUTE, fast)
  else if (variant === 'floor')
    router.get(
      ROUTE,
      (ctx) => {
        ctx.respond = false
        ctx.res.writeHead(200, FLOOR_HEADERS).end(FLOOR_BODY)
      },
      fast,
    )
  else if (variant === 'peer') {
    // koa-cash has no types: its options (a store's get/set, as its README shows) and `ctx.cashed()`
    type KoaCash = (options: {
      get(key: string): Promise<unknown>
      set(key: string, value: unknown): Promise<void>
    }) => Middleware
    const koaCash = require('koa-cash') as KoaCash
    const { LRUCache } = await import('lru-cache')
    const store = new LRUCache<string, object>({ max: 10_000, ttl: 60_000 })
    app.use(
      koaCash({
        get: async (key) => store.get(key),
        set: async (key, value) => {
          if (typeof value === 'object' && value !== null) store.set(key, value)
          else store.delete(key) // cashClear stores `false`
        },
      }),
    )
    router.get(ROUTE, async (ctx, next) => {
      if (await (ctx as typeof ctx & { cashed(): Promise<boolean> }).cashed()) return
      return fast(ctx, next)
    })
  } else if (variant === 'cached-app') {
    const { cached } = await adapters.koa()
    app.use(cached({ ttl: 60 }))
    router.get(ROUTE, fast)
  } else {
    const { cached } = await adapters.koa()
    router.get(ROUTE, cached({ ttl: 60 }), variant === 'cached' ? fast : slow)
  }
  app.use(router.routes())
  return createServer(app.callback())
}

async function fastifyServer(variant: Variant): Promise<number> {
  const { default: Fastify } = await import('fastify')
  const app = Fastify()
  const fast = async (): Promise<Item> => {
    handled++
    return ITEM
  }
  const slow = async (): Promise<Item> => {
    handled++
    await sleep(SLOW_MS)
    return ITEM
  }
  if (variant === 'bare') app.get(ROUTE, fast)
  else if (variant === 'floor')
    app.get(
      ROUTE,
      {
        preHandler: (_req, reply, _done) => {
          reply.hijack()
          reply.raw.writeHead(200, FLOOR_HEADERS).end(FLOOR_BODY)
        },
      },
      fast,
    )
  else {
    const { cached } = await adapters.fastify()
    app.get(ROUTE, cached({ ttl: 60 }), variant === 'cached' ? fast : slow)
  }
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}

async function honoServer(variant: Variant): Promise<number> {
  const { Hono } = await import('hono')
  const { serve } = await import('@hono/node-server')
  type Context = import('hono').Context
  const app = new Hono()
  const fast = (c: Context): Response => {
    handled++
    return c.json(ITEM)
  }
  const slow = async (c: Context): Promise<Response> => {
    handled++
    await sleep(SLOW_MS)
    return c.json(ITEM)
  }
  if (variant === 'bare') app.get(ROUTE, fast)
  else if (variant === 'floor')
    app.get(ROUTE, () => new Response(FLOOR_BODY, { headers: FLOOR_HEADERS }), fast)
  else {
    const { cached } = await adapters.hono()
    if (variant === 'cached') app.get(ROUTE, cached({ ttl: 60 }), fast)
    else app.get(ROUTE, cached({ ttl: 60 }), slow)
  }
  return new Promise((resolve) => {
    serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port))
  })
}

function isKind(v: string | undefined): v is ServerKind {
  return v === 'node' || (FRAMEWORKS as readonly string[]).includes(v ?? '')
}
function isVariant(v: string | undefined): v is Variant {
  return (VARIANTS as readonly string[]).includes(v ?? '')
}

async function main(): Promise<void> {
  const [kind, variant = 'bare'] = process.argv.slice(2)
  if (!isKind(kind) || !isVariant(variant) || !hasVariant(kind, variant)) {
    console.error(`usage: http-server.ts <node|${FRAMEWORKS.join('|')}> <${VARIANTS.join('|')}>`)
    process.exit(2)
  }
  const port = await startServer(kind, variant)
  const exit = (): never => process.exit(0)
  process.on('SIGTERM', exit)
  process.on('SIGINT', exit)
  if (process.send !== undefined) {
    process.on('disconnect', exit)
    process.on('message', (m: unknown) => {
      if (m === 'count') {
        const cpu = process.cpuUsage()
        process.send?.({ count: handled, cpuMicros: cpu.user + cpu.system })
      } else if (m === 'exit') exit()
    })
  }
  process.stdout.write(`${JSON.stringify({ port })}\n`)
}

const entry = process.argv[1]
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
