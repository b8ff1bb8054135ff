import { DefaultDeserializer, DefaultSerializer } from 'node:v8'
import { assertSerializable } from './check.js'
import type { Serializer } from './types.js'

/**
 * `\x02` + `V` + format version, written before v8's own header (0xFF, then the wire format
 * version, e.g. 0x0F on Node 20). Newer Node versions read older wire formats; an older Node
 * reading a newer one throws, which the engine treats as a miss.
 */
export const V8_MARKER: Uint8Array = Uint8Array.of(0x02, 0x56, 0x31)

/**
 * node:v8 structured serialization. v8 keeps Date, BigInt, Map, Set, Buffer (Node's serializer
 * restores Buffer as Buffer), typed arrays, RegExp, NaN, -0, undefined and holes natively, but
 * turns class instances into plain objects silently, so every value is checked first.
 * Typed arrays read back may be views into the payload buffer (Node's behaviour).
 */
type HostReader = (this: DefaultDeserializer) => unknown
const readHostObject = (DefaultDeserializer.prototype as unknown as { _readHostObject: HostReader })
  ._readHostObject

/**
 * Node's deserializer returns Buffers and typed arrays as views into the payload, so they would
 * alias the tier client's (possibly reused or pooled) buffer and keep the whole payload alive.
 * Copy each one out instead (`_readHostObject` is Node's documented extension point).
 */
class CopyingDeserializer extends DefaultDeserializer {
  _readHostObject(): unknown {
    const view = readHostObject.call(this)
    if (Buffer.isBuffer(view)) return Buffer.from(view)
    if (view instanceof DataView) {
      return new DataView(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength))
    }
    if (ArrayBuffer.isView(view)) return (view as Uint8Array).slice()
    return view
  }
}

export const v8Serializer: Serializer = {
  serialize(value: unknown): Uint8Array {
    assertSerializable(value)
    const serializer = new DefaultSerializer()
    serializer.writeRawBytes(V8_MARKER)
    serializer.writeHeader()
    serializer.writeValue(value)
    return serializer.releaseBuffer()
  },
  deserialize(data: Uint8Array | string): unknown {
    if (typeof data === 'string' || !(data instanceof Uint8Array)) {
      throw new TypeError('v8Serializer: expected bytes (a Buffer or Uint8Array), got text')
    }
    if (data.length < 5 || data[0] !== 0x02 || data[1] !== 0x56 || data[2] !== 0x31 || data[3] !== 0xff) {
      throw new Error('v8Serializer: not a tiercache v8 payload')
    }
    const deserializer = new CopyingDeserializer(data)
    deserializer.readRawBytes(V8_MARKER.length)
    if (!deserializer.readHeader()) throw new Error('v8Serializer: bad v8 header')
    return deserializer.readValue()
  },
}
