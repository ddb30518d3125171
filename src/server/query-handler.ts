export interface ClientInfo {
  /** Client IP (IPv4-mapped IPv6 normalised to IPv4). */
  readonly address: string;
  readonly port: number;
  /** Stream transports (TCP, DNS over TLS, DNS over HTTPS) carry answers of up to 64 KiB. */
  readonly transport: 'udp' | 'tcp' | 'tls' | 'https';
  /** The address the query arrived on. */
  readonly localAddress: string;
}

/**
 * Several response messages to one query: a zone transfer (RFC 5936), TCP only. The UDP
 * listener treats it as a handler failure.
 */
export type MultiMessageResponse = readonly Uint8Array[];

/**
 * Returns the response bytes, or undefined to send nothing (drop). Must never throw for
 * bad input; if it throws anyway the listener logs and drops. For UDP the handler decides
 * truncation itself.
 */
export type QueryHandler = (query: Uint8Array, client: ClientInfo) => Promise<Uint8Array | MultiMessageResponse | undefined> | Uint8Array | undefined;
