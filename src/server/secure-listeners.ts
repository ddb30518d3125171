import type { KeymasterConfig } from '../config/schema.js';
import { formatSocketAddress } from '../config/socket-address.js';
import type { Logger } from '../logging/logger.js';
import { DnsListenError } from './dns-listeners.js';
import { startDohListener } from './doh-listener.js';
import { type BoundListener, startDotListener } from './dot-listener.js';
import { createListenerStats, type ListenerStats } from './listener-stats.js';
import type { QueryHandler } from './query-handler.js';
import type { ListenerInfo } from '../control-contract/status.js';
import { TcpConnectionLimiter } from './tcp-connection-limiter.js';
import type { TlsCertificate } from './tls-certificate.js';

export interface RunningSecureListeners {
  readonly listeners: ListenerInfo[];
  /** TLS and HTTPS connections and DoT messages (`tcpQueries`). */
  readonly stats: Readonly<ListenerStats>;
  close(): Promise<void>;
}

/**
 * DNS over TLS on each `listenTls` address and DNS over HTTPS on each `listenHttps` address,
 * all feeding the same handler as UDP and TCP (so the same recursion ACL, policy and cache), with
 * one certificate reloaded when its files change. Their connections are capped on their own
 * budget (the `tcp` limits, counted apart): a handshake flood does not take TCP's slots.
 */
export async function startSecureListeners(config: KeymasterConfig, certificate: TlsCertificate | undefined, handler: QueryHandler, logger: Logger): Promise<RunningSecureListeners> {
  const stats = createListenerStats();
  if (!certificate || (config.listenTls.length === 0 && config.listenHttps.length === 0))
    return { listeners: [], stats, close: async () => {} };
  const limiter = new TcpConnectionLimiter(config.tcp);
  const opened: BoundListener[] = [];
  const listeners: ListenerInfo[] = [];
  const closeAll = () => Promise.all(opened.map((l) => l.close())).then(() => undefined);
  const common = { certificate, handler, logger, stats, limiter };
  const kinds = [
    ...config.listenTls.map((address) => ({ address, protocol: 'tls' as const })),
    ...config.listenHttps.map((address) => ({ address, protocol: 'https' as const })),
  ];
  for (const { address, protocol } of kinds) {
    try {
      const bound = protocol === 'tls' ? await startDotListener({ ...common, address }) : await startDohListener({ ...common, address });
      opened.push(bound);
      listeners.push({ purpose: 'dns', protocol, address: formatSocketAddress(bound.address) });
    } catch (error) {
      await closeAll();
      throw new DnsListenError(protocol, formatSocketAddress(address), (error as NodeJS.ErrnoException).code, error);
    }
  }
  let closing: Promise<void> | undefined;
  return { listeners, stats, close: () => (closing ??= closeAll()) };
}
