import { prepareStateDir } from '../store/state-dir.js';
import type { KeymasterConfig } from '../config/schema.js';
import { systemClock } from '../clock.js';
import { formatSocketAddress } from '../config/socket-address.js';
import { ControlApi } from '../control/control-api.js';
import { startDnsListeners, type DnsListenerStats } from '../server/dns-listeners.js';
import { registerExplainRoute } from '../control/explain-route.js';
import { createResolverService, signalKeyTags, watchPolicy } from './resolver-service.js';
import { registerCacheRoutes } from '../control/cache-routes.js';
import { localZonesStatus, resolverStatus } from '../metrics/resolver-status.js';
import { startWorkerListeners } from '../workers/worker-listeners.js';
import type { WorkerPoolStatus } from '../workers/worker-pool.js';
import { logEvent, type Logger } from '../logging/logger.js';
import { registerPolicyRoutes } from '../control/policy-routes.js';
import { startPolicyService, type PolicyService } from '../policy/policy-service.js';
import { FileDocumentStore } from '../store/file-document-store.js';
import { type ClusterRuntime, startCluster } from '../cluster/cluster-runtime.js';
import { clusterZones, openKeyEncryptionKey } from './cluster-zone-wiring.js';
import { registerClusterRoute } from '../control/cluster-route.js';
import { POLICY_STORE_KEY } from '../policy/policy-store.js';
import { TRUST_ANCHORS_KEY } from '../trust/trust-anchor-store-format.js';
import { createScheduler, type Scheduler } from '../scheduler.js';
import { registerTrustRoutes } from '../control/trust-routes.js';
import { startTrustService, unavailableDnskeyFetcher } from '../trust/trust-service.js';
import { registerStatusRoute, type StatusSource } from '../control/status-route.js';
import type { ListenerInfo } from '../control-contract/status.js';
import { openRecursionPrefixes } from './open-recursion.js';
import { tuneHeapForBoundedMemory } from '../workers/heap-tuning.js';
import { registerZoneRoutes } from '../control/zone-routes.js';
import { ZoneService } from '../authority/zone-service.js';
import { KEYMASTER_VERSION } from '../version.js';
import { createLocallyServedZones, startServerCookies } from './good-citizen-service.js';
import { registerOperatorSurfaces } from './operator-surfaces.js';
import { ValidationFailureCounts } from '../metrics/server-metrics.js';
import type { Resolver } from '../resolver/resolver.js';
import type { DnskeyFetcher } from '../trust/trust-point-refresher.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import type { DsAtParent } from '../authority/rollover/zone-rollover.js';
import type { TrustAnchorSource } from '../dnssec/trust-anchor.js';
import type { QueryHandler } from '../server/query-handler.js';
import type { QueryPipeline } from '../server/query-pipeline.js';
import type { CookieSecrets } from '../cookies/server-cookies.js';
import type { QueryMetrics } from '../metrics/query-metrics.js';

export interface ServeOptions {
  readonly config: KeymasterConfig;
  /** The file the config came from (for status), or undefined for built-in defaults. */
  readonly configFile: string | undefined;
  readonly logger: Logger;
}

export interface RunningServer {
  readonly control: ControlApi;
  readonly startedAt: Date;
  /** The policy table (config + `keymaster policy` rules); `policy.table` is what the query path consults. */
  readonly policy: PolicyService;
  listeners(): readonly ListenerInfo[];
  /** Closes every listener; safe to call more than once. */
  stop(reason?: string): Promise<void>;
}

