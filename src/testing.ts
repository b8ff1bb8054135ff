/**
 * `tiercache/testing`: the conformance suites, for third-party tiers and framework adapters. Each takes
 * the test runner's functions (Vitest, Jest, node:test wrappers) so it runs under any runner.
 */
export { httpConformance } from '../test/conformance/http.js'
export { type ConformanceTarget, type Runner, tierConformance } from '../test/conformance/tier.js'
