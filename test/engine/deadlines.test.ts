import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Deadlines, type Pending } from '../../src/deadlines.js'

/**
 * The shared deadline queue behind every remote call's timeout (`Lower#guard`): one timer per duration
 * instead of one per call. What the stalled-server tests of test/tiers rely on, checked on its own.
 */

afterEach(() => {
  vi.useRealTimers()
})

function call(log: string[], name: string): Pending {
  return { done: false, at: 0, queue: undefined, expire: () => log.push(`${name}@${Date.now()}`) }
}

describe('Deadlines', () => {
  it('expires each call at its own deadline, in order, and only once', () => {
    vi.useFakeTimers({ now: 0 })
    const d = new Deadlines()
    const log: string[] = []
    const a = call(log, 'a')
    const b = call(log, 'b')
    d.add(a, 100)
    vi.advanceTimersByTime(40)
    d.add(b, 100)
    vi.advanceTimersByTime(59)
    expect(log).toEqual([])
    vi.advanceTimersByTime(1)
    expect(log).toEqual(['a@100'])
    vi.advanceTimersByTime(39)
    expect(log).toEqual(['a@100'])
    vi.advanceTimersByTime(1)
    expect(log).toEqual(['a@100', 'b@140'])
    // Expired calls count as settled: their late answers are ignored.
    expect(d.settle(a)).toBe(false)
    expect(d.settle(b)).toBe(false)
    vi.advanceTimersByTime(1000)
    expect(log).toHaveLength(2)
  })

  it('a call settled in time never expires, even when it sits behind or before pending ones', () => {
    vi.useFakeTimers({ now: 0 })
    const d = new Deadlines()
    const log: string[] = []
    const calls = Array.from({ length: 5 }, (_, i) => call(log, `c${i}`))
    for (const c of calls) {
      d.add(c, 100)
      vi.advanceTimersByTime(10)
    }
    expect(d.settle(calls[0]!)).toBe(true)
    expect(d.settle(calls[2]!)).toBe(true)
    expect(d.settle(calls[2]!)).toBe(false)
    vi.advanceTimersByTime(200)
    expect(log).toEqual(['c1@110', 'c3@130', 'c4@140'])
  })

  it('keeps one queue per duration: a short deadline is not held up by a long one', () => {
    vi.useFakeTimers({ now: 0 })
    const d = new Deadlines()
    const log: string[] = []
    d.add(call(log, 'slow'), 1000)
    d.add(call(log, 'fast'), 100)
    vi.advanceTimersByTime(100)
    expect(log).toEqual(['fast@100'])
    vi.advanceTimersByTime(900)
    expect(log).toEqual(['fast@100', 'slow@1000'])
  })

  it('many calls over many sweeps: each expires within its deadline, none twice', () => {
    vi.useFakeTimers({ now: 0 })
    const d = new Deadlines()
    const expired = new Map<number, number>()
    const calls: Pending[] = []
    for (let i = 0; i < 5000; i++) {
      const started = Date.now()
      const p: Pending = {
        done: false,
        at: 0,
        queue: undefined,
        expire: () => {
          expect(expired.has(i)).toBe(false)
          expired.set(i, Date.now() - started)
        },
      }
      calls.push(p)
      d.add(p, 50)
      // Every third call answers in time.
      if (i % 3 === 0) d.settle(p)
      if (i % 10 === 0) vi.advanceTimersByTime(1)
    }
    vi.advanceTimersByTime(100)
    expect(expired.size).toBe(5000 - Math.ceil(5000 / 3))
    for (const [i, after] of expired) {
      expect(i % 3).not.toBe(0)
      expect(after).toBe(50)
    }
  })

  it('a call settled in time leaves the queue at once unless an older call is still waiting', () => {
    vi.useFakeTimers({ now: 0 })
    const d = new Deadlines()
    const log: string[] = []
    const calls = Array.from({ length: 4 }, (_, i) => call(log, `c${i}`))
    for (const c of calls) d.add(c, 100)
    expect(d.held(100)).toBe(4)
    // in order: each leaves as it settles
    d.settle(calls[0]!)
    expect(d.held(100)).toBe(3)
    // out of order: c2 waits behind c1, but its expiry (and what it closed over) is dropped now
    const expire2 = calls[2]!.expire
    d.settle(calls[2]!)
    expect(d.held(100)).toBe(3)
    expect(calls[2]!.expire).not.toBe(expire2)
    // c1 settles: c1 and the settled c2 behind it leave together
    d.settle(calls[1]!)
    expect(d.held(100)).toBe(1)
    d.settle(calls[3]!)
    expect(d.held(100)).toBe(0)
    // the queue is reused afterwards, and still expires what does not settle
    const late = call(log, 'late')
    d.add(late, 100)
    expect(d.held(100)).toBe(1)
    vi.advanceTimersByTime(100)
    expect(log).toEqual(['late@100'])
    expect(d.held(100)).toBe(0)
  })

  it('50 calls in flight answered in order keep the queue at 50 at most, over 10,000 calls', () => {
    vi.useFakeTimers({ now: 0 })
    const d = new Deadlines()
    const log: string[] = []
    const window: Pending[] = []
    let most = 0
    for (let i = 0; i < 10_000; i++) {
      const p = call(log, `c${i}`)
      d.add(p, 100)
      window.push(p)
      most = Math.max(most, d.held(100))
      if (window.length === 50) d.settle(window.shift()!)
    }
    // (before settled calls left at once, this was all 10,000: each stayed until its deadline)
    expect(most).toBe(50)
    for (const p of window) d.settle(p)
    expect(d.held(100)).toBe(0)
    vi.advanceTimersByTime(200)
    expect(log).toEqual([])
  })

  it('does not keep the process alive once every call has settled', () => {
    // A 60 s deadline, settled at once: the process must exit now, not in 60 s.
    const url = new URL('../../src/deadlines.ts', import.meta.url).href
    const script = `
      const { Deadlines } = await import(${JSON.stringify(url)})
      const d = new Deadlines()
      const p = { done: false, at: 0, queue: undefined, expire: () => console.log('expired') }
      d.add(p, 60_000)
      setTimeout(() => { d.settle(p); console.log('settled') }, 10)
    `
    const started = Date.now()
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(r.stderr).toBe('')
    expect(r.stdout.trim()).toBe('settled')
    expect(r.status).toBe(0)
    expect(Date.now() - started).toBeLessThan(30_000)
  })
})
