import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EtcdCluster, startEtcdCluster } from './etcd-cluster.js';
import { testPrefix } from './cluster-node.js';
import { type KeymasterServer, removeDir, startKeymaster, tempDir } from './external-servers.js';
import { CLUSTER_ZONE, UPDATE_SECRET } from './zone-cluster.js';

/**
 * Three Keymaster primaries over a 3-member etcd as in zone-cluster.ts (the same signed zone
 * `CLUSTER_ZONE` with its UPDATE key, so its `sendUpdate`/`axfr` apply), but each primary with a
 * zones directory of its own (`authority.zonesDir`: a file put there is on that primary only) and
 * a state dir kept across `restart`, and a lease TTL of the caller's choosing (a long one keeps a frozen primary's last report in
 * `cluster status` while it is looked at).
 */
export interface OwnDirsZoneCluster {
  readonly etcd: EtcdCluster;
  readonly prefix: string;
  readonly primaries: KeymasterServer[];
  /** Each primary's own zones directory, in the order of `primaries`. */
  readonly zonesDirs: string[];
  /** Stops primary `i` cleanly (its lease revoked) and starts it again on the same config and state dir. */
  restart(i: number): Promise<KeymasterServer>;
  stop(): Promise<void>;
}

export async function startOwnDirsZoneCluster(etcdHosts: readonly string[], primaryHosts: readonly string[], o: { leaseTtl: number }): Promise<OwnDirsZoneCluster> {
  const etcd = await startEtcdCluster(etcdHosts);
  const shared = tempDir('zone-cluster-own-dirs');
  const kek = join(shared, 'kek');
  writeFileSync(kek, randomBytes(32).toString('hex'), { mode: 0o600 });
  const prefix = testPrefix();
  const zonesDirs = primaryHosts.map((_, i) => join(shared, `ns${i + 1}-zones`));
  const config = (i: number) => {
    const zonesDir = zonesDirs[i]!;
    execFileSync('mkdir', ['-p', zonesDir]);
    // The config zone: the same bytes in every primary's directory (its journal builds on them).
    const zoneFile = join(zonesDir, 'cluster.example.zone');
    writeFileSync(zoneFile, `$TTL 300\n@ SOA ns hostmaster 2026120701 3600 900 604800 300\n@ NS ns\nns A ${primaryHosts[0]}\nwww A 192.0.2.80\n`);
    return (
      `cluster:\n  name: ns${i + 1}\n  etcd:\n    endpoints: [${etcd.endpoints.map((e) => JSON.stringify(e)).join(', ')}]\n    prefix: ${prefix}\n    callTimeout: 1s\n` +
      `  keyEncryptionKey: ${JSON.stringify(kek)}\n  keyMaster: { leaseTtl: ${o.leaseTtl}s }\n` +
      `authority:\n  zonesDir: ${JSON.stringify(zonesDir)}\n` +
      `zones:\n  - name: ${CLUSTER_ZONE}\n    file: ${JSON.stringify(zoneFile)}\n    allowTransfer: ["127.0.0.0/8"]\n    signing: defaults\n` +
      `    update:\n      keys: [{ name: ddns-key., algorithm: hmac-sha256, secret: "${UPDATE_SECRET}" }]\n`
    );
  };
  const start = (i: number) =>
    startKeymaster({ address: primaryHosts[i]!, control: `${primaryHosts[i]}:5380`, rootHints: 'builtin', stateDir: join(shared, `ns${i + 1}-state`), extraYaml: config(i) });
  const lab: OwnDirsZoneCluster = {
    etcd, prefix, primaries: [], zonesDirs,
    async restart(i) {
      await lab.primaries[i]!.stop();
      lab.primaries[i] = await start(i);
      return lab.primaries[i]!;
    },
    async stop() {
      for (const p of lab.primaries) await p.stop();
      await etcd.destroy();
      removeDir(shared);
    },
  };
  // One after the other: the first makes the zone's keys and is its Key Master.
  for (const i of primaryHosts.keys()) {
    const started = await start(i).catch(async (error: unknown) => {
      await lab.stop();
      throw error;
    });
    lab.primaries.push(started);
  }
  return lab;
}
