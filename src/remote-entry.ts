/**
 * The envelope of an entry in a remote tier: `[ENTRY_VERSION, entry]` through the stack's codec, with the
 * entry's times on the store server's clock (`RemoteTier.clockOffset`) so that processes whose clocks disagree
 * agree on its freshness. Reading it back checks the envelope and moves the times back to this process's clock.
 */
import { ENTRY_VERSION, type Entry } from './entry.js'
import type { EntryCodec } from './stack-options.js'
import type { Payload, RemoteTier } from './tiers/types.js'

/** `entry` as a payload for a remote tier whose clock is `offset` ms ahead of ours; `entry` is not changed. */
export function encodeRemote(codec: EntryCodec, entry: Entry, offset: number): Payload {
  return codec.serialize([ENTRY_VERSION, wire(entry, offset)])
}

/**
 * A copy of `entry` to serialize: times moved by `offset`, and without the fields that are `undefined` (an
 * entry without tags has `g: undefined`, which a serializer keeping `undefined` apart from a missing field
 * would have to tag, and the JSON serializer could then not mark the payload as untagged; see
 * `serializer/json.ts`). Same field order as the engine's entries, so decoded ones share their shape.
 */
function wire(e: Entry, offset: number): Entry {
  const out: Entry = { v: e.v, c: e.c + offset, f: e.f + offset, w: e.w + offset, s: e.s + offset, d: e.d }
  if (e.g !== undefined) out.g = e.g
  if (e.x !== undefined) out.x = e.x
  return out
}

/** The entry in a payload read from tier `t`, on this process's clock; throws when it is not one (a miss). */
export function decodeRemote(codec: EntryCodec, t: RemoteTier, data: Payload): Entry {
  const entry = decodeEntry(codec.deserialize(data))
  const offset = t.clockOffset?.() ?? 0
  return offset === 0 ? entry : shiftTimes(entry, -offset)
}

/** Checks the envelope of a decoded remote entry; anything else is an error (read as a miss). */
export function decodeEntry(decoded: unknown): Entry {
  if (!Array.isArray(decoded) || decoded.length !== 2) throw new TypeError('not a tiercache entry')
  if (decoded[0] !== ENTRY_VERSION)
    throw new TypeError(`entry format ${String(decoded[0])} is not ${ENTRY_VERSION}`)
  const e = decoded[1] as Entry
  if (
    e === null ||
    typeof e !== 'object' ||
    typeof e.c !== 'number' ||
    typeof e.f !== 'number' ||
    typeof e.s !== 'number'
  ) {
    throw new TypeError('malformed tiercache entry')
  }
  if (typeof e.w !== 'number') e.w = e.f
  if (typeof e.d !== 'number') e.d = 0
  return e
}

/**
 * Moves an entry's times by `ms` (in place): between this process's clock and a store server's
 * (`RemoteTier.clockOffset`). Infinite times stay infinite.
 */
function shiftTimes(e: Entry, ms: number): Entry {
  e.c += ms
  e.f += ms
  e.w += ms
  e.s += ms
  return e
}
