/** Keying of request headers that influence generated URLs (RELIABILITY 36). */
import type { HttpRequestView } from './types.js'

/**
 * Request headers that frameworks, proxies and apps commonly honour for the host, scheme, port, path
 * or prefix of generated URLs, but that are not part of a URL. A handler reflecting one of them could
 * poison a shared entry (Kettle, "Practical Web Cache Poisoning"), so their values are keyed: a request
 * carrying one never shares an entry with a request without it. Method-override headers bypass instead.
 */
export const INFLUENCE_HEADERS: readonly string[] = [
  'forwarded',
  'x-forwarded-host',
  'x-forwarded-server',
  'x-forwarded-proto',
  'x-forwarded-protocol',
  'x-forwarded-scheme',
  'x-forwarded-ssl',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-path',
  'x-forwarded-uri',
  'x-forwarded-url',
  'x-original-url',
  'x-original-uri',
  'x-original-host',
  'x-original-path',
  'x-rewrite-url',
  'x-host',
  'x-http-host-override',
  'x-proxy-url',
  'x-proxy-host',
  'x-backend-host',
  'x-url-scheme',
  'x-scheme',
  'front-end-https',
  'x-arr-ssl',
  'x-envoy-original-path',
  'x-envoy-original-host',
  'x-base-url',
  'base-url',
]

/** The keyed values of the influence headers a request carries, or `undefined` when it has none. */
export function influenceKey(headers: HttpRequestView['headers']): string | undefined {
  let parts: string[] | undefined
  for (const name of INFLUENCE_HEADERS) {
    const v = headers[name]
    if (v === undefined) continue
    parts ??= []
    parts.push(name, typeof v === 'string' ? v : v.join('\n'))
  }
  return parts === undefined ? undefined : JSON.stringify(parts)
}
