import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EtcdCluster, startEtcdCluster } from './etcd-cluster.js';
import { testPrefix } from './cluster-node.js';
import { type KeymasterServer, startKeymaster, tempDir } from './external-servers.js';
import { clusterYaml, launchPrimaries } from './zone-cluster.js';
import { LAB_ROLLOVER_TIMERS } from './live-rollover.js';

/**
 * Three Keymaster primaries (from dist/) in cluster mode over a 3-member etcd, serving a signed
 * parent `example.` and a signed child `child.example.` (both cluster zones, short TTLs, lab
 * rollover timers): what the rollover drill (cluster-rollover-drill.test.ts) rolls keys on while
 * validating resolvers watch. A primary can be started again under its name, on its own state
 * directory, with `autoFailover` set as asked.
 */
export const DRILL_PARENT = 'example.';
export const DRILL_CHILD = 'child.example.';

const SIGNING = '{ dnskeyTtl: 2s, dsTtl: 2s, signatureInception: 1h, dnskeySignatureValidity: 2h, dsSignatureValidity: 2h, signatureValidity: 2h }';

export interface RolloverCluster {
  readonly etcd: EtcdCluster;
  readonly hosts: readonly string[];
  /** The primaries by index (ns1 is 0); a slot is replaced by `restart`. */
  readonly primaries: KeymasterServer[];
  /** The parent's keyset file (its KSK as DNSKEY): the resolvers' trust anchor. */
  readonly parentKeyset: string;
  /** Starts primary `i` again (its name, its state dir) with `autoFailover`. */
  restart(i: number, autoFailover: boolean): Promise<KeymasterServer>;
  stop(): Promise<void>;
}

export async function startRolloverCluster(etcdHosts: readonly string[], hosts: readonly string[]): Promise<RolloverCluster> {
  const etcd = await startEtcdCluster(etcdHosts);
  const shared = tempDir('rollover-cluster');
  const kek = join(shared, 'kek');
  writeFileSync(kek, randomBytes(32).toString('hex'), { mode: 0o600 });
  const glue = hosts.map((h) => `ns A ${h}\n`).join('') + hosts.map((h) => `ns.child A ${h}\n`).join('');
  writeFileSync(join(shared, 'parent.zone'), `$TTL 2\n@ SOA ns hostmaster 1 60 30 600 2\n@ NS ns\nchild NS ns.child\n${glue}www A 192.0.2.1\n`);
  writeFileSync(join(shared, 'child.zone'), `$TTL 2\n@ SOA ns hostmaster 1 60 30 600 2\n@ NS ns\n${hosts.map((h) => `ns A ${h}\n`).join('')}www A 192.0.2.80\n`);
  const prefix = testPrefix();
  const stateDirs = hosts.map((_, i) => join(shared, `state-ns${i + 1}`));
  const zones =
    `authority:\n  zonesDir: ${JSON.stringify(join(shared, 'zones'))}\n` +
    `zones:\n` +
    `  - { name: ${DRILL_PARENT}, file: ${JSON.stringify(join(shared, 'parent.zone'))}, allowTransfer: ["127.0.0.0/8"], signing: ${SIGNING} }\n` +
    `  - { name: ${DRILL_CHILD}, file: ${JSON.stringify(join(shared, 'child.zone'))}, allowTransfer: ["127.0.0.0/8"], signing: ${SIGNING} }\n`;
  // Authoritative only (recursion for no client here): a resolver forwarding a name outside the
  // zones, such as the start-up probe's `. NS`, is REFUSED at once instead of waiting on recursion.
  const start = (i: number, autoFailover: boolean) =>
    startKeymaster({ address: hosts[i]!, control: `${hosts[i]}:5380`, rootHints: 'builtin', allow: ['192.0.2.0/24'], stateDir: stateDirs[i]!, dnssecYaml: LAB_ROLLOVER_TIMERS, extraYaml: clusterYaml(etcd, prefix, `ns${i + 1}`, kek, autoFailover) + zones });
  // ns1 first and alone: it takes both zones' Key Master role and makes the keys.
  const { primaries, stop } = await launchPrimaries(etcd, shared, hosts.map((_, i) => () => start(i, false)));
  return {
    etcd,
    hosts,
    primaries,
    parentKeyset: join(stateDirs[0]!, `keyset-${DRILL_PARENT}`),
    restart: async (i, autoFailover) => (primaries[i] = await start(i, autoFailover)),
    stop,
  };
}
