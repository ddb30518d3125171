import type { Scheduler } from '../scheduler.js';
import type { Clock } from '../clock.js';
import type { KeymasterConfig } from '../config/schema.js';
import { formatSocketAddress, type SocketAddress } from '../config/socket-address.js';
import type { Logger } from '../logging/logger.js';
import { BUDGET_SHARES } from '../resolver/memory-budget.js';
import { type DnsListenerOptions, type RunningDnsListeners, startDnsListeners } from '../server/dns-listeners.js';
import type { ListenerInfo } from '../control-contract/status.js';
import type { QueryHandler } from '../server/query-handler.js';
import type { QueryPipeline } from '../server/query-pipeline.js';
import type { CookieSecrets } from '../cookies/server-cookies.js';
import { WorkerPool, type WorkerPoolStatus } from './worker-pool.js';

export interface WorkerListeners extends RunningDnsListeners {
  workers(): WorkerPoolStatus;
  /** `WorkerPool.sync`: the workers in step with the primary (for the control API). */
  sync(): Promise<void>;
}

export interface WorkerListenerDeps {
  /** The pipeline's handler as the single process would use it (counted for the metrics). */
  readonly handle: QueryHandler;
  readonly pipeline: QueryPipeline;
  /** Where the workers' cache hits are counted by RCODE (the metrics), when they are on. */
  readonly onHits?: (transport: 'udp', rcode: number, count: number) => void;
  readonly cookieSecrets?: CookieSecrets;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly scheduler: Scheduler;
}

/**
 * DNS with `workers` > 1 (docs/workers.md): TCP stays in this process (its connection limits
 * counted in one place), UDP is answered by the worker processes, which share each socket. Same
 * contract as `startDnsListeners`: the listeners it reports, counters over all processes, close.
 */
export async function startWorkerListeners(config: KeymasterConfig, deps: WorkerListenerDeps, options: DnsListenerOptions = {}): Promise<WorkerListeners> {
  const tcp = await startDnsListeners(config.listen, deps.handle, deps.logger, { ...options, udp: false });
  // The workers bind UDP on the port TCP got (a real one when 0 was asked for).
  const udpAddresses: SocketAddress[] = config.listen.map((address, i) => ({ ...address, port: portOf(tcp.listeners[i]!) }));
  let pool: WorkerPool;
  try {
    pool = await WorkerPool.start({
      count: config.workers,
      listen: udpAddresses,
      recursionAllow: config.recursion.allow,
      ...(deps.cookieSecrets ? { cookieSecrets: deps.cookieSecrets } : {}),
      // Each worker keeps a full copy of the encoded answers: the share the primary gives its own.
      cacheBytes: Math.floor(config.resolver.cache.maxSize * BUDGET_SHARES.responses),
      logLevel: config.log.level,
      handle: deps.handle,
      responses: deps.pipeline.responses,
      stats: deps.pipeline.stats,
      ...(deps.onHits ? { onHits: deps.onHits } : {}),
      clock: deps.clock,
      logger: deps.logger,
      scheduler: deps.scheduler,
    });
  } catch (error) {
    await tcp.close();
    throw error;
  }
  const listeners: ListenerInfo[] = udpAddresses.flatMap((address, i) => [
    { purpose: 'dns' as const, protocol: 'udp' as const, address: formatSocketAddress(address) },
    tcp.listeners[i]!,
  ]);
  let closing: Promise<void> | undefined;
  return {
    listeners,
    close: () => (closing ??= pool.close().then(() => tcp.close())),
    stats: () => {
      const t = tcp.stats();
      const u = pool.listenerStats;
      return { ...t, udpQueries: t.udpQueries + u.udpQueries, dropped: t.dropped + u.dropped };
    },
    workers: () => pool.status(),
    sync: () => pool.sync(),
  };
}

function portOf(listener: ListenerInfo): number {
  return Number(/:(\d+)$/.exec(listener.address)![1]);
}
