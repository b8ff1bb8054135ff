/** Base class of every error tiercache throws. `code` is stable; `cause` holds the original error. */
export class TiercacheError extends Error {
  readonly code: string
  /** The cache key concerned, when there is one. */
  readonly key: string | undefined
  constructor(code: string, message: string, options?: { key?: string | undefined; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.key = options?.key
  }
}

/** The loader rejected. Every waiter of that load gets this same instance; `cause` is what the loader threw. */
export class LoaderError extends TiercacheError {
  constructor(key: string, cause: unknown) {
    super('E_LOADER', `Loader for key ${JSON.stringify(key)} failed: ${messageOf(cause)}`, { key, cause })
  }
}

/** A deadline passed. */
export class TimeoutError extends TiercacheError {
  /** The deadline in milliseconds. */
  readonly timeout: number
  constructor(message: string, timeout: number, options?: { key?: string; code?: string; cause?: unknown }) {
    super(options?.code ?? 'E_TIMEOUT', message, options)
    this.timeout = timeout
  }
}

/** The loader did not settle within `hardTimeout`. The load goes on and may still fill the cache. */
export class LoaderTimeoutError extends TimeoutError {
  constructor(key: string, timeout: number) {
    super(
      `Loader for key ${JSON.stringify(key)} did not settle within ${timeout} ms (hardTimeout)`,
      timeout,
      {
        key,
        code: 'E_LOADER_TIMEOUT',
      },
    )
  }
}

/** A value cannot be stored faithfully; `path` points at the offending part (`$.a[2]`). */
export class UnserializableValueError extends TiercacheError {
  readonly path: string
  constructor(path: string, reason: string, key?: string) {
    super('E_UNSERIALIZABLE', `Cannot cache value at ${path}: ${reason}`, { key })
    this.path = path
  }
}

/** A serialized value exceeds what a tier accepts. */
export class ValueTooLargeError extends TiercacheError {
  readonly size: number
  readonly limit: number
  constructor(key: string, size: number, limit: number, tier: string) {
    super(
      'E_VALUE_TOO_LARGE',
      `Value for key ${JSON.stringify(key)} is ${size} bytes; tier ${tier} accepts at most ${limit}`,
      {
        key,
      },
    )
    this.size = size
    this.limit = limit
  }
}

/** A tier operation failed or timed out. Reported through events and stats; thrown only with `throwOnTierError`. */
export class TierError extends TiercacheError {
  readonly tier: string
  readonly operation: string
  constructor(tier: string, operation: string, cause: unknown, key?: string) {
    super(
      'E_TIER',
      `Tier ${tier} failed to ${operation}${key === undefined ? '' : ` ${JSON.stringify(key)}`}: ${messageOf(cause)}`,
      {
        key,
        cause,
      },
    )
    this.tier = tier
    this.operation = operation
  }
}

/** The cache was closed. */
export class CacheClosedError extends TiercacheError {
  constructor() {
    super('E_CLOSED', 'The cache is closed')
  }
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message
  try {
    return String(err)
  } catch {
    return 'unknown error'
  }
}
