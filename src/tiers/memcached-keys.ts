import { createHash } from 'node:crypto'

/** Longest key memcached accepts, bytes. */
export const MAX_KEY_BYTES = 250
/** Whitespace or control characters (C0, DEL, C1): never sent raw in a memcached key. */
export const BAD_KEY_CHAR = /[\s\p{Cc}]/u

/** The key sent to memcached for `key` under `base`: raw when safe, else hashed. */
export function serverKeyFor(base: string, key: string): string {
  const full = base + key
  if (
    (full.length * 3 <= MAX_KEY_BYTES || Buffer.byteLength(full) <= MAX_KEY_BYTES) &&
    !BAD_KEY_CHAR.test(full) &&
    key.charCodeAt(0) !== 0x23 /* '#': reserved for hashed keys */
  ) {
    return full
  }
  return `${base}#${createHash('sha256').update(key, 'utf8').digest('base64url')}`
}
