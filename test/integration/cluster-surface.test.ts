import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../../src/control-contract/cluster.js';
import type { ZoneKeysReply } from '../../src/control-contract/zones.js';
import { Rcode } from '../../src/wire/message.js';
import { haveTool, removeDir, tempDir } from '../support/external-servers.js';
import { CLUSTER_ZONE, sendUpdate, servedSerial } from '../support/zone-cluster.js';
import { type OwnDirsZoneCluster, startOwnDirsZoneCluster } from '../support/zone-cluster-own-dirs.js';

/**
 * What an operator sees of a zone cluster (issue 13 item 7): three Keymaster primaries over a
 * 3-member etcd on 127.10.147.0/24 (etcd) and 127.10.148.0/24 (primaries), each with its own
 * zones directory. `zone keys` names the zone's Key Master on every primary; `cluster status`
 * gives each primary's replication lag on the zones' journals (the change it applied against the
 * last one committed in etcd), a frozen primary's lag growing while changes are committed
 * elsewhere and back to 0 once it runs again. A zone added by command on one primary is served
 * by all three from what its journal in etcd holds, though the others lack its file or have
 * another one.
 */
const ETCD = ['127.10.147.1', '127.10.147.2', '127.10.147.3'];
const HOSTS = ['127.10.148.1', '127.10.148.2', '127.10.148.3'];
const enabled = ['etcd', 'dig', 'dnssec-verify'].every(haveTool);
const OWN = 'own.example.';
const OWN_TEXT = '$TTL 300\n@ SOA ns hostmaster 41 3600 900 604800 300\n@ NS ns\nns A 192.0.2.53\nhello TXT "only on ns1"\n';

const dig = (host: string, ...args: string[]) => execFileSync('dig', [`@${host}`, ...args, '+time=3', '+tries=1'], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 });
const ownSerial = (host: string) => Number(dig(host, OWN, 'SOA', '+short').trim().split(/\s+/)[2]);
const ownTxt = (host: string) => dig(host, `hello.${OWN}`, 'TXT', '+short').trim();

/** dnssec-verify on the zone's AXFR from `host`; its records without the signer's, sorted. */
function verifiedAxfr(dir: string, host: string): string[] {
  const text = dig(host, OWN, 'AXFR', '+onesoa', '+noall', '+answer');
  const file = join(dir, `${host}.axfr`);
  writeFileSync(file, text, 'latin1');
  const r = spawnSync('dnssec-verify', ['-o', OWN, file], { encoding: 'utf8' });
  expect(r.stdout + r.stderr, host).toMatch(/Zone fully signed/);
  const signer = /\s(RRSIG|NSEC|NSEC3|NSEC3PARAM|DNSKEY|CDS|CDNSKEY)\s/;
  return text.split('\n').filter((l) => l.trim() && !signer.test(l)).map((l) => l.trim().split(/\s+/).join(' ')).sort();
}

