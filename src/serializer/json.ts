import {
  ARRAY,
  BUFFER,
  CYCLE,
  classify,
  DATE,
  MAP,
  PLAIN,
  REGEXP,
  reasonForPrimitive,
  SYMBOL_KEY,
  segmentAt,
  Trap,
  TYPED,
  TYPED_ARRAYS,
  type TypedArray,
  toPublicError,
  typedIndex,
} from './check.js'
import type { Serializer } from './types.js'

/*
 * Tagged JSON. Values JSON cannot carry become strings that start with TAG (U+007F, DEL: ASCII,
 * left unescaped by JSON.stringify and practically never the first character of real text):
 *
 *   TAG s <text>   a real string that happened to start with TAG (escaped)
 *   TAG u          undefined            TAG n  NaN     TAG 0  -0     TAG +  Infinity   TAG -  -Infinity
 *   TAG h          a hole in an array   TAG b <decimal>  BigInt      TAG d <ms or NaN>  Date
 *   TAG B <base64> Buffer               TAG t <code> <base64>  typed array (code: index in TYPED_ARRAYS, as a letter)
 *   TAG r <flags>/<source>  RegExp
 *
 * Map and Set become arrays whose first element is TAG M / TAG S, followed by key, value, key,
 * value... or the items. A user string can never produce those, because it would have been escaped.
 * Object keys are never tagged, so any key (TAG itself, `__proto__`) round-trips.
 *
 * Encoding copies only the containers that hold something to tag, so plain JSON-like data goes to
 * JSON.stringify as is. Decoding patches JSON.parse's output in place.
 *
 * Payload: MARKER + json + END. MARKER recognizes foreign text; END recognizes truncation (which
 * JSON.parse would miss for a bare number). When nothing needed a tag (encoding returned the value
 * itself), a space follows MARKER: the reader then skips the decoding walk. JSON.parse ignores the space,
 * so readers that predate it decode the same value (their walk finds nothing to patch).
 */

const TAG = '\x7f'
const TAG_CODE = 0x7f
const ESCAPE = '\x7fs'
const UNDEFINED = '\x7fu'
const NAN = '\x7fn'
const NEG_ZERO = '\x7f0'
const POS_INF = '\x7f+'
const NEG_INF = '\x7f-'
const HOLE = '\x7fh'
const MAP_TAG = '\x7fM'
const SET_TAG = '\x7fS'
const TYPED_CODE_BASE = 0x61 // 'a'

/** `\x02` + `J` + format version. */
export const JSON_MARKER = '\x02J1'
const END = '\x03'
/** After MARKER: the JSON holds no tag (see the file comment). */
const UNTAGGED = ' '
const UNTAGGED_CODE = 0x20

function encode(value: unknown, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
      return value.charCodeAt(0) === TAG_CODE ? ESCAPE + value : value
    case 'number':
      if (Number.isNaN(value)) return NAN
      if (value === 0) return 1 / value < 0 ? NEG_ZERO : value
      if (value - value !== 0) return value > 0 ? POS_INF : NEG_INF
      return value
    case 'boolean':
      return value
    case 'undefined':
      return UNDEFINED
    case 'bigint':
      return `${TAG}b${value}`
    case 'object':
      return value === null ? null : encodeObject(value, ancestors)
    default:
      throw new Trap(reasonForPrimitive(typeof value))
  }
}

function encodeObject(value: object, ancestors: Set<object>): unknown {
  const kind = classify(value)
  switch (kind) {
    case DATE:
      return `${TAG}d${(value as Date).getTime()}`
    case BUFFER:
      return `${TAG}B${(value as Buffer).toString('base64')}`
    case TYPED: {
      const view = value as TypedArray
      const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength)
      return `${TAG}t${String.fromCharCode(TYPED_CODE_BASE + typedIndex(value))}${bytes.toString('base64')}`
    }
    case REGEXP:
      return `${TAG}r${(value as RegExp).flags}/${(value as RegExp).source}`
  }
  if (ancestors.has(value)) throw new Trap(CYCLE)
  ancestors.add(value)
  let out: unknown
  let index = 0
  let keys: string[] | undefined
  let mapKey: unknown
  let inMapKey = false
  try {
    if (kind === ARRAY) {
      const array = value as unknown[]
      let copy: unknown[] | undefined
      for (; index < array.length; index++) {
        const item = array[index]
        const encoded = item === undefined && !(index in array) ? HOLE : encode(item, ancestors)
        if (copy !== undefined) copy.push(encoded)
        else if (encoded !== item) {
          copy = array.slice(0, index)
          copy.push(encoded)
        }
      }
      out = copy ?? array
    } else if (kind === PLAIN) {
      if (Object.getOwnPropertySymbols(value).length > 0) throw new Trap(SYMBOL_KEY)
      const record = value as Record<string, unknown>
      keys = Object.keys(record)
      let copy: Record<string, unknown> | undefined
      for (; index < keys.length; index++) {
        const key = keys[index]
        const item = record[key]
        const encoded = encode(item, ancestors)
        if (copy !== undefined) copy[key] = encoded
        else if (encoded !== item) {
          // Null prototype: a `__proto__` key stays an ordinary property.
          copy = Object.create(null) as Record<string, unknown>
          for (let j = 0; j < index; j++) copy[keys[j]] = record[keys[j]]
          copy[key] = encoded
        }
      }
      out = copy ?? record
    } else if (kind === MAP) {
      const list: unknown[] = [MAP_TAG]
      for (const [k, v] of value as Map<unknown, unknown>) {
        inMapKey = true
        list.push(encode(k, ancestors))
        inMapKey = false
        mapKey = k
        list.push(encode(v, ancestors))
        index++
      }
      out = list
    } else {
      const list: unknown[] = [SET_TAG]
      for (const v of value as Set<unknown>) {
        list.push(encode(v, ancestors))
        index++
      }
      out = list
    }
  } catch (err) {
    if (err instanceof Trap) err.segments.push(segmentAt(kind, index, keys, inMapKey, mapKey))
    throw err
  }
  ancestors.delete(value)
  return out
}

