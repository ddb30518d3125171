import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TsigKey, signTsig, tsigAlgorithmName } from '../../src/authority/tsig.js';
import { defaultEdns, extendedErrors } from '../../src/wire/edns.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Opcode, type ResourceRecord, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseRecordLine } from '../../src/wire/record-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { fromBase64 } from '../../src/wire/text-encoding.js';
import { type EtcdCluster, startEtcdCluster } from './etcd-cluster.js';
import { testPrefix } from './cluster-node.js';
import { type KeymasterServer, removeDir, startKeymaster, tcpExchangeRaw, tcpFrames, tempDir, udpExchangeRaw } from './external-servers.js';

/**
 * Three Keymaster primaries (from dist/) in cluster mode over a 3-member etcd, serving one signed
 * zone from the same config (an `update:` TSIG key, the same zone file) with one key-encryption
 * key: what `cluster-zones.test.ts` and `bench/cluster-zones.ts` run against. The first primary
 * starts alone (it makes the zone's keys); the other two start from what it stored.
 */
export const CLUSTER_ZONE = 'cluster.example.';
export const UPDATE_SECRET = 'Y2x1c3Rlci16b25lcy11cGRhdGUta2V5LXNlY3JldC0xMjM0NTY3OA==';
export const UPDATE_KEY: TsigKey = { name: Name.parse('ddns-key.'), algorithm: tsigAlgorithmName('hmac-sha256'), secret: fromBase64(UPDATE_SECRET) };

export interface ZoneCluster {
  readonly etcd: EtcdCluster;
  readonly prefix: string;
  readonly primaries: KeymasterServer[];
  /** The directory every primary reads zone files from (`authority.zonesDir`). */
  readonly zonesDir: string;
  stop(): Promise<void>;
}

/** The zone file and the `authority:`/`zones:` config every primary (or a single server) gets. */
function zoneSetup(shared: string, nsAddress: string): { zonesDir: string; yaml: string } {
  const zonesDir = join(shared, 'zones');
  execFileSync('mkdir', ['-p', zonesDir]);
  const zoneFile = join(zonesDir, 'cluster.example.zone');
  writeFileSync(zoneFile, `$TTL 300\n@ SOA ns hostmaster 2026120701 3600 900 604800 300\n@ NS ns\nns A ${nsAddress}\nwww A 192.0.2.80\n`);
  const yaml =
    `authority:\n  zonesDir: ${JSON.stringify(zonesDir)}\n` +
    `zones:\n  - name: ${CLUSTER_ZONE}\n    file: ${JSON.stringify(zoneFile)}\n    allowTransfer: ["127.0.0.0/8"]\n    signing: defaults\n` +
    `    update:\n      keys: [{ name: ddns-key., algorithm: hmac-sha256, secret: "${UPDATE_SECRET}" }]\n`;
  return { zonesDir, yaml };
}

/** The same zone on one server without `cluster:` (the reference for what cluster mode costs). */
export async function startSingleZoneServer(host: string): Promise<{ server: KeymasterServer; stop(): Promise<void> }> {
  const shared = tempDir('zone-single');
  const server = await startKeymaster({ address: host, control: `${host}:5380`, rootHints: 'builtin', extraYaml: zoneSetup(shared, host).yaml });
  return { server, stop: async () => (await server.stop(), removeDir(shared)) };
}

export async function startZoneCluster(etcdHosts: readonly string[], primaryHosts: readonly string[]): Promise<ZoneCluster> {
  const etcd = await startEtcdCluster(etcdHosts);
  const shared = tempDir('zone-cluster');
  const kek = join(shared, 'kek');
  writeFileSync(kek, randomBytes(32).toString('hex'), { mode: 0o600 });
  const { zonesDir, yaml: zonesYaml } = zoneSetup(shared, primaryHosts[0]!);
  const prefix = testPrefix();
  const { primaries, stop } = await launchPrimaries(etcd, shared, primaryHosts.map((host, i) => () => startKeymaster({ address: host, control: `${host}:5380`, rootHints: 'builtin', extraYaml: clusterYaml(etcd, prefix, `ns${i + 1}`, kek) + zonesYaml })));
  return { etcd, prefix, primaries, zonesDir, stop };
}

