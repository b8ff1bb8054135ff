import { Readable } from 'node:stream'

/** A body stream that yields each chunk in its own turn of the event loop (a handler streaming as it goes). */
export function slowStream(chunks: readonly Uint8Array[]): Readable {
  return Readable.from(
    (async function* () {
      for (const c of chunks) {
        yield Buffer.from(c)
        await new Promise((resolve) => setImmediate(resolve))
      }
    })(),
  )
}
