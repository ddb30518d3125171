import type { Server as NetServer, Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { formatSocketAddress, type SocketAddress } from '../config/socket-address.js';
import { normaliseClientAddress } from './client-address.js';
import type { ListenerStats } from './listener-stats.js';
import type { Logger } from '../logging/logger.js';
import type { QueryHandler } from './query-handler.js';
import { TcpConnection } from './tcp-connection.js';
import type { TcpConnectionLimiter, TcpSlotHolder } from './tcp-connection-limiter.js';
import { MAX_PIPELINED_PER_CONNECTION } from './tcp-listener.js';
import { errorFields, ThrottledEventLog } from '../logging/throttled-event-log.js';
import type { SecureContextHolder, TlsCertificate } from './tls-certificate.js';

/**
 * RFC 7858 §3.4 asks servers to keep DoT connections open for reuse, since each costs a TLS
 * handshake; Unbound and Knot Resolver close after some idle seconds. 30 s, like BIND's initial
 * TCP timeout, keeps a stub's connection across a burst of page loads.
 */
export const DOT_IDLE_TIMEOUT_MS = 30_000;
/** A client that has not finished its handshake by then holds a socket for nothing. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 5_000;

export interface BoundListener {
  readonly address: SocketAddress;
  close(): Promise<void>;
}

/**
 * Counts the TCP connection in when it is accepted, before any TLS work, and out when the socket
 * closes: a flood of handshakes is capped like a flood of TCP connections. As for plain TCP, a
 * full prefix (or a full server) makes room by closing its idlest connection.
 */
export function limitConnections(server: NetServer, limiter: TcpConnectionLimiter, stats: ListenerStats, evicted: ThrottledEventLog): void {
  server.on('connection', (socket: Socket) => {
    if (socket.remoteAddress === undefined) {
      socket.destroy();
      return;
    }
    const client = normaliseClientAddress(socket.remoteAddress);
    const holder: TcpSlotHolder = { prefix: limiter.prefixOf(client), busy: false, lastActivity: Date.now(), evict: () => socket.destroy() };
    socket.on('data', () => ((holder as { lastActivity: number }).lastActivity = Date.now()));
    const eviction = limiter.admit(holder);
    if (eviction) {
      stats.tcpRejected++;
      evicted.log({ client, prefix: holder.prefix, limit: eviction.limit }, 'connection closed to make room: connection limit reached');
    }
    stats.tcpConnections++;
    socket.once('close', () => limiter.release(holder));
  });
}

/** Listens on `address` with `server`, resolving once bound; rejects with the system error. */
export function listenOn(server: NetServer, address: SocketAddress): Promise<SocketAddress> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => {
      server.off('listening', listening);
      reject(error);
    };
    const listening = () => {
      server.off('error', failed);
      const bound = server.address();
      resolve({ ...address, port: typeof bound === 'object' && bound !== null ? bound.port : address.port });
    };
    server.once('error', failed);
    server.once('listening', listening);
    server.listen({ host: address.host, port: address.port, ipv6Only: address.family === 6 });
  });
}

/** What DoT and DoH listeners are started with. */
export interface SecureListenerOptions {
  readonly address: SocketAddress;
  readonly certificate: TlsCertificate;
  readonly handler: QueryHandler;
  readonly logger: Logger;
  /** Shared by the secure listeners. */
  readonly stats: ListenerStats;
  readonly limiter: TcpConnectionLimiter;
}

/** DNS over TLS (RFC 7858) on one address: each handshaken socket is a `TcpConnection` (RFC 7766 framing, pipelining, limits). */
export async function startDotListener(options: SecureListenerOptions & { idleTimeoutMs?: number }): Promise<BoundListener> {
  const { certificate, handler, logger, stats, limiter } = options;
  const connections = new Set<TcpConnection>();
  const handlerErrorLog = new ThrottledEventLog(logger, 'dns.handler-error', 'error');
  const errorLog = new ThrottledEventLog(logger, 'dns.tls-connection-error', 'debug');
  const handshakeLog = new ThrottledEventLog(logger, 'dns.tls-handshake-failed', 'debug');
  const evictedLog = new ThrottledEventLog(logger, 'dns.tls-connection-evicted', 'warn');
  const server: Server = createServer({ ...certificate.options, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS, allowHalfOpen: true, minVersion: 'TLSv1.2' });
  limitConnections(server, limiter, stats, evictedLog);
  server.on('tlsClientError', (error, socket) => {
    handshakeLog.log({ client: socket.remoteAddress, ...errorFields(error) });
    socket.destroy();
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    socket.setNoDelay(true);
    const connection = new TcpConnection(
      socket,
      {
        address: normaliseClientAddress(socket.remoteAddress ?? ''),
        port: socket.remotePort ?? 0,
        transport: 'tls',
        localAddress: normaliseClientAddress(socket.localAddress ?? options.address.host),
      },
      {
        handler,
        stats,
        idleTimeoutMs: options.idleTimeoutMs ?? DOT_IDLE_TIMEOUT_MS,
        maxPipelined: MAX_PIPELINED_PER_CONNECTION,
        handlerErrorLog,
        errorLog,
        onClosed: (closed) => connections.delete(closed),
      },
    );
    connections.add(connection);
  });
  return serveWithCertificate(server, options.address, certificate, errorLog, () => {
    for (const c of connections) c.destroy();
  });
}

/**
 * Binds `server`, serves it with the certificate (and its reloads), and returns a close that
 * stops accepting and ends what is open (`dropOpen`): clients' idle connections would otherwise
 * hold `close()` forever.
 */
export async function serveWithCertificate(server: NetServer & SecureContextHolder, at: SocketAddress, certificate: TlsCertificate, errorLog: ThrottledEventLog, dropOpen: () => void): Promise<BoundListener> {
  const address = await listenOn(server, at);
  server.on('error', (error) => errorLog.log({ address: formatSocketAddress(address), ...errorFields(error) }));
  certificate.attach(server);
  let closing: Promise<void> | undefined;
  return {
    address,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        certificate.detach(server);
        server.close(() => resolve());
        dropOpen();
      })),
  };
}
