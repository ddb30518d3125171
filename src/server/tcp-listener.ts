import { createServer, type Server, type Socket } from 'node:net';
import { formatSocketAddress, type SocketAddress } from '../config/socket-address.js';
import { normaliseClientAddress } from './client-address.js';
import type { ListenerStats } from './listener-stats.js';
import { logEvent, type Logger } from '../logging/logger.js';
import type { QueryHandler } from './query-handler.js';
import { TcpConnection } from './tcp-connection.js';
import type { TcpConnectionLimiter, TcpSlotHolder } from './tcp-connection-limiter.js';
import { errorFields, ThrottledEventLog } from '../logging/throttled-event-log.js';

/**
 * RFC 7766 §6.2.3: servers may close idle connections after a few seconds; BIND uses 30 s
 * initially, Unbound 30 s but shorter under load. 10 s keeps a `dig +tcp` or a stub that
 * pipelines a burst of lookups on one connection, while a client that connects and waits gives
 * its slot back quickly.
 */
export const TCP_IDLE_TIMEOUT_MS = 10_000;
/**
 * Open DNS-over-TCP connections in the whole process. TCP is the fallback for truncated answers
 * and zone transfers, a small share of traffic: 256 covers that with room (BIND's tcp-clients is
 * 150) while bounding sockets and buffers (each connection may hold up to
 * `MAX_PIPELINED_PER_CONNECTION` answers of up to 64 KiB).
 */
export const MAX_TCP_CONNECTIONS = 256;
/**
 * Open connections from one client prefix (/24, /56). A stub or forwarder needs one or two; 64
 * leaves room for a network of hosts behind one NAT or in one subnet, and keeps a flood from a few
 * networks from holding all 256: at the limit the prefix's idlest connection makes room.
 */
export const MAX_TCP_CONNECTIONS_PER_PREFIX = 64;
export const DEFAULT_TCP_LIMITS = { maxConnections: MAX_TCP_CONNECTIONS, maxConnectionsPerPrefix: MAX_TCP_CONNECTIONS_PER_PREFIX, prefixV4: 24, prefixV6: 56 } as const;
/**
 * Queries in flight on one connection. Enough for a resolver forwarding a burst over one
 * connection; at the limit the socket stops being read until answers go out.
 */
export const MAX_PIPELINED_PER_CONNECTION = 32;

export interface TcpListenerOptions {
  /** Port 0 picks a free port; `address` then reports the one bound. */
  readonly address: SocketAddress;
  readonly handler: QueryHandler;
  readonly logger: Logger;
  readonly stats: ListenerStats;
  /** Shared by every TCP listener of the process. */
  readonly limiter: TcpConnectionLimiter;
  /** Default `TCP_IDLE_TIMEOUT_MS`. */
  readonly idleTimeoutMs?: number;
  /** Default `MAX_PIPELINED_PER_CONNECTION`. */
  readonly maxPipelined?: number;
}

/** DNS over TCP (RFC 7766) on one address; each accepted socket becomes a `TcpConnection`. */
export class TcpListener {
  private server: Server | undefined;
  private boundAddress: SocketAddress | undefined;
  private closing: Promise<void> | undefined;
  private readonly connections = new Set<TcpConnection>();
  private readonly errorLog: ThrottledEventLog;
  private readonly connectionErrorLog: ThrottledEventLog;
  private readonly evictedLog: ThrottledEventLog;
  private readonly handlerErrorLog: ThrottledEventLog;

  constructor(private readonly options: TcpListenerOptions) {
    const { logger } = options;
    this.errorLog = new ThrottledEventLog(logger, 'dns.tcp-error', 'warn');
    this.connectionErrorLog = new ThrottledEventLog(logger, 'dns.tcp-connection-error', 'debug');
    this.evictedLog = new ThrottledEventLog(logger, 'dns.tcp-connection-evicted', 'warn');
    this.handlerErrorLog = new ThrottledEventLog(logger, 'dns.handler-error', 'error');
  }

