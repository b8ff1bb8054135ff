import type Memcached from 'memcached'
import type { MemcachedTierOptions } from './memcached.js'
import { MemcachedBackend } from './memcached-backend.js'
import { decodeValue } from './memcached-values.js'
import type { Payload } from './types.js'

/**
 * The same client and safety measures as a Keyv storage adapter: `new Keyv({ store: memcachedStore({ servers }) })`.
 * Values are what Keyv hands over (its serialized strings; Buffers kept as bytes). `clear()` clears the Keyv
 * namespace only (a generation per namespace).
 */
export function memcachedStore(options: MemcachedTierOptions): MemcachedStore {
  return new MemcachedStore(options)
}

type Listener = (...args: unknown[]) => void

/** A Keyv storage adapter on Memcached. */
export class MemcachedStore {
  /** Set by Keyv to its namespace. */
  namespace: string | undefined
  readonly opts: { dialect: 'memcached'; servers: string[] | string; prefix: string }
  readonly #m: MemcachedBackend
  readonly #listeners = new Map<string, Listener[]>()

  constructor(options: MemcachedTierOptions) {
    this.#m = new MemcachedBackend(options)
    this.opts = { dialect: 'memcached', servers: options.servers, prefix: this.#m.prefix }
  }

  /** The underlying `memcached` client. */
  get client(): Memcached {
    return this.#m.client
  }

  on(event: string, listener: Listener): this {
    const list = this.#listeners.get(event) ?? []
    list.push(listener)
    this.#listeners.set(event, list)
    return this
  }

  #emitError(err: unknown): void {
    for (const l of this.#listeners.get('error') ?? []) l(err)
  }

  async #key(key: string): Promise<string> {
    const scope = this.namespace ?? ''
    return this.#m.serverKeyFor(await this.#m.base(scope), key)
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    const sk = await this.#key(key)
    const v = decodeValue(await this.#m.call<unknown>('get', sk, (cb) => this.#m.raw.get(sk, cb)))
    return v as Value | undefined
  }

  async getMany<Value>(keys: string[]): Promise<Array<Value | undefined>> {
    return Promise.all(keys.map((k) => this.get<Value>(k)))
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const sk = await this.#key(key)
    const payload: Payload =
      typeof value === 'string' || value instanceof Uint8Array ? value : (JSON.stringify(value) ?? 'null')
    const stored = this.#m.encode(key, sk, payload)
    const life = typeof ttl === 'number' && ttl > 0 ? this.#m.lifetime(ttl) : 0
    return this.#m
      .call<boolean>('set', sk, (cb) => this.#m.raw.set(sk, stored, life, cb))
      .then((ok) => ok === true)
  }

  async delete(key: string): Promise<boolean> {
    const sk = await this.#key(key)
    try {
      return (await this.#m.call<boolean>('delete', sk, (cb) => this.#m.raw.del(sk, cb))) === true
    } catch (err) {
      this.#emitError(err)
      return false
    }
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    const results = await Promise.all(keys.map((k) => this.delete(k)))
    return results.some(Boolean)
  }

  async clear(): Promise<void> {
    await this.#m.bump(this.namespace ?? '')
  }

  async disconnect(): Promise<void> {
    await this.#m.close()
  }
}
