/**
 * Argument encoding: `encodeKey`, the stable, injective text form of a value (usually a call's
 * arguments tuple) from which src/keys.ts derives cache keys (`callKey`, `hashKey`).
 *
 * ## `encodeKey` grammar
 *
 * Every value is encoded as a self-delimiting, type-tagged token, so the concatenation of tokens is
 * never ambiguous and the encoding is injective (a decoder exists: see test/keys.test.ts).
 *
 * | value                         | token                                                         |
 * |-------------------------------|---------------------------------------------------------------|
 * | `undefined` (and array holes) | `U`                                                           |
 * | `null`                        | `N`                                                           |
 * | `true` / `false`              | `T` / `F`                                                     |
 * | number                        | `d` + `String(n)` + `;`  (`-0` is `d-0;`, NaN is `dNaN;`)    |
 * | bigint                        | `n` + decimal digits + `;`                                    |
 * | string                        | `s` + UTF-16 length + `:` + the string as is                  |
 * | string with lone surrogates   | `w` + UTF-16 length + `:` + 4 hex digits per code unit        |
 * | Date                          | `D` + time value as a number + `;` (invalid date: `DNaN;`)   |
 * | RegExp                        | `R` + string(source) + string(flags)                          |
 * | Uint8Array / Buffer           | `x` + base64url of the bytes + `;`                           |
 * | other ArrayBuffer views       | `v` + string(constructor name) + base64url of the bytes + `;`|
 * | ArrayBuffer                   | `B` + base64url of the bytes + `;`                           |
 * | boxed primitive               | `W` + token of `valueOf()` (a boxed Symbol throws)            |
 * | array                         | `[` + token per element + `]`                                 |
 * | plain object                  | `{` + (string token of key + token of value)* + `}`, keys sorted |
 * | Map                           | `M` + (token of key + token of value)* + `}`, entries sorted  |
 * | Set                           | `S` + token per element + `}`, elements sorted                |
 * | class instance                | `C` + string(constructor name) + token of its structure       |
 *
 * Decisions (each is pinned by a test):
 * - `-0` and `0` are DIFFERENT keys. Telling them apart costs one extra comparison and is deterministic;
 *   merging them would be wrong for functions that observe the sign (`1 / x`, `Object.is`).
 *   Callers that never see `-0` pay nothing; those that do get at worst an extra cache miss.
 *   All NaN values are one key.
 * - Array holes encode like `undefined` (`[ , ]` equals `[undefined]`). Extra non-index properties
 *   on arrays are ignored.
 * - Plain objects (prototype `Object.prototype` or `null`) are keyed by their own enumerable string
 *   keys, sorted by UTF-16 code units, so insertion order never matters. `{a: undefined}` differs
 *   from `{}`. Symbol-keyed properties are ignored.
 * - Map and Set are compared as unordered collections: entries (Map: key token + value token) are
 *   sorted by their encoding, so insertion order does not matter. Two deep-equal object keys in one
 *   Map are kept as two entries (multiset semantics).
 * - Class instances are keyed by constructor name plus own enumerable properties (sorted), so
 *   `new A()` and `new B()` with the same fields differ, and both differ from the plain object.
 *   Subclasses of Map, Set, Array, Date, ... get the same `C` + name prefix. Buffer is deliberately
 *   the same key as a Uint8Array with the same bytes. State held outside own enumerable properties
 *   (`#private` fields, accessors on the prototype, non-enumerable properties) is NOT seen: two
 *   instances differing only there get the same key. Pass plain data to cached functions instead.
 *   Two different classes that share a name (e.g. two anonymous classes) are not told apart,
 *   because keys must be stable across processes, so object identity cannot be used.
 * - `toJSON` is NOT special-cased: user `toJSON` methods are often lossy (they drop or rename
 *   fields, so distinct arguments would share a key), and calling user code during key derivation
 *   would make keys depend on behaviour rather than data. Date, Buffer, Map, ... have their own
 *   tokens above, so they do not need it.
 * - An object whose prototype is neither `Object.prototype` nor `null` nor a known built-in is a
 *   class instance of its prototype's `constructor.name` (`Object.create({})` gives `C` + "Object").
 * - Unkeyable values throw a `TypeError` naming the path (`$[1].a`): functions, symbols, cycles,
 *   WeakMap, WeakSet, WeakRef, Promise, Error and SharedArrayBuffer (their state is invisible, so
 *   they would all collide). A repeated but acyclic reference is fine.
 *
 * The output never contains lone surrogates, so converting it to UTF-8 (Redis, memcached, SHA-256
 * input) stays injective.
 */

