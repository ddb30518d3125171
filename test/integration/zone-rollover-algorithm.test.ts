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
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZoneKeyView } from '../../src/server/zone-service.js';
import { rcodeToString } from '../../src/wire/message.js';
import { decodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import { type KeymasterServer, haveTool, removeDir, startKeymaster, tempDir, waitForDns } from '../support/external-servers.js';
import { askDnssec } from '../support/signed-hierarchy.js';

const AUTH = '127.10.91.1';
const UNBOUND = '127.10.91.2';
const RESOLVER = '127.10.91.3';

const PARENT = `$TTL 2\n@ SOA ns hostmaster 1 60 30 600 2\n@ NS ns\nns A ${AUTH}\nalgo NS ns.algo\nns.algo A ${AUTH}\n`;
const CHILD = `$TTL 2\n@ SOA ns hostmaster 1 60 30 600 2\n@ NS ns\nns A ${AUTH}\nwww A 192.0.2.80\n`;
const SHORT = 'dnskeyTtl: 6s, dsTtl: 2s, signatureInception: 1h, dnskeySignatureValidity: 2h, dsSignatureValidity: 2h, signatureValidity: 2h';
const LAB_TIMERS = '  rollover: { minimumWait: 1s, propagationDelay: 0s, parentPropagationDelay: 1s, dsPollingPeriod: 2s, addHoldDown: 10s, removeHoldDown: 10s, minRefresh: 1s }\n';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Unbound validating from `anchors` (trust-anchor-file), every DS algorithm required to work. */
async function startStrictUnbound(dir: string, anchors: string): Promise<{ stop(): Promise<void>; log(): string }> {
  writeFileSync(join(dir, 'anchors.txt'), anchors);
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    `server:\n  interface: ${UNBOUND}@53\n  port: 53\n  username: ""\n  chroot: ""\n  directory: "${dir}"\n  pidfile: "${dir}/unbound.pid"\n` +
      `  do-daemonize: no\n  use-syslog: no\n  logfile: ""\n  verbosity: 1\n  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n` +
      `  module-config: "validator iterator"\n  trust-anchor-file: "${dir}/anchors.txt"\n  harden-algo-downgrade: yes\n` +
      `  val-log-level: 2\n  qname-minimisation: no\n  num-threads: 1\n` +
      `remote-control:\n  control-enable: no\nstub-zone:\n  name: "example."\n  stub-addr: ${AUTH}@53\n`,
  );
  const child: ChildProcess = spawn('unbound', ['-d', '-c', conf], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  await waitForDns(UNBOUND, 53, 'example.', child);
  return {
    log: () => log,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

describe.skipIf(!haveTool('unbound'))('live algorithm rollover (RSASHA256 → ECDSAP256SHA256) on loopback, validated all along by Unbound and Keymaster', () => {
  let dir: string;
  let unboundDir: string | undefined;
  let auth: KeymasterServer;
  let unbound: { stop(): Promise<void>; log(): string };
  let resolver: KeymasterServer;
  const outcomes: { at: number; via: string; ok: boolean; what: string }[] = [];
  let querying = true;
  let loop: Promise<void> | undefined;

  beforeAll(async () => {
    dir = tempDir('zone-rollover-algorithm');
    writeFileSync(join(dir, 'parent.zone'), PARENT);
    writeFileSync(join(dir, 'algo.zone'), CHILD);
    auth = await startKeymaster({
      address: AUTH,
      control: `${AUTH}:5380`,
      rootHints: 'builtin',
      forwarders: ['127.10.91.254'], // never used: local zones answer first
      dnssecYaml: LAB_TIMERS,
      extraYaml:
        `zones:\n` +
        `  - { name: example., file: ${JSON.stringify(join(dir, 'parent.zone'))}, signing: { rfc5011: false, ${SHORT} } }\n` +
        `  - { name: algo.example., file: ${JSON.stringify(join(dir, 'algo.zone'))}, signing: { algorithm: RSASHA256, rfc5011: false, ${SHORT} } }\n`,
    });
    const keyset = join(auth.stateDir, 'keyset-example.');
    unboundDir = tempDir('zone-rollover-algorithm-unbound');
    unbound = await startStrictUnbound(unboundDir, readFileSync(keyset, 'utf8'));
    resolver = await startKeymaster({ address: RESOLVER, control: `${RESOLVER}:5380`, rootHints: 'builtin', forwarders: [AUTH], validation: true, importAnchors: [keyset] });
    loop = (async () => {
      while (querying) {
        for (const [via, host] of [['unbound', UNBOUND], ['keymaster', RESOLVER]] as const) {
          try {
            const r = await askDnssec({ host, port: 53 }, 'www.algo.example.', 'A', { timeoutMs: 3000 });
            outcomes.push({ at: Date.now(), via, ok: r.rcode === 0 && r.ad && r.answer.some((x) => x.type === RRType.A), what: `${rcodeToString(r.rcode)} ad=${r.ad}` });
          } catch (error) {
            outcomes.push({ at: Date.now(), via, ok: false, what: (error as Error).message });
          }
        }
        await sleep(300);
      }
    })();
  }, 90_000);

  afterAll(async () => {
    querying = false;
    await loop;
    await resolver?.stop();
    await unbound?.stop();
    await auth?.stop();
    if (dir) removeDir(dir);
    if (unboundDir) removeDir(unboundDir);
  });

  const keys = async (): Promise<ZoneKeyView[]> => {
    const r = await auth.cli(['zone', 'keys', 'algo.example.', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { keys: ZoneKeyView[] }).keys;
  };
  const failures = () => outcomes.filter((o) => !o.ok);

  it('both resolvers validate the RSASHA256 child before the rollover', async () => {
    await sleep(1500);
    expect(outcomes.filter((o) => o.via === 'unbound' && o.ok).length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.via === 'keymaster' && o.ok).length).toBeGreaterThan(0);
    expect(failures()).toEqual([]);
    expect((await keys()).map((k) => k.algorithm)).toEqual([8, 8]);
  });

  it('zone sign --algorithm ECDSAP256SHA256 rolls the algorithm through every stage without one failed validation', async () => {
    const r = await auth.cli(['zone', 'sign', 'algo.example.', '--algorithm', 'ECDSAP256SHA256', '--no-rfc5011', '--dnskey-ttl', '6s', '--ds-ttl', '2s', '--inception', '1h', '--dnskey-validity', '2h', '--ds-validity', '2h', '--signature-validity', '2h']);
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
    expect(stages).toEqual([
      'Queued',
      'RollStarted',
      'AlgorithmWaitingForMaxZoneTtl',
      'AlgorithmWaitingForNewDnsKeyTtl',
      'KskWaitingForDSUpdate',
      'KskWaitingForDSTtl',
      'AlgorithmWaitingForOldDnsKeyTtl',
      'NotRolling',
    ]);
    expect(outcomes.filter((o) => o.via === 'unbound' && o.ok).length).toBeGreaterThan(20);
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