/** The `cluster:` section of primary NAME: the etcd members, the prefix, the KEK file, a 3 s Key Master lease. */
export function clusterYaml(etcd: EtcdCluster, prefix: string, name: string, kek: string, autoFailover = false): string {
  return (
    `cluster:\n  name: ${name}\n  etcd:\n    endpoints: [${etcd.endpoints.map((e) => JSON.stringify(e)).join(', ')}]\n    prefix: ${prefix}\n    callTimeout: 1s\n` +
    `  keyEncryptionKey: ${JSON.stringify(kek)}\n  keyMaster: { leaseTtl: 3s, autoFailover: ${autoFailover} }\n`
  );
}

/** Starts the primaries one after the other (the first alone makes the keys); `stop` stops them, etcd, and removes `shared`, also when a start fails. */
export async function launchPrimaries(etcd: EtcdCluster, shared: string, starts: readonly (() => Promise<KeymasterServer>)[]): Promise<{ primaries: KeymasterServer[]; stop(): Promise<void> }> {
  const primaries: KeymasterServer[] = [];
  const stop = async () => {
    for (const p of primaries) await p.stop();
    await etcd.destroy();
    removeDir(shared);
  };
  try {
    for (const start of starts) primaries.push(await start());
  } catch (error) {
    await stop();
    throw error;
  }
  return { primaries, stop };
}

export interface UpdateAnswer {
  readonly rcode: number;
  readonly ede: { code: number; text: string }[];
}

/** Sends a TSIG-signed RFC 2136 UPDATE (with EDNS, so an EDE can come back) over TCP, or UDP; `prerequisites` and `updates` in presentation format. */
export async function sendUpdate(host: string, o: { prerequisites?: string[]; updates: string[]; id?: number; udp?: boolean }): Promise<UpdateAnswer> {
  const zone = Name.parse(CLUSTER_ZONE);
  const parse = (line: string): ResourceRecord => {
    // "NONE"/"ANY" classes and TTL 0 as RFC 2136 writes deletions and prerequisites.
    const m = /^(\S+)\s+(ANY|NONE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) return parseRecordLine(line, { origin: zone });
    const cls = m[2] === 'ANY' ? 255 : 254;
    if (!m[4]) return { name: Name.parse(m[1]!, zone), type: RRType[m[3] as keyof typeof RRType] as number, class: cls, ttl: 0, rdata: new Uint8Array(0) };
    return { ...parseRecordLine(`${m[1]} 0 IN ${m[3]} ${m[4]}`, { origin: zone }), class: cls, ttl: 0 };
  };
  const message = newMessage({
    id: o.id ?? Math.floor(Math.random() * 65536),
    opcode: Opcode.UPDATE,
    question: [{ name: zone, type: RRType.SOA, class: 1 }],
    answer: (o.prerequisites ?? []).map(parse),
    authority: o.updates.map(parse),
    edns: defaultEdns(),
  });
  const wire = signTsig(encodeMessage(message), UPDATE_KEY, { now: Math.floor(Date.now() / 1000) });
  const answer = o.udp ? await udpExchangeRaw({ host, port: 53 }, wire, { timeoutMs: 5000 }) : (await tcpExchangeRaw({ host, port: 53 }, tcpFrames([wire]), { expect: 1, timeoutMs: 20_000 })).messages[0];
  if (!answer) throw new Error(`no answer from ${host} to an UPDATE`);
  const decoded = decodeMessage(answer);
  return { rcode: decoded.rcode, ede: extendedErrors(decoded.edns).map((e) => ({ code: e.infoCode, text: e.extraText })) };
}

/** The zone by AXFR from `host` (dig), one record a line. */
export function axfr(host: string): string {
  return execFileSync('dig', [`@${host}`, CLUSTER_ZONE, 'AXFR', '+onesoa', '+noall', '+answer', '+time=10', '+tries=1'], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 });
}

/** The AXFR's records the signer does not make (no RRSIG, NSEC, NSEC3, NSEC3PARAM, DNSKEY, CDS, CDNSKEY), normalised and sorted. */
export function unsignedRecords(axfrText: string): string[] {
  const signer = new Set(['RRSIG', 'NSEC', 'NSEC3', 'NSEC3PARAM', 'DNSKEY', 'CDS', 'CDNSKEY']);
  return axfrText
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 5 && !f[0]!.startsWith(';') && !signer.has(f[3]!))
    .map((f) => f.join(' ').toLowerCase())
    .sort();
}

/** The zone's SOA serial as `host` serves it. */
export function servedSerial(host: string): number {
  const out = execFileSync('dig', [`@${host}`, CLUSTER_ZONE, 'SOA', '+short', '+time=3', '+tries=1'], { encoding: 'utf8' });
  return Number(out.trim().split(/\s+/)[2]);
}
