import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { callKey, encodeKey, hashKey, joinKey } from '../src/keys.js'

// ---------------------------------------------------------------------------------------------
// Reference equality, written independently of the encoder: the equality the keys must respect.
// Numbers by Object.is (NaN equals NaN, -0 differs from 0); array holes equal undefined; plain
// objects by own enumerable keys regardless of order; Map/Set as unordered multisets; Date by time
// value; byte views by type and bytes (Buffer counts as Uint8Array); class instances by
// constructor name plus own enumerable properties; boxed primitives by their primitive.
// ---------------------------------------------------------------------------------------------

type Rec = Record<string, unknown>

function typeName(x: object): string {
  const proto: object | null = Object.getPrototypeOf(x)
  if (proto === null || proto === Object.prototype) return '<plain>'
  const ctor = (proto as { constructor?: unknown }).constructor
  const name = typeof ctor === 'function' ? ctor.name : ''
  return name === 'Buffer' ? 'Uint8Array' : name
}

function viewBytes(v: ArrayBufferView | ArrayBuffer): Buffer {
  return v instanceof ArrayBuffer ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength)
}

function viewKind(v: ArrayBufferView): string {
  for (const k of [
    'Uint8Array',
    'Int8Array',
    'Uint8ClampedArray',
    'Int16Array',
    'Uint16Array',
    'Int32Array',
    'Uint32Array',
    'Float32Array',
    'Float64Array',
    'BigInt64Array',
    'BigUint64Array',
    'DataView',
  ]) {
    const C = (globalThis as Rec)[k] as abstract new (...a: never[]) => object
    if (v instanceof C) return k
  }
  return '?'
}

function multisetEqual(a: unknown[][], b: unknown[][]): boolean {
  if (a.length !== b.length) return false
  const rest = [...b]
  for (const x of a) {
    const j = rest.findIndex((y) => x.every((xi, i) => deepEqual(xi, y[i])))
    if (j < 0) return false
    rest.splice(j, 1)
  }
  return true
}

function propsEqual(a: object, b: object): boolean {
  const ka = Object.keys(a).sort()
  const kb = Object.keys(b).sort()
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && deepEqual((a as Rec)[k], (b as Rec)[k]))
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b)
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || typeName(a) !== typeName(b) || a.length !== b.length) {
      return false
    }
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false
    return true
  }
  if (typeName(a) !== typeName(b)) return false
  if (a instanceof Date) return b instanceof Date && Object.is(a.getTime(), b.getTime())
  if (ArrayBuffer.isView(a)) {
    return ArrayBuffer.isView(b) && viewKind(a) === viewKind(b) && viewBytes(a).equals(viewBytes(b))
  }
  if (a instanceof ArrayBuffer) return b instanceof ArrayBuffer && viewBytes(a).equals(viewBytes(b))
  if (a instanceof Map) return b instanceof Map && multisetEqual([...a], [...b])
  if (a instanceof Set)
    return (
      b instanceof Set &&
      multisetEqual(
        [...a].map((x) => [x]),
        [...b].map((x) => [x]),
      )
    )
  if (a instanceof RegExp) return b instanceof RegExp && a.source === b.source && a.flags === b.flags
  if (a instanceof Number || a instanceof String || a instanceof Boolean) {
    return (
      (b instanceof Number || b instanceof String || b instanceof Boolean) &&
      Object.is(a.valueOf(), b.valueOf())
    )
  }
  return propsEqual(a, b)
}

// ---------------------------------------------------------------------------------------------
// A decoder for the encoding. decode(encodeKey(v)) deep-equals v for every keyable v, which
// proves encodeKey injective (it has a left inverse) on everything the generators reach.
// ---------------------------------------------------------------------------------------------

function namedSubclass(name: string, base: new (...a: never[]) => object): new () => object {
  const holder = { [name]: class extends (base as new () => object) {} }
  return holder[name]
}

class Decoder {
  i = 0
  constructor(readonly s: string) {}

  private until(ch: string): string {
    const j = this.s.indexOf(ch, this.i)
    if (j < 0) throw new Error(`expected ${ch} after ${this.i} in ${this.s}`)
    const out = this.s.slice(this.i, j)
    this.i = j + 1
    return out
  }