function corrupt(detail: string): Error {
  return new Error(`jsonSerializer: corrupt payload (${detail})`)
}

function decodeTagged(text: string): unknown {
  const rest = text.slice(2)
  switch (text.charCodeAt(1)) {
    case 0x73: // s
      return rest
    case 0x62: // b
      if (rest === '' || rest.trim() !== rest) throw corrupt('bigint')
      return BigInt(rest)
    case 0x64: {
      // d
      const time = Number(rest)
      if (rest === '' || (Number.isNaN(time) && rest !== 'NaN')) throw corrupt('date')
      return new Date(time)
    }
    case 0x42: // B
      return Buffer.from(rest, 'base64')
    case 0x74: {
      // t
      const ctor = TYPED_ARRAYS[text.charCodeAt(2) - TYPED_CODE_BASE]
      const bytes = Buffer.from(text.slice(3), 'base64')
      if (ctor === undefined || bytes.length % ctor.BYTES_PER_ELEMENT !== 0) throw corrupt('typed array')
      const buffer = new ArrayBuffer(bytes.length)
      new Uint8Array(buffer).set(bytes)
      return new ctor(buffer)
    }
    case 0x72: {
      // r
      const slash = rest.indexOf('/')
      if (slash < 0) throw corrupt('regexp')
      return new RegExp(rest.slice(slash + 1), rest.slice(0, slash))
    }
  }
  if (text.length === 2) {
    switch (text) {
      case UNDEFINED:
        return undefined
      case NAN:
        return Number.NaN
      case NEG_ZERO:
        return -0
      case POS_INF:
        return Number.POSITIVE_INFINITY
      case NEG_INF:
        return Number.NEGATIVE_INFINITY
    }
  }
  throw corrupt(`unknown tag ${JSON.stringify(text.slice(0, 2))}`)
}

function decode(value: unknown): unknown {
  if (typeof value === 'string') return value.charCodeAt(0) === TAG_CODE ? decodeTagged(value) : value
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    const array = value as unknown[]
    const first = array[0]
    if (typeof first === 'string' && first.charCodeAt(0) === TAG_CODE) {
      if (first === MAP_TAG) {
        if (array.length % 2 !== 1) throw corrupt('map')
        const map = new Map<unknown, unknown>()
        for (let i = 1; i < array.length; i += 2) map.set(decode(array[i]), decode(array[i + 1]))
        return map
      }
      if (first === SET_TAG) {
        const set = new Set<unknown>()
        for (let i = 1; i < array.length; i++) set.add(decode(array[i]))
        return set
      }
    }
    for (let i = 0; i < array.length; i++) {
      const item = array[i]
      if (typeof item === 'string') {
        if (item.charCodeAt(0) !== TAG_CODE) continue
        if (item === HOLE) delete array[i]
        else array[i] = decodeTagged(item)
      } else if (typeof item === 'object' && item !== null) array[i] = decode(item)
    }
    return array
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  for (let i = 0; i < keys.length; i++) {
    const item = record[keys[i]]
    if (typeof item === 'string') {
      if (item.charCodeAt(0) === TAG_CODE) record[keys[i]] = decodeTagged(item)
    } else if (typeof item === 'object' && item !== null) record[keys[i]] = decode(item)
  }
  return record
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function parse(text: string): unknown {
  if (!text.startsWith(JSON_MARKER)) throw new Error('jsonSerializer: not a tiercache JSON payload')
  if (text.charCodeAt(text.length - 1) !== 0x03) throw corrupt('truncated')
  const parsed: unknown = JSON.parse(text.slice(JSON_MARKER.length, -1))
  // UNTAGGED: written without tags (JSON.stringify never starts its output with a space)
  return text.charCodeAt(JSON_MARKER.length) === UNTAGGED_CODE ? parsed : decode(parsed)
}

export const jsonSerializer: Serializer = {
  serialize(value: unknown): string {
    let encoded: unknown
    try {
      encoded = encode(value, new Set())
    } catch (err) {
      throw toPublicError(err)
    }
    return (encoded === value ? JSON_MARKER + UNTAGGED : JSON_MARKER) + JSON.stringify(encoded) + END
  },
  deserialize(data: Uint8Array | string): unknown {
    if (typeof data === 'string') return parse(data)
    if (!(data instanceof Uint8Array)) throw new TypeError('jsonSerializer: expected a string or bytes')
    // fatal: invalid UTF-8 is corruption, not text to patch with U+FFFD.
    return parse(utf8.decode(data))
  },
}
