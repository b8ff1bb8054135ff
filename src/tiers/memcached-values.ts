import { ValueTooLargeError } from '../errors.js'
import { MAX_KEY_BYTES } from './memcached-keys.js'
import type { Payload } from './types.js'

/** Memcached item overhead beyond key and value (item header, CAS, flags/length suffix, CRLF), rounded up. */
const ITEM_OVERHEAD = 96

/**
 * Encodes a payload for the client (only text without CR/LF as is, `'s' + text`; other text and bytes as
 * base64, `'t'`/`'b'` + base64) and checks the item size against `limit`; throws `ValueTooLargeError`.
 */
export function encodeValue(
  cacheKey: string,
  serverKey: string,
  value: Payload,
  limit: number,
  name: string,
): string {
  let stored: string
  if (typeof value === 'string') {
    stored =
      value.indexOf('\r') === -1 && value.indexOf('\n') === -1
        ? `s${value}`
        : `t${Buffer.from(value, 'utf8').toString('base64')}`
  } else {
    stored = `b${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}`
  }
  // Fast path: even at 3 bytes per UTF-16 unit and the longest key it fits.
  if (stored.length * 3 + MAX_KEY_BYTES + ITEM_OVERHEAD <= limit) return stored
  const item = Buffer.byteLength(stored, 'utf8') + Buffer.byteLength(serverKey, 'utf8') + ITEM_OVERHEAD
  if (item > limit) throw new ValueTooLargeError(cacheKey, item, limit, name)
  return stored
}

/** Decodes what `encodeValue` stored; anything else (a foreign value) is handed on as text. */
export function decodeValue(stored: unknown): Payload | undefined {
  if (stored === undefined || stored === null || stored === false) return undefined
  if (typeof stored !== 'string' || stored.length === 0) {
    // Not written by this tier (the client decoded someone else's JSON/number/binary flag): a foreign
    // value; handed on as text, the engine reads it as a miss and reports it.
    return typeof stored === 'string' ? stored : (JSON.stringify(stored) ?? String(stored))
  }
  switch (stored.charCodeAt(0)) {
    case 0x73 /* s */:
      return stored.slice(1)
    case 0x74 /* t */:
      return Buffer.from(stored.slice(1), 'base64').toString('utf8')
    case 0x62 /* b */:
      return Buffer.from(stored.slice(1), 'base64')
    default:
      return stored
  }
}