/** Starts the control API and the DNS listeners; logs `server.started` once all are up. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { config, logger } = options;
  tuneHeapForBoundedMemory();
  const startedAt = new Date();
  await prepareStateDir(config.stateDir);

  const control = new ControlApi({ address: config.control, stateDir: config.stateDir, logger });
  // Before the resolver, so it can be given policy.table; a damaged policy store stops the start here.
  const scheduler = createScheduler({ clock: systemClock, onError: (job, err) => logEvent(logger, 'scheduler.job-failed', { job, err }, { level: 'error' }) });
  // Cluster mode (docs/cluster.md): the stores on the contract live in etcd, shared by every primary.
  const cluster = config.cluster ? await startCluster(config.cluster, { clock: systemClock, log: logger, openKeyEncryptionKey }) : undefined;
  try {
    return await startOnStores(options, { startedAt, control, scheduler, cluster });
  } catch (error) {
    // A start that fails once etcd was joined leaves nothing running: the lease, its keep-alive
    // and the watches go (the roles free at once), and the process can exit.
    await scheduler.stop().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    throw error;
  }
}

/** The rest of the start, on the stores (the state dir's, or etcd's in cluster mode). */
async function startOnStores(options: ServeOptions, base: { startedAt: Date; control: ControlApi; scheduler: Scheduler; cluster: ClusterRuntime | undefined }): Promise<RunningServer> {
  const { config, configFile, logger } = options;
  const { startedAt, control, scheduler, cluster } = base;
  const documents = cluster?.documents ?? (await FileDocumentStore.open(config.stateDir));
  const policy = await startPolicyService({ configRules: config.policy, documents, scheduler, clock: systemClock, logger, configFile });
  registerPolicyRoutes(control, policy, { validation: config.dnssec.validation, now: () => systemClock.now() });
  // Local zones load (and signed ones are signed) before any query is answered; a bad config
  // zone file stops the start with its file and line. The pipeline flushes a zone's cached
  // answers whenever the zone changes.
  let flushZone: (zone: Name) => void = () => {};
  // Signing with distributeTrustAnchor puts the zone's KSKs in this server's own trust store.
  // Zones signed at start come before the trust store opens: their keysets wait for it.
  const earlyAnchors: [Name, { text: string; file: string }][] = [];
  let distributeAnchors: (zone: Name, keyset: { text: string; file: string }) => void = (zone, keyset) => void earlyAnchors.push([zone, keyset]);
  let withdrawAnchors: (zone: Name) => void = () => {};
  const zones = await ZoneService.start({
    config, clock: systemClock, logger, documents, scheduler,
    onZoneChanged: (zone) => flushZone(zone),
    onTrustAnchors: (zone, keyset) => distributeAnchors(zone, keyset),
    onTrustAnchorsWithdrawn: (zone) => withdrawAnchors(zone),
    rollover: { timers: config.dnssec.rollover },
    ...(cluster ? { cluster: clusterZones(cluster) } : {}),
  });
  registerZoneRoutes(control, zones);
  // Trust points (RFC 5011): a damaged TrustAnchors store stops the start here, naming the file.
  // RFC 5011 active refresh asks through this server's own resolver (bound once it exists), CD=1:
  // the refresher validates the DNSKEY RRset against the trust point's own anchors.
  let resolverForTrust: Resolver | undefined;
  const fetchDnskey = trustDnskeyFetcher(config, logger, () => resolverForTrust, () => trust.source);
  const trust = await startTrustService({ trustAnchors: config.trustAnchors, documents, scheduler, clock: systemClock, logger, fetchDnskey, ...(cluster ? { refreshGate: cluster.trustRefreshers } : {}) });
  distributeAnchors = (zone, keyset) => {
    // Durable: resolves once the store file holding the keys is synced.
    void trust
      .importKeyFile('keyset', keyset.text, keyset.file, 'zone-signing')
      .then(
        () => logEvent(logger, 'zone.trust-anchor-distributed', { zone: zone.toString(), file: keyset.file }),
        (error: Error) => logEvent(logger, 'zone.trust-anchor-distribution-failed', { zone: zone.toString(), error: error.message }, { level: 'warn' }),
      );
  };
  for (const [zone, keyset] of earlyAnchors.splice(0)) distributeAnchors(zone, keyset);
  // A zone unsigned here takes the trust point it gave this server with it.
  withdrawAnchors = (zone) => void trust.removeTrustPoint(zone.toString());
  registerTrustRoutes(control, trust, () => systemClock.now());
  registerClusterRoute(control, cluster);
  cluster?.follow(POLICY_STORE_KEY, 'policy rules', () => policy.reloadFromStore());
  cluster?.follow(TRUST_ANCHORS_KEY, 'trust anchors', () => trust.store.reload());
  cluster?.trackZones({ applied: () => zones.journalSequences(), heads: (names) => zones.committedSequences(names) });
  const locallyServed = createLocallyServedZones(config, zones, policy.table, systemClock);
  const serverCookies = await startServerCookies(config, systemClock, logger, scheduler);
  const validationFailures = new ValidationFailureCounts();
  const pipeline = await createResolverService(config, systemClock, logger, {
    localZones: zones, policy: policy.table, anchors: trust.source, onValidationFailure: validationFailures.record,
    ...(locallyServed ? { locallyServed } : {}), ...(serverCookies ? { cookies: serverCookies.cookies } : {}),
  });
  watchPolicy(policy, pipeline);
  resolverForTrust = pipeline.resolver;
  // Key rollover on the clock; a KSK waiting for its DS asks the parent through this server's
  // own resolver (validated answers only) every secure delegation polling period. A parent
  // hosted here is read (and updated) directly by the zone service.
  zones.startRollovers({ dsAtParent: dsAtParentThrough(pipeline.resolver) });
  flushZone = (zone) => void pipeline.flush(zone);
  registerCacheRoutes(control, pipeline, logger);
  registerExplainRoute(control, pipeline.resolver);
  let dns: DnsSide = { listeners: [], close: async () => {} };
  const surfaces = registerOperatorSurfaces(control, config, {
    clock: systemClock, logger, pipeline, trust, zones, validationFailures, startedAt, listenerStats: () => dns.stats?.(), workers: () => dns.workers?.(),
  });
  const listeners = (): ListenerInfo[] => [
    { purpose: 'control', protocol: 'http', address: formatSocketAddress(control.address) },
    ...dns.listeners,
    ...surfaces.listeners(),
  ];
  registerServerStatus(control, config, logger, {
    version: KEYMASTER_VERSION, startedAt, configFile, stateDir: config.stateDir, listeners,
    resolver: () => resolverStatus(pipeline), localZones: () => localZonesStatus(locallyServed), workers: () => dns.workers?.(), now: Date.now,
  });

  await control.start();
  const stopParts = async (): Promise<void> => {
    serverCookies?.stop();
    await dns.close();
    await surfaces.close();
    await control.stop();
    await policy.stop();
    await scheduler.stop();
    await trust.stop();
    await zones.stop();
    await cluster?.stop();
  };
  try {
    dns = await startDns(config, control, { handle: surfaces.handle, pipeline, logger, scheduler, serverCookies, queries: surfaces.queries });
    await surfaces.listen();
  } catch (error) {
    await stopParts();
    throw error;
  }
  logEvent(
    logger,
    'server.started',
    { version: KEYMASTER_VERSION, configFile: configFile ?? null, stateDir: config.stateDir, listeners: listeners() },
    { msg: 'Keymaster started' },
  );

  let stopping: Promise<void> | undefined;
  const stop = (reason = 'requested'): Promise<void> =>
    (stopping ??= (async () => {
      await stopParts();
      logEvent(logger, 'server.stopped', { reason }, { msg: 'Keymaster stopped' });
    })());
  return { control, startedAt, policy, listeners, stop };
}

