import { request as httpRequest } from 'node:http'
import { createRequire } from 'node:module'
import express, { type Express } from 'express'
import * as vitest from 'vitest'
import { cached } from '../../adapters/express.js'
import { createCache } from '../../src/index.js'
import { httpConformance } from '../conformance/http.js'
import { expressServer } from './express-server.js'
import { type ListeningServer, listening } from './listening.js'

httpConformance('express', expressServer(express), vitest)

vitest.describe('express adapter', () => {
  vitest.it('cached() validates options at setup', () => {
    vitest.expect(() => cached({ ttl: -1 })).toThrow(/ttl/)
    vitest.expect(typeof cached()).toBe('function')
  })
})

// Express 4 too: the devDependency alias `express4`
const express4 = createRequire(import.meta.url)('express4') as () => Express

vitest.describe.each([
  ['express 5', express as () => Express],
  ['express 4', express4],
])('%s: headers of earlier middleware', (_name, make) => {
  let server: ListeningServer | undefined
  vitest.afterEach(async () => {
    await server?.close()
    server = undefined
  })

  vitest.it('set before next() they are stored and replayed; set on writeHead, fresh on a hit', async () => {
    let requests = 0
    let runs = 0
    const app = make()
    app.use((_req, res, next) => {
      const n = String(++requests)
      res.setHeader('x-before', n)
      const writeHead = res.writeHead
      res.writeHead = function (this: typeof res, ...args: unknown[]) {
        res.setHeader('x-after', n)
        return (writeHead as (...a: unknown[]) => typeof res).apply(this, args)
      } as typeof res.writeHead
      next()
    })
    app.get('/page', cached({ ttl: 60, cache: createCache() }), (_req, res) => {
      res.send(`run ${++runs}`)
    })
    server = await listening(app.listen(0, '127.0.0.1'))
    const a = await fetch(`${server.url}/page`)
    const b = await fetch(`${server.url}/page`)
    vitest.expect(b.headers.get('cache-status')).toMatch(/^tiercache; hit; ttl=/)
    vitest.expect(await b.text()).toBe('run 1')
    vitest.expect([a.headers.get('x-before'), a.headers.get('x-after')]).toEqual(['1', '1'])
    vitest.expect([b.headers.get('x-before'), b.headers.get('x-after')]).toEqual(['1', '2'])
  })
})

// Express 4 too: the adapter reads host and protocol itself when
// `trust proxy` is off, and through Express's getters when it is on.
vitest.describe.each([
  ['express 5', express as () => Express],
  ['express 4', express4],
])('%s: trust proxy', (_name, make) => {
  let server: ListeningServer | undefined
  vitest.afterEach(async () => {
    await server?.close()
    server = undefined
  })

  const start = async (trust: boolean) => {
    const app = make()
    if (trust) app.set('trust proxy', true)
    let runs = 0
    app.get('/page', cached({ ttl: 60, cache: createCache() }), (req, res) => {
      runs++
      res.send(`${req.protocol}://${req.hostname} ${runs}`)
    })
    server = await listening(app.listen(0, '127.0.0.1'))
    const url = `${server.url}/page`
    const get = (headers: Record<string, string> = {}) =>
      new Promise<string>((resolve, reject) => {
        const req = httpRequest(url, { headers }, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (c: string) => (body += c))
          res.on('end', () => resolve(`${body} | ${String(res.headers['cache-status'])}`))
        })
        req.on('error', reject)
        req.end()
      })
    return { get, runs: () => runs }
  }

  vitest.it('off (the default): the handler and the key see the socket and the Host header', async () => {
    const { get, runs } = await start(false)
    vitest.expect(await get()).toMatch(/^http:\/\/127\.0\.0\.1 1 \| .*uri-miss/)
    vitest.expect(await get()).toMatch(/^http:\/\/127\.0\.0\.1 1 \| .*; hit/)
    // forwarding headers are part of the key (they cannot poison the plain entry), never the host
    const forwarded = { 'x-forwarded-host': 'a.example', 'x-forwarded-proto': 'https' }
    vitest.expect(await get(forwarded)).toMatch(/^http:\/\/127\.0\.0\.1 2 \| .*uri-miss/)
    vitest.expect(await get(forwarded)).toMatch(/^http:\/\/127\.0\.0\.1 2 \| .*; hit/)
    vitest.expect(await get()).toMatch(/^http:\/\/127\.0\.0\.1 1 \| .*; hit/)
    vitest.expect(runs()).toBe(2)
    // the Host header is the host: another one is another entry
    vitest.expect(await get({ host: 'other.test' })).toMatch(/^http:\/\/other\.test 3 \| .*uri-miss/)
  })

  vitest.it('on: each forwarded host and protocol is its own entry', async () => {
    const { get, runs } = await start(true)
    vitest
      .expect(await get({ 'x-forwarded-host': 'a.example' }))
      .toMatch(/^http:\/\/a\.example 1 \| .*uri-miss/)
    vitest.expect(await get({ 'x-forwarded-host': 'a.example' })).toMatch(/^http:\/\/a\.example 1 \| .*; hit/)
    vitest
      .expect(await get({ 'x-forwarded-host': 'b.example' }))
      .toMatch(/^http:\/\/b\.example 2 \| .*uri-miss/)
    vitest
      .expect(await get({ 'x-forwarded-host': 'a.example', 'x-forwarded-proto': 'https' }))
      .toMatch(/^https:\/\/a\.example 3 \| .*uri-miss/)
    vitest.expect(runs()).toBe(3)
    // the trusted forwarded host is the host: another Host header behind the same proxy host is the same entry
    vitest
      .expect(await get({ host: 'other.test', 'x-forwarded-host': 'a.example' }))
      .toMatch(/^http:\/\/a\.example 1 \| .*; hit/)
  })
})
