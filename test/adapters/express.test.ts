import express from 'express'
import * as vitest from 'vitest'
import { cached } from '../../adapters/express.js'
import { httpConformance } from '../conformance/http.js'
import { expressServer } from './express-server.js'

httpConformance('express', expressServer(express), vitest)

vitest.describe('express adapter', () => {
  vitest.it('cached() validates options at setup', () => {
    vitest.expect(() => cached({ ttl: -1 })).toThrow(/ttl/)
    vitest.expect(typeof cached()).toBe('function')
  })
})
