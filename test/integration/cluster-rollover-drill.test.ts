/**
 * The rollover drill of issue 13 on loopback: three Keymaster primaries over a 3-member etcd
 * serve a signed parent (example.) and child (child.example.), both cluster zones. For each
 * primary an Unbound (stubbed to it alone) and a validating Keymaster (forwarding to it alone),
 * so every primary's own signed copy is validated by both, and one more validating Keymaster
 * forwarding to all three, ask for www.child.example. every 300 ms the whole time, while:
 *   1. the Key Master (ns1) runs a ZSK roll;
 *   2. it starts a KSK double-signature roll and is SIGKILLed in the middle of it;
 *   3. an operator seizes the role on ns2 (`zone key-master ZONE ns2 --seize`), which finishes the
 *      roll from the state ns1 wrote, the DS in the parent updated by the new Key Master;
 *   4. ns1 comes back with `keyMaster.autoFailover`; ns2 starts another KSK roll and is frozen
 *      (SIGSTOP) in the middle of it past its lease; ns1 takes the role by itself and finishes the
 *      roll; ns2, resumed, lands none of its writes and follows;
 *   5. ns3 comes back with `keyMaster.autoFailover`; the Key Master ns1 starts a third KSK roll and
 *      is SIGKILLed in the middle of it: ns3 takes the role by itself and finishes the roll.
 * Not one answer may be SERVFAIL or lack AD, and at the end the three primaries serve the same
 * serial, the same data and the same keys, each AXFR passing dnssec-verify.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyTag } from '../../src/crypto/key-tag.js';
import type { ZoneKeyView } from '../../src/authority/zone-key-view.js';
import { decodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type KeymasterServer, type RunningServer, haveTool, removeDir, startKeymaster, startUnbound, tempDir } from '../support/external-servers.js';
import { type ValidationWatch, sleep, watchValidation, zoneKeys } from '../support/live-rollover.js';
import { DRILL_CHILD, DRILL_PARENT, type RolloverCluster, startRolloverCluster } from '../support/rollover-cluster.js';
import { askDnssec } from '../support/signed-hierarchy.js';

const ETCD = ['127.10.144.1', '127.10.144.2', '127.10.144.3'];
const HOSTS = ['127.10.145.1', '127.10.145.2', '127.10.145.3'];
const UNBOUNDS = ['127.10.146.1', '127.10.146.2', '127.10.146.3'];
const RESOLVER = '127.10.146.10';
const KEYMASTERS = ['127.10.146.11', '127.10.146.12', '127.10.146.13'];
const NAME = 'www.child.example.';
const enabled = ['etcd', 'unbound', 'dig', 'dnssec-verify'].every(haveTool);

interface KeyMasterView {
  keyMaster: string;
  isThisServer: boolean;
}

describe.skipIf(!enabled)('rollover drill across three primaries: ZSK roll, KSK rolls, the Key Master killed and seized, frozen and failed over, killed and failed over', () => {
  let lab: RolloverCluster;
  let resolver: KeymasterServer;
  const resolvers: KeymasterServer[] = [];
  const unbounds: RunningServer[] = [];
  /** The watch of each validating resolver, by label; a primary's own resolvers are not asked while the primary is down. */
  const watches = new Map<string, ValidationWatch>();
  const ended: ValidationWatch[] = [];
  const dir = tempDir('rollover-drill');

  const watch = (via: string, host: string) => watches.set(via, watchValidation([[via, host]], [NAME]));
  const unwatch = async (via: string) => {
    const w = watches.get(via);
    watches.delete(via);
    if (w) await w.stop(), ended.push(w);
  };
  /** Primary `i`'s own resolvers: the Unbound and the Keymaster that ask it alone. */
  const watchPrimary = (i: number) => (watch(`unbound-ns${i + 1}`, UNBOUNDS[i]!), watch(`keymaster-ns${i + 1}`, KEYMASTERS[i]!));
  const unwatchPrimary = async (i: number) => (await unwatch(`unbound-ns${i + 1}`), await unwatch(`keymaster-ns${i + 1}`));
  const VIAS = ['unbound-ns1', 'unbound-ns2', 'unbound-ns3', 'keymaster-ns1', 'keymaster-ns2', 'keymaster-ns3', 'keymaster-all'];
  const all = () => [...ended, ...watches.values()];
  const failures = () => all().flatMap((w) => w.failures());
  const answers = (via: string) => all().flatMap((w) => w.outcomes.filter((o) => o.via === via && o.ok)).length;

  const primary = (i: number) => lab.primaries[i]!;
  const keyMaster = async (i: number, zone = DRILL_CHILD) => JSON.parse((await primary(i).cli(['zone', 'key-master', zone, '--json'])).stdout) as KeyMasterView;
  /** Polls `zone keys` on primary `i` until `done`; the keys then. */
  const until = async (i: number, what: string, done: (k: ZoneKeyView[]) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const k = await zoneKeys(primary(i), DRILL_CHILD).catch(() => [] as ZoneKeyView[]);
      if (k.length > 0 && done(k)) return k;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(k.map((x) => [x.keyTag, x.role, x.state, x.rollover?.currentRolloverStatus]))}\n${primary(i).log().slice(-4000)}`);
      await sleep(250);
    }
  };
  const rolling = (k: ZoneKeyView) => k.rollover?.currentRolloverStatus;
  const dnskeys = async (host: string, zone = DRILL_CHILD) =>
    (await askDnssec({ host, port: 53 }, zone, 'DNSKEY', { timeoutMs: 3000 })).answer
      .filter((r) => r.type === RRType.DNSKEY)
      .map((r) => `${(decodeRdata(RRType.DNSKEY, r.rdata) as { flags: number }).flags}/${keyTag(r.rdata)}`)
      .sort()
      .join(' ');
  const dsTags = async (host: string) =>
    (await askDnssec({ host, port: 53 }, DRILL_CHILD, 'DS', { timeoutMs: 3000 })).answer
      .filter((r) => r.type === RRType.DS)
      .map((r) => (decodeRdata(RRType.DS, r.rdata) as { keyTag: number }).keyTag)
      .sort();
  const axfr = (host: string, zone: string) =>
    spawnSync('dig', [`@${host}`, zone, 'AXFR', '+onesoa', '+noall', '+answer', '+time=10', '+tries=1'], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 }).stdout;
  const serial = (host: string, zone: string) => Number(spawnSync('dig', [`@${host}`, zone, 'SOA', '+short', '+time=3', '+tries=1'], { encoding: 'utf8' }).stdout.trim().split(/\s+/)[2]);

  beforeAll(async () => {
    lab = await startRolloverCluster(ETCD, HOSTS);
    const anchor = readFileSync(lab.parentKeyset, 'utf8');
    for (const [i, host] of UNBOUNDS.entries()) unbounds.push(await startUnbound(host, 53, { stubs: { [DRILL_PARENT]: `${HOSTS[i]}@53` }, trustAnchors: [anchor] }));
    const validating = (address: string, forwarders: readonly string[]) => startKeymaster({ address, control: `${address}:5380`, rootHints: 'builtin', forwarders, validation: true, importAnchors: [lab.parentKeyset] });
    for (const [i, host] of KEYMASTERS.entries()) resolvers.push(await validating(host, [HOSTS[i]!]));
    resolver = await validating(RESOLVER, HOSTS);
    for (const i of [0, 1, 2]) watchPrimary(i);
    watch('keymaster-all', RESOLVER);
  }, 240_000);

  afterAll(async () => {
    for (const w of watches.values()) await w.stop();
    await resolver?.stop();
    for (const r of resolvers) await r.stop();
    for (const u of unbounds) await u.stop();
    for (const p of lab?.primaries ?? []) if (p.child.signalCode === null) p.child.kill('SIGCONT');
    await lab?.stop();
    removeDir(dir);
  });

  it('every resolver validates through every primary before any roll; ns1 is the Key Master of both zones', async () => {
    await sleep(2000);
    for (const via of VIAS) expect(answers(via), via).toBeGreaterThan(0);
    expect(failures()).toEqual([]);
    for (const i of [0, 1, 2]) {
      expect(await keyMaster(i)).toMatchObject({ keyMaster: 'ns1', isThisServer: i === 0 });
      expect(await keyMaster(i, DRILL_PARENT)).toMatchObject({ keyMaster: 'ns1' });
    }
  }, 60_000);

  it('1. a ZSK roll on the Key Master reaches every primary, with not one failed validation', async () => {
    const old = (await zoneKeys(primary(0), DRILL_CHILD)).find((k) => k.role === 'zsk' && k.state === 'Active')!;
    const r = await primary(0).cli(['zone', 'roll', DRILL_CHILD, old.keyId]);
    expect(r.code, r.stderr).toBe(0);
    await until(0, 'the ZSK roll', (k) => k.find((x) => x.keyId === old.keyId)?.state === 'Retired');
    for (const i of [1, 2]) await until(i, `ns${i + 1} to follow the ZSK roll`, (k) => k.find((x) => x.keyId === old.keyId)?.state === 'Retired', 15_000);
    await sleep(3000);
    expect(failures()).toEqual([]);
  }, 120_000);

  it('2-3. a KSK roll: the Key Master SIGKILLed in the middle, the role seized on ns2, the roll finished from where ns1 left it', async () => {
    const before = await zoneKeys(primary(0), DRILL_CHILD);
    const old = before.find((k) => k.role === 'ksk' && k.state === 'Active')!;
    const r = await primary(0).cli(['zone', 'roll', DRILL_CHILD, old.keyId]);
    expect(r.code, r.stderr).toBe(0);
    // The middle: the successor published beside the old KSK, the roll waiting on the parent's DS.
    const middle = await until(0, 'the middle of the KSK roll', (k) => ['KskWaitingForDSUpdate', 'KskWaitingForDSTtl'].includes(rolling(k.find((x) => x.keyId === old.keyId)!) ?? ''));
    const successor = middle.find((k) => k.role === 'ksk' && k.keyId !== old.keyId && k.state !== 'Retired')!;
    expect(successor).toBeDefined();
    await unwatchPrimary(0);
    primary(0).child.kill('SIGKILL');

    const refused = await primary(1).cli(['zone', 'key-master', DRILL_CHILD, 'ns2', '--seize']);
    if (refused.code !== 0) expect(refused.stderr).toMatch(/the Key Master ns1 is alive/);
    for (const zone of [DRILL_CHILD, DRILL_PARENT])
      await expect.poll(async () => (await primary(1).cli(['zone', 'key-master', zone, 'ns2', '--seize'])).code, { timeout: 20_000, interval: 500 }).toBe(0);
    expect(await keyMaster(2)).toMatchObject({ keyMaster: 'ns2', isThisServer: false });

    const after = await until(1, 'ns2 to finish the KSK roll', (k) => k.find((x) => x.keyId === old.keyId)?.state === 'Retired');
    expect(after.find((k) => k.keyId === successor.keyId)?.state).toBe('Active');
    // The parent's DS: the KSKs the child asks for (its CDS), the successor and the standby, the old one gone.
    const wanted = after.filter((k) => k.role === 'ksk' && ['Active', 'Standby'].includes(k.state)).map((k) => k.keyTag).sort();
    expect(wanted).toContain(successor.keyTag);
    expect(wanted).not.toContain(old.keyTag);
    for (const host of [HOSTS[1]!, HOSTS[2]!]) await expect.poll(() => dsTags(host), { timeout: 10_000 }).toEqual(wanted);
    await until(2, 'ns3 to follow the KSK roll', (k) => k.find((x) => x.keyId === old.keyId)?.state === 'Retired', 15_000);
    await sleep(3000);
    expect(failures()).toEqual([]);
    expect(primary(1).log()).toMatch(/"event":"zone.parent-ds-updated"/);
  }, 180_000);

  it('4. ns1 back with autoFailover; ns2 frozen (SIGSTOP) in the middle of a KSK roll: ns1 takes the role by itself and finishes it; ns2 resumed lands no write', async () => {
    await primary(0).stop();
    await lab.restart(0, true);
    await expect.poll(() => serial(HOSTS[0]!, DRILL_CHILD), { timeout: 20_000 }).toBe(serial(HOSTS[1]!, DRILL_CHILD));
    watchPrimary(0);
    expect(await keyMaster(0)).toMatchObject({ keyMaster: 'ns2', isThisServer: false });

    const old = (await zoneKeys(primary(1), DRILL_CHILD)).find((k) => k.role === 'ksk' && k.state === 'Active')!;
    const r = await primary(1).cli(['zone', 'roll', DRILL_CHILD, old.keyId]);
    expect(r.code, r.stderr).toBe(0);
    await until(1, 'the middle of the second KSK roll', (k) => ['KskWaitingForDSUpdate', 'KskWaitingForDSTtl'].includes(rolling(k.find((x) => x.keyId === old.keyId)!) ?? ''));
    await unwatchPrimary(1);
    const frozenAt = Date.now();
    primary(1).child.kill('SIGSTOP');
    let resumedAt = 0;
    try {
      await expect.poll(async () => (await keyMaster(0)).isThisServer, { timeout: 20_000, interval: 250 }).toBe(true);
      for (const zone of [DRILL_CHILD, DRILL_PARENT]) await expect.poll(async () => (await keyMaster(0, zone)).keyMaster, { timeout: 20_000, interval: 250 }).toBe('ns1');
      const done = await until(0, 'ns1 to finish the roll ns2 started', (k) => k.find((x) => x.keyId === old.keyId)?.state === 'Retired');
      const wanted = done.filter((k) => k.role === 'ksk' && ['Active', 'Standby'].includes(k.state)).map((k) => k.keyTag).sort();
      for (const host of [HOSTS[0]!, HOSTS[2]!]) await expect.poll(() => dsTags(host), { timeout: 10_000 }).toEqual(wanted);
      expect(Date.now() - frozenAt).toBeGreaterThan(3000); // past ns2's lease
    } finally {
      resumedAt = Date.now();
      primary(1).child.kill('SIGCONT');
    }
    expect(primary(0).log()).toMatch(/"event":"key-master.acquired"/);
    // ns2 woke up with a rollover step overdue and its old fence: nothing it wrote may land.
    await until(1, 'ns2 to follow the keys ns1 wrote', (k) => k.find((x) => x.keyId === old.keyId)?.state === 'Retired', 20_000);
    await sleep(3000);
    const woke = primary(1)
      .log()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { time: number; event?: string })
      .filter((e) => e.time >= resumedAt);
    // What a Key Master logs once a key-state write has landed: ns1 did, the woken ns2 did not.
    const landing = /^(key\.rollover-started|key\.(ksk|zsk)-rollover-stage|key\.rollover-completed|zone\.keys-generated|zone\.parent-ds-updated)$/;
    expect(primary(0).log()).toMatch(/"event":"key\.rollover-completed"/);
    expect(woke.filter((e) => landing.test(e.event ?? ''))).toEqual([]);
    watchPrimary(1);
    await sleep(3000);
    expect(failures()).toEqual([]);
  }, 240_000);

  it('5. ns3 back with autoFailover; the Key Master ns1 SIGKILLed in the middle of a KSK roll: ns3 takes the role by itself and finishes it', async () => {
    await unwatchPrimary(2);
    await primary(2).stop();
    await lab.restart(2, true);
    await expect.poll(() => serial(HOSTS[2]!, DRILL_CHILD), { timeout: 20_000 }).toBe(serial(HOSTS[0]!, DRILL_CHILD));
    watchPrimary(2);

    const old = (await zoneKeys(primary(0), DRILL_CHILD)).find((k) => k.role === 'ksk' && k.state === 'Active')!;
    const r = await primary(0).cli(['zone', 'roll', DRILL_CHILD, old.keyId]);
    expect(r.code, r.stderr).toBe(0);
    await until(0, 'the middle of the third KSK roll', (k) => ['KskWaitingForDSUpdate', 'KskWaitingForDSTtl'].includes(rolling(k.find((x) => x.keyId === old.keyId)!) ?? ''));
    await unwatchPrimary(0);
    primary(0).child.kill('SIGKILL');
    for (const zone of [DRILL_CHILD, DRILL_PARENT]) await expect.poll(async () => (await keyMaster(2, zone)).isThisServer, { timeout: 20_000, interval: 250 }).toBe(true);
    expect(await keyMaster(1)).toMatchObject({ keyMaster: 'ns3', isThisServer: false });
    const done = await until(2, 'ns3 to finish the roll ns1 started', (k) => k.find((x) => x.keyId === old.keyId)?.state === 'Retired');
    const wanted = done.filter((k) => k.role === 'ksk' && ['Active', 'Standby'].includes(k.state)).map((k) => k.keyTag).sort();
    for (const host of [HOSTS[1]!, HOSTS[2]!]) await expect.poll(() => dsTags(host), { timeout: 10_000 }).toEqual(wanted);
    await until(1, 'ns2 to follow', (k) => k.find((x) => x.keyId === old.keyId)?.state === 'Retired', 20_000);

    // ns1 comes back as a plain primary and serves what the cluster has.
    await primary(0).stop();
    await lab.restart(0, false);
    await expect.poll(() => serial(HOSTS[0]!, DRILL_CHILD), { timeout: 20_000 }).toBe(serial(HOSTS[2]!, DRILL_CHILD));
    watchPrimary(0);
    await sleep(3000);
    expect(failures()).toEqual([]);
  }, 240_000);

  it('at the end: one serial, the same data and keys on all three, each AXFR passing dnssec-verify, and not one failed validation all along', async () => {
    for (const zone of [DRILL_PARENT, DRILL_CHILD]) {
      await expect.poll(() => HOSTS.map((h) => serial(h, zone)), { timeout: 20_000 }).toEqual(HOSTS.map(() => serial(HOSTS[0]!, zone)));
      const keySets = await Promise.all(HOSTS.map((h) => dnskeys(h, zone)));
      expect(new Set(keySets).size).toBe(1);
      for (const host of HOSTS) {
        const file = join(dir, `${host}-${zone}axfr`);
        writeFileSync(file, axfr(host, zone), 'latin1');
        const v = spawnSync('dnssec-verify', ['-o', zone, file], { encoding: 'utf8' });
        expect(v.stdout + v.stderr, `${host} ${zone}`).toMatch(/Zone fully signed/);
      }
    }
    for (const via of VIAS) expect(answers(via), via).toBeGreaterThan(20);
    expect(failures()).toEqual([]);
  }, 120_000);
});
