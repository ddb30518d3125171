import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEtcd } from '../../src/cluster/etcd-client.js';
import { EdeCode } from '../../src/wire/edns.js';
import { Rcode } from '../../src/wire/message.js';
import { haveTool, tempDir, removeDir } from '../support/external-servers.js';
import { ask } from '../support/dns-hierarchy.js';
import { CLUSTER_ZONE, type UpdateAnswer, type ZoneCluster, axfr, sendUpdate, servedSerial, startZoneCluster, unsignedRecords } from '../support/zone-cluster.js';

/**
 * Every primary serves every cluster zone (issue 13 items 2, 3): three Keymaster primaries over
 * a 3-member etcd on 127.10.142.0/24 (etcd) and 127.10.143.0/24 (primaries). A change through any
 * primary is acknowledged once committed in etcd, applied by the others through the journal's
 * watch and re-signed there; dnssec-verify checks each primary's AXFR; racing changes lose
 * nothing acknowledged and add nothing else; private keys are in etcd only sealed; with one etcd
 * member gone changes go on; with etcd gone, answers go on and changes are refused (REFUSED +
 * EDE 14 for UPDATE, 503 for commands).
 */
const ETCD = ['127.10.142.1', '127.10.142.2', '127.10.142.3'];
const HOSTS = ['127.10.143.1', '127.10.143.2', '127.10.143.3'];
const CONCURRENT_CHANGES = 1000;
const enabled = ['etcd', 'dig', 'dnssec-verify'].every(haveTool);

function dnssecVerify(dir: string, host: string): string {
  const text = axfr(host);
  const file = join(dir, `${host}.axfr`);
  writeFileSync(file, text, 'latin1');
  const r = spawnSync('dnssec-verify', ['-o', CLUSTER_ZONE, file], { encoding: 'utf8' });
  expect(r.stdout + r.stderr, host).toMatch(/Zone fully signed/);
  expect(r.status).toBe(0);
  return text;
}

const hasRecord = (host: string, line: RegExp) => unsignedRecords(axfr(host)).some((l) => line.test(l));

/** Waits until the three primaries serve one serial, newer than `before` (the zone's serial scheme, `date` by default, decides by how much). */
async function oneNewerSerial(before: number): Promise<void> {
  await expect.poll(() => HOSTS.map(servedSerial).map((s, _, all) => (s === all[0] && s > before ? 'newer, one serial' : `${s}`)), { timeout: 20_000 }).toEqual(HOSTS.map(() => 'newer, one serial'));
}

