import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exchangeUdp, randomQueryId } from '../../src/resolver/dns-transport.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';

/** Independent implementations from Debian used as oracles and as peers on loopback. */
export function haveTool(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `keymaster-${prefix}-`));
}

export interface RunningServer {
  readonly address: string;
  readonly port: number;
  stop(): Promise<void>;
}

function startProcess(command: string, args: string[], cwd: string): ChildProcess {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  (child as ChildProcess & { log: () => string }).log = () => log;
  return child;
}

/** Waits until a server answers an SOA query for `zone`, or fails with the process output. */
export async function waitForDns(address: string, port: number, zone: string, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const query = newMessage({ id: randomQueryId(), rd: true, question: [{ name: Name.parse(zone), type: RRType.SOA, class: 1 }] });
    try {
      await exchangeUdp({ host: address, port }, query, encodeMessage(query), 300);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const log = (child as ChildProcess & { log?: () => string }).log?.() ?? '';
  child.kill('SIGKILL');
  throw new Error(`server on ${address}#${port} did not answer for ${zone} (exit ${child.exitCode}):\n${log}`);
}

function stopper(child: ChildProcess, dir?: string): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) {
        if (dir) rmSync(dir, { recursive: true, force: true });
        return resolve();
      }
      child.once('exit', () => {
        if (dir) rmSync(dir, { recursive: true, force: true });
        resolve();
      });
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    });
}

/** NSD serving the given zone files (name → path) on address:port, in the foreground. */
export async function startNsd(address: string, port: number, zones: Record<string, string>): Promise<RunningServer> {
  const dir = tempDir('nsd');
  const conf = join(dir, 'nsd.conf');
  const zoneBlocks = Object.entries(zones)
    .map(([name, file]) => `zone:\n  name: "${name}"\n  zonefile: "${file}"\n`)
    .join('');
  writeFileSync(
    conf,
    `server:\n  ip-address: ${address}@${port}\n  username: ""\n  chroot: ""\n  zonesdir: "${dir}"\n` +
      `  database: ""\n  zonelistfile: "${dir}/zone.list"\n  xfrdfile: "${dir}/xfrd.state"\n` +
      `  pidfile: "${dir}/nsd.pid"\n  logfile: "${dir}/nsd.log"\n  server-count: 1\n  verbosity: 1\n` +
      `  xfrdir: "${dir}"\nremote-control:\n  control-enable: no\n${zoneBlocks}`,
  );
  const child = startProcess('nsd', ['-d', '-c', conf], dir);
  await waitForDns(address, port, Object.keys(zones)[0]!, child);
  return { address, port, stop: stopper(child, dir) };
}

export interface UnboundOptions {
  /** Stub zones: name → "addr@port" of the authoritative server. */
  readonly stubs: Record<string, string>;
  /** Trust anchors in zone-file form (DS or DNSKEY lines). */
  readonly trustAnchors: string[];
}

/** Unbound as a validating resolver on address:port, in the foreground. */
export async function startUnbound(address: string, port: number, options: UnboundOptions): Promise<RunningServer> {
  const dir = tempDir('unbound');
  const anchors = join(dir, 'anchors.txt');
  writeFileSync(anchors, options.trustAnchors.join('\n') + '\n');
  const stubs = Object.entries(options.stubs)
    .map(([name, addr]) => `stub-zone:\n  name: "${name}"\n  stub-addr: ${addr}\n`)
    .join('');
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    `server:\n  interface: ${address}@${port}\n  port: ${port}\n  username: ""\n  chroot: ""\n  directory: "${dir}"\n` +
      `  pidfile: "${dir}/unbound.pid"\n  do-daemonize: no\n  use-syslog: no\n  logfile: ""\n  verbosity: 1\n` +
      `  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n  module-config: "validator iterator"\n` +
      `  trust-anchor-file: "${anchors}"\n  val-log-level: 2\n  qname-minimisation: no\n  num-threads: 1\n` +
      `  harden-dnssec-stripped: yes\nremote-control:\n  control-enable: no\n${stubs}`,
  );
  execFileSync('unbound-checkconf', [conf]);
  const child = startProcess('unbound', ['-d', '-c', conf], dir);
  await waitForDns(address, port, Object.keys(options.stubs)[0]!, child);
  return { address, port, stop: stopper(child, dir) };
}

export interface BindSignedZone {
  readonly dir: string;
  /** Path of the signed zone file. */
  readonly signedFile: string;
  /** DS records for the parent, as `dnssec-signzone` wrote them to dsset-ZONE. */
  readonly dsset: string[];
  /** The DNSKEY lines of the generated keys. */
  readonly keyset: string[];
}

/**
 * Signs `zoneText` with BIND's own tools: a KSK and a ZSK of `algorithm` from dnssec-keygen,
 * then dnssec-signzone (NSEC, or NSEC3 when `nsec3` is set).
 */
export function signZoneWithBind(zone: string, zoneText: string, algorithm: string, opts: { nsec3?: boolean; bits?: number } = {}): BindSignedZone {
  const dir = tempDir('bindsign');
  const zoneFile = join(dir, 'zone.db');
  writeFileSync(zoneFile, zoneText);
  const size = opts.bits ? ['-b', String(opts.bits)] : [];
  const ksk = execFileSync('dnssec-keygen', ['-q', '-K', dir, '-a', algorithm, ...size, '-f', 'KSK', zone], { encoding: 'utf8' }).trim();
  const zsk = execFileSync('dnssec-keygen', ['-q', '-K', dir, '-a', algorithm, ...size, zone], { encoding: 'utf8' }).trim();
  const nsec3 = opts.nsec3 ? ['-3', '-'] : [];
  execFileSync('dnssec-signzone', ['-q', '-S', '-K', dir, '-d', dir, '-o', zone, '-f', join(dir, 'zone.signed'), ...nsec3, zoneFile], { cwd: dir, encoding: 'utf8' });
  const dssetFile = readdirSync(dir).find((f) => f.startsWith('dsset-'));
  const lines = (text: string) => text.split('\n').filter((l) => l.trim() && !l.startsWith(';'));
  return {
    dir,
    signedFile: join(dir, 'zone.signed'),
    dsset: dssetFile ? lines(readFileSync(join(dir, dssetFile), 'utf8')) : [],
    keyset: [ksk, zsk].flatMap((k) => lines(readFileSync(join(dir, `${k}.key`), 'utf8'))),
  };
}

export function removeDir(dir: string): void {
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}
