import { readdir } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import { signatureTimes } from '../authority/signature-refresh.js';
import type { ZoneData } from '../authority/zone-db.js';
import { zoneStoreLabel } from '../authority/zone-store-label.js';
import { ANCHOR_STATES } from '../trust/trust-point.js';
import { anchorView, trustPointView } from '../trust/trust-views.js';
import { Name } from '../wire/name.js';
import type { MetricFamily, MetricSample } from './metrics-exposition.js';
import { secondsUntil } from './metrics-exposition.js';
import type { QueryMetrics } from './query-metrics.js';
import type { DnsListenerStats } from '../server/dns-listeners.js';
import { resolverStatus } from './resolver-status.js';
import type { QueryPipeline } from '../server/query-pipeline.js';
import type { TrustService } from '../trust/trust-service.js';
import type { ZoneService } from '../authority/zone-service.js';
import { KEYMASTER_VERSION } from '../version.js';
import type { WorkerPoolStatus } from '../control-contract/status.js';

/** What a scrape reads; every source is read when scraped, nothing is copied ahead. */
export interface MetricsSources {
  readonly clock: Clock;
  readonly stateDir: string;
  readonly queries: QueryMetrics;
  readonly validationFailures: ValidationFailureCounts;
  readonly pipeline: QueryPipeline;
  readonly trust: TrustService;
  readonly zones: ZoneService;
  readonly listenerStats: () => DnsListenerStats | undefined;
  /** DNS over TLS and HTTPS. */
  readonly secureStats?: () => DnsListenerStats | undefined;
  /** With `workers` > 1: the DNS worker processes. */
  readonly workers?: () => WorkerPoolStatus | undefined;
  readonly startedAt: Date;
}

