import { formatSocketAddress, type SocketAddress } from '../config/socket-address.js';
import { createListenerStats, type ListenerStats } from './listener-stats.js';
import { logEvent, type Logger } from '../logging/logger.js';
import type { QueryHandler } from './query-handler.js';
import type { ListenerInfo } from '../control-contract/status.js';
import { TcpConnectionLimiter } from './tcp-connection-limiter.js';
import { DEFAULT_TCP_LIMITS, TcpListener } from './tcp-listener.js';
import type { TcpLimits } from './tcp-connection-limiter.js';
import { UdpListener } from './udp-listener.js';

/** Knobs with defaults from `tcp-listener.ts` and `udp-listener.ts`; tests shrink them. */
export interface DnsListenerOptions {
  /** Default `TCP_IDLE_TIMEOUT_MS` (10 s). */
  readonly tcpIdleTimeoutMs?: number;
  /** Default `DEFAULT_TCP_LIMITS` (256 in all, 64 per /24 or /56), over all addresses together. */
  readonly tcpLimits?: Partial<TcpLimits>;
  /** Default `MAX_PIPELINED_PER_CONNECTION` (32). */
  readonly maxPipelinedPerConnection?: number;
  /** Default `UDP_RECV_BUFFER_SIZE` (4 MiB, capped by the kernel). */
  readonly udpRecvBufferSize?: number;
  /** false: TCP only, the UDP sockets being the worker processes' (worker-listeners.ts). Default true. */
  readonly udp?: boolean;
}

export type DnsListenerStats = Readonly<ListenerStats>;

export interface RunningDnsListeners {
  /** One UDP and one TCP entry per address, with the ports actually bound. */
  readonly listeners: ListenerInfo[];
  /** Closes every socket and connection; answers in flight are dropped. Safe to call more than once. */
  close(): Promise<void>;
  /** A snapshot of the counters since start. */
  stats(): DnsListenerStats;
}

/** A DNS listener could not bind; `code` is the system's (EADDRINUSE, EACCES, EADDRNOTAVAIL…). */
export class DnsListenError extends Error {
  override readonly name = 'DnsListenError';
  constructor(
    readonly protocol: 'udp' | 'tcp' | 'tls' | 'https',
    readonly address: string,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(`cannot listen for DNS over ${protocol.toUpperCase()} on ${address}: ${explainListenError(code, cause)}`, { cause });
  }
}

/** Port 0 asks for a free port; TCP then takes UDP's, which may be taken: try a few. */
const FREE_PORT_ATTEMPTS = 8;

/**
 * Starts DNS over UDP and TCP on every address, all feeding `handler`. Addresses are bound in
 * order; if one cannot be bound, those already open are closed and the promise rejects with a
 * `DnsListenError` naming it. With port 0, UDP and TCP share the one free port found.
 *
 * List specific addresses rather than a wildcard on multi-homed hosts: a UDP answer from a
 * wildcard socket leaves from whatever source the kernel's routing picks (Node has no IP_PKTINFO),
 * which need not be the address the client queried (see `UdpListener`).
 */
export async function startDnsListeners(
  addresses: readonly SocketAddress[],
  handler: QueryHandler,
  logger: Logger,
  options: DnsListenerOptions = {},
): Promise<RunningDnsListeners> {
  const stats = createListenerStats();
  const limiter = new TcpConnectionLimiter({ ...DEFAULT_TCP_LIMITS, ...options.tcpLimits });
  const opened: (UdpListener | TcpListener)[] = [];
  const listeners: ListenerInfo[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(opened.map((listener) => listener.close()));
  };

  try {
    for (const address of addresses) {
      const [udp, tcp] = await bindPair(address, handler, logger, stats, limiter, options);
      if (udp) opened.push(udp);
      opened.push(tcp);
      if (udp) listeners.push({ purpose: 'dns', protocol: 'udp', address: formatSocketAddress(udp.address) });
      listeners.push({ purpose: 'dns', protocol: 'tcp', address: formatSocketAddress(tcp.address) });
    }
  } catch (error) {
    await closeAll();
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    listeners,
    close: () =>
      (closing ??= closeAll().then(() => {
        logEvent(logger, 'dns.listeners-closed', { listeners: listeners.map((l) => `${l.protocol} ${l.address}`) }, { level: 'debug' });
      })),
    stats: () => ({ ...stats }),
  };
}

async function bindPair(
  address: SocketAddress,
  handler: QueryHandler,
  logger: Logger,
  stats: ListenerStats,
  limiter: TcpConnectionLimiter,
  options: DnsListenerOptions,
): Promise<[UdpListener | undefined, TcpListener]> {
  const attempts = address.port === 0 ? FREE_PORT_ATTEMPTS : 1;
  for (let attempt = 1; ; attempt++) {
    const udp = options.udp === false ? undefined : new UdpListener({
      address,
      handler,
      logger,
      stats,
      ...(options.udpRecvBufferSize === undefined ? {} : { recvBufferSize: options.udpRecvBufferSize }),
    });
    try {
      await udp?.start();
    } catch (error) {
      throw new DnsListenError('udp', formatSocketAddress(address), errorCode(error), error);
    }
    const tcpAddress = udp?.address ?? address; // the same port as UDP, found when 0 was asked for
    const tcp = new TcpListener({
      address: tcpAddress,
      handler,
      logger,
      stats,
      limiter,
      ...(options.tcpIdleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.tcpIdleTimeoutMs }),
      ...(options.maxPipelinedPerConnection === undefined ? {} : { maxPipelined: options.maxPipelinedPerConnection }),
    });
    try {
      await tcp.start();
      return [udp, tcp];
    } catch (error) {
      await udp?.close();
      const code = errorCode(error);
      if (code === 'EADDRINUSE' && attempt < attempts) continue;
      throw new DnsListenError('tcp', formatSocketAddress(address.port === 0 ? address : tcpAddress), code, error);
    }
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function explainListenError(code: string | undefined, cause: unknown): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'address already in use (EADDRINUSE): another server is listening there';
    case 'EACCES':
      return 'permission denied (EACCES): ports below 1024 need root or CAP_NET_BIND_SERVICE';
    case 'EADDRNOTAVAIL':
      return 'address not available (EADDRNOTAVAIL): no interface of this host has it';
    default:
      return cause instanceof Error ? cause.message : String(cause);
  }
}
