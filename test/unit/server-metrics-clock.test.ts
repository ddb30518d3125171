/**
 * The countdown gauges on a simulated clock: a trust point with an anchor in AddPend and a signed
 * zone's next rollover action, scraped as the clock moves through the hold-down, past it, and
 * after the zone is changed (the earliest signature expiry is recomputed for the new version only).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { renderMetrics } from '../../src/metrics/metrics-exposition.js';
import { QueryMetrics } from '../../src/metrics/query-metrics.js';
import type { QueryPipeline } from '../../src/server/query-pipeline.js';
import { ServerMetrics, ValidationFailureCounts } from '../../src/metrics/server-metrics.js';
import type { TrustService } from '../../src/trust/trust-service.js';
import type { ZoneService } from '../../src/authority/zone-service.js';
import type { ZoneKeyView } from '../../src/authority/zone-key-view.js';
import type { TrustPoint } from '../../src/trust/trust-point.js';
import { Name } from '../../src/wire/name.js';
import { parsePrometheusText } from '../support/prometheus-text.js';
import { makeKey } from './trust-fixtures.js';

const DAY = 86_400_000;

function fakePipeline(): QueryPipeline {
  const resolverStats = {
    cache: { entries: 3, bytes: 4096, maxBytes: 1 << 20, hits: 5, misses: 2 },
    upstream: { queries: 7, timeouts: 1, tcpRetries: 0, ednsFallbacks: 0, answers: 6, rttMsSum: 120 },
    servers: { servers: 2, backedOff: 0 },
    clientQueries: 9,
    servfails: 1,
    validation: { secure: 4, insecure: 1, bogus: 1, indeterminate: 0, signatureChecks: 10, nsec3Hashes: 0 },
    outgoing: { open: 1, opened: 7, reused: 0, portsInUse: 0, kernelPorts: 0, waited: 0 },
  };
  const memory = { maxBytes: 1 << 20, totalBytes: () => 4096, usage: () => ({}) };
  const inFlight = { stats: () => ({ inFlight: 0, maxInFlight: 1024, maxInFlightPerServer: 256, shed: 0, jostled: 0 }) };
  return { resolver: { stats: () => resolverStats, memory, inFlight }, stats: { queries: 9, cachedResponses: 1, formerr: 0, refused: 0, notimp: 0, servfail: 1 }, responses: { size: 1 } } as unknown as QueryPipeline;
}

describe('metrics on a simulated clock', () => {
  it('the AddPend countdown and the next rollover action count down, go negative when due, and vanish when done', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const start = clock.now();
    const key = makeKey(Name.parse('corp.example.'));
    let tp: TrustPoint = {
      zone: 'corp.example.', createdAt: start, failures: 0, nextRefresh: start + 3_600_000,
      anchors: [{ type: 'DNSKEY', rdata: key.rdata, keyTag: key.signer.keyTag, algorithm: 13, state: 'AddPend', since: start, next: start + 30 * DAY, origin: 'rfc5011' }],
    };
    let nextAction = new Date(start + 2 * DAY).toISOString();
    const keys = (): ZoneKeyView[] => [{
      keyId: 'k1', keyType: 'ZoneSigningKey', role: 'zsk', keyTag: 4242, algorithm: 13, keyLength: 256, state: 'Active', created: '', activated: null, retired: null,
      nextRolloverTime: null, rolloverType: 'PrePublish',
      rollover: { currentRolloverStatus: 'ZskWaitingForDnsKeyTtl', rolloverMethod: 'PrePublish', nextRolloverAction: 'ActivateSuccessor', nextRolloverActionTime: nextAction, lastRolloverTime: null, successor: null, rolloverError: null },
    } as unknown as ZoneKeyView];
    const zones = {
      list: () => [{ name: 'corp.example.', serial: 7, signed: true }],
      findZone: () => undefined,
      keys: async () => ({ zone: 'corp.example.', keys: keys() }),
      journalSizes: () => [{ zone: 'corp.example.', bytes: 120 }],
    } as unknown as ZoneService;
    const metrics = new ServerMetrics({
      clock, stateDir: '/nonexistent', queries: new QueryMetrics(), validationFailures: new ValidationFailureCounts(), pipeline: fakePipeline(),
      trust: { store: { list: () => [tp] } } as unknown as TrustService, zones, listenerStats: () => undefined, startedAt: new Date(start),
    });
    const scrape = async () => parsePrometheusText(renderMetrics(await metrics.collect()));
    try {
      let m = await scrape();
      const labels = { trust_point: 'corp.example.', key_tag: String(key.signer.keyTag), state: 'AddPend', next_state: 'Valid' };
      expect(m.value('keymaster_trust_anchor_next_transition_seconds', labels)).toBe(30 * 86400);
      expect(m.value('keymaster_trust_point_anchors', { trust_point: 'corp.example.', state: 'AddPend' })).toBe(1);
      expect(m.value('keymaster_zone_next_rollover_action_seconds', { zone: 'corp.example.' })).toBe(2 * 86400);
      expect(m.value('keymaster_upstream_rtt_seconds_sum')).toBeCloseTo(0.12);
      expect(m.value('keymaster_zone_journal_bytes', { zone: 'corp.example' })).toBe(120); // the zone's journal in the store

      clock.advance(29 * DAY);
      m = await scrape();
      expect(m.value('keymaster_trust_anchor_next_transition_seconds', labels)).toBe(86400);
      expect(m.value('keymaster_zone_next_rollover_action_seconds', { zone: 'corp.example.' })).toBe(-27 * 86400); // overdue: alertable
      expect(m.value('keymaster_trust_point_next_refresh_seconds', { trust_point: 'corp.example.' })).toBe(3600 - 29 * 86400);

      clock.advance(DAY + 1000);
      tp = { ...tp, anchors: [{ ...tp.anchors[0]!, state: 'Valid', since: clock.now(), next: undefined }] } as TrustPoint;
      nextAction = new Date(clock.now() + 90 * DAY).toISOString();
      m = await scrape();
      expect(m.find('keymaster_trust_anchor_next_transition_seconds')).toEqual([]);
      expect(m.value('keymaster_trust_point_anchors', { trust_point: 'corp.example.', state: 'Valid' })).toBe(1);
      expect(m.value('keymaster_zone_next_rollover_action_seconds', { zone: 'corp.example.' })).toBe(90 * 86400);
    } finally {
      metrics.stop();
    }
  });
});
