import { serialize as rawV8Serialize } from 'node:v8'
import { brotliCompressSync, deflateRawSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { UnserializableValueError } from '../src/errors.js'
import {
  assertSerializable,
  compressed,
  defaultSerializer,
  jsonSerializer,
  type Serializer,
  v8Serializer,
} from '../src/serializer.js'

const serializers: [string, Serializer][] = [
  ['v8Serializer', v8Serializer],
  ['jsonSerializer', jsonSerializer],
  ['compressed(v8Serializer)', compressed(v8Serializer)],
  ['compressed(jsonSerializer)', compressed(jsonSerializer)],
  ['compressed(v8Serializer, threshold 0)', compressed(v8Serializer, { threshold: 0 })],
  ['compressed(jsonSerializer, threshold 0)', compressed(jsonSerializer, { threshold: 0 })],
]

function roundTrip(serializer: Serializer, value: unknown): unknown {
  return serializer.deserialize(serializer.serialize(value))
}

/** Expected result: null-prototype objects come back with Object.prototype (as with v8 and JSON). */
function normalize(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length)
    for (let i = 0; i < value.length; i++) if (i in value) out[i] = normalize(value[i])
    return out
  }
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [normalize(k), normalize(v)]))
  if (value instanceof Set) return new Set([...value].map(normalize))
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== null && proto !== Object.prototype) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, k, {
      value: normalize(v),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}

/** An array of `length` with only the given indexes set; the rest are holes. */
function holey(length: number, ...entries: [number, unknown][]): unknown[] {
  const array: unknown[] = []
  array.length = length
  for (const [index, value] of entries) array[index] = value
  return array
}

function sparse(): unknown[] {
  const a: unknown[] = [1]
  a[3] = 'x'
  a.length = 6 // trailing holes too
  return a
}

const explicitCases: [string, unknown][] = [
  ['Date', new Date('2020-01-01T00:00:00.000Z')],
  ['invalid Date', new Date(Number.NaN)],
  ['Buffer', Buffer.from('héllo wörld')],
  ['empty Buffer', Buffer.alloc(0)],
  ['pooled Buffer slice', Buffer.from('hello world, a pooled buffer').subarray(6, 11)],
  ['Uint8Array', new Uint8Array([0, 1, 254, 255])],
  ['Uint8Array view at an offset', new Uint8Array(new ArrayBuffer(16), 3, 5).fill(7)],
  ['Int16Array', Int16Array.of(-32768, 0, 32767)],
  ['Float64Array with NaN and -0', Float64Array.of(1.5, Number.NaN, -0, Number.POSITIVE_INFINITY)],
  ['Float32Array', Float32Array.of(0.1, -2)],
  ['Uint8ClampedArray', Uint8ClampedArray.of(1, 2, 3)],
  ['BigInt64Array', BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n)],
  ['BigUint64Array', BigUint64Array.of(2n ** 64n - 1n)],
  ['BigInt', 123456789012345678901234567890n],
  ['negative BigInt', -42n],
  [
    'Map with mixed keys',
    new Map<unknown, unknown>([
      ['a', 1],
      [2, { b: [3] }],
      [{ k: 1 }, new Date(5)],
      [null, undefined],
    ]),
  ],
  ['Set', new Set<unknown>([1, 'a', { x: 1 }, [2], undefined, null])],
  ['nested Map and Set', { m: new Map([['s', new Set([new Map([[1n, -0]])])]]) }],
  ['NaN', Number.NaN],
  ['-0', -0],
  ['+0', 0],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['null', null],
  ['top-level undefined', undefined],
  ['nested undefined in objects', { a: undefined, b: { c: undefined, d: null } }],
  ['undefined in arrays', [undefined, 1, undefined, null]],
  ['sparse array', sparse()],
  [
    'nested sparse array',
    {
      a: [holey(2, [1, 1]), holey(2, [0, 2])],
    },
  ],
  ['nested objects and arrays', { a: [{ b: [[{ c: 'd' }]] }], e: { f: { g: true, h: 1.25 } } }],
  ['RegExp', { r: /a\/b[c]$/giu, s: /x\/y/m }],
  ['string that looks like a date', '2020-01-01T00:00:00.000Z'],
  ['object with date-like strings', { at: '2020-01-01T00:00:00.000Z', n: '123n', b64: 'AAEC' }],
  [
    'strings equal to tags',
    ['\x7f', '\x7fM', '\x7fS', '\x7fs', '\x7fu', '\x7fn', '\x7fh', '\x7fd0', '\x7fb1', '\x7fsx'],
  ],
  ['array starting with a tag-like string', ['\x7fM', 1, 2]],
  ['array starting with a Map tag-like string and even length', ['\x7fS', 'a']],
  ['Map and Set with tag-like strings', new Map([['\x7fM', new Set(['\x7fh'])]])],
  ['strings equal to payload markers', ['\x02J1', '\x02V1', '\x02Z', '\x03']],
  ['object with a key equal to the tag marker', { '\x7f': 1, '\x7fM': '\x7f', '\x7fu': undefined }],
  ['object with an own __proto__ key', JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')],
  ['__proto__ key holding a Date', JSON.parse('{"__proto__": "x"}')],
  ['unicode and lone surrogates', { s: 'ünï 😀 \ud800 x \udfff', e: '', z: '\u0000' }],
  ['numeric-like keys', { 2: 'b', 1: 'a', '-1': 'c', '01': 'd' }],
  [
    'entry-shaped value',
    {
      v: { id: 1, at: new Date(1) },
      c: 1,
      f: Number.POSITIVE_INFINITY,
      s: Number.POSITIVE_INFINITY,
      w: 3,
      d: 0.5,
    },
  ],
  ['large value', { items: Array.from({ length: 2000 }, (_, i) => ({ i, s: `item ${i}`, d: new Date(i) })) }],
]

