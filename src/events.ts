import diagnostics from 'node:diagnostics_channel'

/** Payloads of the events a cache emits (`cache.on(name, listener)`). */
export interface CacheEvents {
  /** A fresh value was served; `tier` is the tier's name. */
  hit: { key: string; tier: string }
  /** No usable value was found in any tier. */
  miss: { key: string }
  /** A stale value was served: during stale-while-revalidate, after a loader error, or after a soft timeout. */
  stale: { key: string; reason: 'revalidate' | 'error' | 'timeout' | 'backoff' }
  /** A load finished and its value was stored (`stored: false` when it was not: ttl 0, invalidated, skipped). */
  load: { key: string; duration: number; stored: boolean; background: boolean }
  set: { key: string }
  delete: { key: string }
  invalidate: { tags: readonly string[] }
  clear: { namespace: string | undefined }
  /** The memory tier dropped an entry to stay within its bounds. */
  evict: { key: string; tier: string }
  /**
   * Something failed that the caller was not told about (a background refresh, a tier read or write, a
   * corrupt entry). Never thrown: without a listener it is only counted in `stats()`.
   */
  error: { error: unknown; key?: string | undefined; operation: string }
}

export type CacheEventName = keyof CacheEvents
type Listener<E extends CacheEventName> = (payload: CacheEvents[E]) => void

/**
 * `node:diagnostics_channel` names. `tiercache:load` is a tracing channel around every loader call;
 * the others carry the same payloads as the events. Nothing is built unless a channel has subscribers.
 */
const eventChannels: Partial<Record<CacheEventName, diagnostics.Channel>> = {
  hit: diagnostics.channel('tiercache:hit'),
  miss: diagnostics.channel('tiercache:miss'),
  stale: diagnostics.channel('tiercache:stale'),
  error: diagnostics.channel('tiercache:error'),
}
const hitChannel = eventChannels.hit!
const missChannel = eventChannels.miss!
export const channels = {
  ...eventChannels,
  load: diagnostics.tracingChannel<object, { key: string }>('tiercache:load'),
}

/** A small typed emitter that knows per event whether anyone listens, so emitting costs nothing otherwise. */
export class Emitter {
  readonly #listeners: Partial<Record<CacheEventName, ReadonlyArray<(payload: never) => void>>> = {}
  // Whether `hit`, `miss` and `load` have listeners: read on every hit and miss, so kept as plain fields.
  #hit = false
  #miss = false
  #load = false

  /** `wants('hit')` for the hit path. */
  wantsHit(): boolean {
    return this.#hit || hitChannel.hasSubscribers
  }

  /** `wants('miss')` for the miss path. */
  wantsMiss(): boolean {
    return this.#miss || missChannel.hasSubscribers
  }

  /** `wants('load')` (the event only; the tracing channel is checked where loads run). */
  wantsLoad(): boolean {
    return this.#load
  }

  /** Per event: is there a listener or a diagnostics subscriber? Read on hot paths. */
  wants(event: CacheEventName): boolean {
    const list = this.#listeners[event]
    if (list !== undefined && list.length > 0) return true
    const ch = eventChannels[event]
    return ch?.hasSubscribers === true
  }

  hasListener(event: CacheEventName): boolean {
    const list = this.#listeners[event]
    return list !== undefined && list.length > 0
  }

  on<E extends CacheEventName>(event: E, listener: Listener<E>): void {
    if (typeof listener !== 'function')
      throw new TypeError(`Expected \`listener\` to be a function, got ${typeof listener}`)
    this.#listeners[event] = [...(this.#listeners[event] ?? []), listener]
    this.#flags()
  }

  /** `on` for the next `event` only: the listener is removed before it is called. */
  once<E extends CacheEventName>(event: E, listener: Listener<E>): void {
    const wrapper = (p: CacheEvents[E]): void => {
      this.off(event, wrapper)
      listener(p)
    }
    this.on(event, wrapper)
  }

  #flags(): void {
    this.#hit = this.hasListener('hit')
    this.#miss = this.hasListener('miss')
    this.#load = this.hasListener('load')
  }

  off<E extends CacheEventName>(event: E, listener: Listener<E>): void {
    const list = this.#listeners[event]
    if (list === undefined) return
    const i = list.indexOf(listener)
    if (i >= 0) this.#listeners[event] = [...list.slice(0, i), ...list.slice(i + 1)]
    this.#flags()
  }

  emit<E extends CacheEventName>(event: E, payload: CacheEvents[E]): void {
    const ch = eventChannels[event]
    if (ch?.hasSubscribers) ch.publish(payload)
    const list = this.#listeners[event] as ReadonlyArray<Listener<E>> | undefined
    if (list === undefined) return
    for (const fn of list) {
      try {
        fn(payload)
      } catch (err) {
        // A throwing listener must not break the cache; report it unless it is the error listener itself.
        if (event !== 'error') this.emit('error', { error: err, operation: `listener:${event}` })
      }
    }
  }

  removeAll(): void {
    for (const k of Object.keys(this.#listeners)) delete this.#listeners[k as CacheEventName]
    this.#flags()
  }
}