/** Thrown internally while encoding; carries the path segments collected on the way out. */
class Unkeyable {
  readonly segments: string[] = []
  constructor(readonly reason: string) {}
}

const IDENT = /^[A-Za-z_$][\w$]*$/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const SURROGATE = /[\uD800-\uDFFF]/
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

function propSegment(key: string): string {
  return IDENT.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}

const SURROGATE_FLAG = 1
const CONTROL_FLAG = 2

/** Which of surrogates (possibly paired) and control characters (C0, DEL, C1) `s` contains. */
function scan(s: string): number {
  if (s.length > 32) return (SURROGATE.test(s) ? SURROGATE_FLAG : 0) | (CONTROL.test(s) ? CONTROL_FLAG : 0)
  // For short strings one plain loop is cheaper than regex calls.
  let flags = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) flags |= CONTROL_FLAG
    else if (c >= 0xd800 && c <= 0xdfff) flags |= SURROGATE_FLAG
  }
  return flags
}

/**
 * Incremented whenever a control character is written into an encoding. `callKey` (src/keys.ts)
 * compares it before and after encoding instead of scanning the finished key again (which would
 * flatten the concatenated string and cost more than the encoding itself). Encoding is synchronous,
 * so only a getter that itself derives keys can move it in between, and that only errs towards
 * hashing. Exported as a live binding, read-only to importers, so only this module writes it; the
 * bundle hoists both modules into one scope, so callKey still reads a plain variable.
 */
export let controlWrites = 0

function encodeString(s: string): string {
  const flags = scan(s)
  if (flags !== 0) {
    if ((flags & SURROGATE_FLAG) !== 0 && LONE_SURROGATE.test(s)) {
      let hex = ''
      for (let i = 0; i < s.length; i++) hex += s.charCodeAt(i).toString(16).padStart(4, '0')
      return 'w' + s.length + ':' + hex
    }
    if ((flags & CONTROL_FLAG) !== 0) controlWrites++
  }
  return 's' + s.length + ':' + s
}

function encodeNumber(n: number): string {
  // String(n) is the shortest round-tripping form: one text per number value. It maps -0 to "0".
  return n === 0 && 1 / n < 0 ? '-0' : String(n)
}

function bytes(view: ArrayBufferView | ArrayBuffer): string {
  const buf =
    view instanceof ArrayBuffer
      ? Buffer.from(view)
      : Buffer.from(view.buffer, view.byteOffset, view.byteLength)
  return buf.toString('base64url') + ';'
}

function constructorName(proto: object): string {
  const ctor: unknown = (proto as { constructor?: unknown }).constructor
  return typeof ctor === 'function' ? ctor.name : ''
}

/** `stack` holds the objects on the current path, for cycle detection. */
function enc(value: unknown, stack: object[]): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value)
    case 'number':
      return 'd' + encodeNumber(value) + ';'
    case 'boolean':
      return value ? 'T' : 'F'
    case 'undefined':
      return 'U'
    case 'bigint':
      return 'n' + value.toString() + ';'
    case 'function':
      throw new Unkeyable('a function')
    case 'symbol':
      throw new Unkeyable('a symbol')
  }
  if (value === null) return 'N'
  const obj = value as object
  if (stack.includes(obj)) throw new Unkeyable('a circular reference')
  stack.push(obj)
  try {
    if (Array.isArray(obj)) return encodeArray(obj, stack)
    const proto: object | null = Object.getPrototypeOf(obj)
    if (proto === Object.prototype || proto === null) return encodeProps(obj, stack)
    return encodeInstance(obj, proto, stack)
  } finally {
    stack.pop()
  }
}

function encodeArray(arr: readonly unknown[], stack: object[]): string {
  let out = '['
  let i = 0
  try {
    for (; i < arr.length; i++) out += enc(arr[i], stack)
  } catch (err) {
    if (err instanceof Unkeyable) err.segments.push(`[${i}]`)
    throw err
  }
  return out + ']'
}

/**
 * Own enumerable string keys sorted by UTF-16 code units (the order of the default `sort()`).
 * Insertion sort with `<` for the usual handful of keys: several times faster than `sort()`.
 */
function sortedKeys(obj: object): string[] {
  const keys = Object.keys(obj)
  const n = keys.length
  if (n > 16) return keys.sort()
  for (let i = 1; i < n; i++) {
    const k = keys[i]
    let j = i - 1
    while (j >= 0 && keys[j] > k) {
      keys[j + 1] = keys[j]
      j--
    }
    keys[j + 1] = k
  }
  return keys
}

