import type { Etcd3, Namespace } from 'etcd3';
import type { Clock } from '../clock.js';
import type { ClusterConfig } from '../config/cluster-schema.js';
import { storeErrorOf } from '../store/etcd-errors.js';
import { connectEtcd, etcdConnection } from './etcd-client.js';
import type { KeyMasterRoles } from './key-master-role.js';
import type { ServerLease, ServerRecord } from './server-lease.js';
import type { TrustRefresherRoles } from './trust-refresher-roles.js';

/** `GET /v1/cluster` and `keymaster cluster status --json` (DESIGN.md: members[{name, healthy}], zones[{name, keyMaster, leaseRemaining}]). */
export interface ClusterStatus {
  readonly server: { readonly name: string; readonly lease: string; readonly leaseTtl: number; readonly leaseCertainMs: number; readonly inDoubt: boolean };
  readonly prefix: string;
  readonly members: readonly MemberStatus[];
  /** The primaries registered now (their leases alive), with what each has applied of the shared documents. */
  readonly servers: readonly ServerStatus[];
  readonly zones: readonly { readonly name: string; readonly keyMaster: string; readonly leaseRemaining: number }[];
  /** The shared documents (policy rules, trust anchors) at their current version in etcd. */
  readonly documents: readonly { readonly key: string; readonly version: number }[];
  /** Each trust point's RFC 5011 refresher (one for the cluster) and its lease's time left. */
  readonly trustPoints: readonly { readonly name: string; readonly refresher: string; readonly leaseRemaining: number }[];
}

export interface ServerStatus {
  readonly name: string;
  readonly since: string;
  /** The version of each shared document it has applied, as it last reported (with every keep-alive, at most a third of the lease TTL ago). */
  readonly applied: Readonly<Record<string, number>>;
  /** Writes it has not applied yet, summed over the shared documents (0: up to date). */
  readonly lag: number;
  readonly reportedAt?: string;
}

export interface MemberStatus {
  readonly name: string;
  readonly endpoint: string;
  readonly healthy: boolean;
  readonly leader: boolean;
  readonly version?: string;
  readonly raftIndex?: number;
  readonly error?: string;
}

/** Asks etcd: the member list, each member's own status (a short call to it alone), the servers and the roles. */
export async function clusterStatus(
  client: Etcd3,
  ns: Namespace,
  parts: { config: ClusterConfig; lease: ServerLease; roles: KeyMasterRoles; trustRefreshers: TrustRefresherRoles; shared: readonly string[]; clock: Clock },
): Promise<ClusterStatus> {
  const { config, lease, roles } = parts;
  const list = await client.cluster.memberList({}).catch((error: unknown) => {
    throw storeErrorOf(error, `etcd ${config.etcd.endpoints.join(',')}`);
  });
  const members = await Promise.all(list.members.map((m) => memberStatus(m.name, m.clientURLs[0] ?? '', config)));
  const servers = await ns
    .getAll()
    .prefix('servers/')
    .strings()
    .then((all) => Object.values(all).map((v) => JSON.parse(v) as ServerRecord));
  const zones = (await roles.holders()).map((h) => ({ name: h.zone, keyMaster: h.server, leaseRemaining: h.leaseRemaining }));
  const trustPoints = (await parts.trustRefreshers.holders()).map((h) => ({ name: h.zone, refresher: h.server, leaseRemaining: h.leaseRemaining }));
  const documents = await Promise.all(parts.shared.map(async (key) => ({ key, version: Number((await ns.get(key).exec()).kvs[0]?.version ?? 0) })));
  return {
    server: { name: lease.name, lease: lease.id, leaseTtl: lease.ttlSeconds, leaseCertainMs: lease.remainingMs(), inDoubt: lease.inDoubt() },
    prefix: config.etcd.prefix,
    members: members.sort((a, b) => a.name.localeCompare(b.name)),
    servers: servers.map((s) => serverStatus(s, documents)).sort((a, b) => a.name.localeCompare(b.name)),
    zones,
    documents,
    trustPoints,
  };
}

/** A primary as `servers/NAME` has it, with its lag against the documents' current versions. */
export function serverStatus(s: ServerRecord, documents: readonly { key: string; version: number }[]): ServerStatus {
  const applied = s.applied ?? {};
  const lag = documents.reduce((sum, d) => sum + Math.max(0, d.version - (applied[d.key] ?? 0)), 0);
  return { name: s.name, since: s.since, applied, lag, ...(s.reportedAt ? { reportedAt: s.reportedAt } : {}) };
}

async function memberStatus(name: string, endpoint: string, config: ClusterConfig): Promise<MemberStatus> {
  if (!endpoint) return { name, endpoint, healthy: false, leader: false, error: 'not started yet (no client URL)' };
  // A client of this member alone: the pool would otherwise answer from whichever member is up.
  const one = connectEtcd(etcdConnection(config, [endpoint], 1500));
  try {
    const s = await one.maintenance.status();
    return { name, endpoint, healthy: true, leader: s.leader === s.header.member_id, version: s.version, raftIndex: Number(s.raftIndex) };
  } catch (error) {
    return { name, endpoint, healthy: false, leader: false, error: (error as Error).message };
  } finally {
    one.close();
  }
}
