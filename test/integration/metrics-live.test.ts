/**
 * /metrics scraped while things happen: a ZSK rollover on a signed zone with lab timers (the
 * zone's key status and next-action gauges move), and an RFC 5011 trust point in a second,
 * validating Keymaster that sees a new standby KSK appear at its refresh (AddPend with a
 * countdown, then Valid). Every scrape is parsed strictly as the Prometheus text format.
 */
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZoneKeyView } from '../../src/authority/zone-key-view.js';
import { type KeymasterServer, removeDir, startKeymaster, tempDir } from '../support/external-servers.js';
import { LAB_ROLLOVER_TIMERS, sleep, zoneKeys } from '../support/live-rollover.js';
import { type ParsedMetrics, parsePrometheusText } from '../support/prometheus-text.js';
import { askDnssec } from '../support/signed-hierarchy.js';

const AUTH = '127.10.190.1';
const RESOLVER = '127.10.190.2';
const ZONE = 't5011.example.';
const ZONE_TEXT = `$TTL 2\n@ SOA ns hostmaster 1 60 30 600 2\n@ NS ns\nns A ${AUTH}\nwww A 192.0.2.80\n`;
const SIGNING = '{ rfc5011: true, dnskeyTtl: 2s, dsTtl: 2s, signatureInception: 1h, dnskeySignatureValidity: 2h, dsSignatureValidity: 2h, signatureValidity: 2h }';

