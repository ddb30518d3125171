import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ClusterStatus } from '../control-contract/cluster.js';
import { createTokenKeyEncryptionKey } from '../serve/token-key-encryption-key.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';
import { CLIENT_OPTIONS, connectToServer } from './client-options.js';
import { formatFields, formatTable } from './table.js';
import { CLUSTER_USAGE, UsageError } from './usage.js';

/** The human form of `GET /v1/cluster`: this server, the etcd members, the primaries and their lag, the Key Master per zone, the refresher per trust point. */
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
      { header: 'Lag', value: (p) => (p.lag === 0 ? '0' : `${p.lag} BEHIND`) },
      { header: 'Applied', value: (p) => s.documents.map((d) => `${d.key} ${p.applied[d.key] ?? 0}/${d.version}`).join(', ') },
      { header: 'Zones', value: (p) => zonesApplied(p.zones) },
      { header: 'Reported', value: (p) => p.reportedAt ?? '' },
    ],
    s.servers,
  );
  const trustPoints =
    s.trustPoints.length === 0
      ? 'No trust point has an RFC 5011 refresher in the cluster.\n'
      : formatTable(
          [
            { header: 'Trust point', value: (t: ClusterStatus['trustPoints'][number]) => t.name },
            { header: 'RFC 5011 refresher', value: (t) => t.refresher },
            { header: 'Lease left', value: (t) => leaseLeft(t.leaseRemaining) },
          ],
          s.trustPoints,
        );
  const zones =
    s.zones.length === 0
      ? 'No zone has a Key Master in the cluster.\n'
      : formatTable(
          [
            { header: 'Zone', value: (z: ClusterStatus['zones'][number]) => z.name },
            { header: 'Key Master', value: (z) => z.keyMaster },
            { header: 'Lease left', value: (z) => leaseLeft(z.leaseRemaining) },
          ],
          s.zones,
        );
  return `${[server, members, servers, zones, trustPoints].map((part) => part.trimEnd()).join('\n\n')}\n`;
}

/** A primary's zones for people: those behind (change applied / committed) by name, else how many are up to date. */
function zonesApplied(zones: ClusterStatus['servers'][number]['zones'] | undefined): string {
  const list = zones ?? [];
  const behind = list.filter((z) => z.lag > 0 || z.applied === null);
  if (list.length === 0) return '';
  if (behind.length === 0) return `${list.length} at head`;
  return behind.map((z) => `${z.name} ${z.applied === null ? 'NOT SERVED' : `${z.applied}/${z.head}`}`).join(', ');
}

function leaseLeft(seconds: number): string {
  return seconds < 0 ? 'expired' : `${seconds} s`;
}

export async function runClusterCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...CLIENT_OPTIONS, ...KEK_OPTIONS, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    process.stdout.write(CLUSTER_USAGE);
    return 0;
  }
  const [sub, ...rest] = positionals;
  if (sub !== 'status' && sub !== 'kek-create') throw new UsageError(sub === undefined ? 'missing subcommand (status, kek-create)' : `unknown subcommand "${sub}" (status, kek-create)`);
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  if (sub === 'kek-create') return createKek(values);
  const client = await connectToServer(values);
  const status: ClusterStatus = await client.call(CONTROL_ROUTES.clusterStatus);
  process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : formatClusterStatus(status));
  return 0;
}

const KEK_OPTIONS = {
  'pkcs11-module': { type: 'string' },
  token: { type: 'string' },
  'pin-file': { type: 'string' },
  label: { type: 'string' },
} as const;

/** `cluster kek-create`: the HSM KEK made in the token, here (the server is not involved). */
function createKek(values: { [K in keyof typeof KEK_OPTIONS]?: string | undefined } & { json: boolean }): number {
  const missing = (Object.keys(KEK_OPTIONS) as (keyof typeof KEK_OPTIONS)[]).filter((k) => values[k] === undefined || values[k] === '');
  if (missing.length > 0) throw new UsageError(`kek-create needs ${missing.map((k) => `--${k}`).join(', ')}`);
  const config = { module: resolve(values['pkcs11-module']!), token: values.token!, pinFile: resolve(values['pin-file']!), label: values.label! };
  const { checkValue } = createTokenKeyEncryptionKey(config);
  const made = { token: config.token, label: config.label, checkValue };
  process.stdout.write(
    values.json
      ? `${JSON.stringify(made, null, 2)}\n`
      : `Made the AES-256 key "${config.label}" in token "${config.token}" (check value ${checkValue}; sensitive, not extractable).\n` +
          `Configure every primary with:\n  keyEncryptionKey: { pkcs11: { module: ${config.module}, token: ${JSON.stringify(config.token)}, pinFile: ${config.pinFile}, label: ${JSON.stringify(config.label)} } }\n`,
  );
  return 0;
}
