import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { formatSocketAddress, type SocketAddress } from '../config/socket-address.js';
import { normaliseClientAddress } from './client-address.js';
import { describeBadResult, isPendingResult } from './handler-result.js';
import type { ListenerStats } from './listener-stats.js';
import { logEvent, type Logger } from '../logging/logger.js';
import type { ClientInfo, QueryHandler } from './query-handler.js';
import { errorFields, ThrottledEventLog } from '../logging/throttled-event-log.js';

/**
 * Receive buffer asked of the kernel (Unbound recommends `so-rcvbuf: 4m` for busy resolvers): a
 * burst of queries arriving while the event loop is busy with crypto waits here instead of being
 * dropped. Linux caps it at `net.core.rmem_max`; a refusal is ignored.
 */
export const UDP_RECV_BUFFER_SIZE = 4 * 1024 * 1024;

/** Shorter than a DNS header: nothing a handler could answer. */
const DNS_HEADER_LENGTH = 12;
/** The QR bit, in the third byte of the header. */
const QR_BIT = 0x80;

export interface UdpListenerOptions {
  /** Port 0 picks a free port; `address` then reports the one bound. */
  readonly address: SocketAddress;
  readonly handler: QueryHandler;
  readonly logger: Logger;
  readonly stats: ListenerStats;
  /** Default `UDP_RECV_BUFFER_SIZE`. */
  readonly recvBufferSize?: number;
}

/**
 * DNS over UDP on one address: one socket, each datagram handed to the query handler and the
 * answer sent back from the same socket.
 *
 * Source address: bound to a specific address, the answer leaves from that address, which is what
 * the client checks. Bound to a wildcard (`0.0.0.0`, `::`), the kernel picks the source by routing
 * and Node offers no IP_PKTINFO to pin it, so a client that queried a secondary address may get
 * the answer from another one and discard it. Operators of multi-homed hosts should list each
 * address in `listen` rather than a wildcard (BIND and NSD bind per address for the same reason).
 * For the same reason `ClientInfo.localAddress` is the bound address, the wildcard itself when
 * bound to one.
 */
export class UdpListener {
  private socket: Socket | undefined;
  private boundAddress: SocketAddress | undefined;
  /** What `ClientInfo.localAddress` says: the bound host. */
  private localAddress = '';
  private closing: Promise<void> | undefined;
  private readonly errorLog: ThrottledEventLog;
  private readonly handlerErrorLog: ThrottledEventLog;

  constructor(private readonly options: UdpListenerOptions) {
    this.errorLog = new ThrottledEventLog(options.logger, 'dns.udp-error', 'warn');
    this.handlerErrorLog = new ThrottledEventLog(options.logger, 'dns.handler-error', 'error');
  }

  /** The address actually bound (its real port when 0 was asked for). */
  get address(): SocketAddress {
    if (!this.boundAddress) throw new Error('UDP listener is not started');
    return this.boundAddress;
  }

  /** Binds; rejects with the system error (its `code` intact) when the address cannot be bound. */
  async start(): Promise<void> {
    if (this.socket) throw new Error('UDP listener already started');
    const { address } = this.options;
    // v6 sockets are v6-only so that `[::]:53` and `0.0.0.0:53` can both be listed.
    const socket = createSocket({ type: address.family === 6 ? 'udp6' : 'udp4', ipv6Only: address.family === 6 });
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error): void => {
        socket.off('listening', listening);
        socket.close();
        reject(error);
      };
      const listening = (): void => {
        socket.off('error', failed);
        resolve();
      };
      socket.once('error', failed);
      socket.once('listening', listening);
      socket.bind({ address: address.host, port: address.port });
    });
    this.socket = socket;
    this.boundAddress = { host: address.host, port: socket.address().port, family: address.family };
    this.localAddress = address.host;
    try {
      socket.setRecvBufferSize(this.options.recvBufferSize ?? UDP_RECV_BUFFER_SIZE);
    } catch {
      // Best effort: the kernel default still works, only bursts suffer.
    }
    // After bind, errors are per-datagram (a failed send, an ICMP report): log, never crash.
    socket.on('error', (error) => this.errorLog.log({ address: formatSocketAddress(this.address), ...errorFields(error) }));
    socket.on('message', this.onMessage);
    logEvent(
      this.options.logger,
      'dns.listening',
      { protocol: 'udp', address: formatSocketAddress(this.boundAddress), recvBufferSize: safeRecvBufferSize(socket) },
      { level: 'debug' },
    );
  }

  /** Closes the socket; answers still being computed are dropped. Safe to call more than once. */
  close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return Promise.resolve();
    return (this.closing ??= new Promise<void>((resolve) => {
      socket.off('message', this.onMessage);
      try {
        socket.close(() => resolve());
      } catch {
        resolve(); // ERR_SOCKET_DGRAM_NOT_RUNNING: already closed.
      }
    }));
  }

  // The per-datagram path. Everything it needs is a field; the only allocation is the ClientInfo
  // the handler is owed, plus one closure pair when the handler answers asynchronously.
  private readonly onMessage = (message: Buffer, remote: RemoteInfo): void => {
    const stats = this.options.stats;
    stats.udpQueries++;
    // Never hand a response (QR=1) to the handler: answering answers is how two servers, or a
    // spoofed source, start a reflection loop. Runts cannot be parsed, let alone answered.
    if (message.length < DNS_HEADER_LENGTH || (message[2]! & QR_BIT) !== 0) {
      stats.dropped++;
      return;
    }
    const client: ClientInfo = {
      address: normaliseClientAddress(remote.address),
      port: remote.port,
      transport: 'udp',
      localAddress: this.localAddress,
    };
    let result;
    try {
      result = this.options.handler(message, client);
    } catch (error) {
      this.handlerFailed(error, client);
      return;
    }
    if (result === undefined || result instanceof Uint8Array) this.reply(result, remote.address, remote.port, client);
    else if (isPendingResult(result))
      result.then(
        (response) => this.reply(response, remote.address, remote.port, client),
        (error: unknown) => this.handlerFailed(error, client),
      );
    else this.handlerFailed(new TypeError(describeBadResult(result)), client);
  };

  /** Never throws: it may run inside a promise callback, where a throw would be an unhandled rejection. */
  private reply(response: unknown, host: string, port: number, client: ClientInfo): void {
    const socket = this.socket;
    if (response === undefined || this.closing !== undefined || socket === undefined) {
      this.options.stats.dropped++;
      return;
    }
    if (!(response instanceof Uint8Array)) {
      this.handlerFailed(new TypeError(describeBadResult(response)), client);
      return;
    }
    try {
      socket.send(response, port, host, this.onSent);
    } catch (error) {
      this.onSent(error as Error);
    }
  }

  // One shared callback rather than a closure per datagram. Without a callback, Node would emit a
  // failed send (EMSGSIZE for an answer the handler should have truncated) as a socket error.
  private readonly onSent = (error: Error | null): void => {
    if (error === null) return;
    this.options.stats.dropped++;
    this.errorLog.log({ address: this.boundAddress ? formatSocketAddress(this.boundAddress) : undefined, ...errorFields(error) }, 'UDP send failed');
  };

  private handlerFailed(error: unknown, client: ClientInfo): void {
    this.options.stats.dropped++;
    this.handlerErrorLog.log({ transport: 'udp', client: client.address, ...errorFields(error) }, 'query handler failed; query dropped');
  }
}

function safeRecvBufferSize(socket: Socket): number | undefined {
  try {
    return socket.getRecvBufferSize();
  } catch {
    return undefined;
  }
}
