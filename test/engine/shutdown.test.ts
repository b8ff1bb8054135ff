import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { CacheClosedError, createCache, type LoaderContext, LoaderError } from '../../src/index.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))

describe('clean shutdown (RELIABILITY 23)', () => {
  it('a process with a background refresh and a timed wait in flight exits by itself after close()', async () => {
    // execFile resolves once the child has exited (by itself: nothing kills it before 20 s).
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', fixture('shutdown-refresh.ts')],
      {
        cwd: root,
        timeout: 20_000,
      },
    )
    const exitedAt = Date.now()
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as {
      stale: string
      inFlightBefore: number
      refreshAborted: boolean
      waited: unknown
      afterClose: string
      closeMs: number
      resources: string[]
      totalMs: number
      endAt: number
    }
    expect(stderr).toBe('')
    expect(r.stale).toBe('v1')
    expect(r.inFlightBefore).toBe(2)
    expect(r.refreshAborted).toBe(true)
    // The caller waiting on soft/hard timers is settled by close(), not left with a 30 s timer.
    expect(r.waited).toEqual({ code: 'E_CLOSED' })
    expect(r.afterClose).toBe('E_CLOSED')
    expect(r.closeMs).toBeLessThan(1000)
    expect(r.resources).not.toContain('Timeout')
    // Only the stdout/stderr pipes to this test runner remain.
    expect(r.resources.filter((x) => x !== 'PipeWrap' && x !== 'TTYWrap')).toEqual([])
    // From the script's last line to the process exit: < 2 s, though the loaders' promises never settle.
    expect(exitedAt - r.endAt).toBeLessThan(2000)
    expect(r.totalMs).toBeLessThan(2000)
  }, 30_000)

  it('after close(), every call rejects with CacheClosedError (E_CLOSED), hits included', async () => {
    const cache = createCache()
    await cache.set('k', 'v')
    await cache.close()
    const calls: [string, () => Promise<unknown>][] = [
      ['getOrSet hit', () => cache.getOrSet('k', () => 'x')],
      ['getOrSet miss', () => cache.getOrSet('m', () => 'x')],
      ['get', () => cache.get('k')],
      ['has', () => cache.has('k')],
      ['set', () => cache.set('k', 1)],
      ['delete', () => cache.delete('k')],
      ['getMany', () => cache.getMany(['k'])],
      ['setMany', () => cache.setMany([{ key: 'k', value: 1 }])],
      ['invalidateTags', () => cache.invalidateTags(['t'])],
      ['clear', () => cache.clear()],
      ['namespace getOrSet', () => cache.namespace('n').getOrSet('k', () => 1)],
      ['wrap', () => cache.wrap(async () => 1, { name: 'f' })()],
    ]
    for (const [name, call] of calls) {
      const err = await call().then(
        () => `${name} resolved`,
        (e: unknown) => e,
      )
      expect(err, name).toBeInstanceOf(CacheClosedError)
      expect((err as CacheClosedError).code).toBe('E_CLOSED')
    }
    // close() twice is fine.
    await cache.close()
  })

  it('a loader in flight sees signal.aborted; its waiters settle; its value is not stored', async () => {
    const cache = createCache()
    let signal: AbortSignal | undefined
    let release!: (v: string) => void
    const loader = (ctx: LoaderContext<string>) => {
      signal = ctx.signal
      return new Promise<string>((r) => (release = r))
    }
    const plain = cache.getOrSet('k', loader)
    const timed = cache.getOrSet('k', loader, { hardTimeout: '10s' }).catch((e: unknown) => e)
    await new Promise((r) => setImmediate(r))
    expect(signal!.aborted).toBe(false)
    await cache.close()
    expect(signal!.aborted).toBe(true)
    expect(signal!.reason).toBeInstanceOf(CacheClosedError)
    expect(await timed).toBeInstanceOf(CacheClosedError)
    // A loader that ignores the signal may still finish: its plain waiter gets the value; nothing is stored.
    release('late')
    expect(await plain).toBe('late')
    expect(cache.stats().staleSetsPrevented).toBe(1)
    expect(cache.stats().inFlight).toBe(0)
  })

  it('a loader that honours the signal rejects its waiters with the close reason', async () => {
    const cache = createCache()
    const p = cache
      .getOrSet(
        'k',
        (ctx) =>
          new Promise<string>((_, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
          ),
      )
      .catch((e: unknown) => e)
    await new Promise((r) => setImmediate(r))
    await cache.close()
    const err = await p
    expect(err).toBeInstanceOf(LoaderError)
    expect((err as LoaderError).cause).toBeInstanceOf(CacheClosedError)
  })
})

describe('no crash paths (RELIABILITY 6)', () => {
  it('a rejecting background refresh and failing tier writes, no error listener: exit 0, no crash output', async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--unhandled-rejections=throw', '--import', 'tsx', fixture('unhandled-refresh.ts')],
      { cwd: root, timeout: 20_000 },
    )
    // execFile rejects on a non-zero exit code, so reaching here means exit code 0.
    expect(stderr).toBe('')
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>
    expect(r).toEqual({
      first: 'v1',
      stale: 'v1',
      deleted: false,
      set: false,
      loadErrors: 1,
      tierErrors: expect.any(Number),
    })
    expect(r.tierErrors as number).toBeGreaterThanOrEqual(4)
  }, 30_000)
})
