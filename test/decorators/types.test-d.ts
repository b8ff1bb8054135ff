/**
 * Type tests of the decorators (standard decorator mode; the legacy mode is type-checked by
 * `tsc -p test/decorators/legacy/tsconfig.json`, which compiles `legacy/services.ts`).
 */
import { describe, expectTypeOf, it } from 'vitest'
import {
  type Cache,
  type CachedMethodOptions,
  cached,
  createCache,
  defaultCache,
  invalidateCall,
  setDefaultCache,
} from '../../src/index.js'

const cache = createCache()

describe('cached', () => {
  it('infers the argument types from `tags` and `key`', () => {
    const byTags = cached({ ttl: 60, tags: (id: string) => [`product:${id}`] })
    expectTypeOf(byTags).toBeFunction()
    const byKey = cache.cached({ key: (id: string, n: number) => `${id}:${n}` })
    expectTypeOf(byKey).toBeFunction()

    class S {
      @cached({ tags: (id: string) => [`product:${id}`] })
      async get(id: string): Promise<{ id: string }> {
        return { id }
      }

      // Extra parameters after the ones `tags` declares are fine.
      @cache.cached({ tags: (id: string) => [id] })
      async withLocale(id: string, locale: string): Promise<string> {
        return id + locale
      }

      // @ts-expect-error `tags` takes a number, the method passes a string
      @cached({ tags: (id: number) => [String(id)] })
      async wrongTags(id: string): Promise<string> {
        return id
      }

      // @ts-expect-error `tags` needs an argument the method does not have
      @cached({ tags: (id: string) => [id] })
      async tooFew(): Promise<string> {
        return ''
      }

      @cached({
        key(this: unknown, id: string) {
          expectTypeOf(this).toBeUnknown()
          return id
        },
      })
      async keyed(id: string): Promise<string> {
        return id
      }

      @cached({ ttl: '5m', version: 3, tags: ['fixed'] })
      static async find(q: string): Promise<string[]> {
        return [q]
      }
    }
    // The decorated method keeps its type.
    expectTypeOf(new S().get).toEqualTypeOf<(id: string) => Promise<{ id: string }>>()
    expectTypeOf(S.find).returns.resolves.toEqualTypeOf<string[]>()
  })

  it('rejects methods that do not return a Promise (the decorated method always does)', () => {
    class Sync {
      // @ts-expect-error a sync method would be typed as returning a number but return a Promise
      @cached()
      get(id: string): number {
        return id.length
      }
    }
    expectTypeOf(Sync).toBeConstructibleWith()
  })

  it('`cache.cached` has no `cache` option', () => {
    // @ts-expect-error bound to `cache` already
    cache.cached({ cache: createCache() })
    cached({ cache })
  })

  it('options types', () => {
    const options: CachedMethodOptions<[string]> = {
      ttl: 60,
      staleWhileRevalidate: '1m',
      tags: (id) => [id],
      key: (id) => id,
      version: 'a',
      cache,
    }
    expectTypeOf(options.tags).toEqualTypeOf<
      readonly string[] | ((...args: [string]) => readonly string[]) | undefined
    >()
    expectTypeOf<CachedMethodOptions['version']>().toEqualTypeOf<string | number | undefined>()
    expectTypeOf<CachedMethodOptions['cache']>().toEqualTypeOf<Cache | undefined>()
    // @ts-expect-error ttl is a Duration
    cached({ ttl: true })
  })
})

describe('invalidateCall', () => {
  class Service {
    count = 0
    @cached()
    async get(id: string, n: number): Promise<string> {
      return id + n
    }
    @cached()
    static async find(q: string): Promise<string> {
      return q
    }
  }

  it('checks the method name and its arguments', () => {
    const s = new Service()
    expectTypeOf(invalidateCall(s, 'get', 'a', 1)).toEqualTypeOf<Promise<boolean>>()
    expectTypeOf(invalidateCall(Service, 'find', 'q')).toEqualTypeOf<Promise<boolean>>()
    // @ts-expect-error wrong argument type
    invalidateCall(s, 'get', 'a', 'b')
    // @ts-expect-error not a method
    invalidateCall(s, 'count')
    // @ts-expect-error no such method
    invalidateCall(s, 'nope')
  })
})

describe('default cache', () => {
  it('types', () => {
    expectTypeOf(defaultCache).returns.toEqualTypeOf<Cache>()
    expectTypeOf(setDefaultCache).parameter(0).toEqualTypeOf<Cache>()
    expectTypeOf(setDefaultCache).returns.toBeVoid()
  })
})