describe.each(serializers)('%s round-trip', (_name, serializer) => {
  it.each(explicitCases)('%s', (_label, value) => {
    const back = roundTrip(serializer, value)
    expect(back).toStrictEqual(value)
  })

  it('keeps -0, NaN and infinities exactly (Object.is)', () => {
    const back = roundTrip(serializer, { z: -0, n: Number.NaN, p: 0, list: [-0, Number.NaN] }) as {
      z: number
      n: number
      p: number
      list: number[]
    }
    expect(Object.is(back.z, -0)).toBe(true)
    expect(Object.is(back.p, 0)).toBe(true)
    expect(Object.is(back.n, Number.NaN)).toBe(true)
    expect(Object.is(back.list[0], -0)).toBe(true)
    expect(Object.is(back.list[1], Number.NaN)).toBe(true)
    expect(Object.is(roundTrip(serializer, -0), -0)).toBe(true)
  })

  it('returns Buffer as Buffer and Uint8Array as Uint8Array', () => {
    const back = roundTrip(serializer, { b: Buffer.from([1, 2]), u: new Uint8Array([3, 4]) }) as {
      b: unknown
      u: unknown
    }
    expect(Buffer.isBuffer(back.b)).toBe(true)
    expect(back.u).toBeInstanceOf(Uint8Array)
    expect(Buffer.isBuffer(back.u)).toBe(false)
    expect(Object.getPrototypeOf(back.u)).toBe(Uint8Array.prototype)
  })

  it('distinguishes null from undefined, and keeps undefined keys and holes', () => {
    const back = roundTrip(serializer, {
      a: null,
      b: undefined,
      c: holey(3, [0, undefined], [2, null]),
    }) as Record<string, unknown>
    expect(back.a).toBeNull()
    expect('b' in back).toBe(true)
    expect(back.b).toBeUndefined()
    const c = back.c as unknown[]
    expect(c.length).toBe(3)
    expect(0 in c).toBe(true)
    expect(1 in c).toBe(false)
    expect(c[2]).toBeNull()
    expect(roundTrip(serializer, null)).toBeNull()
    expect(roundTrip(serializer, undefined)).toBeUndefined()
  })

  it('keeps strings that look like dates or tags as strings', () => {
    expect(roundTrip(serializer, '2020-01-01T00:00:00.000Z')).toBe('2020-01-01T00:00:00.000Z')
    expect(roundTrip(serializer, '\x7f')).toBe('\x7f')
    expect(roundTrip(serializer, '\x7fd0')).toBe('\x7fd0')
  })

  it('stores an own __proto__ key as data without touching prototypes', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>
    const back = roundTrip(serializer, value) as Record<string, unknown>
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ polluted: true })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('returns null-prototype objects as plain objects with the same keys', () => {
    const value = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, d: new Date(3) })
    const back = roundTrip(serializer, value)
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(back).toStrictEqual({ a: 1, d: new Date(3) })
  })

  it('keeps shared (non-cyclic) references as equal values', () => {
    const shared = { x: [1, 2] }
    const back = roundTrip(serializer, { a: shared, b: [shared], m: new Map([[1, shared]]) })
    expect(back).toStrictEqual({ a: { x: [1, 2] }, b: [{ x: [1, 2] }], m: new Map([[1, { x: [1, 2] }]]) })
  })

  it('does not modify the value it serializes', () => {
    const value = {
      a: holey(3, [0, 1], [2, undefined]),
      d: new Date(1),
      s: '\x7f',
      n: Number.NaN,
      m: new Map([[1, -0]]),
    }
    const copy = normalize(value)
    serializer.serialize(value)
    expect(value).toStrictEqual(copy)
  })

  it('round-trips arbitrary supported values (property)', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withNullPrototype: true,
          withSparseArray: true,
          withUnicodeString: true,
          maxDepth: 4,
        }),
        (value) => {
          assertSerializable(value)
          expect(roundTrip(serializer, value)).toStrictEqual(normalize(value))
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('payload formats', () => {
  it('jsonSerializer writes text starting with its marker; v8Serializer writes bytes with its marker', () => {
    const text = jsonSerializer.serialize({ a: 1 })
    expect(typeof text).toBe('string')
    expect((text as string).startsWith('\x02J1')).toBe(true)
    const bytes = v8Serializer.serialize({ a: 1 })
    expect(bytes).toBeInstanceOf(Uint8Array)
    expect([...(bytes as Uint8Array).subarray(0, 4)]).toEqual([0x02, 0x56, 0x31, 0xff])
  })

  it('jsonSerializer reads its payload as UTF-8 bytes too (stores that return Buffers)', () => {
    const value = { s: 'ünï 😀', d: new Date(7) }
    const text = jsonSerializer.serialize(value) as string
    expect(jsonSerializer.deserialize(Buffer.from(text, 'utf8'))).toStrictEqual(value)
    expect(jsonSerializer.deserialize(new TextEncoder().encode(text))).toStrictEqual(value)
  })

  it('returned Buffers and typed arrays do not alias the payload bytes', () => {
    for (const serializer of [v8Serializer, jsonSerializer]) {
      const payload = serializer.serialize({ b: Buffer.from('abcd'), f: Float64Array.of(1, 2) })
      const bytes = Buffer.from(typeof payload === 'string' ? Buffer.from(payload) : payload)
      const back = serializer.deserialize(bytes) as { b: Buffer; f: Float64Array }
      bytes.fill(0)
      expect(back.b.toString()).toBe('abcd')
      expect([...back.f]).toEqual([1, 2])
      expect(back.f.buffer.byteLength).toBe(16)
    }
  })

  it('jsonSerializer marks a payload without tags with a space, which every reader accepts', () => {
    const plain = { id: 42, name: 'Espresso', tags: ['a', 'b'], stock: { count: 7 }, none: null }
    const text = jsonSerializer.serialize(plain) as string
    // marker, space, then exactly what JSON.stringify writes
    expect(text).toBe(`\x02J1 ${JSON.stringify(plain)}\x03`)
    expect(jsonSerializer.deserialize(text)).toStrictEqual(plain)
    // a reader from before the space parses the same value (JSON.parse skips it; nothing to decode)
    expect(JSON.parse(text.slice(3, -1))).toStrictEqual(plain)
    // and a payload written before the space (no space) still reads, through the decoding walk
    expect(jsonSerializer.deserialize(`\x02J1${JSON.stringify(plain)}\x03`)).toStrictEqual(plain)
  })

  it('jsonSerializer never marks a payload that needs decoding as untagged', () => {
    const tagged: unknown[] = [
      { at: new Date(5) },
      { missing: undefined },
      Object.assign(new Array<number>(3), { 0: 1, 2: 3 }), // a hole at 1
      { n: Number.NaN },
      { z: -0 },
      { big: 1n },
      { f: Number.POSITIVE_INFINITY },
      { s: '\x7fstarts with the tag character' },
      new Map([[1, 2]]),
      new Set([1]),
      { deep: { deeper: [{ b: Buffer.from('x') }] } },
    ]
    for (const value of tagged) {
      const text = jsonSerializer.serialize(value) as string
      expect(text.charCodeAt(3)).not.toBe(0x20)
      expect(jsonSerializer.deserialize(text)).toStrictEqual(value)
    }
    // a space-marked payload is not decoded: a tag-looking string in it stays as written
    expect(jsonSerializer.deserialize('\x02J1 {"s":"\\u007fd5"}\x03')).toStrictEqual({ s: '\x7fd5' })
  })

  it('defaultSerializer is one of the two and round-trips', () => {
    expect([jsonSerializer, v8Serializer]).toContain(defaultSerializer)
    expect(
      roundTrip(defaultSerializer, { d: new Date(1), m: new Map([[1n, Buffer.from('x')]]) }),
    ).toStrictEqual({
      d: new Date(1),
      m: new Map([[1n, Buffer.from('x')]]),
    })
  })
})

describe('compressed', () => {
  const big = {
    items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `product ${i}`, at: new Date(i) })),
  }

  it('passes payloads under the threshold through untouched', () => {
    const small = { a: 1 }
    expect(compressed(jsonSerializer).serialize(small)).toBe(jsonSerializer.serialize(small))
    expect(compressed(v8Serializer).serialize(small)).toEqual(v8Serializer.serialize(small))
  })

  it.each([
    ['jsonSerializer', jsonSerializer],
    ['v8Serializer', v8Serializer],
  ] as const)('compresses payloads over the threshold of %s, with its own marker', (_name, inner) => {
    const serializer = compressed(inner)
    const plain = inner.serialize(big)
    const packed = serializer.serialize(big)
    expect(packed).toBeInstanceOf(Uint8Array)
    const bytes = packed as Uint8Array
    expect([bytes[0], bytes[1]]).toEqual([0x02, 0x5a])
    expect(bytes.length).toBeLessThan(typeof plain === 'string' ? Buffer.byteLength(plain) : plain.length)
    expect(serializer.deserialize(packed)).toStrictEqual(big)
  })

  it('reads uncompressed payloads of its inner serializer (threshold changes between deploys)', () => {
    for (const inner of [jsonSerializer, v8Serializer]) {
      const plain = inner.serialize(big)
      expect(compressed(inner).deserialize(plain)).toStrictEqual(big)
      expect(
        compressed(inner, { threshold: 10 ** 9 }).deserialize(compressed(inner).serialize(big)),
      ).toStrictEqual(big)
    }
    const text = jsonSerializer.serialize({ a: 1 }) as string
    expect(compressed(jsonSerializer).deserialize(Buffer.from(text))).toEqual({ a: 1 })
  })

  it('keeps an inner payload that starts like a compressed one unambiguous', () => {
    const echo: Serializer = {
      serialize: (value) => (value instanceof Uint8Array ? value : String(value)),
      deserialize: (data) => data,
    }
    const serializer = compressed(echo)
    const tricky = Uint8Array.of(0x02, 0x5a, 0x64, 0x73, 1, 0, 0, 0, 9)
    const out = serializer.serialize(tricky)
    expect(Buffer.from(serializer.deserialize(out) as Uint8Array)).toEqual(Buffer.from(tricky))
    const text = '\x02Z text'
    const outText = serializer.serialize(text)
    expect(serializer.deserialize(outText)).toBe(text)
    expect(serializer.deserialize(Buffer.from(outText as Uint8Array))).toBe(text)
  })

  it('refuses a payload that inflates past its declared length (no zip bombs)', () => {
    const body = deflateRawSync(Buffer.alloc(1_000_000, 'a'))
    const header = Buffer.from([0x02, 0x5a, 0x64, 0x73, 0, 0, 0, 0])
    header.writeUInt32LE(100, 4)
    expect(() => compressed(jsonSerializer).deserialize(Buffer.concat([header, body]))).toThrow(Error)
  })

  it('reads brotli payloads (reserved for a future switch of algorithm)', () => {
    const text = jsonSerializer.serialize(big) as string
    const raw = Buffer.from(text)
    const header = Buffer.from([0x02, 0x5a, 0x62, 0x73, 0, 0, 0, 0])
    header.writeUInt32LE(raw.length, 4)
    expect(
      compressed(jsonSerializer).deserialize(Buffer.concat([header, brotliCompressSync(raw)])),
    ).toStrictEqual(big)
  })

  it('rejects a bad threshold', () => {
    expect(() => compressed(jsonSerializer, { threshold: -1 })).toThrow(TypeError)
    expect(() => compressed(jsonSerializer, { threshold: Number.NaN })).toThrow(TypeError)
  })
})

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

