/** Minimal RESP2/RESP3 encoder and decoder for raw test assertions (no client dependency). */

export class RespError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RespError'
  }
}

export type RespValue = string | number | bigint | boolean | null | RespError | RespValue[]

export function encodeCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const arg of args) {
    const bytes = Buffer.from(arg, 'utf8')
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

interface Decoded {
  value: RespValue
  end: number
}

function readLine(buf: Buffer, offset: number): { line: string; next: number } | undefined {
  const idx = buf.indexOf('\r\n', offset)
  if (idx === -1) return undefined
  return { line: buf.toString('utf8', offset, idx), next: idx + 2 }
}

function parseInteger(text: string): number | bigint {
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : BigInt(text)
}

function parseDouble(text: string): number {
  if (text === 'inf' || text === '+inf') return Number.POSITIVE_INFINITY
  if (text === '-inf') return Number.NEGATIVE_INFINITY
  if (text === 'nan') return Number.NaN
  return Number(text)
}

function decodeMany(
  buf: Buffer,
  offset: number,
  count: number,
): { values: RespValue[]; end: number } | undefined {
  const values: RespValue[] = []
  let cursor = offset
  for (let i = 0; i < count; i++) {
    const item = decodeResp(buf, cursor)
    if (!item) return undefined
    values.push(item.value)
    cursor = item.end
  }
  return { values, end: cursor }
}

/**
 * Decodes one complete reply starting at `offset`; `undefined` when more bytes are needed.
 * Maps are returned as flat `[k1, v1, k2, v2, ...]` arrays; attributes are skipped.
 */
export function decodeResp(buf: Buffer, offset = 0): Decoded | undefined {
  const head = readLine(buf, offset)
  if (!head) return undefined
  const type = head.line.charAt(0)
  const rest = head.line.slice(1)
  switch (type) {
    case '+':
      return { value: rest, end: head.next }
    case '-':
      return { value: new RespError(rest), end: head.next }
    case ':':
      return { value: parseInteger(rest), end: head.next }
    case '_':
      return { value: null, end: head.next }
    case '#':
      return { value: rest === 't', end: head.next }
    case ',':
      return { value: parseDouble(rest), end: head.next }
    case '(':
      return { value: BigInt(rest), end: head.next }
    case '$':
    case '!':
    case '=': {
      const length = Number(rest)
      if (length < 0) return { value: null, end: head.next }
      const end = head.next + length + 2
      if (buf.length < end) return undefined
      let text = buf.toString('utf8', head.next, head.next + length)
      if (type === '=') text = text.slice(4) // "txt:" / "mkd:" prefix
      return { value: type === '!' ? new RespError(text) : text, end }
    }
    case '*':
    case '~':
    case '>':
    case '%': {
      const count = Number(rest)
      if (count < 0) return { value: null, end: head.next }
      const many = decodeMany(buf, head.next, type === '%' ? count * 2 : count)
      return many && { value: many.values, end: many.end }
    }
    case '|': {
      const attributes = decodeMany(buf, head.next, Number(rest) * 2)
      return attributes && decodeResp(buf, attributes.end)
    }
    default:
      throw new Error(`unexpected RESP reply: ${JSON.stringify(head.line.slice(0, 80))}`)
  }
}

/** Length of the first complete reply in `buf`, or `undefined` if incomplete. */
export function respReplyLength(buf: Buffer): number | undefined {
  return decodeResp(buf)?.end
}