/** Validation failures by state and EDE code (the resolver's onValidationFailure). */
export class ValidationFailureCounts {
  private readonly counts = new Map<string, number>();
  readonly record = (event: { state: string; ede?: number }): void => {
    const key = `${event.state}|${event.ede ?? 'none'}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  };
  samples(): MetricSample[] {
    return [...this.counts].map(([key, value]) => {
      const [state, ede] = key.split('|') as [string, string];
      return { labels: { state, ede }, value };
    });
  }
}

const counter = (name: string, help: string, samples: MetricSample[]): MetricFamily => ({ name, help, type: 'counter', samples });
const gauge = (name: string, help: string, samples: MetricSample[]): MetricFamily => ({ name, help, type: 'gauge', samples });
const one = (value: number): MetricSample[] => [{ value }];

function workerFamilies(w: WorkerPoolStatus | undefined): MetricFamily[] {
  if (!w) return [];
  return [
    gauge('keymaster_workers', 'DNS worker processes answering now (docs/workers.md).', one(w.running)),
    gauge('keymaster_workers_configured', 'DNS worker processes configured (workers).', one(w.configured)),
    counter('keymaster_worker_restarts_total', 'DNS worker processes restarted after dying.', one(w.restarts)),
  ];
}

/** Collects every family Keymaster exports; see docs/metrics.md for what each means. */
export class ServerMetrics {
  /** Earliest RRSIG expiration (unix seconds) per served zone version: zones are immutable values. */
  private readonly earliestExpiry = new WeakMap<ZoneData, number | null>();
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });

  constructor(private readonly s: MetricsSources) {
    this.loopDelay.enable();
  }

  stop(): void {
    this.loopDelay.disable();
  }

  async collect(): Promise<MetricFamily[]> {
    return [
      ...this.s.queries.families(),
      ...this.resolverFamilies(),
      ...this.listenerFamilies(),
      ...this.trustFamilies(),
      ...(await this.zoneFamilies()),
      ...this.journalFamilies(),
      ...(await this.processFamilies()),
    ];
  }

  private resolverFamilies(): MetricFamily[] {
    const r = resolverStatus(this.s.pipeline);
    const { upstream: rtt, outgoing } = this.s.pipeline.resolver.stats();
    const v = r.validation;
    return [
      counter('keymaster_validation_outcomes_total', 'Validated answers by security state (cache hits not counted again).', [
        { labels: { state: 'secure' }, value: v.secure },
        { labels: { state: 'insecure' }, value: v.insecure },
        { labels: { state: 'bogus' }, value: v.bogus },
        { labels: { state: 'indeterminate' }, value: v.indeterminate },
      ]),
      counter('keymaster_validation_failures_total', 'Answers that failed validation, by state and EDE code (RFC 8914; "none" when without one).', this.s.validationFailures.samples()),
      counter('keymaster_validation_signature_checks_total', 'RRSIG verifications done.', one(v.signatureChecks)),
      counter('keymaster_validation_nsec3_hashes_total', 'NSEC3 hashes computed for denial proofs.', one(v.nsec3Hashes)),
      counter('keymaster_upstream_queries_total', 'Queries sent to authoritative servers or forwarders.', one(r.upstream.queries)),
      counter('keymaster_upstream_timeouts_total', 'Upstream queries that timed out.', one(r.upstream.timeouts)),
      counter('keymaster_upstream_tcp_retries_total', 'Upstream queries retried over TCP after a truncated answer.', one(r.upstream.tcpRetries)),
      counter('keymaster_upstream_edns_fallbacks_total', 'Upstream queries repeated without EDNS.', one(r.upstream.ednsFallbacks)),
      {
        name: 'keymaster_upstream_rtt_seconds',
        help: 'Round-trip time of answered upstream queries.',
        type: 'summary',
        samples: [
          { suffix: '_sum', value: rtt.rttMsSum / 1000 },
          { suffix: '_count', value: rtt.answers },
        ],
      },
      gauge('keymaster_upstream_sockets_open', 'UDP sockets open for upstream queries (at most resolver.outgoing.range).', one(outgoing.open)),
      counter('keymaster_upstream_sockets_opened_total', 'UDP sockets bound for upstream queries, each to a random port.', one(outgoing.opened)),
      counter('keymaster_upstream_ports_in_use_total', 'Random source ports skipped because something else held them.', one(outgoing.portsInUse)),
      counter('keymaster_upstream_socket_waits_total', 'Upstream queries that waited for a socket (resolver.outgoing.range reached).', one(outgoing.waited)),
      gauge('keymaster_upstream_servers', 'Upstream addresses the resolver has state for.', one(r.upstream.servers)),
      gauge('keymaster_upstream_servers_backed_off', 'Upstream addresses in backoff after failures.', one(r.upstream.backedOff)),
      gauge('keymaster_cache_bytes', 'Bytes held by the record cache.', one(r.cache.bytes)),
      gauge('keymaster_cache_max_bytes', 'The record cache limit (resolver.cache.maxSize).', one(r.cache.maxBytes)),
      gauge('keymaster_cache_entries', 'RRsets and negative entries in the record cache.', one(r.cache.entries)),
      gauge('keymaster_response_cache_entries', 'Whole responses cached for the fast path.', one(r.cache.responses)),
      counter('keymaster_cache_hits_total', 'Lookups answered from a cache (record cache and response cache).', one(r.cache.hits)),
      counter('keymaster_cache_misses_total', 'Record-cache lookups that missed.', one(r.cache.misses)),
    ];
  }

  private listenerFamilies(): MetricFamily[] {
    const l = this.s.listenerStats();
    if (!l) return [];
    const t = this.s.secureStats?.();
    const secure = (value: (x: DnsListenerStats) => number): MetricSample[] => (t ? [{ labels: { transport: 'tls+https' }, value: value(t) }] : []);
    return [
      counter('keymaster_dns_messages_received_total', 'DNS messages received by the UDP, TCP and DoT listeners.', [
        { labels: { transport: 'udp' }, value: l.udpQueries },
        { labels: { transport: 'tcp' }, value: l.tcpQueries },
        ...(t ? [{ labels: { transport: 'tls' }, value: t.tcpQueries }] : []),
      ]),
      counter('keymaster_dns_connections_total', 'Stream connections accepted (TCP; TLS and HTTPS together).', [{ labels: { transport: 'tcp' }, value: l.tcpConnections }, ...secure((x) => x.tcpConnections)]),
      counter('keymaster_dns_connections_evicted_total', 'Stream connections closed to make room for a new one (connection limits, per prefix and in total).', [{ labels: { transport: 'tcp' }, value: l.tcpRejected }, ...secure((x) => x.tcpRejected)]),
      ...workerFamilies(this.s.workers?.()),
    ];
  }

  private trustFamilies(): MetricFamily[] {
    const now = this.s.clock.now();
    const anchors: MetricSample[] = [];
    const anchorNext: MetricSample[] = [];
    const pointNext: MetricSample[] = [];
    const refresh: MetricSample[] = [];
    const failures: MetricSample[] = [];
    for (const tp of this.s.trust.store.list()) {
      const view = trustPointView(tp, now);
      for (const state of ANCHOR_STATES) {
        const n = tp.anchors.filter((a) => a.type === 'DNSKEY' && a.state === state).length;
        anchors.push({ labels: { trust_point: tp.zone, state }, value: n });
      }
      anchors.push({ labels: { trust_point: tp.zone, state: 'DS' }, value: tp.anchors.filter((a) => a.type === 'DS').length });
      const mine: MetricSample[] = [];
      for (const a of tp.anchors) {
        const av = anchorView(tp.zone, a, now);
        if (av.nextStateTime === undefined || av.nextState === undefined) continue;
        mine.push({ labels: { trust_point: tp.zone, key_tag: av.keyTag, state: av.state, next_state: av.nextState }, value: secondsUntil(av.nextStateTime, now) });
      }
      anchorNext.push(...mine);
      if (mine.length > 0) pointNext.push({ labels: { trust_point: tp.zone }, value: Math.min(...mine.map((m) => m.value)) });
      if (view.nextRefresh !== undefined) refresh.push({ labels: { trust_point: tp.zone }, value: secondsUntil(view.nextRefresh, now) });
      failures.push({ labels: { trust_point: tp.zone }, value: view.failures });
    }
    return [
      gauge('keymaster_trust_point_anchors', 'Anchors of each trust point by RFC 5011 state (DS anchors as "DS").', anchors),
      gauge('keymaster_trust_anchor_next_transition_seconds', 'Seconds until an anchor moves on (AddPend → Valid, Revoked → Removed); negative once due.', anchorNext),
      gauge('keymaster_trust_point_next_transition_seconds', 'Seconds until the earliest anchor transition of the trust point.', pointNext),
      gauge('keymaster_trust_point_next_refresh_seconds', 'Seconds until the next RFC 5011 active refresh.', refresh),
      gauge('keymaster_trust_point_refresh_failures', 'Consecutive failed active refreshes.', failures),
    ];
  }

  private async zoneFamilies(): Promise<MetricFamily[]> {
    const now = this.s.clock.now();
    const serial: MetricSample[] = [];
    const expiry: MetricSample[] = [];
    const status: MetricSample[] = [];
    const keyNext: MetricSample[] = [];
    const zoneNext: MetricSample[] = [];
    for (const summary of this.s.zones.list()) {
      const zone = summary.name;
      if (summary.serial !== null) serial.push({ labels: { zone }, value: summary.serial });
      if (!summary.signed) continue;
      const served = this.s.zones.findZone(Name.parse(zone))?.served;
      const earliest = served ? this.earliestSignatureExpiry(served, now) : null;
      if (earliest !== null) expiry.push({ labels: { zone }, value: earliest - Math.floor(now / 1000) });
      let keys;
      try {
        keys = (await this.s.zones.keys(zone)).keys;
      } catch {
        continue; // removed while we scraped
      }
      const mine: MetricSample[] = [];
      for (const key of keys) {
        status.push({ labels: { zone, key_tag: key.keyTag, role: key.role, state: key.state, status: key.rollover?.currentRolloverStatus ?? 'NotRolling' }, value: 1 });
        const at = key.rollover?.nextRolloverActionTime;
        if (at) mine.push({ labels: { zone, key_tag: key.keyTag, role: key.role, action: key.rollover?.nextRolloverAction ?? 'unknown' }, value: secondsUntil(at, now) });
      }
      keyNext.push(...mine);
      if (mine.length > 0) zoneNext.push({ labels: { zone }, value: Math.min(...mine.map((m) => m.value)) });
    }
    return [
      gauge('keymaster_zone_serial', 'SOA serial served for each local zone.', serial),
      gauge('keymaster_zone_signature_expiry_seconds', 'Seconds until the earliest RRSIG of the signed zone expires.', expiry),
      gauge('keymaster_zone_key_rollover_status', 'Each key of a signed zone with its state and current rollover status (always 1).', status),
      gauge('keymaster_zone_key_next_action_seconds', 'Seconds until the next rollover action of a key; negative once due.', keyNext),
      gauge('keymaster_zone_next_rollover_action_seconds', 'Seconds until the earliest rollover action of the zone.', zoneNext),
    ];
  }

  private earliestSignatureExpiry(zone: ZoneData, now: number): number | null {
    const known = this.earliestExpiry.get(zone);
    if (known !== undefined) return known;
    let earliest: number | null = null;
    const nowSeconds = Math.floor(now / 1000);
    for (const set of zone.rrsets())
      for (const sig of set.sigs) {
        const expiration = signatureTimes(sig, nowSeconds).expiration;
        if (earliest === null || expiration < earliest) earliest = expiration;
      }
    this.earliestExpiry.set(zone, earliest);
    return earliest;
  }

  private journalFamilies(): MetricFamily[] {
    const samples: MetricSample[] = this.s.zones.journalSizes().map(({ zone, bytes }) => ({ labels: { zone: zoneStoreLabel(zone) }, value: bytes }));
    return [gauge('keymaster_zone_journal_bytes', 'Size of each zone journal (dynamic updates since the last compaction).', samples)];
  }

  private async processFamilies(): Promise<MetricFamily[]> {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const fds = await readdir('/proc/self/fd').then((list) => list.length, () => undefined);
    return [
      { name: 'keymaster_build_info', help: 'The running version (always 1).', type: 'gauge', samples: [{ labels: { version: KEYMASTER_VERSION, node: process.version }, value: 1 }] },
      counter('process_cpu_seconds_total', 'User and system CPU time spent.', one((cpu.user + cpu.system) / 1e6)),
      gauge('process_resident_memory_bytes', 'Resident memory size.', one(mem.rss)),
      gauge('process_heap_bytes', 'V8 heap in use.', one(mem.heapUsed)),
      gauge('process_start_time_seconds', 'Start time of the process since the epoch.', one(Math.floor(this.s.startedAt.getTime() / 1000))),
      gauge('process_open_fds', 'Open file descriptors.', fds === undefined ? [] : one(fds)),
      gauge('nodejs_eventloop_lag_p99_seconds', 'Event loop delay, 99th percentile since start.', one(this.loopDelay.percentile(99) / 1e9)),
    ];
  }
}
