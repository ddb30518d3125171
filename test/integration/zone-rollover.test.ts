/**
 * A live rollover on loopback with short TTLs and lab timers: one Keymaster hosts and signs a
 * parent zone and two child zones; Unbound and a second Keymaster (its resolver, validating,
 * forwarding to the first) have the parent's keyset as a trust anchor, and the second child
 * (RFC 5011 keys) as an RFC 5011 trust point of their own (Unbound's auto-trust-anchor-file,
 * Keymaster's imported keyset, both with lab hold-downs). Both validate www in each child every
 * 300 ms the whole time, while `zone roll` runs a ZSK rollover and a KSK double-signature
 * rollover (the DS updated in the parent by Keymaster itself) in the first child, then an RFC
 * 5011 KSK rollover (standby takes over, the old key revoked) in the second: not one answer may
 * be SERVFAIL or lack AD.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyTag } from '../../src/crypto/key-tag.js';
import type { ZoneKeyView } from '../../src/authority/zone-key-view.js';
import { decodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type KeymasterServer, type RunningServer, haveTool, removeDir, startKeymaster, startUnbound, tempDir } from '../support/external-servers.js';
import { LAB_ROLLOVER_TIMERS, type ValidationWatch, sleep, watchValidation, zoneKeys } from '../support/live-rollover.js';
import { askDnssec } from '../support/signed-hierarchy.js';

const AUTH = '127.10.90.1';
const UNBOUND = '127.10.90.2';
const RESOLVER = '127.10.90.3';

const PARENT = `$TTL 2\n@ SOA ns hostmaster 1 60 30 600 2\n@ NS ns\nns A ${AUTH}\nchild NS ns.child\nns.child A ${AUTH}\nt5011 NS ns.t5011\nns.t5011 A ${AUTH}\n`;
const CHILD = `$TTL 2\n@ SOA ns hostmaster 1 60 30 600 2\n@ NS ns\nns A ${AUTH}\nwww A 192.0.2.80\n`;
const SIGNING = (rfc5011: boolean) =>
  `{ rfc5011: ${rfc5011}, dnskeyTtl: 2s, dsTtl: 2s, signatureInception: 1h, dnskeySignatureValidity: 2h, dsSignatureValidity: 2h, signatureValidity: 2h }`;
const LAB_HOLDDOWNS = '  rfc5011: { addHoldDown: 10s, removeHoldDown: 10s, minRefresh: 1s }\n';
/** Unbound's RFC 5011 hold-downs, in seconds, for the tracked zone. */
const UNBOUND_LAB_HOLDDOWNS = '  add-holddown: 10\n  del-holddown: 10\n  keep-missing: 60\n  permit-small-holddown: yes\n';

