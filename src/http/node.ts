/**
 * Helpers for adapters on Node's `http` server (every adapter here): header pairs as a record,
 * replacing a response's headers, `writeHead` arguments, and reading a body up to a size cap.
 */
import type { OutgoingHttpHeader, ServerResponse } from 'node:http'
import type { HttpReply } from './reply.js'
import type { HeaderPairs } from './types.js'

/** Header pairs as a record: a repeated name becomes an array, in order. */
export function pairsToRecord(pairs: HeaderPairs): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null)
  for (const [name, value] of pairs) {
    const prev = out[name]
    if (prev === undefined) out[name] = value
    else if (Array.isArray(prev)) prev.push(value)
    else out[name] = [prev, value]
  }
  return out
}

/**
 * `pairsToRecord` as an ordinary object, which engines read and iterate faster than a null-prototype
 * one; a name `__proto__` falls back to `pairsToRecord` (it would set the prototype).
 */
export function fastRecord(pairs: HeaderPairs): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of pairs) {
    if (name === '__proto__') return pairsToRecord(pairs)
    const prev = Object.hasOwn(out, name) ? out[name] : undefined // not `constructor` of Object.prototype
    if (prev === undefined) out[name] = value
    else if (Array.isArray(prev)) prev.push(value)
    else out[name] = [prev, value]
  }
  return out
}

/**
 * A reply's headers as a record of single values, for a fetch `Response` (runtimes such as
 * @hono/node-server write a plain record without building a `Headers`): the prepared record, or one
 * built from the pairs; `undefined` when a name repeats (or is `__proto__`), then pass the pairs.
 */
export function singleValuedHeaders(
  reply: Pick<HttpReply, 'headers' | 'record'>,
): Readonly<Record<string, string>> | undefined {
  const prepared = reply.record
  if (prepared !== undefined) {
    for (const name in prepared) if (typeof prepared[name] !== 'string') return undefined
    return prepared as Readonly<Record<string, string>>
  }
  const out: Record<string, string> = {}
  for (const [name, value] of reply.headers) {
    if (name === '__proto__' || Object.hasOwn(out, name)) return undefined
    out[name] = value
  }
  return out
}

/** A reply's headers as a record: the one the core prepared, or one built from its pairs. */
export function headerRecord(reply: HttpReply): Readonly<Record<string, string | string[]>> {
  return reply.record ?? pairsToRecord(reply.headers)
}

/**
 * Replaces every header of `res` with `pairs` (repeated names become one multi-valued header);
 * `record` is the same headers as a record when the caller has it.
 */
export function replaceHeaders(
  res: ServerResponse,
  pairs: HeaderPairs,
  record: Readonly<Record<string, string | string[]>> = pairsToRecord(pairs),
): void {
  for (const name of res.getHeaderNames()) res.removeHeader(name)
  for (const name in record) res.setHeader(name, record[name]!)
}

/** Applies `writeHead(status, [message], [headers])` arguments to `res` without sending anything. */
export function applyWriteHead(res: ServerResponse, args: readonly unknown[]): void {
  res.statusCode = args[0] as number
  let headers = args[1]
  if (typeof headers === 'string') {
    res.statusMessage = headers
    headers = args[2]
  }
  if (Array.isArray(headers)) {
    // either [[name, value], ...] or a flat [name, value, name, value]
    if (Array.isArray(headers[0])) for (const [n, v] of headers as [string, string][]) res.setHeader(n, v)
    else for (let i = 0; i + 1 < headers.length; i += 2) res.setHeader(headers[i], headers[i + 1])
  } else if (headers !== null && typeof headers === 'object') {
    for (const [n, v] of Object.entries(headers))
      if (v !== undefined) res.setHeader(n, v as OutgoingHttpHeader)
  }
}

/** A body chunk as a Buffer: strings as UTF-8, byte views without copying. */
export function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (typeof chunk === 'string') return Buffer.from(chunk)
  const u8 = chunk as Uint8Array
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength)
}

/** A body read up to a cap: whole, or (past the cap) everything as a stream. */
export type CappedBody =
  | { body: Buffer; rest?: undefined }
  | { body?: undefined; rest: AsyncIterable<Buffer> }

/**
 * Reads `source` whole while it stays within `max` bytes. Past that it stops reading and returns
 * `rest`: the chunks read so far, then the remainder of `source` as it comes (nothing is lost).
 */
export async function readUpTo(source: AsyncIterable<unknown>, max: number): Promise<CappedBody> {
  const it = source[Symbol.asyncIterator]()
  const chunks: Buffer[] = []
  let size = 0
  for (let r = await it.next(); r.done !== true; r = await it.next()) {
    const chunk = toBuffer(r.value)
    chunks.push(chunk)
    size += chunk.byteLength
    if (size > max) return { rest: replay(chunks, it) }
  }
  return { body: Buffer.concat(chunks, size) }
}

async function* replay(head: Buffer[], it: AsyncIterator<unknown>): AsyncGenerator<Buffer> {
  try {
    yield* head
    for (let r = await it.next(); r.done !== true; r = await it.next()) yield toBuffer(r.value)
  } finally {
    await it.return?.()
  }
}