function cyclic(): unknown {
  const o: Record<string, unknown> = { a: { b: 1 } }
  ;(o.a as Record<string, unknown>).self = o
  return o
}

function arrayCycle(): unknown {
  const a: unknown[] = [1]
  a.push({ list: a })
  return a
}

const rejections: [string, () => unknown, string, RegExp][] = [
  ['a nested function', () => ({ a: [1, 2, { b: () => 1 }] }), '$.a[2].b', /function/],
  ['a top-level function', () => () => 1, '$', /function/],
  ['a symbol value', () => ({ s: Symbol('x') }), '$.s', /symbol/],
  ['a symbol-keyed property', () => ({ a: { [Symbol('k')]: 1 } }), '$.a', /symbol/],
  ['an object cycle', cyclic, '$.a.self', /cycle/],
  ['an array cycle', arrayCycle, '$[1].list', /cycle/],
  ['a class instance', () => ({ list: [new Point(1, 2)] }), '$.list[0]', /Point/],
  [
    'a class instance under a key that is not an identifier',
    () => ({ 'a-b': { c: new Point(1, 2) } }),
    '$["a-b"].c',
    /Point/,
  ],
  ['a WeakMap', () => ({ w: new WeakMap() }), '$.w', /WeakMap/],
  ['a WeakSet', () => ({ w: new WeakSet() }), '$.w', /WeakSet/],
  ['a Promise', () => ({ p: Promise.resolve(1) }), '$.p', /Promise/],
  ['an Error', () => ({ e: new Error('x') }), '$.e', /Error/],
  ['a Date subclass', () => ({ d: new (class MyDate extends Date {})() }), '$.d', /MyDate/],
  ['a Map subclass', () => [new (class MyMap extends Map {})()], '$[0]', /MyMap/],
  ['a boxed primitive', () => ({ n: Object(1) }), '$.n', /Number/],
  ['a function as a Map value', () => ({ m: new Map([['k', () => 1]]) }), '$.m.get("k")', /function/],
  ['a function inside a Map key', () => new Map([[{ f: () => 1 }, 1]]), '$.keys()[0].f', /function/],
  ['a symbol in a Set', () => ({ s: new Set([1, Symbol('x')]) }), '$.s.values()[1]', /symbol/],
  ['a class instance in a sparse array', () => holey(3, [2, new Point(0, 0)]), '$[2]', /Point/],
]