describe.skipIf(!enabled)('cluster mode: every primary serves every cluster zone', () => {
  let lab: ZoneCluster;
  const dir = tempDir('cluster-zones');

  beforeAll(async () => {
    lab = await startZoneCluster(ETCD, HOSTS);
  }, 180_000);
  afterAll(async () => {
    await lab?.stop();
    removeDir(dir);
  });

  it('all three serve the zone signed, with the same serial, and each AXFR passes dnssec-verify', async () => {
    await expect.poll(() => HOSTS.map(servedSerial), { timeout: 20_000 }).toEqual(HOSTS.map(() => 2026120701));
    const unsigned = HOSTS.map((h) => unsignedRecords(dnssecVerify(dir, h)));
    expect(unsigned[1]).toEqual(unsigned[0]);
    expect(unsigned[2]).toEqual(unsigned[0]);
  }, 60_000);

  it('a zone added on one primary is loaded and served by all three; removed there, it goes everywhere', async () => {
    writeFileSync(join(lab.zonesDir, 'added.example.zone'), '$TTL 300\n@ SOA ns hostmaster 7 3600 900 604800 300\n@ NS ns\nns A 192.0.2.53\nhello TXT "added on ns1"\n');
    const added = await lab.primaries[0]!.cli(['zone', 'add', 'added.example.', '--file', 'added.example.zone']);
    expect(added.code, added.stderr).toBe(0);
    for (const host of HOSTS)
      await expect.poll(async () => (await ask({ host, port: 53 }, 'hello.added.example.', 'TXT', { timeoutMs: 3000 })).response.answer.length, { timeout: 10_000 }).toBe(1);
    const removed = await lab.primaries[2]!.cli(['zone', 'remove', 'added.example.']);
    expect(removed.code, removed.stderr).toBe(0);
    for (const p of lab.primaries) await expect.poll(async () => (await p.cli(['zone', 'show', 'added.example.'])).stderr, { timeout: 10_000 }).toMatch(/no local zone added\.example\./);
  }, 60_000);

  it('private keys are in etcd only sealed, no primary has a key file, and export-keys gives DS and DNSKEY only', async () => {
    const client = connectEtcd({ endpoints: lab.etcd.endpoints, callTimeoutMs: 3000 });
    try {
      const all = await client.namespace(lab.prefix).getAll().strings();
      const sealed = Object.keys(all).filter((k) => k.startsWith('private-keys/'));
      expect(sealed.length).toBeGreaterThanOrEqual(2);
      const text = Object.values(all).join('\n');
      expect(text).not.toMatch(/PRIVATE KEY|BEGIN /);
      expect(text).toMatch(/A256GCM-envelope/);
    } finally {
      client.close();
    }
    for (const p of lab.primaries) {
      const keyDir = join(p.stateDir, 'keys');
      const files = (() => {
        try {
          return readdirSync(keyDir, { recursive: true }).map(String);
        } catch {
          return [];
        }
      })();
      expect(files.filter((f) => f.endsWith('.pem'))).toEqual([]);
    }
    const exported = await lab.primaries[1]!.cli(['zone', 'export-keys', CLUSTER_ZONE]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/\tDS\t|\sDS\s/);
    expect(exported.stdout).not.toMatch(/PRIVATE|BEGIN/);
  }, 60_000);

  it('an UPDATE through one primary is acknowledged, then answered and signed by all three with one serial', async () => {
    const before = servedSerial(HOSTS[0]!);
    const r = await sendUpdate(HOSTS[1]!, { updates: ['new.cluster.example. 300 IN A 192.0.2.100'] });
    expect(r).toEqual({ rcode: Rcode.NOERROR, ede: [] });
    await oneNewerSerial(before);
    for (const host of HOSTS) {
      const a = await ask({ host, port: 53 }, 'new.cluster.example.', 'A', { timeoutMs: 3000 });
      expect(a.response.answer.map((x) => x.type)).toContain(1);
    }
    const texts = HOSTS.map((h) => unsignedRecords(dnssecVerify(dir, h)));
    expect(texts[0]).toContain('new.cluster.example. 300 in a 192.0.2.100');
    expect(texts[1]).toEqual(texts[0]);
    expect(texts[2]).toEqual(texts[0]);
  }, 60_000);

  it('`zone record add` on another primary is acknowledged once committed and served by all three', async () => {
    const r = await lab.primaries[2]!.cli(['zone', 'record', 'add', CLUSTER_ZONE, 'cli', 'TXT', '"from ns3"']);
    expect(r.code, r.stderr).toBe(0);
    for (const host of HOSTS) await expect.poll(() => hasRecord(host, /^cli\.cluster\.example\. \d+ in txt "from ns3"$/), { timeout: 10_000 }).toBe(true);
  }, 60_000);

  it('two primaries racing on one prerequisite: exactly one UPDATE wins, the other fails it against the committed state', async () => {
    const claim = (host: string, address: string) => sendUpdate(host, { prerequisites: ['race.cluster.example. NONE ANY'], updates: [`race.cluster.example. 300 IN A ${address}`] });
    const results = await Promise.all([claim(HOSTS[0]!, '192.0.2.1'), claim(HOSTS[1]!, '192.0.2.2'), claim(HOSTS[2]!, '192.0.2.3')]);
    const rcodes = results.map((r) => r.rcode).sort();
    expect(rcodes).toEqual([Rcode.NOERROR, Rcode.YXDOMAIN, Rcode.YXDOMAIN]);
    const winner = `192.0.2.${results.findIndex((r) => r.rcode === Rcode.NOERROR) + 1}`;
    for (const host of HOSTS) await expect.poll(() => unsignedRecords(axfr(host)).filter((l) => l.startsWith('race.')), { timeout: 10_000 }).toEqual([`race.cluster.example. 300 in a ${winner}`]);
  }, 60_000);

  it(`${CONCURRENT_CHANGES} concurrent changes over the three primaries: three identical AXFRs with every acknowledged change and nothing else`, async () => {
    const answers: { i: number; answer: UpdateAnswer | Error }[] = [];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < CONCURRENT_CHANGES; i = next++) {
        const host = HOSTS[i % 3]!;
        const answer = await sendUpdate(host, { updates: [`c${i}.cluster.example. 300 IN TXT "change ${i}"`] }).catch((e: Error) => e);
        answers.push({ i, answer });
      }
    };
    await Promise.all(Array.from({ length: 24 }, worker));
    const acknowledged = answers.filter((a) => !(a.answer instanceof Error) && a.answer.rcode === Rcode.NOERROR).map((a) => a.i);
    expect(acknowledged.length).toBe(CONCURRENT_CHANGES);
    const serial = servedSerial(HOSTS[0]!);
    await expect.poll(() => HOSTS.map(servedSerial), { timeout: 30_000 }).toEqual(HOSTS.map(() => serial));
    const texts = HOSTS.map((h) => unsignedRecords(dnssecVerify(dir, h)));
    expect(texts[1]).toEqual(texts[0]);
    expect(texts[2]).toEqual(texts[0]);
    const changes = texts[0]!.filter((l) => /^c\d+\.cluster\.example\./.test(l)).sort();
    expect(changes).toEqual(acknowledged.map((i) => `c${i}.cluster.example. 300 in txt "change ${i}"`).sort());
  }, 360_000);

  it('one etcd member SIGKILLed: an UPDATE still goes through and is served by all three; the member back, it goes on', async () => {
    const before = servedSerial(HOSTS[0]!);
    await lab.etcd.stop(1, 'SIGKILL');
    try {
      expect(await sendUpdate(HOSTS[0]!, { updates: ['one-down.cluster.example. 300 IN A 192.0.2.12'] })).toEqual({ rcode: Rcode.NOERROR, ede: [] });
      for (const host of HOSTS) await expect.poll(() => hasRecord(host, /^one-down\.cluster\.example\. 300 in a 192\.0\.2\.12$/), { timeout: 15_000 }).toBe(true);
      await oneNewerSerial(before);
    } finally {
      await lab.etcd.restart(1);
    }
    expect(await sendUpdate(HOSTS[1]!, { updates: ['one-back.cluster.example. 300 IN A 192.0.2.13'] })).toEqual({ rcode: Rcode.NOERROR, ede: [] });
    for (const host of HOSTS) await expect.poll(() => hasRecord(host, /^one-back\.cluster\.example\. 300 in a 192\.0\.2\.13$/), { timeout: 15_000 }).toBe(true);
  }, 90_000);

  it('all of etcd stopped: answers go on, UPDATE is REFUSED with EDE 14, commands get unavailable; etcd back, changes go through', async () => {
    const serial = servedSerial(HOSTS[0]!);
    await lab.etcd.stopAll('SIGKILL');
    try {
      for (const host of HOSTS) {
        const a = await ask({ host, port: 53 }, 'www.cluster.example.', 'A', { timeoutMs: 3000 });
        expect(a.response.rcode).toBe(Rcode.NOERROR);
        expect(a.response.answer.length).toBeGreaterThan(0);
      }
      const refused = await sendUpdate(HOSTS[0]!, { updates: ['outage.cluster.example. 300 IN A 192.0.2.9'] });
      expect(refused.rcode, `the UPDATE during the outage; ns1's log:\n${lab.primaries[0]!.log().slice(-6000)}\netcd:\n${lab.etcd.describe()}`).toBe(Rcode.REFUSED);
      expect(refused.ede).toEqual([{ code: EdeCode.NOT_READY, text: 'the cluster store (etcd) cannot be reached: the change was not committed' }]);
      const command = await lab.primaries[1]!.cli(['zone', 'record', 'add', CLUSTER_ZONE, 'outage2', 'A', '192.0.2.10']);
      expect(command.code).not.toBe(0);
      expect(command.stderr).toMatch(/etcd cannot be reached|unavailable/);
      expect(HOSTS.map(servedSerial)).toEqual(HOSTS.map(() => serial));
    } finally {
      await lab.etcd.restartAll();
    }
    await expect.poll(async () => (await sendUpdate(HOSTS[2]!, { updates: ['after.cluster.example. 300 IN A 192.0.2.11'] }).catch(() => undefined))?.rcode, { timeout: 30_000, interval: 1000 }).toBe(Rcode.NOERROR);
    for (const host of HOSTS) {
      await expect.poll(() => hasRecord(host, /^after\.cluster\.example\. 300 in a 192\.0\.2\.11$/), { timeout: 20_000 }).toBe(true);
      expect(hasRecord(host, /^outage/)).toBe(false);
    }
    await oneNewerSerial(serial);
    for (const host of HOSTS) dnssecVerify(dir, host);
  }, 180_000);

  it('the Key Master: named by zone show and zone key-master on every primary; moved at the holder from another primary', async () => {
    const keyMaster = async (i: number) => JSON.parse((await lab.primaries[i]!.cli(['zone', 'key-master', CLUSTER_ZONE, '--json'])).stdout) as { keyMaster: string; isThisServer: boolean; fileBacked: boolean };
    for (const i of [0, 1, 2]) expect(await keyMaster(i)).toMatchObject({ keyMaster: 'ns1', isThisServer: i === 0, fileBacked: false });
    const show = await lab.primaries[2]!.cli(['zone', 'show', CLUSTER_ZONE]);
    expect(show.stdout).toMatch(/KeyMasterServer\s+:\s+ns1/);
    // Asked on ns3, carried out by the holder ns1 at its safe point.
    const moved = await lab.primaries[2]!.cli(['zone', 'key-master', CLUSTER_ZONE, 'ns2']);
    expect(moved.code, moved.stderr).toBe(0);
    for (const i of [0, 1, 2]) await expect.poll(() => keyMaster(i), { timeout: 10_000 }).toMatchObject({ keyMaster: 'ns2', isThisServer: i === 1 });
    const unknown = await lab.primaries[1]!.cli(['zone', 'key-master', CLUSTER_ZONE, 'ns9']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/ns9 is not a live member/);
  }, 90_000);

  it('a seize is refused while the Key Master lives; once it is SIGKILLed and its lease expired, another primary seizes the role', async () => {
    const refused = await lab.primaries[2]!.cli(['zone', 'key-master', CLUSTER_ZONE, 'ns3', '--seize']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/the Key Master ns2 is alive \(its lease has \d+ s left\)/);
    lab.primaries[1]!.child.kill('SIGKILL');
    await expect
      .poll(async () => (await lab.primaries[2]!.cli(['zone', 'key-master', CLUSTER_ZONE, 'ns3', '--seize'])).code, { timeout: 20_000, interval: 1000 })
      .toBe(0);
    const after = JSON.parse((await lab.primaries[0]!.cli(['zone', 'key-master', CLUSTER_ZONE, '--json'])).stdout) as { keyMaster: string };
    expect(after.keyMaster).toBe('ns3');
    // The survivors go on serving the changes made through either of them.
    expect((await sendUpdate(HOSTS[2]!, { updates: ['seized.cluster.example. 300 IN A 192.0.2.33'] })).rcode).toBe(Rcode.NOERROR);
    for (const host of [HOSTS[0]!, HOSTS[2]!]) await expect.poll(() => hasRecord(host, /^seized\.cluster\.example\. 300 in a 192\.0\.2\.33$/), { timeout: 10_000 }).toBe(true);
    expect(lab.primaries[0]!.log()).toMatch(/"event":"key-master.vacant"/);
  }, 90_000);

  it('a ZSK roll started on the Key Master (ns3, after the seize) reaches the other primary: same DNSKEY RRset, dnssec-verify passes', async () => {
    const [ns1, , ns3] = lab.primaries;
    const keys = JSON.parse((await ns3!.cli(['zone', 'keys', CLUSTER_ZONE, '--json'])).stdout) as { keys: { keyId: string; role: string; state: string }[] };
    const zsk = keys.keys.find((k) => k.role === 'zsk' && /^active$/i.test(k.state))!;
    const rolled = await ns3!.cli(['zone', 'roll', CLUSTER_ZONE, zsk.keyId]);
    expect(rolled.code, rolled.stderr).toBe(0);
    const dnskeys = (host: string) => axfr(host).split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[3] === 'DNSKEY').map((f) => f.slice(4).join(' ')).sort();
    await expect.poll(() => dnskeys(HOSTS[2]!).length, { timeout: 10_000 }).toBeGreaterThan(2);
    await expect.poll(() => dnskeys(HOSTS[0]!), { timeout: 15_000 }).toEqual(dnskeys(HOSTS[2]!));
    await expect.poll(() => servedSerial(HOSTS[0]!), { timeout: 10_000 }).toBe(servedSerial(HOSTS[2]!));
    dnssecVerify(dir, HOSTS[0]!);
    dnssecVerify(dir, HOSTS[2]!);
    expect(ns1!.log()).toMatch(/"event":"zone.keys-followed"/);
  }, 60_000);
});
