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
  /** Writes it has not applied yet, summed over the shared documents and the zones' journals (0: up to date). */
  readonly lag: number;
  /** Per cluster zone: the journal change it has applied (null: it does not serve the zone), the last one committed in etcd, the difference. */
  readonly zones: readonly ZoneLag[];
  readonly reportedAt?: string;
}

export interface ZoneLag {
  readonly name: string;
  readonly applied: number | null;
  readonly head: number;
  readonly lag: number;
}

/** The last change committed to each zone's journal in etcd (the zone domain knows the journal's layout). */
export type ZoneJournalHeads = (zones: readonly string[]) => Promise<Record<string, number>>;

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
  parts: { config: ClusterConfig; lease: ServerLease; roles: KeyMasterRoles; trustRefreshers: TrustRefresherRoles; shared: readonly string[]; zoneHeads?: ZoneJournalHeads | undefined; clock: Clock },
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
  // Read after the reports: a change committed in between shows as lag, never as a report ahead of etcd.
  const reported = [...new Set(servers.flatMap((s) => (isRecord(s.zones) ? Object.keys(s.zones) : [])))];
  const heads = parts.zoneHeads ? await parts.zoneHeads(reported) : {};
  return {
    server: { name: lease.name, lease: lease.id, leaseTtl: lease.ttlSeconds, leaseCertainMs: lease.remainingMs(), inDoubt: lease.inDoubt() },
    prefix: config.etcd.prefix,
    members: members.sort((a, b) => a.name.localeCompare(b.name)),
    servers: servers.map((s) => serverStatus(s, documents, heads)).sort((a, b) => a.name.localeCompare(b.name)),
    zones,
    documents,
    trustPoints,
  };
}

/** A primary as `servers/NAME` has it, with its lag against the documents' current versions and the zones' journal heads. */
export function serverStatus(s: ServerRecord, documents: readonly { key: string; version: number }[], heads: Readonly<Record<string, number>> = {}): ServerStatus {
  const applied = s.applied ?? {};
  const reported = isRecord(s.zones) ? s.zones : {};
  const zones = Object.entries(heads)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, head]): ZoneLag => {
      const at = Object.hasOwn(reported, name) && Number.isSafeInteger(reported[name]) ? reported[name]! : null;
      return { name, applied: at, head, lag: Math.max(0, head - (at ?? 0)) };
    });
  const lag = documents.reduce((sum, d) => sum + Math.max(0, d.version - (applied[d.key] ?? 0)), 0) + zones.reduce((sum, z) => sum + z.lag, 0);
  return { name: s.name, since: s.since, applied, lag, zones, ...(s.reportedAt ? { reportedAt: s.reportedAt } : {}) };
}

/** What another primary wrote is checked before it is read as a map. */
function isRecord(v: unknown): v is Readonly<Record<string, number>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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
