/**
 * Behaviour tests of `@cached` / `@cache.cached`, run once per decorator mode against the classes
 * of `standard/services.ts` and `legacy/services.ts`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type Cache,
  cached,
  createCache,
  defaultCache,
  invalidateCall,
  setDefaultCache,
} from '../../src/index.js'
import type { MakeServices, Mode, Services } from './services.js'

export function decoratorSuite(mode: Mode, load: () => Promise<MakeServices>): void {
  describe(`@cached with ${mode} decorators`, () => {
    let cache: Cache
    let s: Services

    beforeEach(async () => {
      cache = createCache()
      s = (await load())(cache)
    })
    afterEach(async () => {
      await cache.close()
    })

    it(`is really applied as a ${mode} decorator`, () => {
      expect(s.probe).toEqual([
        mode === 'standard' ? { count: 2, second: 'context:method' } : { count: 3, second: 'string' },
      ])
    })

    it('caches an async instance method and keeps `this`', async () => {
      const svc = new s.ProductService('me')
      const first = svc.getProduct('42')
      expect(first).toBeInstanceOf(Promise)
      expect(await first).toEqual({ id: '42', by: 'me', n: 1 })
      expect(await svc.getProduct('42')).toEqual({ id: '42', by: 'me', n: 1 })
      expect(svc.calls).toBe(1)
      expect(await svc.getProduct('43')).toEqual({ id: '43', by: 'me', n: 2 })
      expect(svc.calls).toBe(2)
    })

    it('coalesces 100 concurrent calls into one run', async () => {
      const svc = new s.ProductService()
      const results = await Promise.all(Array.from({ length: 100 }, () => svc.getProduct('7')))
      expect(svc.calls).toBe(1)
      expect(new Set(results).size).toBe(1)
      expect(cache.stats().coalesced).toBe(99)
    })

    it('does not put `this` in the default key: instances share entries', async () => {
      const a = new s.ProductService('a')
      const b = new s.ProductService('b')
      expect(await a.getProduct('1')).toEqual({ id: '1', by: 'a', n: 1 })
      expect(await b.getProduct('1')).toEqual({ id: '1', by: 'a', n: 1 })
      expect(b.calls).toBe(0)
    })

    it('uses keyFor("Class.method", args) as the default key', async () => {
      const svc = new s.ProductService()
      await svc.getProduct('42')
      const key = cache.keyFor('ProductService.getProduct', ['42'])
      expect(await cache.has(key)).toBe(true)
      expect(await cache.delete(key)).toBe(true)
      expect(await cache.has(key)).toBe(false)
      expect(await svc.getProduct('42')).toMatchObject({ n: 2 })

      await svc.many(1, { x: [2, 3] })
      expect(await cache.get(cache.keyFor('ProductService.many', [1, { x: [2, 3] }]))).toBe(6)
    })

    it('adds @v<version> to the name of the default key', async () => {
      const svc = new s.ProductService()
      expect(await svc.versioned('1')).toBe('v2:1')
      expect(await cache.has(cache.keyFor('ProductService.versioned@v2', ['1']))).toBe(true)
      expect(await cache.has(cache.keyFor('ProductService.versioned', ['1']))).toBe(false)
    })

    it('a custom key receives the arguments and `this`', async () => {
      const a = new s.ProductService('a')
      const b = new s.ProductService('b')
      await a.custom('1')
      await b.custom('1')
      await a.custom('1')
      expect(s.runs.custom).toBe(2)
      expect(await cache.get('custom:a:1')).toBe('custom:1')
      expect(await cache.get('custom:b:1')).toBe('custom:1')
    })

    it('tags from a function of the arguments, and fixed tags', async () => {
      const svc = new s.ProductService()
      await svc.getProduct('1')
      await svc.getProduct('2')
      await svc.withThis('1')
      await cache.invalidateTags(['product:1'])
      await svc.getProduct('1')
      await svc.getProduct('2')
      await svc.withThis('1')
      expect(svc.calls).toBe(3)
      expect(s.runs.withThis).toBe(2)

      await svc.fixedTags('a')
      await svc.fixedTags('b')
      await cache.invalidateTags(['fixed'])
      await svc.fixedTags('a')
      await svc.fixedTags('b')
      expect(s.runs.fixedTags).toBe(4)
    })

    it('caches static methods under the class name', async () => {
      expect(await s.ProductService.find('x')).toBe('found:x')
      expect(await s.ProductService.find('x')).toBe('found:x')
      expect(s.ProductService.staticCalls).toBe(1)
      expect(await cache.has(cache.keyFor('ProductService.find', ['x']))).toBe(true)
    })

    it('wraps a sync method: the decorated method returns a Promise', async () => {
      const svc = new s.ProductService()
      const result = svc.syncMethod(21)
      expect(result).toBeInstanceOf(Promise)
      expect(await result).toBe(42)
      expect(await svc.syncMethod(21)).toBe(42)
      expect(s.runs.syncMethod).toBe(1)
    })

    it('does not cache undefined results', async () => {
      const svc = new s.ProductService()
      expect(await svc.maybe('none')).toBeUndefined()
      expect(await svc.maybe('none')).toBeUndefined()
      expect(s.runs.maybe).toBe(2)
      expect(await svc.maybe('x')).toBe('x')
      expect(await svc.maybe('x')).toBe('x')
      expect(s.runs.maybe).toBe(3)
    })

    it('does not cache errors; every waiter gets the error', async () => {
      const svc = new s.ProductService()
      const all = await Promise.allSettled([svc.fails('1'), svc.fails('1')])
      expect(all.map((r) => r.status)).toEqual(['rejected', 'rejected'])
      await expect(svc.fails('1')).rejects.toThrow('boom 1')
      expect(s.runs.fails).toBe(2)
    })

    it('rejects (never throws) when the arguments cannot be keyed', async () => {
      const svc = new s.ProductService()
      const bad = { x: [() => 1] } as unknown as { x: number[] }
      let result: Promise<number> | undefined
      expect(() => {
        result = svc.many(1, bad)
      }).not.toThrow()
      await expect(result).rejects.toThrow(TypeError)
    })

    it('two classes with the same method name and arguments do not share keys', async () => {
      const p = new s.ProductService()
      const o = new s.OtherService()
      expect(await p.getProduct('1')).toMatchObject({ id: '1' })
      expect(await o.getProduct('1')).toBe('other:1')
      expect(o.calls).toBe(1)
      expect(await cache.get(cache.keyFor('OtherService.getProduct', ['1']))).toBe('other:1')
    })

    it('an inherited method uses the declaring class; an override calling super does not deadlock', async () => {
      const base = new s.Base()
      const derived = new s.Derived()
      expect(await base.load('1')).toBe('base:1')
      expect(await derived.load('1')).toBe('base:1')
      expect(derived.calls).toBe(0)

      const over = new s.Override()
      const result = await Promise.race([
        over.load('2'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('deadlock')), 2000)),
      ])
      expect(result).toBe('override(base:2)')
      expect(await cache.get(cache.keyFor('Base.load', ['2']))).toBe('base:2')
      expect(await cache.get(cache.keyFor('Override.load', ['2']))).toBe('override(base:2)')
    })

    it('invalidateCall deletes exactly one call, instance and static', async () => {
      const svc = new s.ProductService()
      await svc.getProduct('1')
      await svc.getProduct('2')
      expect(await invalidateCall(svc, 'getProduct', '1')).toBe(true)
      await svc.getProduct('1')
      await svc.getProduct('2')
      expect(svc.calls).toBe(3)

      await svc.versioned('1')
      await invalidateCall(svc, 'versioned', '1')
      await svc.versioned('1')
      expect(s.runs.versioned).toBe(2)

      await svc.custom('1')
      await invalidateCall(svc, 'custom', '1')
      expect(await cache.has('custom:p:1')).toBe(false)

      await s.ProductService.find('x')
      await s.ProductService.find('y')
      await invalidateCall(s.ProductService, 'find', 'x')
      await s.ProductService.find('x')
      await s.ProductService.find('y')
      expect(s.ProductService.staticCalls).toBe(3)

      const derived = new s.Derived()
      await derived.load('9')
      await invalidateCall(derived, 'load', '9')
      expect(await cache.has(cache.keyFor('Base.load', ['9']))).toBe(false)
    })

    it('invalidateCall rejects for a method that is not cached', async () => {
      const svc = new s.ProductService() as unknown as { notCached(): Promise<void> }
      await expect(invalidateCall(svc, 'notCached')).rejects.toThrow(TypeError)
      const withField = new s.ProductService() as unknown as Record<string, () => Promise<void>>
      await expect(invalidateCall(withField, 'calls')).rejects.toThrow(/decorated with @cached/)
    })

    it('@cached() without `cache` uses the default cache at call time', async () => {
      const first = defaultCache()
      expect(defaultCache()).toBe(first)
      const svc = new s.DefaultService()
      await svc.get('1')
      expect(await first.get(cache.keyFor('DefaultService.get', ['1']))).toBe('default:1')
      await invalidateCall(svc, 'get', '1')
      expect(await first.has(cache.keyFor('DefaultService.get', ['1']))).toBe(false)

      const other = createCache()
      setDefaultCache(other)
      try {
        expect(defaultCache()).toBe(other)
        await svc.get('1')
        expect(await other.get(cache.keyFor('DefaultService.get', ['1']))).toBe('default:1')
        expect(await first.has(cache.keyFor('DefaultService.get', ['1']))).toBe(false)
      } finally {
        setDefaultCache(first)
        await other.close()
      }
    })

    it('@cached({ cache }) uses that cache', async () => {
      const svc = new s.ExplicitService()
      await svc.get('1')
      expect(await cache.get(cache.keyFor('ExplicitService.get', ['1']))).toBe('explicit:1')
      await cache.invalidateTags(['explicit:1'])
      await svc.get('1')
      expect(s.runs.explicit).toBe(2)
    })

    it('validates options when the class is defined', () => {
      expect(() => s.defineBadTtl()).toThrow(TypeError)
      expect(() => s.defineBadTtl()).toThrow(/`ttl`/)
      expect(() => s.defineWithoutParens()).toThrow(/decorator factory/)
      expect(() => s.defineKeyAndVersion()).toThrow(/`version`/)
      expect(() => s.defineOnGetter()).toThrow(/methods/)
    })
  })

  describe('option validation', () => {
    it('throws TypeError naming the option', () => {
      const bad: Array<[unknown, RegExp]> = [
        [{ ttl: -1 }, /`ttl`/],
        [{ ttl: '5 parsecs' }, /`ttl`/],
        [{ staleWhileRevalidate: Number.NaN }, /`staleWhileRevalidate`/],
        [{ tags: 'x' }, /`tags`/],
        [{ tags: [''] }, /`tags`/],
        [{ key: 'k' }, /`key`/],
        [{ version: '' }, /`version`/],
        [{ version: Number.NaN }, /`version`/],
        [{ cache: {} }, /`cache`/],
        [null, /options/],
      ]
      for (const [options, message] of bad) {
        expect(() => cached(options as never)).toThrow(TypeError)
        expect(() => cached(options as never)).toThrow(message)
      }
      const c = createCache()
      expect(() => c.cached({ cache: createCache() } as never)).toThrow(/bound/)
      expect(() => c.cached({ ttl: 0, version: 'x', tags: ['a'] })).not.toThrow()
    })

    it('setDefaultCache rejects anything but a Cache', () => {
      expect(() => setDefaultCache({} as Cache)).toThrow(TypeError)
      expect(() => setDefaultCache(undefined as unknown as Cache)).toThrow(/`cache`/)
    })

    it('the decorator rejects non-method targets', () => {
      const decorate = cached() as unknown as (...args: unknown[]) => unknown
      expect(() => decorate(() => 1, { kind: 'field', name: 'x', addInitializer() {} })).toThrow(
        /only decorate methods/,
      )
      expect(() => decorate({}, 'x', { get: () => 1 })).toThrow(/not one/)
      expect(() => decorate(1, 2)).toThrow(/class methods/)
    })
  })
}
