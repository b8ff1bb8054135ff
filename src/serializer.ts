/**
 * Value serializers for remote tiers. Every payload starts with a format marker (0x02 then a
 * letter and a version), so foreign, corrupt or truncated data throws instead of turning into a
 * wrong value.
 */
export { assertSerializable } from './serializer/check.js'
export { compressed } from './serializer/compressed.js'
export { jsonSerializer } from './serializer/json.js'
export type { Serializer } from './serializer/types.js'
export { v8Serializer } from './serializer/v8.js'

import { jsonSerializer } from './serializer/json.js'
import type { Serializer } from './serializer/types.js'

/**
 * The default for remote tiers: tagged JSON. Both serializers keep every supported type (same
 * fidelity, same up-front refusals); JSON is faster on typical entries, is text (readable in
 * redis-cli, fine for text-only stores) and does not depend on the Node/V8 wire format version.
 * bench/serializer.ts, Node 20, serialize + deserialize of one entry (ops/s, ratio vs lossy
 * JSON.stringify/parse, payload bytes), quiet machine:
 *   ~1 KB:   JSON.stringify/parse 72.9k (1.00x, 1229 B) | jsonSerializer 56.9k (0.78x, 1206 B)
 *            v8Serializer 46.1k (0.63x, 1099 B) | compressed(json) 22.1k (0.30x, 409 B)
 *   ~100 KB: JSON.stringify/parse 999 (1.00x, 102561 B) | jsonSerializer 780 (0.78x, 101251 B)
 *            v8Serializer 743 (0.74x, 93087 B) | compressed(json) 556 (0.56x, 17694 B)
 * A rerun on a loaded machine kept the order at 1 KB (json 0.79x, v8 0.69x) and tied at 100 KB
 * (json 0.75x, v8 0.76x). Faster or equal and equally faithful, so JSON it is.
 */
export const defaultSerializer: Serializer = jsonSerializer
