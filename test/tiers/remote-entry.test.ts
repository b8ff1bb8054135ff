import { describe, expect, it } from 'vitest'
import type { Entry } from '../../src/entry.js'
import { decodeRemote, encodeRemote } from '../../src/remote-entry.js'
import { jsonSerializer } from '../../src/serializer.js'
import type { RemoteTier } from '../../src/tiers/types.js'

/** The envelope remote tiers store: what `Lower` writes and reads, without a server. */

const tier = (offset: number): RemoteTier => ({ clockOffset: () => offset }) as unknown as RemoteTier

const entry = (over: Partial<Entry> = {}): Entry => ({
  v: { id: 42, name: 'Espresso', tags: ['a'] },
  c: 1_000,
  f: 61_000,
  w: 61_000,
  s: 3_661_000,
  d: 12.5,
  g: undefined,
  ...over,
})

describe('remote entry envelope', () => {
  it('an entry without tags is written untagged (JSON.parse alone reads it) and reads back equal', () => {
    const payload = encodeRemote(jsonSerializer, entry(), 0) as string
    // the marker's space: nothing in the payload needs the decoding walk (g: undefined is left out)
    expect(payload.startsWith('\x02J1 ')).toBe(true)
    expect(payload).not.toContain('"g"')
    const back = decodeRemote(jsonSerializer, tier(0), payload)
    // the same entry, with no `g` field at all
    const { g, ...withoutTags } = entry()
    expect(g).toBeUndefined()
    expect(back).toStrictEqual(withoutTags)
    expect(back.g).toBeUndefined()
  })

  it('tags and the negative flag are kept; the written entry is not changed', () => {
    const e = entry({ g: ['\u0000ns1\u0000', 'product:1'], x: 1 })
    const before = structuredClone(e)
    const back = decodeRemote(jsonSerializer, tier(0), encodeRemote(jsonSerializer, e, 0))
    expect(back.g).toEqual(['\u0000ns1\u0000', 'product:1'])
    expect(back.x).toBe(1)
    expect(e).toStrictEqual(before)
  })

  it("times go to the server's clock on write and come back on read; infinite times stay infinite", () => {
    const e = entry({ f: Number.POSITIVE_INFINITY, w: Number.POSITIVE_INFINITY, s: Number.POSITIVE_INFINITY })
    const payload = encodeRemote(jsonSerializer, e, 5_000) as string
    // the server's view: created 5 s later on its clock
    const raw = jsonSerializer.deserialize(payload) as [number, Entry]
    expect(raw[1].c).toBe(6_000)
    expect(raw[1].f).toBe(Number.POSITIVE_INFINITY)
    const back = decodeRemote(jsonSerializer, tier(5_000), payload)
    expect(back.c).toBe(1_000)
    expect(back.f).toBe(Number.POSITIVE_INFINITY)
    expect(e.c).toBe(1_000)
  })
})
