import { parseArgs } from 'node:util';
import type { ClusterStatus } from '../control-contract/cluster.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';
import { CLIENT_OPTIONS, connectToServer } from './client-options.js';
import { formatFields, formatTable } from './table.js';
import { CLUSTER_USAGE, UsageError } from './usage.js';

/** The human form of `GET /v1/cluster`: this server, the etcd members, the primaries, the Key Master per zone. */
export function formatClusterStatus(s: ClusterStatus): string {
  const server = formatFields([
    ['Server', s.server.name],
    ['Lease', `${s.server.lease} (TTL ${s.server.leaseTtl} s; ${s.server.inDoubt ? 'IN DOUBT: no key action' : `certain for ${(s.server.leaseCertainMs / 1000).toFixed(1)} s`})`],
    ['Key prefix', s.prefix],
    ['etcd', `${s.members.filter((m) => m.healthy).length} of ${s.members.length} members healthy`],
  ]);
  const members = formatTable(
    [
      { header: 'Member', value: (m: ClusterStatus['members'][number]) => m.name },
      { header: 'Endpoint', value: (m) => m.endpoint },
      { header: 'Healthy', value: (m) => (m.healthy ? 'yes' : 'NO') },
      { header: 'Leader', value: (m) => (m.leader ? 'yes' : '') },
      { header: 'Raft index', value: (m) => (m.raftIndex === undefined ? '' : String(m.raftIndex)) },
      { header: 'Error', value: (m) => m.error ?? '' },
    ],
    s.members,
  );
  const servers = formatTable(
    [
      { header: 'Primary', value: (p: ClusterStatus['servers'][number]) => p.name },
      { header: 'Since', value: (p) => p.since },
    ],
    s.servers,
  );
  const zones =
    s.zones.length === 0
      ? 'No zone has a Key Master in the cluster.\n'
      : formatTable(
          [
            { header: 'Zone', value: (z: ClusterStatus['zones'][number]) => z.name },
            { header: 'Key Master', value: (z) => z.keyMaster },
            { header: 'Lease left', value: (z) => (z.leaseRemaining < 0 ? 'expired' : `${z.leaseRemaining} s`) },
          ],
          s.zones,
        );
  return `${server}\n\n${members}\n\n${servers}\n\n${zones}`;
}

export async function runClusterCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...CLIENT_OPTIONS, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    process.stdout.write(CLUSTER_USAGE);
    return 0;
  }
  const [sub, ...rest] = positionals;
  if (sub !== 'status') throw new UsageError(sub === undefined ? 'missing subcommand (status)' : `unknown subcommand "${sub}" (status)`);
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  const client = await connectToServer(values);
  const status: ClusterStatus = await client.call(CONTROL_ROUTES.clusterStatus);
  process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : formatClusterStatus(status));
  return 0;
}
