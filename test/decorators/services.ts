/**
 * The shape of the decorated fixture classes, declared once for both decorator modes
 * (`standard/services.ts` and `legacy/services.ts` define the classes, `suite.ts` tests them).
 */
import type { Cache } from '../../src/index.js'

export type Mode = 'standard' | 'legacy'

export interface Product {
  id: string
  /** `this.prefix` of the instance the method ran on */
  by: string
  /** how many times the method body ran on that instance */
  n: number
}

export interface ProductServiceShape {
  prefix: string
  calls: number
  getProduct(id: string): Promise<Product>
  versioned(id: string): Promise<string>
  custom(id: string): Promise<string>
  fixedTags(id: string): Promise<string>
  maybe(id: string): Promise<string | undefined>
  fails(id: string): Promise<string>
  /** A sync method at run time (typed as returning a Promise, which the decorated method does). */
  syncMethod(x: number): Promise<number>
  withThis(id: string): Promise<string>
  many(a: number, b: { x: number[] }): Promise<number>
}

export interface Services {
  /** Arguments the decorator received: count and the shape of the second one. */
  probe: Array<{ count: number; second: string }>
  ProductService: {
    new (prefix?: string): ProductServiceShape
    staticCalls: number
    find(id: string): Promise<string>
  }
  /** Another class with a `getProduct(id)` method. */
  OtherService: new () => { calls: number; getProduct(id: string): Promise<string> }
  /** Uses `@cached()` without a `cache`: the default cache at call time. */
  DefaultService: new () => { calls: number; get(id: string): Promise<string> }
  /** `@cached({ cache })` with an explicit cache option. */
  ExplicitService: new () => { get(id: string): Promise<string> }
  Base: new () => { calls: number; load(id: string): Promise<string> }
  /** Inherits `load` from `Base`. */
  Derived: new () => { calls: number; load(id: string): Promise<string> }
  /** Overrides `load` (also cached) and calls `super.load`. */
  Override: new () => { calls: number; load(id: string): Promise<string> }
  /** Counts runs of every method without its own counter. */
  runs: Record<string, number>
  /** Define a class at call time; each throws the decorator's TypeError. */
  defineBadTtl(): unknown
  defineOnGetter(): unknown
  defineWithoutParens(): unknown
  defineKeyAndVersion(): unknown
}

export type MakeServices = (cache: Cache) => Services

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
