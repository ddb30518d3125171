/**
 * Counters shared by every DNS listener of one `startDnsListeners` call. Plain mutable fields,
 * bumped in the per-packet path: an increment is all the hot path can afford.
 */
export interface ListenerStats {
  /** Datagrams received on the UDP sockets, answered or not. */
  udpQueries: number;
  /** Messages (whole frames, and the bad length prefix that ends a stream) received over TCP, answered or not. */
  tcpQueries: number;
  /** TCP connections accepted (and kept) since start. */
  tcpConnections: number;
  /** TCP connections closed to make room for a new one because a connection limit was reached (the idlest). */
  tcpRejected: number;
  /**
   * Received messages that got no answer: too short, QR set, the handler dropped or threw,
   * the send failed, or the connection was gone when the answer was ready.
   */
  dropped: number;
}

export function createListenerStats(): ListenerStats {
  return { udpQueries: 0, tcpQueries: 0, tcpConnections: 0, tcpRejected: 0, dropped: 0 };
}