describe.skipIf(!enabled)('cluster mode: what operators see of the zones', () => {
  let lab: OwnDirsZoneCluster;
  const dir = tempDir('cluster-surface');
  const status = async (i: number): Promise<ClusterStatus> => {
    const r = await lab.primaries[i]!.cli(['cluster', 'status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as ClusterStatus;
  };
  /** Each primary's entry for the zone, by server name, as primary `i` reports them. */
  const zoneLag = async (i: number, zone = CLUSTER_ZONE) =>
    Object.fromEntries((await status(i)).servers.map((s) => [s.name, s.zones.find((z) => z.name === zone) ?? null]));
  let update = 0;
  const add = async (host: string) => {
    update++;
    const r = await sendUpdate(host, { updates: [`u${update} 300 IN A 192.0.2.${update}`] });
    expect(r.rcode).toBe(Rcode.NOERROR);
  };

  beforeAll(async () => {
    // A long lease: a frozen primary's last report stays in `servers/` while the others are asked.
    lab = await startOwnDirsZoneCluster(ETCD, HOSTS, { leaseTtl: 30 });
  }, 180_000);
  afterAll(async () => {
    await lab?.stop();
    removeDir(dir);
  });

  it('zone keys names the Key Master on every primary: in the table above the keys and in the JSON beside them', async () => {
    await expect.poll(() => HOSTS.map(servedSerial), { timeout: 20_000 }).toEqual(HOSTS.map(() => 2026120701));
    for (const [i, p] of lab.primaries.entries()) {
      await expect.poll(async () => (JSON.parse((await p.cli(['zone', 'keys', CLUSTER_ZONE, '--json'])).stdout) as ZoneKeysReply).keyMaster, { timeout: 10_000 }).toBe('ns1');
      const json = JSON.parse((await p.cli(['zone', 'keys', CLUSTER_ZONE, '--json'])).stdout) as ZoneKeysReply;
      expect(json).toMatchObject({ zone: CLUSTER_ZONE, keyMaster: 'ns1', isThisServer: i === 0 });
      expect(json.keys.length).toBeGreaterThanOrEqual(2);
      const table = await p.cli(['zone', 'keys', CLUSTER_ZONE]);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout.split('\n')[0]).toBe(i === 0 ? 'KeyMasterServer: ns1 (this server)' : 'KeyMasterServer: ns1');
      expect(table.stdout).toMatch(/KSK\s+Active/);
    }
    // The same holder `zone key-master` and `zone show` name.
    expect((await lab.primaries[1]!.cli(['zone', 'show', CLUSTER_ZONE])).stdout).toMatch(/KeyMasterServer\s+: ns1/);
  }, 60_000);

  it('after an UPDATE through one primary, cluster status shows every primary at the journal head: lag 0 for the zone', async () => {
    const before = (await zoneLag(0))['ns1']?.head ?? 0;
    await add(HOSTS[1]!);
    for (const i of [0, 1, 2]) {
      await expect
        .poll(async () => Object.values(await zoneLag(i)), { timeout: 30_000, interval: 500 })
        .toEqual(['ns1', 'ns2', 'ns3'].map(() => ({ name: CLUSTER_ZONE, applied: before + 1, head: before + 1, lag: 0 })));
    }
    const s = await status(2);
    expect(s.servers.map((p) => [p.name, p.lag])).toEqual([['ns1', 0], ['ns2', 0], ['ns3', 0]]);
    const table = await lab.primaries[2]!.cli(['cluster', 'status']);
    expect(table.stdout).toMatch(/^Primary\s+Since\s+Lag\s+Applied\s+Zones\s+Reported/m);
    expect(table.stdout).toMatch(/^ns2\s+\S+\s+0\s+.*\s1 at head\s/m);
  }, 60_000);

  it('a primary frozen (SIGSTOP) while changes are committed through another shows their number as its lag; resumed, 0 again', async () => {
    const frozen = lab.primaries[2]!;
    const head = (await zoneLag(0))['ns3']!.head;
    expect((await zoneLag(0))['ns3']).toMatchObject({ applied: head, lag: 0 });
    process.kill(frozen.child.pid!, 'SIGSTOP');
    try {
      for (let n = 0; n < 3; n++) await add(HOSTS[n % 2]!);
      // ns3's last report (it cannot make another) against the journal head in etcd.
      await expect.poll(async () => (await zoneLag(0))['ns1'], { timeout: 10_000, interval: 300 }).toMatchObject({ applied: head + 3, lag: 0 });
      expect((await zoneLag(0))['ns3']).toEqual({ name: CLUSTER_ZONE, applied: head, head: head + 3, lag: 3 });
      const seen = await status(1);
      expect(seen.servers.find((p) => p.name === 'ns3')).toMatchObject({ lag: 3 });
      const table = await lab.primaries[1]!.cli(['cluster', 'status']);
      expect(table.stdout).toMatch(new RegExp(`^ns3\\s+\\S+\\s+3 BEHIND\\s+.*${CLUSTER_ZONE.replace(/\./g, '\\.')} ${head}/${head + 3}`, 'm'));
    } finally {
      process.kill(frozen.child.pid!, 'SIGCONT');
    }
    // Resumed: it applies the three changes through its watch and says so with its next keep-alive.
    await expect.poll(async () => (await zoneLag(1))['ns3'], { timeout: 30_000, interval: 500 }).toEqual({ name: CLUSTER_ZONE, applied: head + 3, head: head + 3, lag: 0 });
    await expect.poll(() => HOSTS.map(servedSerial), { timeout: 10_000 }).toEqual(HOSTS.map(() => servedSerial(HOSTS[0]!)));
  }, 90_000);

  it('a zone added on one primary is served by all three from its journal in etcd: one without the file, one with another file', async () => {
    const file = join(lab.zonesDirs[0]!, 'own.example.zone');
    writeFileSync(file, OWN_TEXT);
    const [ns1, ns2, ns3] = lab.primaries as [typeof lab.primaries[0], typeof lab.primaries[0], typeof lab.primaries[0]];
    // The others frozen while it is added: when they load it, the file at its path is changed (ns2) or gone (ns3).
    for (const p of [ns2, ns3]) process.kill(p.child.pid!, 'SIGSTOP');
    try {
      const added = await ns1.cli(['zone', 'add', OWN, '--file', 'own.example.zone', '--allow-transfer', '127.0.0.0/8']);
      expect(added.code, added.stderr).toBe(0);
      writeFileSync(file, OWN_TEXT.replace(' 41 ', ' 99 ').replace('only on ns1', 'another file'));
    } finally {
      process.kill(ns2.child.pid!, 'SIGCONT');
    }
    try {
      await expect.poll(() => ownTxt(HOSTS[1]!), { timeout: 15_000 }).toBe('"only on ns1"');
      rmSync(file);
    } finally {
      process.kill(ns3.child.pid!, 'SIGCONT');
    }
    await expect.poll(() => ownTxt(HOSTS[2]!), { timeout: 15_000 }).toBe('"only on ns1"');
    expect(HOSTS.map(ownSerial)).toEqual([41, 41, 41]);
    for (const p of [ns2, ns3]) await expect.poll(() => p.log(), { timeout: 5_000 }).toMatch(/"event":"zone.journal-replayed"[^\n]*"zone":"own.example."[^\n]*"source":"store"|"zone":"own.example."[^\n]*"event":"zone.journal-replayed"[^\n]*"source":"store"/);

    // Signed on ns1 (its Key Master), changed on ns3: all three serve the same signed data under one serial.
    const signed = await ns1.cli(['zone', 'sign', OWN, '--defaults']);
    expect(signed.code, signed.stderr).toBe(0);
    const record = await ns3.cli(['zone', 'record', 'add', OWN, 'www', 'A', '192.0.2.80']);
    expect(record.code, record.stderr).toBe(0);
    await expect.poll(() => HOSTS.map((h) => dig(h, `www.${OWN}`, 'A', '+short').trim()), { timeout: 15_000 }).toEqual(HOSTS.map(() => '192.0.2.80'));
    await expect.poll(() => new Set(HOSTS.map(ownSerial)).size, { timeout: 15_000 }).toBe(1);
    await expect.poll(() => HOSTS.map((h) => dig(h, OWN, 'DNSKEY', '+short').trim().split('\n').sort().join('|')), { timeout: 15_000 }).toEqual(HOSTS.map(() => dig(HOSTS[0]!, OWN, 'DNSKEY', '+short').trim().split('\n').sort().join('|')));
    const data = HOSTS.map((h) => verifiedAxfr(dir, h));
    expect(data[1]).toEqual(data[0]);
    expect(data[2]).toEqual(data[0]);
    expect(data[0]!.join('\n')).toMatch(/hello\.own\.example\. 300 IN TXT "only on ns1"/);
    expect(data[0]!.join('\n')).not.toMatch(/another file/);
    // Every primary reports the added zone's journal too: all at its head.
    await expect.poll(async () => Object.values(await zoneLag(0, OWN)).map((z) => z?.lag), { timeout: 30_000, interval: 500 }).toEqual([0, 0, 0]);
  }, 120_000);

  it('restarted, a primary without the file loads the added zone from etcd again, signed, at the cluster\'s serial', async () => {
    const serial = ownSerial(HOSTS[0]!);
    const ns3 = await lab.restart(2);
    expect(ns3.log()).toMatch(/"event":"zone.journal-replayed"[^\n]*"zone":"own.example."[^\n]*"source":"store"/);
    await expect.poll(() => ownSerial(HOSTS[2]!), { timeout: 15_000 }).toBe(serial);
    expect(ownTxt(HOSTS[2]!)).toBe('"only on ns1"');
    expect(verifiedAxfr(dir, HOSTS[2]!)).toEqual(verifiedAxfr(dir, HOSTS[0]!));
    const keys = JSON.parse((await ns3.cli(['zone', 'keys', OWN, '--json'])).stdout) as ZoneKeysReply;
    expect(keys).toMatchObject({ keyMaster: 'ns1', isThisServer: false });
  }, 90_000);

  it('a zone removed on one primary leaves every primary\'s replication report', async () => {
    const removed = await lab.primaries[1]!.cli(['zone', 'remove', OWN]);
    expect(removed.code, removed.stderr).toBe(0);
    await expect
      .poll(async () => (await status(0)).servers.map((p) => [p.name, p.zones.map((z) => z.name)]), { timeout: 30_000, interval: 500 })
      .toEqual(['ns1', 'ns2', 'ns3'].map((n) => [n, [CLUSTER_ZONE]]));
  }, 60_000);
});
