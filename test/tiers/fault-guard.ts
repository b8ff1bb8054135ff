import { afterAll, afterEach, beforeAll, expect } from 'vitest'

/**
 * The hooks every fault test file needs: collect unhandled rejections for the whole file, and after each
 * test run the registered cleanups (stop servers, close caches), then assert nothing went unhandled.
 * Push cleanups onto the returned list.
 */
export function guardFaultTests(): (() => Promise<unknown>)[] {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  const cleanups: (() => Promise<unknown>)[] = []
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled)
  })
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled)
  })
  afterEach(async () => {
    await Promise.allSettled(cleanups.splice(0).map((f) => f()))
    expect(unhandled).toEqual([])
  })
  return cleanups
}
