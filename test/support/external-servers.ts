import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { exchangeUdp, randomQueryId } from '../../src/resolver/dns-transport.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';

/**
 * Independent implementations from Debian used as oracles and as peers on loopback. A developer
 * without one skips the tests that need it; on CI (CI=true), where `.ci/run` installs every tool
 * the tests use, a missing tool is a failure, never a silent skip.
 */
export function haveTool(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env['CI']) throw new Error(`${tool} is not installed: .ci/run installs every tool the tests use`);
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

export function startProcess(command: string, args: string[], cwd: string): ChildProcess {
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

export function stopper(child: ChildProcess, dir?: string): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
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

/** An NSD from `startNsd`: `reload()` sends SIGHUP, which makes NSD reread zone files whose mtime changed. */
export interface NsdServer extends RunningServer {
  reload(): void;
}

/** NSD serving the given zone files (name → path) on address:port, in the foreground. */
export async function startNsd(address: string, port: number, zones: Record<string, string>): Promise<NsdServer> {
  const dir = tempDir('nsd');
  const conf = join(dir, 'nsd.conf');
  const zoneBlocks = Object.entries(zones)
    .map(([name, file]) => `zone:\n  name: "${name}"\n  zonefile: "${file}"\n`)
    .join('');
  writeFileSync(
    conf,
    `server:\n  ip-address: ${address}@${port}\n  username: ""\n  chroot: ""\n  zonesdir: "${dir}"\n` +
      `  database: ""\n  zonelistfile: "${dir}/zone.list"\n  xfrdfile: "${dir}/xfrd.state"\n` +
      `  pidfile: "${dir}/nsd.pid"\n  logfile: "${dir}/nsd.log"\n  server-count: 1\n  verbosity: 1\n  rrl-ratelimit: 0\n` +
      `  xfrdir: "${dir}"\nremote-control:\n  control-enable: no\n${zoneBlocks}`,
  );
  const child = startProcess('nsd', ['-d', '-c', conf], dir);
  await waitForDns(address, port, Object.keys(zones)[0]!, child);
  return { address, port, stop: stopper(child, dir), reload: () => void child.kill('SIGHUP') };
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
  return runUnbound(conf, dir, address, port, Object.keys(options.stubs)[0]!);
}

/**
 * Unbound from a config the caller wrote into `dir`, in the foreground: checked with
 * unbound-checkconf, started, and ready once it answers for `probeZone`. The dir goes on stop
 * (or at once if it never answers).
 */
export async function runUnbound(conf: string, dir: string, address: string, port: number, probeZone = '.'): Promise<RunningServer & { log(): string }> {
  return runChecked(['unbound-checkconf', conf], ['unbound', '-d', '-c', conf], dir, address, port, probeZone);
}

/**
 * BIND's named from a config the caller wrote into `dir`, in the foreground (-g): checked with
 * named-checkconf, started, and ready once it answers for `probeZone`. The dir goes on stop.
 */
export async function runNamed(conf: string, dir: string, address: string, port: number, probeZone: string): Promise<RunningServer & { log(): string }> {
  return runChecked(['named-checkconf', conf], ['named', '-g', '-c', conf], dir, address, port, probeZone);
}

async function runChecked(check: readonly string[], command: readonly string[], dir: string, address: string, port: number, probeZone: string): Promise<RunningServer & { log(): string }> {
  execFileSync(check[0]!, check.slice(1));
  const child = startProcess(command[0]!, command.slice(1), dir);
  try {
    await waitForDns(address, port, probeZone, child, 20_000);
  } catch (error) {
    removeDir(dir);
    throw error;
  }
  return { address, port, log: (child as ChildProcess & { log: () => string }).log, stop: stopper(child, dir) };
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

// ---------------------------------------------------------------------------------------------
// Keymaster itself as a child process, and raw-packet clients for protocol and fuzz tests.
// ---------------------------------------------------------------------------------------------

export interface KeymasterOptions {
  /** DNS listen address (UDP and TCP). */
  readonly address: string;
  readonly port?: number;
  /** Control API `ADDR:PORT` (loopback). */
  readonly control: string;
  /**
   * `resolver.rootHints`: a named.root-style file, or "builtin" — which tests get as a root that
   * never answers (127.10.255.254), so no test ever sends a query to the real root servers.
   */
  readonly rootHints: string;
  /** `resolver.forwarders` (forward-only when given). */
  readonly forwarders?: readonly string[];
  /** `recursion.allow`; the server's default when absent. */
  readonly allow?: readonly string[];
  /** Arguments for node before the script (e.g. `--cpu-prof` for a benchmark's profile). */
  readonly nodeArgs?: readonly string[];
  /** `dnssec.validation`; default false (most resolver tests run on unsigned trees). */
  readonly validation?: boolean;
  /** `trustAnchors.rootAnchors`; default the shipped trust-anchors/root-anchors.xml. */
  readonly rootAnchors?: string;
  /** `trustAnchors.import`: keyset-/dsset- files. */
  readonly importAnchors?: readonly string[];
  /** More YAML under `trustAnchors:` (two-space indented lines, e.g. an `rfc5011:` block). */
  readonly trustAnchorsYaml?: string;
  /**
   * More YAML under `resolver:` (two-space indented lines, e.g. a `cache:` block). Unless it sets
   * `localZones`, `localZones: { disable: ["test."] }` is added, because the private trees of the
   * tests use the `test.` TLD, which Keymaster (like Unbound, whose launcher says
   * `local-zone: "test." nodefault`) otherwise answers itself.
   */
  readonly resolverYaml?: string;
  /** More YAML under `dnssec:` (two-space indented lines, e.g. a `rollover:` block). */
  readonly dnssecYaml?: string;
  /** `stateDir`: kept by `stop()` (a restart with the same state); default a fresh dir removed on stop. */
  readonly stateDir?: string;
  /** More top-level YAML appended to the generated config (keys not written above). */
  readonly extraYaml?: string;
  /** How long to wait for the first DNS answer. Default 30 s. */
  readonly startTimeoutMs?: number;
  /**
   * `workers`: default 1 (the single process the tests were written for; workers.test.ts asks for
   * more), or KEYMASTER_TEST_WORKERS: the suites run with `KEYMASTER_TEST_WORKERS=2` check that
   * worker processes answer exactly as one process does.
   */
  readonly workers?: number;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KeymasterServer extends RunningServer {
  readonly dir: string;
  readonly stateDir: string;
  readonly configFile: string;
  readonly child: ChildProcess;
  /** The server's stdout and stderr (pino JSON lines), the last 256 KB. */
  log(): string;
  /** The process has not exited. */
  alive(): boolean;
  /** Runs `keymaster ARGS --config CONFIGFILE`; never rejects on a non-zero exit. */
  cli(args: readonly string[], timeoutMs?: number): Promise<CliResult>;
}

const KEYMASTER_CLI = resolvePath('dist/cli/main.js');

/** A named.root-style file naming one root server nobody listens on. */
function deadRootHints(dir: string): string {
  const file = join(dir, 'dead.root');
  writeFileSync(file, '. 3600000 NS a.root-servers.invalid.\na.root-servers.invalid. 3600000 A 127.10.255.254\n');
  return file;
}

/** Runs `node dist/cli/main.js ARGS`; never rejects on a non-zero exit. */
export function runKeymasterCli(args: readonly string[], timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((done) => {
    execFile('node', [KEYMASTER_CLI, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/**
 * `keymaster serve --config <generated yaml>` on address:port (contract keys of DESIGN.md only:
 * listen, stateDir, control, recursion.allow, resolver.rootHints, dnssec.validation: false,
 * trustAnchors.rootAnchors: the shipped trust-anchors/root-anchors.xml). Resolves once the server
 * answers a DNS query (any RCODE); rejects with its log if it exits or does not answer in time.
 */
export async function startKeymaster(options: KeymasterOptions): Promise<KeymasterServer> {
  const port = options.port ?? 53;
  const dir = tempDir('keymaster');
  const stateDir = options.stateDir ?? join(dir, 'state');
  const configFile = join(dir, 'keymaster.yaml');
  const q = (s: string) => JSON.stringify(s);
  writeFileSync(
    configFile,
    `listen: [${q(`${options.address}:${port}`)}]\n` +
      `workers: ${options.workers ?? (Number(process.env['KEYMASTER_TEST_WORKERS']) || 1)}\n` +
      `stateDir: ${q(stateDir)}\n` +
      `control: ${q(options.control)}\n` +
      (options.allow ? `recursion:\n  allow: [${options.allow.map(q).join(', ')}]\n` : '') +
      `resolver:\n  rootHints: ${q(options.rootHints === 'builtin' ? deadRootHints(dir) : options.rootHints)}\n` +
      (options.forwarders ? `  forwarders: [${options.forwarders.map(q).join(', ')}]\n` : '') +
      (options.resolverYaml ?? '') +
      // The test trees live under test. (locally served by default, as in Unbound): iterate it unless told.
      (options.resolverYaml?.includes('localZones') ? '' : '  localZones: { disable: ["test."] }\n') +
      `dnssec:\n  validation: ${options.validation ?? false}\n` +
      (options.dnssecYaml ?? '') +
      `trustAnchors:\n  rootAnchors: ${q(options.rootAnchors ?? resolvePath('trust-anchors/root-anchors.xml'))}\n` +
      (options.importAnchors ? `  import: [${options.importAnchors.map(q).join(', ')}]\n` : '') +
      (options.trustAnchorsYaml ?? '') +
      (options.extraYaml ?? ''),
  );
  // Something else answering there (another test run) would pass the readiness check below.
  const probe = newMessage({ id: randomQueryId(), rd: true, question: [{ name: Name.root, type: RRType.NS, class: 1 }] });
  const squatter = await exchangeUdp({ host: options.address, port }, probe, encodeMessage(probe), 300).then(() => true, () => false);
  if (squatter) {
    removeDir(dir);
    throw new Error(`${options.address}#${port} already answers DNS: another server (another test run?) is using it`);
  }
  const child = spawn('node', [...(options.nodeArgs ?? []), KEYMASTER_CLI, 'serve', '--config', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const append = (d: Buffer) => {
    log += d.toString();
    if (log.length > 512 * 1024) log = log.slice(-256 * 1024);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stop = stopper(child, dir);
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  let answered = false;
  while (!answered && alive() && Date.now() < deadline) {
    if (log.includes('"server.dns-not-built"')) break;
    const query = newMessage({ id: randomQueryId(), rd: true, question: [{ name: Name.root, type: RRType.NS, class: 1 }] });
    try {
      await exchangeUdp({ host: options.address, port }, query, encodeMessage(query), 500);
      answered = true;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  if (answered) {
    // An answer from a process that then fails to start (control address taken…) does not count.
    await new Promise((r) => setTimeout(r, 200));
    answered = alive();
  }
  if (!answered) {
    const why = !alive()
      ? `exited with ${child.exitCode ?? child.signalCode}`
      : log.includes('"server.dns-not-built"')
        ? 'started without DNS listeners (server.dns-not-built: the resolver is not in this build)'
        : `did not answer a DNS query on ${options.address}#${port} in time`;
    const tail = log.slice(-8000);
    await stop();
    throw new Error(`keymaster serve ${why}\n--- config ---\n${readFileSafe(configFile)}\n--- log ---\n${tail}`);
  }
  return {
    address: options.address,
    port,
    dir,
    stateDir,
    configFile,
    child,
    log: () => log,
    alive,
    cli: (args, timeoutMs) => runKeymasterCli([...args, '--config', configFile], timeoutMs),
    stop,
  };
}

export function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '(gone)';
  }
}

/**
 * Sends raw bytes over UDP (from `source` when given: bind to that local address) and resolves
 * with the first datagram that comes back from the server, or undefined after timeoutMs.
 */
export function udpExchangeRaw(server: { host: string; port: number }, bytes: Uint8Array, options: { source?: string; timeoutMs?: number } = {}): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    let settled = false;
    const finish = (value: Uint8Array | undefined, error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      if (error) reject(error);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(undefined), options.timeoutMs ?? 5000);
    socket.on('error', (e) => finish(undefined, e));
    socket.on('message', (msg, rinfo) => {
      if (rinfo.address === server.host && rinfo.port === server.port) finish(new Uint8Array(msg));
    });
    socket.bind({ address: options.source ?? '0.0.0.0', port: 0 }, () => socket.send(bytes, server.port, server.host));
  });
}

/** Prepends the RFC 1035 §4.2.2 two-byte length to each message and joins them. */
export function tcpFrames(messages: readonly Uint8Array[]): Buffer {
  return Buffer.concat(messages.map((m) => {
    const frame = Buffer.alloc(2 + m.length);
    frame.writeUInt16BE(m.length, 0);
    frame.set(m, 2);
    return frame;
  }));
}

/**
 * Writes `payload` (already framed, or garbage) on one TCP connection (from `source` when given),
 * in `chunks` writes, and collects framed messages until `expect` have come, the server closes,
 * or timeoutMs passes.
 */
export function tcpExchangeRaw(
  server: { host: string; port: number },
  payload: Uint8Array,
  options: { expect: number; timeoutMs?: number; chunks?: number; source?: string },
): Promise<{ messages: Uint8Array[]; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: server.host, port: server.port, ...(options.source ? { localAddress: options.source } : {}) });
    const messages: Uint8Array[] = [];
    let buffered = Buffer.alloc(0);
    let closedByServer = false;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ messages, closedByServer });
    };
    const timer = setTimeout(finish, options.timeoutMs ?? 10_000);
    socket.on('error', () => {
      closedByServer = true;
      finish();
    });
    socket.on('end', () => {
      closedByServer = true;
      finish();
    });
    socket.on('connect', () => {
      const chunks = Math.max(1, options.chunks ?? 1);
      const size = Math.ceil(payload.length / chunks);
      for (let i = 0; i < payload.length; i += size) socket.write(payload.subarray(i, i + size));
      if (options.expect === 0) setTimeout(finish, 50);
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const len = buffered.readUInt16BE(0);
        messages.push(new Uint8Array(buffered.subarray(2, 2 + len)));
        buffered = buffered.subarray(2 + len);
      }
      if (messages.length >= options.expect) finish();
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Secondaries: an authoritative server that takes its zones by AXFR from a primary.
// ---------------------------------------------------------------------------------------------

/**
 * NSD as a secondary on address:port for each zone (name → primary "addr@port"), taking the
 * zones by AXFR (`request-xfr: AXFR`). Resolves once NSD answers every zone's SOA with AA,
 * i.e. once every transfer has been loaded; rejects with NSD's log otherwise.
 */
export async function startNsdSecondary(address: string, port: number, zones: Record<string, string>, timeoutMs = 20_000): Promise<RunningServer> {
  const dir = tempDir('nsd2');
  const conf = join(dir, 'nsd.conf');
  const zoneBlocks = Object.entries(zones)
    // Transfers leave from the secondary's own address (outgoing-interface), so a primary's ACL can name it.
    .map(([name, primary], i) => `zone:\n  name: "${name}"\n  zonefile: "${dir}/zone${i}.db"\n  request-xfr: AXFR ${primary} NOKEY\n  allow-notify: ${primary.split('@')[0]} NOKEY\n  outgoing-interface: ${address}\n`)
    .join('');
  writeFileSync(
    conf,
    `server:\n  ip-address: ${address}@${port}\n  username: ""\n  chroot: ""\n  zonesdir: "${dir}"\n` +
      `  database: ""\n  zonelistfile: "${dir}/zone.list"\n  xfrdfile: "${dir}/xfrd.state"\n` +
      `  pidfile: "${dir}/nsd.pid"\n  logfile: "${dir}/nsd.log"\n  server-count: 1\n  verbosity: 2\n  rrl-ratelimit: 0\n` +

      `  xfrdir: "${dir}"\nremote-control:\n  control-enable: no\n${zoneBlocks}`,
  );
  const child = startProcess('nsd', ['-d', '-c', conf], dir);
  const stop = stopper(child, dir);
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(Object.keys(zones));
  while (pending.size > 0 && Date.now() < deadline && child.exitCode === null) {
    for (const zone of [...pending]) {
      const query = newMessage({ id: randomQueryId(), question: [{ name: Name.parse(zone), type: RRType.SOA, class: 1 }] });
      try {
        const { response } = await exchangeUdp({ host: address, port }, query, encodeMessage(query), 300);
        if (response.aa && response.rcode === 0 && response.answer.length > 0) pending.delete(zone);
      } catch {
        // not up yet
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 200));
  }
  if (pending.size > 0) {
    const log = readFileSafe(join(dir, 'nsd.log')) + (child as ChildProcess & { log?: () => string }).log?.();
    await stop();
    throw new Error(`NSD secondary on ${address}#${port} did not load ${[...pending].join(', ')}:\n${log}`);
  }
  return { address, port, stop };
}
