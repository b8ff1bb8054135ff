import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A test server: its loopback URL, and a close that drops keep-alive connections first. */
export interface ListeningServer {
  url: string
  close(): Promise<void>
}

/** Waits until `server` (already told to listen on a loopback port) listens, and returns its URL and close. */
export async function listening(server: Server): Promise<ListeningServer> {
  await new Promise<void>((resolve, reject) => {
    if (server.listening) resolve()
    server.once('listening', resolve)
    server.once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
