/**
 * BIND's named, Knot's knotd and NSD as peers in zone transfer tests on loopback: secondaries
 * of Keymaster (TSIG-signed IXFR/AXFR, NOTIFY allowed from the primary) and primaries that
 * Keymaster follows. Each runs in the foreground as a child process, stopped by its PID (the
 * ChildProcess handle), with its files in a temporary directory removed on stop.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomQueryId } from '../../src/resolver/dns-transport.js';
import { exchangeUdp } from '../../src/resolver/dns-transport.js';
import { decodeRdata } from '../../src/wire/rdata-codec.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type RunningServer, readFileSafe, startProcess, stopper, tempDir, waitForDns } from './external-servers.js';

/** A TSIG key as the three servers and Keymaster's config spell it. */
export interface LabTsigKey {
  readonly name: string;
  readonly algorithm: 'hmac-sha256';
  readonly secret: string;
}

export interface PeerServer extends RunningServer {
  readonly dir: string;
  /** The server's log file (and its stdout/stderr). */
  log(): string;
  /** Where the secondary keeps a zone's copy (text), for dnssec-verify / ldns-verify-zone. */
  zoneFile(zone: string): string;
}

/** The SOA serial `server` answers for `zone`, or undefined (no answer, not authoritative). */
export async function soaSerialAt(server: { host: string; port: number }, zone: string): Promise<number | undefined> {
  const query = newMessage({ id: randomQueryId(), question: [{ name: Name.parse(zone), type: RRType.SOA, class: 1 }] });
  try {
    const { response } = await exchangeUdp(server, query, encodeMessage(query), 500);
    const soa = response.answer.find((r) => r.type === RRType.SOA);
    return response.aa && response.rcode === 0 && soa ? (decodeRdata(RRType.SOA, soa.rdata)['serial'] as number) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls until `server` serves `zone` at `serial` (or later); throws with `describe()` after timeoutMs. */
export async function waitForSerial(server: { host: string; port: number }, zone: string, serial: number, describe: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: number | undefined;
  while (Date.now() < deadline) {
    seen = await soaSerialAt(server, zone);
    if (seen !== undefined && (seen === serial || ((seen - serial + 2 ** 32) % 2 ** 32) < 2 ** 31)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${server.host}#${server.port} serves ${zone} at serial ${seen}, not ${serial}, after ${timeoutMs} ms\n${describe()}`);
}

const namedKey = (k: LabTsigKey) => `key "${k.name}" { algorithm ${k.algorithm}; secret "${k.secret}"; };\n`;

function namedOptions(dir: string, address: string, port: number): string {
  return (
    `options {\n  directory "${dir}";\n  listen-on port ${port} { ${address}; };\n  listen-on-v6 { none; };\n  pid-file "${dir}/named.pid";\n` +
    `  recursion no;\n  dnssec-validation no;\n  transfer-source ${address};\n  notify-source ${address};\n  query-source address ${address};\n` +
    `  allow-query { any; };\n  allow-transfer { any; };\n  masterfile-format text;\n  session-keyfile "${dir}/session.key";\n  managed-keys-directory "${dir}";\n};\n` +
    `logging {\n  channel all { file "${dir}/named.log"; severity info; print-time yes; print-category yes; };\n` +
    // Incoming transfers at debug 3 (with -d 3): BIND says there whether an answer was incremental.
    `  channel xfer { file "${dir}/xfer-in.log"; severity debug 3; print-time yes; print-category yes; };\n` +
    `  category default { all; };\n  category xfer-in { xfer; };\n  category xfer-out { all; };\n  category notify { all; };\n};\n`
  );
}

/**
 * named listens only on addresses an interface has (it scans them), unlike NSD and Keymaster:
 * a 127.10.x.y test address is put on lo for its life (we run as root), and taken off at stop
 * when it was not there before.
 */
function loopbackAddress(address: string): () => void {
  const has = execFileSync('ip', ['-4', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' }).includes(`inet ${address}/`);
  if (has) return () => undefined;
  execFileSync('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo']);
  return () => {
    try {
      execFileSync('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo'], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  };
}

async function runNamed(dir: string, conf: string, address: string, port: number, zone: string): Promise<PeerServer & { child: ReturnType<typeof startProcess> }> {
  writeFileSync(join(dir, 'named.conf'), conf);
  execFileSync('named-checkconf', [join(dir, 'named.conf')]);
  const release = loopbackAddress(address);
  const child = startProcess('named', ['-f', '-u', 'root', '-c', join(dir, 'named.conf'), '-n', '1', '-d', '3'], dir);
  try {
    await waitForDns(address, port, zone, child);
  } catch (error) {
    release();
    throw error;
  }
  const stop = stopper(child, dir);
  return { address, port, dir, child, stop: () => stop().finally(release), log: () => readFileSafe(join(dir, 'named.log')) + readFileSafe(join(dir, 'xfer-in.log')), zoneFile: (z) => join(dir, `${z.replace(/\.$/, '')}.db`) };
}

/**
 * named as a secondary of `primary` ("addr" or "addr port N") for `zones`, transfers signed with
 * `key` (IXFR first, BIND's default), NOTIFY accepted from the primary only.
 */
export async function startNamedSecondary(address: string, port: number, zones: readonly string[], primary: { host: string; port: number }, key: LabTsigKey): Promise<PeerServer> {
  const dir = tempDir('named2');
  const zoneBlocks = zones
    .map((z) => `zone "${z}" {\n  type secondary;\n  primaries port ${primary.port} { ${primary.host} key "${key.name}"; };\n  file "${dir}/${z.replace(/\.$/, '')}.db";\n  allow-notify { ${primary.host}; };\n  request-ixfr yes;\n};\n`)
    .join('');
  return runNamed(dir, namedOptions(dir, address, port) + namedKey(key) + zoneBlocks, address, port, zones[0]!);
}

/** named as a primary of `zone` from `zoneText`, dynamic updates and transfers with `key`, NOTIFY to `notify` (addr port). */
export async function startNamedPrimary(address: string, port: number, zone: string, zoneText: string, key: LabTsigKey, notify: { host: string; port: number }): Promise<PeerServer> {
  const dir = tempDir('named1');
  const file = join(dir, `${zone.replace(/\.$/, '')}.db`);
  writeFileSync(file, zoneText);
  const block =
    `zone "${zone}" {\n  type primary;\n  file "${file}";\n  allow-update { key "${key.name}"; };\n  allow-transfer { key "${key.name}"; };\n` +
    `  notify explicit;\n  also-notify { ${notify.host} port ${notify.port} key "${key.name}"; };\n  ixfr-from-differences yes;\n};\n`;
  return runNamed(dir, namedOptions(dir, address, port) + namedKey(key) + block, address, port, zone);
}

/** knotd as a primary of `zone` from `zoneText`, updates and transfers with `key`, NOTIFY to `notify`; `sign`: Knot signs the zone itself (NSEC3, ECDSA P-256) and every update. */
export async function startKnotPrimary(address: string, port: number, zone: string, zoneText: string, key: LabTsigKey, notify: { host: string; port: number }, o: { sign?: boolean } = {}): Promise<PeerServer> {
  const dir = tempDir('knot1');
  const file = join(dir, `${zone.replace(/\.$/, '')}.zone`);
  writeFileSync(file, zoneText);
  mkdirSync(join(dir, 'db'));
  const conf =
    `server:\n  listen: ${address}@${port}\n  rundir: "${dir}"\n  pidfile: "${dir}/knot.pid"\n  user: root:root\n` +
    `log:\n  - target: "${dir}/knot.log"\n    any: info\n` +
    `database:\n  storage: "${dir}/db"\n` +
    `key:\n  - id: ${key.name}\n    algorithm: ${key.algorithm}\n    secret: ${key.secret}\n` +
    `remote:\n  - id: secondary\n    address: ${notify.host}@${notify.port}\n    key: ${key.name}\n    via: ${address}\n` +
    `acl:\n  - id: by-key\n    key: ${key.name}\n    action: [transfer, update]\n` +
    `template:\n  - id: default\n    storage: "${dir}"\n    zonefile-sync: -1\n    journal-content: changes\n    zonefile-load: difference\n` +
    `policy:\n  - id: lab\n    algorithm: ecdsap256sha256\n    nsec3: on\n    nsec3-iterations: 0\n    nsec3-salt-length: 0\n` +
    `zone:\n  - domain: ${zone}\n    file: "${file}"\n    notify: secondary\n    acl: by-key\n${o.sign ? '    dnssec-signing: on\n    dnssec-policy: lab\n' : ''}`;
  writeFileSync(join(dir, 'knot.conf'), conf);
  execFileSync('knotc', ['-c', join(dir, 'knot.conf'), 'conf-check']);
  const child = startProcess('knotd', ['-c', join(dir, 'knot.conf')], dir);
  await waitForDns(address, port, zone, child);
  // Knot answers SERVFAIL until the zone is loaded (and signed): wait for its SOA.
  for (let i = 0; i < 100 && (await soaSerialAt({ host: address, port }, zone)) === undefined; i++) await new Promise((r) => setTimeout(r, 100));
  return { address, port, dir, stop: stopper(child, dir), log: () => readFileSafe(join(dir, 'knot.log')), zoneFile: () => file };
}

/**
 * NSD as a secondary of `primary` for `zones`: transfers (IXFR over TCP first, NSD's default)
 * and NOTIFY both signed with `key`.
 */
export async function startNsdTsigSecondary(address: string, port: number, zones: readonly string[], primary: { host: string; port: number }, key: LabTsigKey): Promise<PeerServer> {
  const dir = tempDir('nsd-tsig');
  const conf = join(dir, 'nsd.conf');
  const zoneBlocks = zones
    .map((z, i) => `zone:\n  name: "${z}"\n  zonefile: "${dir}/zone${i}.db"\n  request-xfr: ${primary.host}@${primary.port} ${key.name}\n  allow-notify: ${primary.host} ${key.name}\n  outgoing-interface: ${address}\n  provide-xfr: 0.0.0.0/0 NOKEY\n`)
    .join('');
  writeFileSync(
    conf,
    `server:\n  ip-address: ${address}@${port}\n  username: ""\n  chroot: ""\n  zonesdir: "${dir}"\n` +
      `  database: ""\n  zonelistfile: "${dir}/zone.list"\n  xfrdfile: "${dir}/xfrd.state"\n` +
      `  pidfile: "${dir}/nsd.pid"\n  logfile: "${dir}/nsd.log"\n  server-count: 1\n  verbosity: 2\n  rrl-ratelimit: 0\n  zonefiles-write: 1\n` +
      `  xfrdir: "${dir}"\nremote-control:\n  control-enable: no\n` +
      `key:\n  name: "${key.name}"\n  algorithm: ${key.algorithm}\n  secret: "${key.secret}"\n${zoneBlocks}`,
  );
  execFileSync('nsd-checkconf', [conf]);
  const child = startProcess('nsd', ['-d', '-c', conf], dir);
  // NSD answers SERVFAIL for a zone it has not transferred yet: answering at all is "up".
  await waitForDns(address, port, zones[0]!, child);
  const index = new Map(zones.map((z, i) => [z, i]));
  return { address, port, dir, stop: stopper(child, dir), log: () => readFileSafe(join(dir, 'nsd.log')) + ((child as unknown as { log?: () => string }).log?.() ?? ''), zoneFile: (z) => join(dir, `zone${index.get(z)}.db`) };
}

/** The zone as `server` transfers it (dig AXFR, signed with `key` when given), in zone file form: what a secondary really serves. */
export function axfrText(server: { host: string; port: number }, zone: string, key?: LabTsigKey): string {
  const tsig = key ? ['-y', `${key.algorithm}:${key.name}:${key.secret}`] : [];
  const text = execFileSync('dig', [...tsig, '+noall', '+answer', '+onesoa', '-p', String(server.port), `@${server.host}`, zone, 'AXFR'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  // dig prints each message's TSIG RR among the records.
  return text.split('\n').filter((l) => !/\sANY\s+TSIG\s/.test(l)).join('\n');
}

/** The zone as `server` transfers it, saved as DIR/LABEL.axfr and checked by dnssec-verify and ldns-verify-zone; throws with their output unless both pass. */
export function verifyTransferredCopy(dir: string, server: { host: string; port: number }, zone: string, label: string, key?: LabTsigKey): void {
  const file = join(dir, `${label}.axfr`);
  writeFileSync(file, axfrText(server, zone, key));
  const bind = spawnSync('dnssec-verify', ['-o', zone, file], { encoding: 'utf8' });
  if (!/Zone fully signed/.test(bind.stdout + bind.stderr)) throw new Error(`${label}: dnssec-verify fails\n${bind.stdout}${bind.stderr}`);
  const ldns = spawnSync('ldns-verify-zone', [file], { encoding: 'utf8' });
  if (!/Zone is verified and complete/.test(ldns.stdout + ldns.stderr)) throw new Error(`${label}: ldns-verify-zone fails\n${ldns.stdout}${ldns.stderr}`);
}

/** One zone's primary and its secondaries as a test follows them: serials, verified copies, everyone's log. */
export interface FollowedZone {
  /** The last `n` characters of each log, headed by its label. */
  describeAll(n?: number): string;
  primarySerial(): Promise<number>;
  /** Waits until every secondary serves `serial` (or later). */
  allAt(serial: number): Promise<void>;
  /** The primary's copy (TSIG) and each secondary's pass dnssec-verify and ldns-verify-zone, saved under `step`. */
  verifyAll(step: string): void;
}

export function followZone(o: {
  readonly dir: string;
  readonly zone: string;
  readonly primary: string;
  readonly key: LabTsigKey;
  /** label → address (port 53). */
  readonly secondaries: Readonly<Record<string, string>>;
  readonly logs: Readonly<Record<string, () => string | undefined>>;
}): FollowedZone {
  const describeAll = (n = 6000) => Object.entries(o.logs).map(([label, log]) => `--- ${label} ---\n${log()?.slice(-n)}\n`).join('');
  return {
    describeAll,
    primarySerial: async () => (await soaSerialAt({ host: o.primary, port: 53 }, o.zone))!,
    allAt: async (serial) => {
      for (const host of Object.values(o.secondaries)) await waitForSerial({ host, port: 53 }, o.zone, serial, describeAll);
    },
    verifyAll: (step) => {
      verifyTransferredCopy(o.dir, { host: o.primary, port: 53 }, o.zone, `${step}-primary`, o.key);
      for (const [label, host] of Object.entries(o.secondaries)) verifyTransferredCopy(o.dir, { host, port: 53 }, o.zone, `${step}-${label}`);
    },
  };
}