describe.skipIf(!haveTool('unbound'))('live key rollover on loopback, validated all along by Unbound and Keymaster', () => {
  let dir: string;
  let auth: KeymasterServer;
  let unbound: RunningServer;
  let resolver: KeymasterServer;
  let watch: ValidationWatch;

  beforeAll(async () => {
    dir = tempDir('zone-rollover');
    writeFileSync(join(dir, 'parent.zone'), PARENT);
    writeFileSync(join(dir, 'child.zone'), CHILD);
    writeFileSync(join(dir, 't5011.zone'), CHILD);
    auth = await startKeymaster({
      address: AUTH,
      control: `${AUTH}:5380`,
      rootHints: 'builtin',
      forwarders: ['127.10.90.254'], // never used: local zones answer first
      dnssecYaml: LAB_ROLLOVER_TIMERS,
      extraYaml:
        `zones:\n` +
        `  - { name: example., file: ${JSON.stringify(join(dir, 'parent.zone'))}, signing: ${SIGNING(false)} }\n` +
        `  - { name: child.example., file: ${JSON.stringify(join(dir, 'child.zone'))}, signing: ${SIGNING(false)} }\n` +
        `  - { name: t5011.example., file: ${JSON.stringify(join(dir, 't5011.zone'))}, signing: ${SIGNING(true)} }\n`,
    });
    const keyset = join(auth.stateDir, 'keyset-example.');
    const tracked = join(auth.stateDir, 'keyset-t5011.example.');
    unbound = await startUnbound(UNBOUND, 53, {
      stubs: { 'example.': `${AUTH}@53` },
      trustAnchors: [readFileSync(keyset, 'utf8')],
      trackedAnchors: [readFileSync(tracked, 'utf8')],
      serverConfig: UNBOUND_LAB_HOLDDOWNS,
    });
    resolver = await startKeymaster({ address: RESOLVER, control: `${RESOLVER}:5380`, rootHints: 'builtin', forwarders: [AUTH], validation: true, importAnchors: [keyset, tracked], trustAnchorsYaml: LAB_HOLDDOWNS });
    watch = watchValidation([['unbound', UNBOUND], ['keymaster', RESOLVER]], ['www.child.example.', 'www.t5011.example.']);
  }, 90_000);

  afterAll(async () => {
    await watch?.stop();
    await resolver?.stop();
    await unbound?.stop();
    await auth?.stop();
    if (dir) removeDir(dir);
  });

  const keys = (zone = 'child.example.') => zoneKeys(auth, zone);
  const outcomes = () => watch.outcomes;
  const failures = () => watch.failures();
  const until = async (what: string, done: (k: ZoneKeyView[]) => boolean, timeoutMs = 40_000, zone = 'child.example.') => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const k = await keys(zone);
      if (done(k)) return k;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(k.map((x) => [x.keyType, x.state, x.rollover?.currentRolloverStatus]))}\n${auth.log().slice(-4000)}`);
      await sleep(300);
    }
  };

  it('both resolvers validate the child before any rollover', async () => {
    await sleep(1500);
    expect(outcomes().filter((o) => o.via === 'unbound' && o.ok).length).toBeGreaterThan(0);
    expect(outcomes().filter((o) => o.via === 'keymaster' && o.ok).length).toBeGreaterThan(0);
    expect(failures()).toEqual([]);
  });

  it('a ZSK rollover (pre-publish) with not one failed validation', async () => {
    const z1 = (await keys()).find((k) => k.role === 'zsk' && k.state === 'Active')!;
    const r = await auth.cli(['zone', 'roll', 'child.example.', z1.keyId]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ZskWaitingForDnsKeyTtl');
    await until('the ZSK rollover', (k) => k.find((x) => x.keyId === z1.keyId)!.state === 'Retired');
    await sleep(3000);
    expect(failures()).toEqual([]);
    expect(auth.log()).toContain('"eventId":7670');
  }, 60_000);

  it('a KSK rollover (double signature) with the DS changed in the parent by Keymaster, not one failed validation', async () => {
    const k1 = (await keys()).find((k) => k.role === 'ksk' && k.state === 'Active')!;
    const r = await auth.cli(['zone', 'roll', 'child.example.', k1.keyId]);
    expect(r.code, r.stderr).toBe(0);
    const after = await until('the KSK rollover', (k) => k.find((x) => x.keyId === k1.keyId)!.state === 'Retired');
    const k2 = after.find((k) => k.role === 'ksk' && k.state === 'Active')!;
    await sleep(4000);
    const ds = await askDnssec({ host: UNBOUND, port: 53 }, 'child.example.', 'DS');
    expect(ds.ad).toBe(true);
    expect(ds.answer.filter((x) => x.type === RRType.DS).map((x) => (decodeRdata(RRType.DS, x.rdata) as { keyTag: number }).keyTag)).toEqual([k2.keyTag]);
    const dnskey = await askDnssec({ host: UNBOUND, port: 53 }, 'child.example.', 'DNSKEY');
    expect(dnskey.answer.filter((x) => x.type === RRType.DNSKEY).map((x) => keyTag(x.rdata))).not.toContain(k1.keyTag);
    expect(readFileSync(join(auth.stateDir, 'dsset-child.example.'), 'utf8')).toContain(` ${k2.keyTag} 13 2 `);
    expect(failures()).toEqual([]);
    expect(outcomes().length).toBeGreaterThan(40);
    for (const id of ['7669', '784', '785', '7670']) expect(auth.log()).toContain(`"eventId":${id}`);
    expect(auth.log()).toContain('"event":"zone.parent-ds-updated"');
  }, 60_000);

  it('an RFC 5011 KSK rollover followed by both resolvers tracking the zone as a trust point, not one failed validation', async () => {
    const zone = 't5011.example.';
    const k1 = (await keys(zone)).find((k) => k.role === 'ksk' && k.state === 'Active')!;
    const k2 = (await keys(zone)).find((k) => k.role === 'ksk' && k.state === 'Standby')!;
    const r = await auth.cli(['zone', 'roll', zone, k1.keyId]);
    expect(r.code, r.stderr).toBe(0);
    // The standby takes over, the old key is published revoked (385) for the remove hold-down, then goes.
    const revoked = await until('the revocation', (k) => k.find((x) => x.keyId === k1.keyId)!.state === 'Revoked', 60_000, zone);
    expect(revoked.find((x) => x.keyId === k2.keyId)!.state).toBe('Active');
    // The key's state is written before the zone is signed again with it revoked: the zone follows within moments.
    const flags = async () => (await askDnssec({ host: AUTH, port: 53 }, zone, 'DNSKEY')).answer.filter((x) => x.type === RRType.DNSKEY).map((x) => (decodeRdata(RRType.DNSKEY, x.rdata) as { flags: number }).flags);
    await expect.poll(flags, { timeout: 8000, interval: 200 }).toContain(385);
    await until('the removal of the revoked key', (k) => k.find((x) => x.keyId === k1.keyId)!.state === 'Retired', 60_000, zone);
    await sleep(4000);
    expect(failures()).toEqual([]);
    expect(outcomes().filter((o) => o.what.startsWith('www.t5011.example.') && o.ok).length).toBeGreaterThan(40);
    // Keymaster's resolver followed the roll: the old key revoked (then removed after its lab
    // hold-down), the former standby trusted, the new standby learned.
    const tp = await resolver.cli(['trust-anchor', 'list', zone, '--json']);
    expect(tp.code, tp.stderr).toBe(0);
    const anchors = (JSON.parse(tp.stdout) as { anchors: { keyTag: number; state: string; rdata: string }[] }).anchors;
    const old = anchors.find((a) => a.keyTag === k1.keyTag)!;
    expect(['Revoked', 'Removed']).toContain(old.state);
    expect(old.rdata).toMatch(/^385 3 13 /);
    expect(anchors.find((a) => a.keyTag === k2.keyTag)!.state).toBe('Valid');
    expect(anchors.length).toBe(3);
  }, 120_000);
});