function get(control: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | undefined; body: string }> {
  const [host, port] = control.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function scrape(control: string): Promise<ParsedMetrics> {
  const r = await get(control, '/metrics');
  expect(r.status, r.body).toBe(200);
  expect(r.type).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(r.body);
}

describe('Prometheus metrics during a rollover and a trust-point refresh', () => {
  let dir: string;
  let auth: KeymasterServer;
  let resolver: KeymasterServer;
  const authControl = `${AUTH}:5380`;
  const resolverControl = `${RESOLVER}:5380`;

  beforeAll(async () => {
    dir = tempDir('metrics-live');
    writeFileSync(join(dir, 'zone'), ZONE_TEXT);
    auth = await startKeymaster({
      address: AUTH,
      control: authControl,
      rootHints: 'builtin',
      forwarders: ['127.10.190.254'],
      dnssecYaml: LAB_ROLLOVER_TIMERS,
      extraYaml: `zones:\n  - { name: ${ZONE}, file: ${JSON.stringify(join(dir, 'zone'))}, signing: ${SIGNING} }\n`,
    });
    resolver = await startKeymaster({
      address: RESOLVER,
      control: resolverControl,
      rootHints: 'builtin',
      forwarders: [AUTH],
      validation: true,
      importAnchors: [join(auth.stateDir, `keyset-${ZONE}`)],
      trustAnchorsYaml: '  rfc5011: { addHoldDown: 8s, removeHoldDown: 8s, minRefresh: 1s }\n',
    });
  }, 90_000);

  afterAll(async () => {
    await resolver?.stop();
    await auth?.stop();
    if (dir) removeDir(dir);
  });

  it('is served without the token, refused for a rebinding Host and other methods', async () => {
    expect((await get(authControl, '/metrics', { host: 'evil.example:5380' })).status).toBe(403);
    expect((await get(authControl, '/metrics', { host: 'localhost:5380' })).status).toBe(200);
    expect((await get(authControl, '/v1/status')).status).toBe(401); // the rest still wants the token
  });

  it('counts queries by transport, RCODE and cache hit, and validation outcomes', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await askDnssec({ host: RESOLVER, port: 53 }, `www.${ZONE}`, 'A');
      expect(r.ad).toBe(true);
    }
    await askDnssec({ host: RESOLVER, port: 53 }, `nope.${ZONE}`, 'A');
    const m = await scrape(resolverControl);
    const noerror = m.find('keymaster_dns_responses_total', { transport: 'udp', rcode: 'NOERROR' }).reduce((n, s) => n + s.value, 0);
    expect(noerror).toBeGreaterThanOrEqual(3);
    expect(m.value('keymaster_dns_responses_total', { transport: 'udp', rcode: 'NOERROR', cache: 'hit' })).toBeGreaterThanOrEqual(1);
    expect(m.value('keymaster_dns_responses_total', { transport: 'udp', rcode: 'NXDOMAIN', cache: 'miss' })).toBe(1);
    expect(m.value('keymaster_validation_outcomes_total', { state: 'secure' })).toBeGreaterThanOrEqual(2);
    expect(m.value('keymaster_upstream_queries_total')).toBeGreaterThan(0);
    // Every upstream UDP query went out from a socket of the outgoing port pool, closed after it.
    expect(m.value('keymaster_upstream_sockets_opened_total')).toBeGreaterThanOrEqual(m.value('keymaster_upstream_queries_total') - m.value('keymaster_upstream_tcp_retries_total'));
    expect(m.value('keymaster_upstream_rtt_seconds_count')).toBeGreaterThan(0);
    expect(m.value('keymaster_cache_entries')).toBeGreaterThan(0);
    expect(m.value('process_resident_memory_bytes')).toBeGreaterThan(1e6);
    expect(m.types.get('process_cpu_seconds_total')).toBe('counter');
  });

  it('shows a ZSK rollover advance: status, next action countdown, signature expiry', async () => {
    const before = await scrape(authControl);
    const expiry = before.value('keymaster_zone_signature_expiry_seconds', { zone: ZONE });
    expect(expiry).toBeGreaterThan(3600);
    expect(expiry).toBeLessThanOrEqual(2 * 3600);
    const zsk = (await zoneKeys(auth, ZONE)).find((k: ZoneKeyView) => k.role === 'zsk' && k.state === 'Active')!;
    const tag = String(zsk.keyTag);
    expect(before.value('keymaster_zone_key_rollover_status', { zone: ZONE, key_tag: tag, status: 'NotRolling' })).toBe(1);
    const r = await auth.cli(['zone', 'roll', ZONE, String(zsk.keyTag)]); // a key is addressed by its tag
    expect(r.code, r.stderr).toBe(0);
    const during = await scrape(authControl);
    const status = during.find('keymaster_zone_key_rollover_status', { zone: ZONE, key_tag: tag })[0]!;
    expect(status.labels.status).not.toBe('NotRolling');
    const next = during.find('keymaster_zone_key_next_action_seconds', { zone: ZONE, key_tag: tag });
    expect(next.length).toBe(1);
    expect(next[0]!.value).toBeLessThan(60); // lab timers: seconds, not the 90 days of a scheduled roll
    const seen = new Set<string>([status.labels.status!]);
    const deadline = Date.now() + 40_000;
    for (;;) {
      const m = await scrape(authControl);
      const s = m.find('keymaster_zone_key_rollover_status', { zone: ZONE, key_tag: tag })[0]!;
      seen.add(`${s.labels.state}/${s.labels.status}`);
      if (s.labels.state === 'Retired') break;
      if (Date.now() > deadline) throw new Error(`rollover did not finish; seen ${[...seen].join(', ')}`);
      await sleep(300);
    }
    expect(seen.size).toBeGreaterThanOrEqual(3);
    expect(before.value('keymaster_zone_serial', { zone: ZONE })).toBeLessThan((await scrape(authControl)).value('keymaster_zone_serial', { zone: ZONE }));
  }, 60_000);

  it('shows a trust point learn a new key at its refresh: AddPend with a countdown, then Valid', async () => {
    const before = await scrape(resolverControl);
    expect(before.value('keymaster_trust_point_anchors', { trust_point: ZONE, state: 'Valid' })).toBe(2);
    expect(before.value('keymaster_trust_point_anchors', { trust_point: ZONE, state: 'AddPend' })).toBe(0);
    expect(before.value('keymaster_trust_point_next_refresh_seconds', { trust_point: ZONE })).toBeLessThan(3600);
    // An RFC 5011 KSK roll: the standby becomes active and a new standby is published.
    const ksk = (await zoneKeys(auth, ZONE)).find((k) => k.role === 'ksk' && k.state === 'Active')!;
    const r = await auth.cli(['zone', 'roll', ZONE, ksk.keyId.slice(0, 8)]); // or by a KeyId prefix
    expect(r.code, r.stderr).toBe(0);
    let addPend: ParsedMetrics | undefined;
    const deadline = Date.now() + 40_000;
    while (!addPend) {
      await resolver.cli(['trust-point', 'refresh', ZONE]);
      const m = await scrape(resolverControl);
      if (m.value('keymaster_trust_point_anchors', { trust_point: ZONE, state: 'AddPend' }) === 1) addPend = m;
      else if (Date.now() > deadline) throw new Error(`no AddPend anchor seen\n${resolver.log().slice(-3000)}`);
      else await sleep(300);
    }
    const countdown = addPend.find('keymaster_trust_anchor_next_transition_seconds', { trust_point: ZONE, state: 'AddPend', next_state: 'Valid' });
    expect(countdown.length).toBe(1);
    expect(countdown[0]!.value).toBeGreaterThan(0);
    expect(countdown[0]!.value).toBeLessThanOrEqual(8);
    expect(addPend.value('keymaster_trust_point_next_transition_seconds', { trust_point: ZONE })).toBe(countdown[0]!.value);
    const until = Date.now() + 40_000;
    for (;;) {
      await resolver.cli(['trust-point', 'refresh', ZONE]);
      const m = await scrape(resolverControl);
      if (m.value('keymaster_trust_point_anchors', { trust_point: ZONE, state: 'AddPend' }) === 0) {
        expect(m.value('keymaster_trust_point_anchors', { trust_point: ZONE, state: 'Valid' })).toBeGreaterThanOrEqual(2);
        expect(m.find('keymaster_trust_anchor_next_transition_seconds', { trust_point: ZONE, state: 'AddPend' })).toEqual([]);
        break;
      }
      if (Date.now() > until) throw new Error('the AddPend anchor never became Valid');
      await sleep(500);
    }
  }, 90_000);
});
