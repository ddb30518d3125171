/**
 * A live algorithm rollover on loopback (127.10.91.0/24) with short TTLs and lab timers: one
 * Keymaster hosts and signs a parent zone (ECDSA) and a child zone signed with RSASHA256; Unbound
 * (with harden-algo-downgrade: it wants every algorithm of the DS RRset to work) and a second
 * Keymaster (its resolver, validating, forwarding to the first) hold the parent's keyset as their
 * trust anchor and validate www in the child every 300 ms the whole time, while `zone sign` moves
 * the child to ECDSAP256SHA256: the new algorithm signs first, its keys are published, the DS in
 * the parent (Keymaster's own) is replaced, the old keys go, then their signatures. Not one
 * answer may be SERVFAIL or lack AD. (The DNSKEY TTL, 6 s, is longer than the 300 ms between
 * queries: with the keys swapped at once, as `zone sign` did before, both resolvers fail here.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import { type KeymasterServer, type RunningServer, haveTool, removeDir, startKeymaster, startUnbound, tempDir } from '../support/external-servers.js';
import { LAB_ROLLOVER_TIMERS, type ValidationWatch, sleep, watchValidation, zoneKeys } from '../support/live-rollover.js';
import { askDnssec } from '../support/signed-hierarchy.js';
import { ALGORITHM_ROLLOVER_STAGES } from '../support/rollover-stages.js';

const AUTH = '127.10.91.1';
const UNBOUND = '127.10.91.2';
const RESOLVER = '127.10.91.3';

const PARENT = `$TTL 2\n@ SOA ns hostmaster 1 60 30 600 2\n@ NS ns\nns A ${AUTH}\nalgo NS ns.algo\nns.algo A ${AUTH}\n`;
const CHILD = `$TTL 2\n@ SOA ns hostmaster 1 60 30 600 2\n@ NS ns\nns A ${AUTH}\nwww A 192.0.2.80\n`;
const SHORT = 'dnskeyTtl: 6s, dsTtl: 2s, signatureInception: 1h, dnskeySignatureValidity: 2h, dsSignatureValidity: 2h, signatureValidity: 2h';

describe.skipIf(!haveTool('unbound'))('live algorithm rollover (RSASHA256 → ECDSAP256SHA256) on loopback, validated all along by Unbound and Keymaster', () => {
  let dir: string;
  let auth: KeymasterServer;
  let unbound: RunningServer;
  let resolver: KeymasterServer;
  let watch: ValidationWatch;

  beforeAll(async () => {
    dir = tempDir('zone-rollover-algorithm');
    writeFileSync(join(dir, 'parent.zone'), PARENT);
    writeFileSync(join(dir, 'algo.zone'), CHILD);
    auth = await startKeymaster({
      address: AUTH,
      control: `${AUTH}:5380`,
      rootHints: 'builtin',
      forwarders: ['127.10.91.254'], // never used: local zones answer first
      dnssecYaml: LAB_ROLLOVER_TIMERS,
      extraYaml:
        `zones:\n` +
        `  - { name: example., file: ${JSON.stringify(join(dir, 'parent.zone'))}, signing: { rfc5011: false, ${SHORT} } }\n` +
        `  - { name: algo.example., file: ${JSON.stringify(join(dir, 'algo.zone'))}, signing: { algorithm: RSASHA256, rfc5011: false, ${SHORT} } }\n`,
    });
    const keyset = join(auth.stateDir, 'keyset-example.');
    // harden-algo-downgrade: Unbound wants every algorithm of the DS RRset to work.
    unbound = await startUnbound(UNBOUND, 53, { stubs: { 'example.': `${AUTH}@53` }, trustAnchors: [readFileSync(keyset, 'utf8')], serverConfig: '  harden-algo-downgrade: yes\n' });
    resolver = await startKeymaster({ address: RESOLVER, control: `${RESOLVER}:5380`, rootHints: 'builtin', forwarders: [AUTH], validation: true, importAnchors: [keyset] });
    watch = watchValidation([['unbound', UNBOUND], ['keymaster', RESOLVER]], ['www.algo.example.']);
  }, 90_000);

  afterAll(async () => {
    await watch?.stop();
    await resolver?.stop();
    await unbound?.stop();
    await auth?.stop();
    if (dir) removeDir(dir);
  });

  const keys = () => zoneKeys(auth, 'algo.example.');
  const outcomes = () => watch.outcomes;
  const failures = () => watch.failures();

  it('both resolvers validate the RSASHA256 child before the rollover', async () => {
    await sleep(1500);
    expect(outcomes().filter((o) => o.via === 'unbound' && o.ok).length).toBeGreaterThan(0);
    expect(outcomes().filter((o) => o.via === 'keymaster' && o.ok).length).toBeGreaterThan(0);
    expect(failures()).toEqual([]);
    expect((await keys()).map((k) => k.algorithm)).toEqual([8, 8]);
  });

  it('zone sign --algorithm ECDSAP256SHA256 rolls the algorithm through every stage without one failed validation', async () => {
    const r = await auth.cli(['zone', 'sign', 'algo.example.', '--yes', '--algorithm', 'ECDSAP256SHA256', '--no-rfc5011', '--dnskey-ttl', '6s', '--ds-ttl', '2s', '--inception', '1h', '--dnskey-validity', '2h', '--ds-validity', '2h', '--signature-validity', '2h']);
    expect(r.code, r.stderr).toBe(0);
    // Watch the stages go by in `zone keys` (each lasts a second or more with the lab timers).
    const seen = new Set<string>();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const k = await keys();
      for (const x of k) if (x.rollover) seen.add(x.rollover.currentRolloverStatus);
      for (const x of k) if (x.state === 'Presigning' || x.state === 'Unpublished') seen.add(x.state);
      const live = k.filter((x) => x.state !== 'Retired');
      if (live.length === 2 && live.every((x) => x.algorithm === 13) && k.filter((x) => x.algorithm === 8).every((x) => x.state === 'Retired')) break;
      if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(k.map((x) => [x.keyType, x.algorithm, x.state, x.rollover?.currentRolloverStatus]))}\n${auth.log().slice(-4000)}`);
      await sleep(200);
    }
    await sleep(4000);
    expect(failures()).toEqual([]);
    for (const s of ['Presigning', 'AlgorithmWaitingForNewDnsKeyTtl', 'Unpublished']) expect(seen).toContain(s);
    // Every stage in order (the DS check finds Keymaster's own parent updated at once).
    const stages = auth
      .log()
      .split('\n')
      .filter((l) => l.includes('"event":"key.ksk-rollover-stage"') && l.includes('"zone":"algo.example."'))
      .map((l) => (JSON.parse(l) as { status: string }).status);
    expect(stages).toEqual(ALGORITHM_ROLLOVER_STAGES);
    expect(outcomes().filter((o) => o.via === 'unbound' && o.ok).length).toBeGreaterThan(20);
    // The parent's DS (Keymaster's own) and the child's keys and signatures are ECDSA only, and validate.
    const ds = await askDnssec({ host: UNBOUND, port: 53 }, 'algo.example.', 'DS');
    expect(ds.ad).toBe(true);
    expect(ds.answer.filter((x) => x.type === RRType.DS).map((x) => (decodeRdata(RRType.DS, x.rdata) as { algorithm: number }).algorithm)).toEqual([13]);
    const dnskey = await askDnssec({ host: AUTH, port: 53 }, 'algo.example.', 'DNSKEY');
    expect(dnskey.answer.filter((x) => x.type === RRType.DNSKEY).map((x) => x.rdata[3])).toEqual([13, 13]);
    const www = await askDnssec({ host: AUTH, port: 53 }, 'www.algo.example.', 'A');
    expect(www.answer.filter((x) => x.type === RRType.RRSIG).map((x) => decodeRrsig(x.rdata).algorithm)).toEqual([13]);
    expect(readFileSync(join(auth.stateDir, 'dsset-algo.example.'), 'utf8')).toMatch(/ DS \d+ 13 2 /);
    const log = auth.log();
    expect(log).toMatch(/"event":"key\.rollover-started".*"method":"Algorithm"/);
    for (const id of ['7669', '784', '7670']) expect(log).toContain(`"eventId":${id}`);
    expect(log).toContain('"event":"zone.parent-ds-updated"');
  }, 90_000);
});
