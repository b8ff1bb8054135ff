import { describe, expect, it } from 'vitest'
import { fastRecord, headerRecord, pairsToRecord, singleValuedHeaders } from '../../src/http/node.js'

describe('header records', () => {
  it('fastRecord equals pairsToRecord: repeats become arrays in order, Object.prototype names are plain names', () => {
    const pairs: [string, string][] = [
      ['content-type', 'text/plain'],
      ['x-a', '1'],
      ['constructor', 'c'],
      ['x-a', '2'],
      ['tostring', 't'],
      ['hasOwnProperty', 'h'],
      ['x-a', '3'],
    ]
    const fast = fastRecord(pairs)
    expect(Object.getPrototypeOf(fast)).toBe(Object.prototype)
    expect({ ...fast }).toEqual({ ...pairsToRecord(pairs) })
    expect(fast).toEqual({
      'content-type': 'text/plain',
      'x-a': ['1', '2', '3'],
      constructor: 'c',
      tostring: 't',
      hasOwnProperty: 'h',
    })
  })

  it('a __proto__ header name gets a null-prototype record, never a new prototype', () => {
    const rec = fastRecord([
      ['__proto__', 'x'],
      ['a', '1'],
    ])
    expect(Object.getPrototypeOf(rec)).toBeNull()
    expect(Object.getOwnPropertyDescriptor(rec, '__proto__')?.value).toBe('x')
    expect(rec.a).toBe('1')
  })

  it('headerRecord returns the prepared record, or builds one from the pairs', () => {
    const record = Object.freeze({ a: '1' })
    expect(headerRecord({ status: 200, headers: [['a', 'other']], body: undefined, record })).toBe(record)
    expect(
      headerRecord({
        status: 200,
        headers: [
          ['a', '1'],
          ['a', '2'],
        ],
        body: undefined,
      }),
    ).toEqual({
      a: ['1', '2'],
    })
  })

  it('singleValuedHeaders: a record when no name repeats, else undefined (pass the pairs)', () => {
    const pairs: [string, string][] = [
      ['a', '1'],
      ['constructor', 'c'],
    ]
    expect(singleValuedHeaders({ headers: pairs })).toEqual({ a: '1', constructor: 'c' })
    expect(singleValuedHeaders({ headers: [...pairs, ['a', '2']] })).toBeUndefined()
    expect(singleValuedHeaders({ headers: [['__proto__', 'x']] })).toBeUndefined()
    const record = Object.freeze({ a: '1' })
    expect(singleValuedHeaders({ headers: [['a', '1']], record })).toBe(record)
    expect(singleValuedHeaders({ headers: [], record: Object.freeze({ a: ['1', '2'] }) })).toBeUndefined()
  })
})
