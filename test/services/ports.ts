import { createServer } from 'node:net'

/** The loopback address every harness server and proxy listens on. */
export const LOOPBACK = '127.0.0.1'

/**
 * Asks the kernel for a free TCP port on 127.0.0.1: listens on port 0, reads the port, closes.
 * Another process may take the port before it is used; callers that spawn servers retry on a
 * new port when the bind fails.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ port: 0, host: LOOPBACK, exclusive: true }, () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new Error('freePort: could not read the bound port'))
        return
      }
      const { port } = address
      server.close((err) => (err ? reject(err) : resolve(port)))
    })
  })
}

/** True if `port` can be bound on 127.0.0.1 right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen({ port, host: LOOPBACK, exclusive: true }, () => server.close(() => resolve(true)))
  })
}
