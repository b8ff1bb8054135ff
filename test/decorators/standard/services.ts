/**
 * Decorated classes in TC39 standard decorator mode (the TypeScript default; type-checked by the
 * root tsconfig). Vitest's transformer (Oxc) does not lower standard decorators, so
 * `standard.test.ts` compiles this file with esbuild before importing it.
 */
import { type Cache, cached } from '../../../src/index.js'
import { type MakeServices, type Product, type Services, sleep } from '../services.js'

export const makeServices: MakeServices = (cache: Cache): Services => {
  const probe: Services['probe'] = []
  const runs: Record<string, number> = {}
  const run = (name: string): number => (runs[name] = (runs[name] ?? 0) + 1)

  /** Records how the decorator is called, then applies it. */
  const probed = <D>(decorator: D): D =>
    ((...args: unknown[]) => {
      const second = args[1]
      probe.push({
        count: args.length,
        second:
          typeof second === 'object' && second !== null && 'kind' in second
            ? `context:${String(second.kind)}`
            : typeof second,
      })
      return (decorator as (...a: unknown[]) => unknown)(...args)
    }) as D

  class ProductService {
    static staticCalls = 0
    calls = 0
    constructor(public prefix = 'p') {}

    @probed(cache.cached({ ttl: 60, tags: (id: string) => [`product:${id}`] }))
    async getProduct(id: string): Promise<Product> {
      this.calls++
      await sleep(20)
      return { id, by: this.prefix, n: this.calls }
    }

    @cache.cached({ version: 2 })
    async versioned(id: string): Promise<string> {
      run('versioned')
      return `v2:${id}`
    }

    @cache.cached({
      key(this: unknown, id: string) {
        return `custom:${(this as ProductService).prefix}:${id}`
      },
    })
    async custom(id: string): Promise<string> {
      run('custom')
      return `custom:${id}`
    }

    @cache.cached({ tags: ['fixed'] })
    async fixedTags(id: string): Promise<string> {
      run('fixedTags')
      return `fixed:${id}`
    }

    @cache.cached()
    async maybe(id: string): Promise<string | undefined> {
      run('maybe')
      return id === 'none' ? undefined : id
    }

    @cache.cached()
    async fails(id: string): Promise<string> {
      run('fails')
      throw new Error(`boom ${id}`)
    }

    // A sync body typed as returning a Promise: the decorated method returns a Promise anyway.
    @cache.cached()
    syncMethod(x: number): Promise<number> {
      run('syncMethod')
      return (x * 2) as unknown as Promise<number>
    }

    @cache.cached({
      key(this: unknown, id: string) {
        return `withThis:${(this as ProductService).prefix}:${id}`
      },
      tags: (id: string) => [`product:${id}`],
    })
    async withThis(id: string): Promise<string> {
      run('withThis')
      return `${this.prefix}:${id}`
    }

    @cache.cached()
    async many(a: number, b: { x: number[] }): Promise<number> {
      run('many')
      return a + b.x.reduce((s, v) => s + v, 0)
    }

    @cache.cached({ ttl: '5m' })
    static async find(id: string): Promise<string> {
      ProductService.staticCalls++
      return `found:${id}`
    }
  }

  class OtherService {
    calls = 0
    @cache.cached()
    async getProduct(id: string): Promise<string> {
      this.calls++
      return `other:${id}`
    }
  }

  class DefaultService {
    calls = 0
    @cached({ ttl: 30 })
    async get(id: string): Promise<string> {
      this.calls++
      return `default:${id}`
    }
  }

  class ExplicitService {
    @cached({ cache, tags: (id: string) => [`explicit:${id}`] })
    async get(id: string): Promise<string> {
      run('explicit')
      return `explicit:${id}`
    }
  }

  class Base {
    calls = 0
    @cache.cached()
    async load(id: string): Promise<string> {
      this.calls++
      await sleep(5)
      return `base:${id}`
    }
  }

  class Derived extends Base {}

  class Override extends Base {
    @cache.cached()
    override async load(id: string): Promise<string> {
      return `override(${await super.load(id)})`
    }
  }

  return {
    probe,
    runs,
    ProductService,
    OtherService,
    DefaultService,
    ExplicitService,
    Base,
    Derived,
    Override,
    defineBadTtl: () => {
      class BadTtl {
        @cached({ ttl: -5 })
        async m(): Promise<number> {
          return 1
        }
      }
      return BadTtl
    },
    defineOnGetter: () => {
      class OnGetter {
        // @ts-expect-error only methods can be decorated
        @cached()
        get value(): Promise<number> {
          return Promise.resolve(1)
        }
      }
      return OnGetter
    },
    defineWithoutParens: () => {
      class WithoutParens {
        // @ts-expect-error `cached` is a decorator factory: `@cached()`
        @cached
        async m(): Promise<number> {
          return 1
        }
      }
      return WithoutParens
    },
    defineKeyAndVersion: () => {
      class KeyAndVersion {
        @cached({ key: () => 'k', version: 1 })
        async m(): Promise<number> {
          return 1
        }
      }
      return KeyAndVersion
    },
  }
}
