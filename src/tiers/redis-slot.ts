/**
 * The Redis Cluster hash slot of a key, as the Redis Cluster specification defines it: CRC16 (XMODEM:
 * polynomial 0x1021, initial value 0) of the key's bytes, modulo 16384. When the key holds a hash tag (the
 * text between its first `{` and the first `}` after it, if not empty), only the tag is hashed.
 */

export const CLUSTER_SLOTS = 16_384

const TABLE = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let crc = i << 8
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  TABLE[i] = crc
}

/** The hash slot (0 to 16383) of `key`. */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open !== -1) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) key = key.slice(open + 1, close)
  }
  let crc = 0
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c >= 0x80) return crc16(Buffer.from(key, 'utf8')) % CLUSTER_SLOTS
    crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ c) & 0xff]!
  }
  return crc % CLUSTER_SLOTS
}

function crc16(bytes: Uint8Array): number {
  let crc = 0
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ b) & 0xff]!
  return crc
}
