/**
 * `@cached` as a legacy decorator: this folder's tsconfig.json sets `experimentalDecorators: true`,
 * which Vitest's transformer honours for files under it. The suite's first test checks that the
 * decorator really received `(target, propertyKey, descriptor)`.
 */
import { decoratorSuite } from '../suite.js'
import { makeServices } from './services.js'

decoratorSuite('legacy', async () => makeServices)