describe('rejections', () => {
  it.each(rejections)('assertSerializable refuses %s with its path', (_label, make, path, reason) => {
    let caught: unknown
    try {
      assertSerializable(make(), 'user:1')
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(UnserializableValueError)
    const error = caught as UnserializableValueError
    expect(error.path).toBe(path)
    expect(error.code).toBe('E_UNSERIALIZABLE')
    expect(error.key).toBe('user:1')
    expect(error.message).toMatch(reason)
    expect(error.message).toContain(path)
  })

  describe.each(serializers)('%s', (_name, serializer) => {
    it.each(rejections)('refuses %s up-front with its path', (_label, make, path) => {
      let caught: unknown
      try {
        serializer.serialize(make())
      } catch (err) {
        caught = err
      }
      expect(caught).toBeInstanceOf(UnserializableValueError)
      expect((caught as UnserializableValueError).path).toBe(path)
    })
  })

  it('allows repeated references that are not cycles', () => {
    const shared = { x: 1 }
    expect(() => assertSerializable({ a: shared, b: [shared, shared], c: new Set([shared]) })).not.toThrow()
    const list = [1]
    expect(() => assertSerializable([list, [list]])).not.toThrow()
  })

  it('accepts every supported type', () => {
    for (const [, value] of explicitCases) expect(() => assertSerializable(value)).not.toThrow()
  })
})

describe('garbage input throws', () => {
  const entry = {
    v: { name: 'x', at: new Date(1), tags: new Set(['a']), n: 42n, list: [1, 2, 3] },
    c: 1,
    f: 2,
    s: 3,
    w: 2,
    d: 5,
  }
  const foreign: [string, Uint8Array | string][] = [
    ['empty text', ''],
    ['empty bytes', new Uint8Array(0)],
    ["another app's JSON", '{"v":1,"c":2}'],
    ["another app's JSON bytes", Buffer.from('{"v":1}')],
    ['plain text', 'hello world'],
    ['raw node:v8 output', rawV8Serialize({ v: 1 })],
    ['gzip data', gzipSync(Buffer.from('{"v":1}'))],
    ['a number as text', '42'],
    ['invalid UTF-8 after the JSON marker', Buffer.from([0x02, 0x4a, 0x31, 0xff, 0xfe, 0x03])],
    ['an unknown JSON tag', '\x02J1"\x7fQ"\x03'],
    ['a bad Map encoding', '\x02J1["\x7fM",1]\x03'],
    ['a misplaced hole tag', '\x02J1{"a":"\x7fh"}\x03'],
    ['a bad BigInt', '\x02J1"\x7fbxyz"\x03'],
    ['a bad Date', '\x02J1"\x7fdsoon"\x03'],
    ['a bad typed array length', '\x02J1"\x7ftjAAE="\x03'],
    ['a newer JSON format version', '\x02J2{}\x03'],
    ['a compressed header with an unknown algorithm', Buffer.from([0x02, 0x5a, 0x71, 0x73, 1, 0, 0, 0, 0])],
    ['a truncated compressed header', Buffer.from([0x02, 0x5a, 0x64])],
  ]

  describe.each(serializers)('%s', (_name, serializer) => {
    it.each(foreign)('throws on %s', (_label, data) => {
      expect(() => serializer.deserialize(data)).toThrow(Error)
    })

    it('throws on every truncation of a payload', () => {
      const payload = serializer.serialize(entry)
      for (let n = 0; n < payload.length; n++) {
        const cut = payload.slice(0, n)
        expect(() => serializer.deserialize(cut), `prefix of ${n} / ${payload.length}`).toThrow(Error)
      }
    })

    it('throws on random bytes and random text (property)', () => {
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ maxLength: 64 })), (data) => {
          expect(() => serializer.deserialize(data)).toThrow(Error)
        }),
        { numRuns: 300 },
      )
    })

    it('survives random bytes after a valid marker: an Error or some value, never a crash or pollution (property)', () => {
      // Without a checksum a random tail can be a valid payload (e.g. v8's one-byte `false`), so
      // this only checks robustness; truncation and foreign data are the cases that must throw.
      const payload = serializer.serialize(entry)
      const prefix =
        typeof payload === 'string'
          ? Buffer.from(payload).subarray(0, 3)
          : Buffer.from(payload).subarray(0, 5)
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => {
          try {
            serializer.deserialize(Buffer.concat([prefix, tail]))
          } catch (err) {
            expect(err).toBeInstanceOf(Error)
          }
          expect(Object.keys(Object.prototype)).toEqual([])
        }),
        { numRuns: 300 },
      )
    })
  })

  it('v8Serializer refuses text', () => {
    expect(() => v8Serializer.deserialize('\x02V1')).toThrow(TypeError)
  })

  it('compressed throws when the declared length does not match', () => {
    const packed = Buffer.from(compressed(jsonSerializer, { threshold: 0 }).serialize(entry) as Uint8Array)
    packed.writeUInt32LE(packed.readUInt32LE(4) + 1, 4)
    expect(() => compressed(jsonSerializer).deserialize(packed)).toThrow(Error)
  })
})
