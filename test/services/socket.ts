import { connect } from 'node:net'
import { LOOPBACK } from './ports.js'

/** Raised when a raw request gets no complete reply in time (e.g. a paused or blackholed server). */
export class ServiceTimeoutError extends Error {
  constructor(
    readonly port: number,
    readonly timeoutMs: number,
  ) {
    super(`no complete reply from ${LOOPBACK}:${port} within ${timeoutMs} ms`)
    this.name = 'ServiceTimeoutError'
  }
}

export interface RawRequestOptions {
  host?: string
  timeoutMs?: number
}

/**
 * Opens a fresh TCP connection, writes `payload`, and resolves with the reply bytes once
 * `replyLength(buffer)` returns the length of a complete reply. The socket is always destroyed.
 */
export function rawRequest(
  port: number,
  payload: Buffer | string,
  replyLength: (received: Buffer) => number | undefined,
  options: RawRequestOptions = {},
): Promise<Buffer> {
  const timeoutMs = options.timeoutMs ?? 10_000
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0)
    let settled = false
    const socket = connect({ host: options.host ?? LOOPBACK, port })
    const finish = (err: Error | undefined, reply?: Buffer): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (err) reject(err)
      else resolve(reply ?? Buffer.alloc(0))
    }
    const timer = setTimeout(() => finish(new ServiceTimeoutError(port, timeoutMs)), timeoutMs)
    socket.setNoDelay(true)
    socket.on('connect', () => socket.write(payload))
    const check = (): boolean => {
      let length: number | undefined
      try {
        length = replyLength(received)
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)))
        return true
      }
      if (length === undefined) return false
      finish(undefined, received.subarray(0, length))
      return true
    }
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      check()
    })
    socket.on('error', (err) => finish(err))
    socket.on('close', () => {
      if (!check()) finish(new Error(`connection to ${LOOPBACK}:${port} closed before a complete reply`))
    })
  })
}
