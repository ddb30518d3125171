import type { Clock } from '../clock.js';
import type { KeymasterConfig } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import { formatSocketAddress } from '../config/socket-address.js';
import type { ControlApi } from '../control/control-api.js';
import type { ListenerInfo } from '../control-contract/status.js';
import { startSecureListeners, type RunningSecureListeners } from '../server/secure-listeners.js';
import { registerConsoleRoutes } from '../control/console-route.js';
import { ConsoleSessions } from '../control/console-sessions.js';
import type { DnsListenerStats } from '../server/dns-listeners.js';
import { registerMetricsRoute } from '../control/metrics-route.js';
import type { QueryHandler } from '../server/query-handler.js';
import { QueryMetrics } from '../metrics/query-metrics.js';
import type { QueryPipeline } from '../server/query-pipeline.js';
import { ServerMetrics, type ValidationFailureCounts } from '../metrics/server-metrics.js';
import { certificateHosts, TlsCertificate } from '../server/tls-certificate.js';
import type { WorkerPoolStatus } from '../control-contract/status.js';
import type { TrustService } from '../trust/trust-service.js';
import type { ZoneService } from '../authority/zone-service.js';

export interface OperatorSurfaces {
  /** The pipeline's handler, counted for the metrics when they are on. */
  readonly handle: QueryHandler;
  /** The responses counted for the metrics, when they are on. */
  readonly queries: QueryMetrics | undefined;
  /** `tls: { cert, key }`, shared by DoT, DoH and the console's HTTPS addresses. */
  readonly certificate: TlsCertificate | undefined;
  /** The console's HTTPS addresses, DoT and DoH, once `listen` has bound them. */
  listeners(): ListenerInfo[];
  /** Binds the console's HTTPS addresses (after the control API started), then DoT and DoH. */
  listen(): Promise<void>;
  /** Closes what `listen` opened. Safe to call more than once. */
  close(): Promise<void>;
}

/**
 * What an operator watches the server through, registered on the control API: `/metrics` (config
 * `metrics`) and the web console (config `console`), and the certificate the TLS listeners and
 * the console's HTTPS addresses serve with.
 */
export function registerOperatorSurfaces(
  control: ControlApi,
  config: KeymasterConfig,
  deps: {
    readonly clock: Clock;
    readonly logger: Logger;
    readonly pipeline: QueryPipeline;
    readonly trust: TrustService;
    readonly zones: ZoneService;
    readonly validationFailures: ValidationFailureCounts;
    readonly listenerStats: () => DnsListenerStats | undefined;
    readonly workers?: () => WorkerPoolStatus | undefined;
    readonly startedAt: Date;
  },
): OperatorSurfaces {
  const queries = new QueryMetrics();
  let secure: RunningSecureListeners | undefined;
  const metrics = config.metrics ? new ServerMetrics({ ...deps, stateDir: config.stateDir, queries, secureStats: () => secure?.stats }) : undefined;
  if (metrics) registerMetricsRoute(control, metrics);
  const certificate = config.tls ? new TlsCertificate(config.tls, deps.logger) : undefined;
  if (config.console) {
    const hosts = () => config.consoleListen.flatMap((a) => (certificate ? certificateHosts(certificate, a.port) : []));
    registerConsoleRoutes(control, new ConsoleSessions(Date.now, hosts));
  }
  const bound: string[] = [];
  const handle = metrics ? queries.wrap(deps.pipeline.handle) : deps.pipeline.handle;
  return {
    handle,
    queries: metrics ? queries : undefined,
    certificate,
    listeners: () => [...bound.map((address) => ({ purpose: 'control' as const, protocol: 'https' as const, address })), ...(secure?.listeners ?? [])],
    listen: async () => {
      for (const address of config.console && certificate ? config.consoleListen : []) bound.push(formatSocketAddress(await control.listenSecure(address, certificate!)));
      secure = await startSecureListeners(config, certificate, handle, deps.logger);
    },
    close: async () => {
      await secure?.close();
      metrics?.stop();
    },
  };
}
