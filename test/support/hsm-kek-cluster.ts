import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EtcdCluster, startEtcdCluster } from './etcd-cluster.js';
import { testPrefix } from './cluster-node.js';
import { type KeymasterServer, removeDir, runKeymasterCli, startKeymaster, tempDir } from './external-servers.js';
import { SOFTHSM_MODULE, softHsmTokens } from './softhsm-token.js';
import { CLUSTER_ZONE, launchPrimaries } from './zone-cluster.js';

/**
 * Keymaster primaries (from dist/) in cluster mode over a 3-member etcd, their key-encryption key
 * an AES key in one SoftHSM2 token they all reach (the same SOFTHSM2_CONF and token dir, inherited
 * from this process), made by `keymaster cluster kek-create`; one signed zone, `CLUSTER_ZONE`.
 * The first primary starts alone (it makes the zone's keys and seals them through the token).
 */
export const KEK_TOKEN = 'km-cluster';
export const KEK_LABEL = 'keymaster-kek';

export interface HsmKekCluster {
  readonly etcd: EtcdCluster;
  readonly prefix: string;
  readonly primaries: KeymasterServer[];
  /** What `kek-create` printed: the token key's check value, the id sealed documents carry. */
  readonly checkValue: string;
  /** The token's PIN file (0600). */
  readonly pinFile: string;
  /** Starts one more primary NAME on HOST with the token key LABEL (it is not stopped by `stop`). */
  startPrimary(host: string, name: string, label: string, startTimeoutMs?: number): Promise<KeymasterServer>;
  stop(): Promise<void>;
}

export async function startHsmKekCluster(etcdHosts: readonly string[], primaryHosts: readonly string[]): Promise<HsmKekCluster> {
  const shared = tempDir('hsm-kek-cluster');
  const { pinFile } = softHsmTokens(shared, [KEK_TOKEN]);
  const made = await runKeymasterCli(['cluster', 'kek-create', '--pkcs11-module', SOFTHSM_MODULE, '--token', KEK_TOKEN, '--pin-file', pinFile, '--label', KEK_LABEL, '--json']);
  if (made.code !== 0) {
    removeDir(shared);
    throw new Error(`keymaster cluster kek-create failed: ${made.stderr}`);
  }
  const { checkValue } = JSON.parse(made.stdout) as { checkValue: string };
  const zoneFile = join(shared, 'cluster.example.zone');
  writeFileSync(zoneFile, `$TTL 300\n@ SOA ns hostmaster 2026120801 3600 900 604800 300\n@ NS ns\nns A ${primaryHosts[0]}\nwww A 192.0.2.80\n`);
  const etcd = await startEtcdCluster(etcdHosts);
  const prefix = testPrefix();
  const yaml = (name: string, label: string) =>
    `cluster:\n  name: ${name}\n  etcd:\n    endpoints: [${etcd.endpoints.map((e) => JSON.stringify(e)).join(', ')}]\n    prefix: ${prefix}\n    callTimeout: 1s\n` +
    `  keyEncryptionKey:\n    pkcs11: { module: ${SOFTHSM_MODULE}, token: ${KEK_TOKEN}, pinFile: ${JSON.stringify(pinFile)}, label: ${JSON.stringify(label)} }\n` +
    `  keyMaster: { leaseTtl: 3s }\n` +
    `zones:\n  - name: ${CLUSTER_ZONE}\n    file: ${JSON.stringify(zoneFile)}\n    allowTransfer: ["127.0.0.0/8"]\n    signing: defaults\n`;
  const startPrimary = (host: string, name: string, label: string, startTimeoutMs = 20_000) => startKeymaster({ address: host, control: `${host}:5380`, rootHints: 'builtin', extraYaml: yaml(name, label), startTimeoutMs });
  const { primaries, stop } = await launchPrimaries(
    etcd,
    shared,
    primaryHosts.map((host, i) => () => startPrimary(host, `ns${i + 1}`, KEK_LABEL)),
  );
  return { etcd, prefix, primaries, checkValue, pinFile, startPrimary, stop };
}