  private bytes(): Uint8Array {
    return new Uint8Array(Buffer.from(this.until(';'), 'base64url'))
  }

  str(): string {
    const v = this.value()
    if (typeof v !== 'string') throw new Error('expected a string token')
    return v
  }

  private entriesUntilClose(): unknown[] {
    const out: unknown[] = []
    while (this.s[this.i] !== '}') out.push(this.value())
    this.i++
    return out
  }

  value(): unknown {
    const t = this.s[this.i++]
    switch (t) {
      case 'U':
        return undefined
      case 'N':
        return null
      case 'T':
        return true
      case 'F':
        return false
      case 'd':
        return Number(this.until(';'))
      case 'n':
        return BigInt(this.until(';'))
      case 's': {
        const len = Number(this.until(':'))
        const out = this.s.slice(this.i, this.i + len)
        this.i += len
        return out
      }
      case 'w': {
        const len = Number(this.until(':'))
        let out = ''
        for (let k = 0; k < len; k++, this.i += 4)
          out += String.fromCharCode(parseInt(this.s.slice(this.i, this.i + 4), 16))
        return out
      }
      case 'D':
        return new Date(Number(this.until(';')))
      case 'R':
        return new RegExp(this.str(), this.str())
      case 'x':
        return this.bytes()
      case 'v': {
        const name = this.str()
        const buf = this.bytes().slice().buffer
        if (name === 'DataView') return new DataView(buf)
        const C = (globalThis as Rec)[name] as new (b: ArrayBuffer) => object
        return new C(buf)
      }
      case 'B':
        return this.bytes().slice().buffer
      case 'W':
        return Object(this.value())
      case '[': {
        const out: unknown[] = []
        while (this.s[this.i] !== ']') out.push(this.value())
        this.i++
        return out
      }
      case '{': {
        const out: Rec = {}
        const flat = this.entriesUntilClose()
        for (let k = 0; k < flat.length; k += 2) {
          Object.defineProperty(out, flat[k] as string, {
            value: flat[k + 1],
            enumerable: true,
            writable: true,
          })
        }
        return out
      }
      case 'M': {
        const flat = this.entriesUntilClose()
        const out = new Map()
        for (let k = 0; k < flat.length; k += 2) out.set(flat[k], flat[k + 1])
        return out
      }
      case 'S':
        return new Set(this.entriesUntilClose())
      case 'C': {
        const name = this.str()
        const body = this.value() as object
        const proto: object | null = Object.getPrototypeOf(body)
        const base = (proto === null ? Object : proto.constructor) as new () => object
        Object.setPrototypeOf(body, namedSubclass(name, base).prototype)
        return body
      }
      default:
        throw new Error(`unknown tag ${t} at ${this.i - 1} in ${this.s}`)
    }
  }
}