  /** The address actually bound (its real port when 0 was asked for). */
  get address(): SocketAddress {
    if (!this.boundAddress) throw new Error('TCP listener is not started');
    return this.boundAddress;
  }

  /** Number of connections currently open on this listener. */
  get openConnections(): number {
    return this.connections.size;
  }

  /** Listens; rejects with the system error (its `code` intact) when the address cannot be bound. */
  async start(): Promise<void> {
    if (this.server) throw new Error('TCP listener already started');
    const { address } = this.options;
    // allowHalfOpen: a client's FIN after its last query must not close our side before the
    // answers are written. noDelay: each answer is one write and must leave now, not wait for
    // Nagle to coalesce it with the next one.
    const server = createServer({ allowHalfOpen: true, noDelay: true }, this.onConnection);
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error): void => {
        server.off('listening', listening);
        server.close();
        reject(error);
      };
      const listening = (): void => {
        server.off('error', failed);
        resolve();
      };
      server.once('error', failed);
      server.once('listening', listening);
      // v6-only, so that `[::]:53` and `0.0.0.0:53` can both be listed.
      server.listen({ host: address.host, port: address.port, ipv6Only: address.family === 6 });
    });
    this.server = server;
    const bound = server.address();
    const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
    this.boundAddress = { host: address.host, port, family: address.family };
    // After listen, errors are accept failures (EMFILE and the like): log, keep listening.
    server.on('error', (error) => this.errorLog.log({ address: formatSocketAddress(this.address), ...errorFields(error) }));
    logEvent(this.options.logger, 'dns.listening', { protocol: 'tcp', address: formatSocketAddress(this.boundAddress) }, { level: 'debug' });
  }

  /** Stops accepting and closes every connection; answers in flight are dropped. Safe to call more than once. */
  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    return (this.closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const connection of this.connections) connection.destroy();
    }));
  }

  private readonly onConnection = (socket: Socket): void => {
    const { stats, limiter } = this.options;
    const remote = socket.remoteAddress;
    if (remote === undefined || this.closing !== undefined) {
      socket.destroy(); // already reset by the peer, or we are shutting down
      return;
    }
    const clientAddress = normaliseClientAddress(remote);
    stats.tcpConnections++;
    const connection = new TcpConnection(
      socket,
      {
        address: clientAddress,
        port: socket.remotePort ?? 0,
        transport: 'tcp',
        // The real destination, even on a wildcard listener: accept() knows it.
        localAddress: normaliseClientAddress(socket.localAddress ?? this.options.address.host),
      },
      {
        handler: this.options.handler,
        stats,
        idleTimeoutMs: this.options.idleTimeoutMs ?? TCP_IDLE_TIMEOUT_MS,
        maxPipelined: this.options.maxPipelined ?? MAX_PIPELINED_PER_CONNECTION,
        handlerErrorLog: this.handlerErrorLog,
        errorLog: this.connectionErrorLog,
        onClosed: (closed) => {
          this.connections.delete(closed);
          limiter.release(slot);
        },
      },
    );
    const slot: TcpSlotHolder = {
      prefix: limiter.prefixOf(clientAddress),
      get busy() {
        return connection.busy;
      },
      get lastActivity() {
        return connection.lastActivity;
      },
      evict: () => connection.destroy(),
    };
    this.connections.add(connection);
    const eviction = limiter.admit(slot);
    if (eviction) {
      stats.tcpRejected++;
      const max = eviction.limit === 'total' ? limiter.limits.maxConnections : limiter.limits.maxConnectionsPerPrefix;
      this.evictedLog.log({ client: clientAddress, prefix: slot.prefix, evicted: eviction.evicted.prefix, limit: eviction.limit, max }, 'TCP connection limit reached: the idlest connection closed to make room');
    }
  };
}
