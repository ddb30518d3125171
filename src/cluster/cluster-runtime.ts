import type { Etcd3 } from 'etcd3';
import type { Clock } from '../clock.js';
import type { ClusterConfig, KeyEncryptionKeySetting } from '../config/cluster-schema.js';
import { EtcdDocumentStore } from '../store/etcd-document-store.js';
import { type ClusterStatus, type ZoneJournalHeads, clusterStatus } from './cluster-status.js';
import { connectEtcd, etcdConnection } from './etcd-client.js';
import type { KeyEncryptionKey } from './key-envelope.js';
import { KeyMasterRoles } from './key-master-role.js';
import { TransferRequests } from './key-master-requests.js';
import { ServerLease } from './server-lease.js';
import { TrustRefresherRoles } from './trust-refresher-roles.js';

type Log = { info(o: object, m?: string): void; warn(o: object, m?: string): void };

/**
 * What `serve` runs in cluster mode: the etcd client, the store over `cluster.etcd.prefix` (in
 * place of the state dir's files for every store on the contract), this server's lease and the
 * Key Master roles. Starting fails, naming what is wrong, when etcd cannot be reached, the
 * name is taken by a live server, or the KEK is unusable (a loose file, no such key in the token).
 */
export interface ClusterRuntime {
  readonly name: string;
  readonly documents: EtcdDocumentStore;
  readonly lease: ServerLease;
  readonly roles: KeyMasterRoles;
  /** `zone key-master ZONE SERVER` from any primary: carried out by the holder at its safe point. */
  readonly requests: TransferRequests;
  /** One RFC 5011 refresher per trust point (the trust service's RefreshGate). */
  readonly trustRefreshers: TrustRefresherRoles;
  /** The key-encryption key (sealing private keys in etcd: the file's, or the token's), when `cluster.keyEncryptionKey` is set. */
  readonly keyEncryptionKey: KeyEncryptionKey | undefined;
  status(): Promise<ClusterStatus>;
  /**
   * Calls `reload` whenever another server changes a document under `key` (the store's watch),
   * so the running services follow the cluster's state. Returns the way to stop.
   */
  follow(key: string, what: string, reload: () => Promise<unknown>): () => void;
  /**
   * The zones' replication lag: `applied` is the journal change this server has applied per zone
   * (reported with the keep-alives), `heads` the last change committed in etcd (read by `status`).
   */
  trackZones(source: { applied: () => Record<string, number>; heads: ZoneJournalHeads }): void;
  stop(): Promise<void>;
}

/** `openKeyEncryptionKey`: the KEK of `cluster.keyEncryptionKey` (a file, or a token key: chosen by serve), opened before etcd is asked anything. */
export async function startCluster(config: ClusterConfig, deps: { clock: Clock; log: Log; openKeyEncryptionKey: (setting: KeyEncryptionKeySetting) => KeyEncryptionKey }): Promise<ClusterRuntime> {
  const keyEncryptionKey = config.keyEncryptionKey === undefined ? undefined : deps.openKeyEncryptionKey(config.keyEncryptionKey);
  const client: Etcd3 = connectEtcd(etcdConnection(config));
  try {
    const ns = client.namespace(config.etcd.prefix);
    const description = `etcd ${config.etcd.endpoints.join(',')} under ${config.etcd.prefix}`;
    const documents = await EtcdDocumentStore.open(ns, config.etcd.prefix, description, deps.log);
    const lease = new ServerLease(ns, { name: config.name, ttlSeconds: config.keyMaster.leaseTtl, clock: deps.clock, log: deps.log });
    await lease.start();
    const roles = await KeyMasterRoles.start(ns, documents, lease, { autoFailover: config.keyMaster.autoFailover, log: deps.log });
    const requests = await TransferRequests.start(ns, roles, lease, deps.log);
    const trustRefreshers = await TrustRefresherRoles.start(ns, documents, lease, deps.log);
    // The shared documents this server follows: what it applied of each is its replication lag.
    const shared: string[] = [];
    let zoneHeads: ZoneJournalHeads | undefined;
    lease.reportProgress(() => Object.fromEntries(shared.map((key) => [key, documents.knownVersion(key) ?? 0])));
    deps.log.info({ event: 'cluster.joined', server: config.name, endpoints: config.etcd.endpoints, prefix: config.etcd.prefix, lease: lease.id, keyEncryptionKey: keyEncryptionKey ? { kind: keyEncryptionKey.kind, id: keyEncryptionKey.id, ...keyEncryptionKey.labels } : null }, 'joined the cluster');
    return {
      name: config.name,
      documents,
      lease,
      roles,
      requests,
      trustRefreshers,
      keyEncryptionKey,
      status: () => clusterStatus(client, ns, { config, lease, roles, trustRefreshers, shared, zoneHeads, clock: deps.clock }),
      follow(key, what, reload) {
        shared.push(key);
        return documents.watchOthers(key, (change) => {
          reload().then(
            () => {
              deps.log.info({ event: 'cluster.document-reloaded', key: change.key, what, revision: change.revision ?? null }, `${what} changed in the cluster; reloaded`);
              void lease.report();
            },
            (error: unknown) => deps.log.warn({ event: 'cluster.document-reload-failed', key: change.key, what, error: (error as Error).message }, `${what} changed in the cluster but could not be reloaded; what is in memory stays`),
          );
        });
      },
      trackZones(source) {
        zoneHeads = source.heads;
        lease.reportZones(source.applied);
      },
      async stop() {
        await requests.close();
        await trustRefreshers.close();
        await roles.close();
        await lease.stop();
        await documents.close();
        client.close();
        keyEncryptionKey?.close();
      },
    };
  } catch (error) {
    client.close();
    throw error;
  }
}