function decode(s: string): unknown {
  const d = new Decoder(s)
  const v = d.value()
  if (d.i !== s.length) throw new Error(`trailing input at ${d.i} in ${s}`)
  return v
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

class A {
  x: unknown
  y: unknown
}
class B {
  x: unknown
  y: unknown
}
class Sub extends Map<unknown, unknown> {}
class P2 {
  f = () => 1
}

/** Class instances with the same fields in different classes, and the plain object twin. */
const instanceArb = fc
  .tuple(fc.constantFrom<(new () => object) | null>(A, B, null), fc.constantFrom(0, 1, 'x', undefined))
  .map(([C, x]) => {
    const o: Rec = C === null ? {} : (new C() as Rec)
    o.x = x
    return o
  })

/** Few, confusable leaves, so that generated pairs are often equal or nearly equal. */
const confusableLeaves: fc.Arbitrary<unknown>[] = [
  fc.constantFrom<unknown>(0, -0, 1, NaN, Infinity, '', '0', '1', 'NaN', ':', ']', 's1:', 'U', true, false),
  fc.constantFrom<unknown>(null, undefined, 0n, 1n, new Date(0), new Date(1), new Date(Number.NaN)),
  fc.constantFrom<unknown>('1970-01-01T00:00:00.000Z'),
  fc.constantFrom(0, 1).map((b) => (b === 0 ? new Uint8Array([1]) : Buffer.from([1]))),
  fc.constantFrom(0, 1).map((b) => (b === 0 ? new Uint8Array([]) : new Int8Array([1]))),
  instanceArb,
]

const confusable = fc.anything({
  values: confusableLeaves,
  key: fc.constantFrom('a', 'b', '', ':', 's1:a'),
  maxDepth: 2,
  maxKeys: 3,
  withMap: true,
  withSet: true,
  withSparseArray: true,
  withNullPrototype: true,
  withBoxedValues: true,
})

const broad = fc.anything({
  maxDepth: 3,
  maxKeys: 5,
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: true,
  withBoxedValues: true,
  withObjectString: true,
  withUnicodeString: true,
})

/** Deep copy that re-inserts object keys and Map/Set entries in a permuted order. */
function shuffledClone(v: unknown, rnd: () => number): unknown {
  const perm = <T>(xs: T[]): T[] => {
    const out = [...xs]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1))
      ;[out[i], out[j]] = [out[j], out[i]]
    }
    return out
  }
  if (typeof v !== 'object' || v === null) return v
  if (Array.isArray(v)) {
    const out = new Array(v.length)
    for (let i = 0; i < v.length; i++) if (i in v) out[i] = shuffledClone(v[i], rnd)
    return out
  }
  if (v instanceof Date) return new Date(v.getTime())
  if (v instanceof Map)
    return new Map(perm([...v]).map(([k, x]) => [shuffledClone(k, rnd), shuffledClone(x, rnd)]))
  if (v instanceof Set) return new Set(perm([...v]).map((x) => shuffledClone(x, rnd)))
  if (ArrayBuffer.isView(v) || v instanceof Number || v instanceof String || v instanceof Boolean) return v
  const proto: object | null = Object.getPrototypeOf(v)
  const out: Rec = Object.create(proto)
  for (const k of perm(Object.keys(v))) {
    Object.defineProperty(out, k, {
      value: shuffledClone((v as Rec)[k], rnd),
      enumerable: true,
      writable: true,
    })
  }
  return out
}

const LEAVES: unknown[] = [0, -0, 1, NaN, '', '0', '1', ':', undefined, null, 1n, true, new Date(0), [], {}]

