import type { Etcd3, Namespace } from 'etcd3';
import type { Clock } from '../clock.js';
import type { ClusterConfig } from '../config/cluster-schema.js';
import { storeErrorOf } from '../store/etcd-errors.js';
import { connectEtcd, etcdConnection } from './etcd-client.js';
import type { KeyMasterRoles } from './key-master-role.js';
import type { ServerLease, ServerRecord } from './server-lease.js';

/** `GET /v1/cluster` and `keymaster cluster status --json` (DESIGN.md: members[{name, healthy}], zones[{name, keyMaster, leaseRemaining}]). */
export interface ClusterStatus {
  readonly server: { readonly name: string; readonly lease: string; readonly leaseTtl: number; readonly leaseCertainMs: number; readonly inDoubt: boolean };
  readonly prefix: string;
  readonly members: readonly MemberStatus[];
  /** The primaries registered now (their leases alive). */
  readonly servers: readonly { readonly name: string; readonly since: string }[];
  readonly zones: readonly { readonly name: string; readonly keyMaster: string; readonly leaseRemaining: number }[];
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
  parts: { config: ClusterConfig; lease: ServerLease; roles: KeyMasterRoles; clock: Clock },
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
  return {
    server: { name: lease.name, lease: lease.id, leaseTtl: lease.ttlSeconds, leaseCertainMs: lease.remainingMs(), inDoubt: lease.inDoubt() },
    prefix: config.etcd.prefix,
    members: members.sort((a, b) => a.name.localeCompare(b.name)),
    servers: servers.map((s) => ({ name: s.name, since: s.since })).sort((a, b) => a.name.localeCompare(b.name)),
    zones,
  };
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
