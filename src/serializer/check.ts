import { UnserializableValueError } from '../errors.js'

/**
 * What a cached value may contain, shared by every serializer so that they all accept and refuse
 * the same values: primitives (but not symbols), plain objects (prototype `Object.prototype` or
 * `null`; a null prototype comes back as `Object.prototype`), arrays (holes kept), Date, Map, Set,
 * Buffer, typed arrays and RegExp (`lastIndex` is not kept). Everything else is refused up-front:
 * functions, symbols, cycles, class instances (v8 would silently drop their prototype), Error,
 * Promise, WeakMap and so on. Only own enumerable string-keyed properties are stored.
 */

export const PLAIN = 0
export const ARRAY = 1
export const MAP = 2
export const SET = 3
export const DATE = 4
export const BUFFER = 5
export const TYPED = 6
export const REGEXP = 7
export type Kind = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7

export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array

export interface TypedArrayConstructor {
  readonly name: string
  readonly BYTES_PER_ELEMENT: number
  new (buffer: ArrayBuffer): TypedArray
}

/** Supported typed array classes; the index is the code used by the JSON format, so only append. */
export const TYPED_ARRAYS: readonly TypedArrayConstructor[] = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
]

const typedByProto = new Map<object, number>(TYPED_ARRAYS.map((ctor, i) => [ctor.prototype, i]))

/** Index in `TYPED_ARRAYS` of a value classified as `TYPED`. */
export function typedIndex(value: object): number {
  return typedByProto.get(Object.getPrototypeOf(value)) ?? -1
}

/**
 * Thrown internally while walking a value; each container on the way back up adds its segment, so
 * the success path never builds path strings.
 */
export class Trap {
  readonly segments: string[] = []
  constructor(readonly reason: string) {}
}

export function classify(value: object): Kind {
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) return PLAIN
  if (proto === Array.prototype) return ARRAY
  if (proto === Date.prototype) return DATE
  if (proto === Map.prototype) return MAP
  if (proto === Set.prototype) return SET
  if (proto === Buffer.prototype) return BUFFER
  if (typedByProto.has(proto as object)) return TYPED
  if (proto === RegExp.prototype) return REGEXP
  throw new Trap(describeUnsupported(value))
}

function describeUnsupported(value: object): string {
  if (value instanceof Promise) return 'a Promise cannot be cached; await it first'
  if (value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) {
    return `a ${Object.prototype.toString.call(value).slice(8, -1)} cannot be serialized`
  }
  if (value instanceof Error) return 'Error instances are not supported; store a plain object instead'
  if (Array.isArray(value)) return 'an array subclass or foreign-realm array is not supported'
  let name = 'anonymous'
  try {
    const ctor: unknown = (value as { constructor?: unknown }).constructor
    if (typeof ctor === 'function' && ctor.name !== '') name = ctor.name
  } catch {
    // a throwing getter: keep 'anonymous'
  }
  return `an instance of class ${name} (supported: plain objects, arrays, Date, Map, Set, Buffer, typed arrays, RegExp)`
}

export function reasonForPrimitive(type: string): string {
  return type === 'function' ? 'a function cannot be serialized' : 'a symbol cannot be serialized'
}

export const CYCLE = 'a cycle: this object contains itself'
export const SYMBOL_KEY = 'symbol-keyed properties cannot be serialized'

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

export function keySegment(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}

function mapKeyRepr(key: unknown, index: number): string {
  switch (typeof key) {
    case 'string':
      return JSON.stringify(key)
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(key)
    case 'bigint':
      return `${key}n`
    default:
      return key === null ? 'null' : `<key #${index}>`
  }
}

/** Segment of the value stored under a Map's `index`-th key `key`. */
export function mapValueSegment(key: unknown, index: number): string {
  return `.get(${mapKeyRepr(key, index)})`
}

export function mapKeySegment(index: number): string {
  return `.keys()[${index}]`
}

export function setSegment(index: number): string {
  return `.values()[${index}]`
}

/** Turns a `Trap` into the public error; other errors pass through unchanged. */
export function toPublicError(err: unknown, key?: string): unknown {
  if (!(err instanceof Trap)) return err
  let path = '$'
  for (let i = err.segments.length - 1; i >= 0; i--) path += err.segments[i]
  return new UnserializableValueError(path, err.reason, key)
}

/**
 * Throws `UnserializableValueError` naming the first offending path (`$.a[2].b`) when `value`
 * holds something no serializer can round-trip faithfully. Shared references are allowed, cycles
 * are not.
 */
export function assertSerializable(value: unknown, key?: string): void {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'function' || typeof value === 'symbol') {
      throw new UnserializableValueError('$', reasonForPrimitive(typeof value), key)
    }
    return
  }
  try {
    checkObject(value, new Set())
  } catch (err) {
    throw toPublicError(err, key)
  }
}

function checkChild(value: unknown, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'object':
      if (value !== null) checkObject(value, ancestors)
      return
    case 'function':
    case 'symbol':
      throw new Trap(reasonForPrimitive(typeof value))
  }
}

function checkObject(value: object, ancestors: Set<object>): void {
  const kind = classify(value)
  if (kind >= DATE) return
  if (ancestors.has(value)) throw new Trap(CYCLE)
  ancestors.add(value)
  // Where we are, turned into a path segment only if a child throws.
  let index = 0
  let keys: string[] | undefined
  let mapKey: unknown
  let inMapKey = false
  try {
    if (kind === ARRAY) {
      const array = value as unknown[]
      for (; index < array.length; index++) checkChild(array[index], ancestors)
    } else if (kind === PLAIN) {
      if (Object.getOwnPropertySymbols(value).length > 0) throw new Trap(SYMBOL_KEY)
      const record = value as Record<string, unknown>
      keys = Object.keys(record)
      for (; index < keys.length; index++) checkChild(record[keys[index]], ancestors)
    } else if (kind === MAP) {
      for (const [k, v] of value as Map<unknown, unknown>) {
        inMapKey = true
        checkChild(k, ancestors)
        inMapKey = false
        mapKey = k
        checkChild(v, ancestors)
        index++
      }
    } else {
      for (const v of value as Set<unknown>) {
        checkChild(v, ancestors)
        index++
      }
    }
  } catch (err) {
    if (err instanceof Trap) err.segments.push(segmentAt(kind, index, keys, inMapKey, mapKey))
    throw err
  }
  ancestors.delete(value)
}

/** The path segment of the child being visited when a walk threw. */
export function segmentAt(
  kind: Kind,
  index: number,
  keys: string[] | undefined,
  inMapKey: boolean,
  mapKey: unknown,
): string {
  if (kind === ARRAY) return `[${index}]`
  if (kind === PLAIN) return keys === undefined || index >= keys.length ? '' : keySegment(keys[index])
  if (kind === MAP) return inMapKey ? mapKeySegment(index) : mapValueSegment(mapKey, index)
  return setSegment(index)
}