/** Copy of v with one random leaf replaced, one array element or object key added or removed. */
function mutate(v: unknown, rnd: () => number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]
  if (typeof v !== 'object' || v === null || v instanceof Date || ArrayBuffer.isView(v) || rnd() < 0.15) {
    return pick(LEAVES)
  }
  if (Array.isArray(v)) {
    const out = [...v]
    const r = rnd()
    if (r < 0.2) out.push(pick(LEAVES))
    else if (r < 0.3) out.pop()
    else if (out.length > 0) {
      const i = Math.floor(rnd() * out.length)
      out[i] = mutate(out[i], rnd)
    }
    return out
  }
  if (v instanceof Map) {
    const entries = [...v]
    if (entries.length === 0 || rnd() < 0.2) return new Map([...entries, [pick(LEAVES), pick(LEAVES)]])
    const i = Math.floor(rnd() * entries.length)
    const [k, x] = entries[i]
    entries[i] = rnd() < 0.5 ? [mutate(k, rnd), x] : [k, mutate(x, rnd)]
    return new Map(entries)
  }
  if (v instanceof Set) {
    const xs = [...v]
    if (xs.length === 0 || rnd() < 0.2) return new Set([...xs, pick(LEAVES)])
    const i = Math.floor(rnd() * xs.length)
    xs[i] = mutate(xs[i], rnd)
    return new Set(xs)
  }
  if (v instanceof Number || v instanceof String || v instanceof Boolean) return Object(pick(LEAVES))
  const out: Rec = Object.create(Object.getPrototypeOf(v))
  for (const k of Object.keys(v)) {
    Object.defineProperty(out, k, {
      value: (v as Rec)[k],
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  const keys = Object.keys(out)
  const r = rnd()
  if (keys.length === 0 || r < 0.2) {
    Object.defineProperty(out, pick(['a', 'b', '']), {
      value: pick(LEAVES),
      enumerable: true,
      writable: true,
    })
  } else if (r < 0.3) delete out[pick(keys)]
  else {
    const k = pick(keys)
    out[k] = mutate(out[k], rnd)
  }
  return out
}

function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

// ---------------------------------------------------------------------------------------------

describe('encodeKey', () => {
  it('(1) equal inputs give equal keys, whatever the key and entry order', () => {
    fc.assert(
      fc.property(broad, fc.integer(), (v, seed) => {
        const w = shuffledClone(v, lcg(seed))
        expect(deepEqual(v, w)).toBe(true)
        expect(encodeKey(w)).toBe(encodeKey(v))
      }),
      { numRuns: 2000 },
    )
  })

  it('(2) keys are equal exactly when values are deep-equal (confusable pairs)', () => {
    let equalPairs = 0
    fc.assert(
      fc.property(confusable, confusable, (a, b) => {
        const same = deepEqual(a, b)
        if (same) equalPairs++
        expect(encodeKey(a) === encodeKey(b)).toBe(same)
      }),
      { numRuns: 5000 },
    )
    // The generator is narrow enough to produce equal pairs too, not only obviously different ones.
    expect(equalPairs).toBeGreaterThan(10)
  })

  it('(2) keys are equal exactly when values are deep-equal (one-step mutations)', () => {
    let equalPairs = 0
    fc.assert(
      fc.property(fc.oneof(confusable, broad), fc.integer(), (a, seed) => {
        const b = mutate(a, lcg(seed))
        const same = deepEqual(a, b)
        if (same) equalPairs++
        expect(encodeKey(a) === encodeKey(b)).toBe(same)
      }),
      { numRuns: 5000 },
    )
    expect(equalPairs).toBeGreaterThan(50)
  })

  it('(2) keys differ for values that are not deep-equal (broad pairs)', () => {
    fc.assert(
      fc.property(broad, broad, (a, b) => {
        fc.pre(!deepEqual(a, b))
        expect(encodeKey(a)).not.toBe(encodeKey(b))
      }),
      { numRuns: 2000 },
    )
  })

  it('(2) the encoding has a left inverse: decode(encodeKey(v)) deep-equals v', () => {
    fc.assert(
      fc.property(fc.oneof(broad, confusable), (v) => {
        const s = encodeKey(v)
        const back = decode(s)
        expect(deepEqual(back, v)).toBe(true)
        expect(encodeKey(back)).toBe(s)
      }),
      { numRuns: 3000 },
    )
  })

  it('(4) tricky pairs from reliability case 31 all differ', () => {
    const sparse: unknown[] = []
    sparse.length = 1
    class P {
      a = 1
    }
    class Q {
      a = 1
    }
    const tricky: Array<[string, unknown, unknown]> = [
      ['1 vs "1"', 1, '1'],
      ['1 vs 1n', 1, 1n],
      ['"1" vs 1n', '1', 1n],
      ['0 vs -0', 0, -0],
      ['0 vs "0"', 0, '0'],
      ['NaN vs "NaN"', NaN, 'NaN'],
      ['undefined vs null', undefined, null],
      ['[undefined] vs [null]', [undefined], [null]],
      ['[undefined] vs []', [undefined], []],
      ['[null] vs []', [null], []],
      ['sparse [,] vs []', sparse, []],
      ['sparse [,] vs [null]', sparse, [null]],
      ['{a: undefined} vs {}', { a: undefined }, {}],
      ['{a: undefined} vs {a: null}', { a: undefined }, { a: null }],
      ['true vs "true"', true, 'true'],
      ['false vs 0', false, 0],
      ['"" vs undefined', '', undefined],
      ['["a","b"] vs ["a,b"]', ['a', 'b'], ['a,b']],
      ['["ab"] vs ["a","b"]', ['ab'], ['a', 'b']],
      ['delimiters in strings', ['s1:a', ''], ['', 's1:a']],
      ['string that looks like a token', ['d1;'], [1]],
      ['string containing ]', [']', 'x'], ['], x']],
      ['[[]] vs []', [[]], []],
      ['[[1]] vs [1]', [[1]], [1]],
      ['{a: 1} vs [1]', { a: 1 }, [1]],
      ['{a: {b: 1}} vs {"a.b": 1}', { a: { b: 1 } }, { 'a.b': 1 }],
      ['{a:1,b:2} vs {a:2,b:1}', { a: 1, b: 2 }, { a: 2, b: 1 }],
      ['Date vs its ISO string', new Date(0), '1970-01-01T00:00:00.000Z'],
      ['Date vs its time value', new Date(0), 0],
      ['Date vs another Date', new Date(0), new Date(1)],
      ['Uint8Array vs array of bytes', new Uint8Array([1, 2]), [1, 2]],
      ['Uint8Array vs other bytes', new Uint8Array([1, 2]), new Uint8Array([2, 1])],
      ['Uint8Array vs Int8Array', new Uint8Array([1]), new Int8Array([1])],
      ['Buffer vs its string', Buffer.from('hi'), 'hi'],
      ['Map vs object', new Map([['a', 1]]), { a: 1 }],
      ['Map vs array of entries', new Map([['a', 1]]), [['a', 1]]],
      ['Map keys 1 vs "1"', new Map([[1, 'x']]), new Map([['1', 'x']])],
      ['Set vs array', new Set([1]), [1]],
      ['Set vs Map', new Set(), new Map()],
      ['Set {1,2} vs {1}', new Set([1, 2]), new Set([1])],
      ['class P vs class Q with the same fields', new P(), new Q()],
      ['class instance vs plain object', new P(), { a: 1 }],
      ['Map vs Map subclass', new Map(), new Sub()],
      ['boxed 1 vs 1', Object(1), 1],
      ['boxed 1 vs boxed 2', Object(1), Object(2)],
      ['regexps', /a/g, /a/i],
      ['regexp vs string', /a/, '/a/'],
      ['lone surrogates', '\uD800', '\uDBFF'],
      ['args [1, 2] vs [[1, 2]]', [1, 2], [[1, 2]]],
      ['big vs small', 2n ** 64n, 2 ** 64],
    ]
    for (const [what, a, b] of tricky) {
      expect(encodeKey(a), what).not.toBe(encodeKey(b))
      expect(hashKey(a), what).not.toBe(hashKey(b))
    }
  })

  it('documents the chosen equalities', () => {
    const sparse: unknown[] = []
    sparse.length = 1
    expect(encodeKey(sparse)).toBe(encodeKey([undefined]))
    expect(encodeKey(NaN)).toBe(encodeKey(Number.NaN))
    expect(encodeKey(0 / 0)).toBe(encodeKey(NaN))
    expect(encodeKey(Buffer.from([1, 2]))).toBe(encodeKey(new Uint8Array([1, 2])))
    expect(encodeKey(Object.create(null))).toBe(encodeKey({}))
    expect(encodeKey({ b: 1, a: 2 })).toBe(encodeKey({ a: 2, b: 1 }))
    expect(encodeKey(new Set([1, 2]))).toBe(encodeKey(new Set([2, 1])))
    expect(
      encodeKey(
        new Map([
          [1, 'a'],
          [2, 'b'],
        ]),
      ),
    ).toBe(
      encodeKey(
        new Map([
          [2, 'b'],
          [1, 'a'],
        ]),
      ),
    )
    const shared = { a: 1 }
    expect(encodeKey([shared, shared])).toBe(encodeKey([{ a: 1 }, { a: 1 }]))
    // toJSON is not consulted.
    expect(encodeKey({ toJSON: undefined, a: 1 })).not.toBe(encodeKey({ a: 1 }))
  })

  it('is stable across processes: golden encodings and hashes', () => {
    expect(encodeKey([42])).toBe('[d42;]')
    expect(encodeKey([1, '1', 1n, -0, NaN, null, undefined, true])).toBe('[d1;s1:1n1;d-0;dNaN;NUT]')
    expect(encodeKey({ b: [new Date(0)], a: new Map([['k', new Set([2, 1])]]) })).toBe(
      '{s1:aMs1:kSd1;d2;}}s1:b[D0;]}',
    )
    expect(encodeKey(new A())).toBe('Cs1:A{s1:xUs1:yU}')
    expect(encodeKey(Buffer.from('hi'))).toBe('xaGk;')
    expect(encodeKey('\uD800')).toBe('w1:d800')
    expect(hashKey([42])).toBe(createHash('sha256').update('[d42;]').digest('base64url').slice(0, 22))
    expect(hashKey([42])).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })

  it('(5) functions, symbols, cycles and opaque objects throw TypeError naming the path', () => {
    const cyc: Rec = { a: 1 }
    cyc.self = { inner: [cyc] }
    const cases: Array<[unknown, RegExp]> = [
      [() => 1, /function at \$$/],
      [[1, { a: () => 1 }], /function at \$\[1\]\.a$/],
      [[Symbol('x')], /symbol at \$\[0\]$/],
      [{ 'my key': [0, 1, Symbol.iterator] }, /symbol at \$\["my key"\]\[2\]$/],
      [[cyc], /circular reference at \$\[0\]\.self\.inner\[0\]$/],
      [new Map([['k', () => 1]]), /function at \$\{Map entry 0 value\}$/],
      [new Set([1, Symbol()]), /symbol at \$\{Set element 1\}$/],
      [[new WeakMap()], /WeakMap at \$\[0\]$/],
      [[Object(Symbol('boxed'))], /symbol at \$\[0\]$/],
      [[Promise.resolve()], /Promise at \$\[0\]$/],
      [[new Error('x')], /Error at \$\[0\]$/],
      [[new P2()], /function at \$\[0\]\.f$/],
    ]
    for (const [v, re] of cases) {
      expect(() => encodeKey(v)).toThrow(TypeError)
      expect(() => encodeKey(v)).toThrow(re)
    }
    const selfArr: unknown[] = []
    selfArr.push(selfArr)
    expect(() => encodeKey(selfArr)).toThrow(/circular reference at \$\[0\]$/)
    expect(() => callKey('f', [cyc])).toThrow(TypeError)
  })

  it('lets non-key errors (throwing getters) through unchanged', () => {
    const boom = new RangeError('boom')
    const o = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw boom
      },
    })
    expect(() => encodeKey(o)).toThrow(boom)
  })
})

