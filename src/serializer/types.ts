/** Turns cache entries into bytes or text for remote tiers (Redis, Memcached) and back. */
export interface Serializer {
  /** Turns an entry (a plain object holding the cached value and numbers) into bytes or text. */
  serialize(value: unknown): Uint8Array | string
  /**
   * The inverse of `serialize`. Throws on data it did not produce (foreign, corrupt or truncated
   * payloads); the engine treats that as a miss.
   */
  deserialize(data: Uint8Array | string): unknown
}