function encodeProps(obj: object, stack: object[]): string {
  const keys = sortedKeys(obj)
  let out = '{'
  let key = ''
  try {
    for (key of keys) out += encodeString(key) + enc((obj as Record<string, unknown>)[key], stack)
  } catch (err) {
    if (err instanceof Unkeyable) err.segments.push(propSegment(key))
    throw err
  }
  return out + '}'
}

function encodeSorted(tokens: string[]): string {
  // Default sort compares UTF-16 code units: deterministic and locale-independent.
  return tokens.sort().join('') + '}'
}

function encodeMap(map: Map<unknown, unknown>, stack: object[]): string {
  const tokens: string[] = []
  let i = 0
  let part = 'key'
  try {
    for (const [k, v] of map) {
      part = 'key'
      const kt = enc(k, stack)
      part = 'value'
      tokens.push(kt + enc(v, stack))
      i++
    }
  } catch (err) {
    if (err instanceof Unkeyable) err.segments.push(`{Map entry ${i} ${part}}`)
    throw err
  }
  return 'M' + encodeSorted(tokens)
}

function encodeSet(set: Set<unknown>, stack: object[]): string {
  const tokens: string[] = []
  let i = 0
  try {
    for (const v of set) {
      tokens.push(enc(v, stack))
      i++
    }
  } catch (err) {
    if (err instanceof Unkeyable) err.segments.push(`{Set element ${i}}`)
    throw err
  }
  return 'S' + encodeSorted(tokens)
}

const UNKEYABLE: ReadonlyArray<[abstract new (...args: never[]) => object, string]> = [
  [WeakMap, 'a WeakMap'],
  [WeakSet, 'a WeakSet'],
  [WeakRef, 'a WeakRef'],
  [Promise, 'a Promise'],
  [Error, 'an Error'],
  [SharedArrayBuffer, 'a SharedArrayBuffer'],
]

function encodeInstance(obj: object, proto: object, stack: object[]): string {
  let body: string
  let builtin: object | undefined
  if (obj instanceof Date) {
    body = 'D' + encodeNumber(obj.getTime()) + ';'
    builtin = Date.prototype
  } else if (obj instanceof Uint8Array) {
    body = 'x' + bytes(obj)
    // Buffer and Uint8Array with the same bytes are the same key.
    builtin = proto === Buffer.prototype ? Buffer.prototype : Uint8Array.prototype
  } else if (ArrayBuffer.isView(obj)) {
    // The view's own built-in type (Int16Array, DataView, ...), found by walking to the prototype
    // whose constructor is a global of that name.
    let p: object | null = proto
    while (p !== null && (globalThis as Record<string, unknown>)[constructorName(p)] !== p.constructor) {
      p = Object.getPrototypeOf(p)
    }
    body = 'v' + encodeString(p === null ? '' : constructorName(p)) + bytes(obj)
    builtin = p ?? undefined
  } else if (obj instanceof ArrayBuffer) {
    body = 'B' + bytes(obj)
    builtin = ArrayBuffer.prototype
  } else if (obj instanceof Map) {
    body = encodeMap(obj, stack)
    builtin = Map.prototype
  } else if (obj instanceof Set) {
    body = encodeSet(obj, stack)
    builtin = Set.prototype
  } else if (obj instanceof RegExp) {
    body = 'R' + encodeString(obj.source) + encodeString(obj.flags)
    builtin = RegExp.prototype
  } else if (
    obj instanceof Number ||
    obj instanceof String ||
    obj instanceof Boolean ||
    obj instanceof BigInt ||
    obj instanceof Symbol
  ) {
    body = 'W' + enc(obj.valueOf(), stack)
    builtin = Object.getPrototypeOf(Object(obj.valueOf()))
  } else {
    for (const [ctor, what] of UNKEYABLE) if (obj instanceof ctor) throw new Unkeyable(what)
    return 'C' + encodeString(constructorName(proto)) + encodeProps(obj, stack)
  }
  return proto === builtin ? body : 'C' + encodeString(constructorName(proto)) + body
}

/**
 * Stable, injective text encoding of a value (usually an arguments tuple). Throws TypeError for
 * values that cannot be keyed (functions, symbols, cycles, ...), naming the path like `$[1].a`.
 */
export function encodeKey(value: unknown): string {
  try {
    return enc(value, [])
  } catch (err) {
    if (!(err instanceof Unkeyable)) throw err
    const path = '$' + err.segments.reverse().join('')
    throw new TypeError(`Cannot derive a cache key from ${err.reason} at ${path}`)
  }
}