// ---------------------------------------------------------------------------------------------

/** Splits a joinKey result back into parts (the inverse the format promises). */
function splitKey(s: string): string[] {
  if (s === '') return []
  const parts: string[] = []
  let cur = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (c === ':') {
      parts.push(cur)
      cur = ''
    } else if (c === '\\') {
      const e = s[++i]
      if (e === 'e') cur += ''
      else if (e === 'u') {
        cur += String.fromCharCode(parseInt(s.slice(i + 1, i + 5), 16))
        i += 4
      } else cur += e
    } else cur += c
  }
  parts.push(cur)
  return parts
}

const trickyString = fc.string({
  unit: fc.constantFrom(':', '|', '\\', 'a', 'b', 'e', 'u', '\uD800', '\uDC00', '#'),
  maxLength: 5,
})

describe('joinKey', () => {
  it('(3) is injective over arrays of arbitrary strings, and splitKey inverts it', () => {
    fc.assert(
      fc.property(
        fc.array(trickyString, { maxLength: 4 }),
        fc.array(trickyString, { maxLength: 4 }),
        (p, q) => {
          const same = p.length === q.length && p.every((x, i) => x === q[i])
          expect(joinKey(p) === joinKey(q)).toBe(same)
          expect(splitKey(joinKey(p))).toEqual(p)
        },
      ),
      { numRuns: 5000 },
    )
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 5 }), (p) => {
        expect(splitKey(joinKey(p))).toEqual(p)
      }),
      { numRuns: 1000 },
    )
  })

  it('case 32: tenant "a:b" + id "c" differs from tenant "a" + id "b:c"', () => {
    expect(joinKey(['a:b', 'c'])).not.toBe(joinKey(['a', 'b:c']))
    expect(joinKey(['a:b', 'c'])).toBe('a\\:b:c')
    expect(joinKey(['a', 'b:c'])).toBe('a:b\\:c')
    expect(joinKey([])).not.toBe(joinKey(['']))
    expect(joinKey(['', ''])).not.toBe(joinKey(['']))
    expect(joinKey(['a\\', 'b'])).not.toBe(joinKey(['a', '\\b']))
    expect(joinKey(['app', 'tenant1', 'user'])).toBe('app:tenant1:user')
  })

  it('keeps a tenant prefix unique: joinKey(p)+":" prefixes joinKey(q) iff p is a proper prefix of q', () => {
    fc.assert(
      fc.property(
        fc.array(trickyString, { maxLength: 3 }),
        fc.array(trickyString, { maxLength: 4 }),
        (p, q) => {
          const isPrefix = p.length < q.length && p.every((x, i) => x === q[i])
          expect(joinKey(q).startsWith(joinKey(p) + ':')).toBe(isPrefix && p.length > 0)
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('never produces lone surrogates (UTF-8 storage stays injective)', () => {
    const a = joinKey(['\uD800'])
    const b = joinKey(['\uDBFF'])
    expect(Buffer.from(a, 'utf8').equals(Buffer.from(b, 'utf8'))).toBe(false)
  })
})

// ---------------------------------------------------------------------------------------------

describe('callKey', () => {
  it('uses the readable form for short encodings and the hashed form otherwise', () => {
    expect(callKey('UserService.get', [42])).toBe('UserService.get:[d42;]')
    const long = 'x'.repeat(200)
    expect(callKey('f', [long])).toBe(`f#${hashKey([long])}`)
    expect(callKey('f', ['a\nb'])).toBe(`f#${hashKey(['a\nb'])}`)
    // Control characters anywhere (object keys, C1 range, strings longer than the fast scan) hash.
    expect(callKey('f', [{ 'a\nb': 1 }])).toMatch(/^f#/)
    expect(callKey('f', ['\u0085'])).toMatch(/^f#/)
    expect(callKey('f', [`${'y'.repeat(40)}\u0000`])).toMatch(/^f#/)
    expect(callKey('f', [/a\tb/])).toMatch(/^f:/) // the source is "a\tb": backslash and t, no control
    // A lone surrogate is hex-encoded, so the short form stays usable and well-formed.
    expect(callKey('f', ['\uD800'])).toBe('f:[w1:d800]')
    expect(callKey('f', ['x'.repeat(113)])).toMatch(/^f:/) // encoding is exactly 120 chars
    expect(encodeKey(['x'.repeat(113)])).toHaveLength(120)
    expect(callKey('f', ['x'.repeat(114)])).toMatch(/^f#/)
  })

  it('escapes the name so that no name can fake another key or the other form', () => {
    const args = ['x'.repeat(200)]
    const hashed = callKey('f', args) // f#<hash>
    // A name that spells out "f#<hash>" minus the separator cannot reproduce it.
    expect(callKey(hashed.slice(0, -1), [])).not.toBe(hashed)
    expect(callKey('f:[]', [])).not.toBe(callKey('f', []))
    expect(callKey('f:[]', [])).toBe('f\\:[]:[]')
    expect(callKey('a:b', [1])).not.toBe(callKey('a', [':b', 1]))
    expect(callKey('f#x', [])).toBe('f\\#x:[]')
  })

  it('is injective over (name, args)', () => {
    const name = fc.string({
      unit: fc.constantFrom('f', ':', '#', '\\', '[', ']', 'd', ';', '\n'),
      maxLength: 5,
    })
    const args = fc.array(
      fc.oneof(
        fc.constantFrom<unknown>(1, '1', ':', '#', '', '\n'),
        fc.string({ unit: fc.constantFrom(':', '#', 'x'), minLength: 100, maxLength: 130 }),
      ),
      { maxLength: 2 },
    )
    fc.assert(
      fc.property(name, args, name, args, (n1, a1, n2, a2) => {
        const same = n1 === n2 && deepEqual(a1, a2)
        expect(callKey(n1, a1) === callKey(n2, a2)).toBe(same)
      }),
      { numRuns: 3000 },
    )
  })
})
