/** What the conformance suites take from the library (one place, so the suites can move to `tiercache/testing`). */

export { ENTRY_VERSION as ENTRY_VERSION_FOR_TESTS } from '../../src/entry.js'
export type { Cache, RemoteTier } from '../../src/index.js'
export { jsonSerializer } from '../../src/serializer.js'
