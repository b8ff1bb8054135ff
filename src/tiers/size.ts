const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }
const PATTERN = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)$/i

/** Parses a byte size (`1048576`, `'512kb'`, `'100mb'`, `'1gb'`), or throws a `TypeError` naming `option`. */
export function toBytes(value: unknown, option: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value
  if (typeof value === 'string') {
    const m = PATTERN.exec(value.trim())
    if (m) {
      const n = Math.floor(Number(m[1]) * (UNITS[m[2]!.toLowerCase()] ?? 1))
      if (n > 0) return n
    }
  }
  throw new TypeError(
    `Expected \`${option}\` to be a positive byte size (an integer, or a string like '512kb', '100mb'), got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
  )
}

/**
 * A fast estimate of the memory a value holds, in bytes. Walks objects up to a depth and a node budget,
 * then extrapolates; it bounds the memory tier, it does not account to the byte.
 */
export function estimateSize(value: unknown): number {
  const budget = { nodes: 10_000 }
  return sizeOf(value, 0, budget)
}

function sizeOf(value: unknown, depth: number, budget: { nodes: number }): number {
  switch (typeof value) {
    case 'string':
      return 16 + value.length * 2
    case 'number':
    case 'boolean':
    case 'undefined':
      return 8
    case 'bigint':
      return 16 + Math.ceil(value.toString(16).length / 2)
    case 'object':
      break
    default:
      return 8
  }
  if (value === null) return 8
  if (ArrayBuffer.isView(value)) return 64 + value.byteLength
  if (value instanceof ArrayBuffer) return 32 + value.byteLength
  if (value instanceof Date) return 32
  if (--budget.nodes < 0 || depth > 32) return 64
  let total = 32
  if (Array.isArray(value)) {
    for (const item of value) total += 8 + sizeOf(item, depth + 1, budget)
    return total
  }
  if (value instanceof Map) {
    for (const [k, v] of value) total += 16 + sizeOf(k, depth + 1, budget) + sizeOf(v, depth + 1, budget)
    return total
  }
  if (value instanceof Set) {
    for (const v of value) total += 8 + sizeOf(v, depth + 1, budget)
    return total
  }
  for (const k in value) {
    total += 16 + k.length * 2 + sizeOf((value as Record<string, unknown>)[k], depth + 1, budget)
  }
  return total
}