/** RFC 5011 active refresh asks through this server's own resolver (once it exists), CD=1. */
function trustDnskeyFetcher(config: KeymasterConfig, logger: Logger, resolver: () => Resolver | undefined, anchors: () => TrustAnchorSource): DnskeyFetcher {
  if (!config.dnssec.validation) return unavailableDnskeyFetcher(logger);
  return async (zone) => {
    const r0 = resolver();
    if (!r0) return undefined;
    const r = await r0.resolve({ name: zone, type: RRType.DNSKEY, class: 1 }, { checkingDisabled: true });
    const records = r.answer.filter((x) => x.type === RRType.DNSKEY && x.name.equals(zone));
    if (records.length === 0) return undefined;
    if (config.dnssec.keyTagSignaling) signalKeyTags(r0, zone, anchors());
    return { records, rrsigs: r.answer.filter((x) => x.type === RRType.RRSIG && x.name.equals(zone)) };
  };
}

/** `keymaster status`, with a warning (logged once, shown in status) when recursion is open to much of the Internet. */
function registerServerStatus(control: ControlApi, config: KeymasterConfig, logger: Logger, source: Omit<StatusSource, 'warnings'>): void {
  const openRecursion = openRecursionPrefixes(config.recursion.allow);
  if (openRecursion.length > 0) {
    logEvent(logger, 'recursion.open', { allow: openRecursion }, { level: 'warn', msg: `recursion.allow lets much of the Internet use this resolver (${openRecursion.join(', ')}): an open resolver amplifies attacks; list your own networks` });
  }
  registerStatusRoute(control, { ...source, warnings: openRecursion.length > 0 ? [{ event: 'recursion.open', detail: `recursion.allow is open: ${openRecursion.join(', ')}` }] : [] });
}

interface DnsSide {
  readonly listeners: readonly ListenerInfo[];
  close(): Promise<void>;
  stats?: () => DnsListenerStats;
  workers?: () => WorkerPoolStatus;
}

/** The DNS listeners: in this process, or UDP in worker processes answering from a copy of the answer cache (docs/workers.md). */
async function startDns(
  config: KeymasterConfig,
  control: ControlApi,
  o: { handle: QueryHandler; pipeline: QueryPipeline; logger: Logger; scheduler: Scheduler; serverCookies: { secrets: CookieSecrets } | undefined; queries: QueryMetrics | undefined },
): Promise<DnsSide> {
  if (config.workers <= 1) return startDnsListeners(config.listen, o.handle, o.logger, { tcpLimits: config.tcp });
  const workers = await startWorkerListeners(config, {
    handle: o.handle, pipeline: o.pipeline, clock: systemClock, logger: o.logger, scheduler: o.scheduler,
    ...(o.serverCookies ? { cookieSecrets: o.serverCookies.secrets } : {}),
    ...(o.queries ? { onHits: o.queries.countHits.bind(o.queries) } : {}),
  }, { tcpLimits: config.tcp });
  control.synchronizeWith(workers.sync);
  return workers;
}

/** The DS a parent publishes, asked through this server's resolver: validated answers only. */
function dsAtParentThrough(resolver: Resolver): DsAtParent {
  return async (zone) => {
    const r = await resolver.resolve({ name: zone, type: RRType.DS, class: 1 });
    if (r.security !== 'secure') return undefined;
    const ds = r.answer.filter((x) => x.type === RRType.DS && x.name.equals(zone));
    return { ds: ds.map((x) => x.rdata), ...(ds[0] ? { ttl: ds[0].ttl } : {}) };
  };
}
