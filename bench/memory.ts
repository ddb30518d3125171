/**
 * Resident memory per cached validated name: Keymaster against Unbound, each a real process
 * resolving the same names of a private signed tree. Run by hand (as root: port 53 on loopback):
 *
 *     npm run bench:memory
 *
 * The tree: a signed root (NSD on 127.10.133.1) delegating to a signed `bulk.` (NSD on
 * 127.10.133.2) of BENCH_NAMES (100,000) names n0.bulk. … A, both signed by dnssec-signzone
 * (ECDSA P-256, NSEC); the root's DS is the trust anchor of both resolvers. Each resolver is started
 * fresh (one thread each: Keymaster is one process, Unbound num-threads 1), primed with one name,
 * then asked the first 10,000 names once (dnsperf -n 1), then the rest: RSS (VmRSS) after each
 * step. Keymaster runs twice: as started by default, and with NODE_OPTIONS-style
 * --max-semi-space-size=2 (docs/resource-limits.md). Caches are sized to hold every name: Unbound msg-cache-size 256m, rrset-cache-size 512m;
 * Keymaster resolver.cache.maxSize 1g. Bytes per name = (RSS after N − RSS primed) / names answered.
 *
 * Addresses: 127.10.133.1–2 the tree, .3 Keymaster (control :5380), .4 Unbound, all port 53.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { askDnssec } from '../test/support/signed-hierarchy.js';
import { startValidatingUnbound } from '../test/support/signed-hierarchy.js';
import { haveTool, type KeymasterServer, removeDir, type RunningServer, signZoneWithBind, startKeymaster, startNsd, tempDir } from '../test/support/external-servers.js';

const NAMES = Number(process.env['BENCH_NAMES'] ?? 100_000);
const STEPS = [Math.min(10_000, NAMES), NAMES];
const OUTSTANDING = Number(process.env['BENCH_OUTSTANDING'] ?? 50);
const ROOT_NS = '127.10.133.1';
const BULK_NS = '127.10.133.2';
const KEYMASTER = '127.10.133.3';
const UNBOUND = '127.10.133.4';

interface Tree {
  readonly rootHintsFile: string;
  readonly rootDs: readonly string[];
  readonly rootDsset: string;
  readonly servers: RunningServer[];
  readonly dirs: string[];
}

async function startTree(dir: string): Promise<Tree> {
  const soa = (zone: string) => `$TTL 86400\n${zone} SOA ns.${zone === '.' ? '' : zone} hostmaster.${zone === '.' ? '' : zone} 1 3600 600 864000 3600\n`;
  const lines = [soa('bulk.'), `bulk. NS ns.bulk.\nns.bulk. A ${BULK_NS}\n`];
  for (let i = 0; i < NAMES; i++) lines.push(`n${i}.bulk. A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}\n`);
  process.stderr.write(`signing bulk. with ${NAMES} names (dnssec-signzone)\n`);
  const bulk = signZoneWithBind('bulk.', lines.join(''), 'ECDSAP256SHA256');
  const root = signZoneWithBind('.', `${soa('.')}. NS ns.\nns. A ${ROOT_NS}\nbulk. NS ns.bulk.\nns.bulk. A ${BULK_NS}\n${bulk.dsset.join('\n')}\n`, 'ECDSAP256SHA256');
  const rootHintsFile = join(dir, 'named.root');
  writeFileSync(rootHintsFile, `. 3600000 NS ns.\nns. 3600000 A ${ROOT_NS}\n`);
  const rootDsset = join(dir, 'dsset-.');
  writeFileSync(rootDsset, root.dsset.join('\n') + '\n');
  const servers = [await startNsd(ROOT_NS, 53, { '.': root.signedFile }), await startNsd(BULK_NS, 53, { 'bulk.': bulk.signedFile })];
  return { rootHintsFile, rootDs: root.dsset, rootDsset, servers, dirs: [bulk.dir, root.dir] };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

/** The pid of the process listening on address:53/udp (Unbound's launcher does not give one). */
function listenerPid(address: string): number {
  const out = execFileSync('ss', ['-Hulpn', `src ${address}:53`], { encoding: 'utf8' });
  const m = /pid=(\d+)/.exec(out);
  if (!m) throw new Error(`nothing listens on ${address}:53:\n${out}`);
  return Number(m[1]);
}

function dnsperf(server: string, file: string): { completed: number; qps: number } {
  const out = execFileSync('dnsperf', ['-s', server, '-p', '53', '-d', file, '-n', '1', '-c', '1', '-q', String(OUTSTANDING), '-t', '10'], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  return { completed: num(/Queries completed:\s+(\d+)/), qps: num(/Queries per second:\s+([\d.]+)/) };
}

interface Step {
  readonly names: number;
  readonly rssMiB: number;
  readonly qps: number;
}

interface Run {
  readonly label: string;
  readonly primedMiB: number;
  readonly steps: Step[];
}

/** Primes with one name (keys, delegations), then asks the names of each step once, RSS after each. */
/** `detail`: what else to print (to stderr) after each step, e.g. Keymaster's heap figures. */
async function measure(label: string, address: string, pid: number, files: readonly string[], detail?: () => Promise<string>): Promise<Run> {
  const probe = await askDnssec({ host: address, port: 53 }, 'n0.bulk.', 'A', { timeoutMs: 15_000 });
  if (!probe.ad) throw new Error(`${label}: n0.bulk. A is not validated (AD clear): the bench would measure unvalidated names`);
  await settle();
  const primedMiB = rssMiB(pid);
  const steps: Step[] = [];
  let names = 0;
  for (let i = 0; i < files.length; i++) {
    process.stderr.write(`${label}: asking ${STEPS[i]! - (STEPS[i - 1] ?? 0)} more names\n`);
    const run = dnsperf(address, files[i]!);
    names += run.completed;
    await settle();
    steps.push({ names, rssMiB: rssMiB(pid), qps: run.qps });
    if (detail) process.stderr.write(`${label} at ${names} names: ${await detail()}\n`);
  }
  const last = await askDnssec({ host: address, port: 53 }, `n${NAMES - 1}.bulk.`, 'A', { timeoutMs: 15_000 });
  if (!last.ad) throw new Error(`${label}: the last name is not validated`);
  return { label, primedMiB, steps };
}

/** Keymaster's own view of its memory (status --json): where the RSS is, heap or not, and what the cache stores charge. */
async function keymasterHeap(keymaster: KeymasterServer): Promise<string> {
  const status = JSON.parse((await keymaster.cli(['status', '--json'])).stdout) as { resolver: { memory: { bytes: number; process: Record<string, number>; parts: Record<string, { bytes: number; entries: number }> } } };
  const { process: p, parts, bytes } = status.resolver.memory;
  const mib = (n: number) => (n / 1048576).toFixed(1);
  const stores = Object.entries(parts).filter(([, v]) => v.bytes > 0).map(([k, v]) => `${k} ${mib(v.bytes)} (${v.entries})`).join(', ');
  return `rss ${mib(p['rss']!)} MiB, heapUsed ${mib(p['heapUsed']!)}, heapTotal ${mib(p['heapTotal']!)}, external ${mib(p['external']!)}, arrayBuffers ${mib(p['arrayBuffers']!)}; charged ${mib(bytes)}: ${stores}`;
}

const settle = () => new Promise((r) => setTimeout(r, 2000));
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

const perName = (run: Run, i: number) => ((run.steps[i]!.rssMiB - run.primedMiB) * 1048576) / run.steps[i]!.names;

async function main(): Promise<void> {
  for (const tool of ['nsd', 'unbound', 'dnsperf', 'dnssec-signzone', 'ss']) if (!haveTool(tool)) throw new Error(`${tool} is not installed`);
  const dir = tempDir('bench-memory');
  let tree: Tree | undefined;
  const stops: (() => Promise<void>)[] = [];
  try {
    tree = await startTree(dir);
    const files: string[] = [];
    for (let i = 0; i < STEPS.length; i++) {
      const file = join(dir, `step${i}.txt`);
      const lines: string[] = [];
      for (let n = STEPS[i - 1] ?? 0; n < STEPS[i]!; n++) lines.push(`n${n}.bulk. A\n`);
      writeFileSync(file, lines.join(''));
      files.push(file);
    }

    // Twice: as started by default, and with the small young generation docs/resource-limits.md
    // offers operators (NODE_OPTIONS=--max-semi-space-size=2), which V8 otherwise grows to
    // 32+ MiB under any allocation-heavy work: a cost of the process, not of the names.
    const runs: Run[] = [];
    for (const [label, nodeArgs] of [['Keymaster', []], ['Keymaster (semi-space 2 MiB)', ['--max-semi-space-size=2']]] as const) {
      const keymaster = await startKeymaster({
        address: KEYMASTER, control: `${KEYMASTER}:5380`, rootHints: tree.rootHintsFile, validation: true, rootAnchors: 'none', importAnchors: [tree.rootDsset],
        resolverYaml: '  cache:\n    maxSize: 1g\n', extraYaml: 'log:\n  level: warn\n', nodeArgs,
      });
      stops.push(() => keymaster.stop());
      runs.push(await measure(label, KEYMASTER, keymaster.child.pid!, files, () => keymasterHeap(keymaster)));
      await keymaster.stop();
    }

    const unbound = await startValidatingUnbound(UNBOUND, 53, tree, ['msg-cache-size: 256m', 'rrset-cache-size: 512m']);
    stops.push(() => unbound.stop());
    const ub = await measure('Unbound', UNBOUND, listenerPid(UNBOUND), files);
    await unbound.stop();

    const rows = [['resolver', 'names', 'RSS MiB', 'RSS / Unbound', 'B/name', 'B/name / Unbound']];
    for (const run of [...runs, ub]) {
      rows.push([run.label, '1', fmt(run.primedMiB, 1), (run.primedMiB / ub.primedMiB).toFixed(2), '', '']);
      STEPS.forEach((_, i) => {
        const [k, u] = [run.steps[i]!, ub.steps[i]!];
        rows.push([run.label, fmt(k.names), fmt(k.rssMiB, 1), (k.rssMiB / u.rssMiB).toFixed(2), fmt(perName(run, i)), (perName(run, i) / perName(ub, i)).toFixed(2)]);
      });
    }
    const unboundVersion = /Version\s+(\S+)/.exec(execFileSync('unbound', ['-V'], { encoding: 'utf8' }))?.[1] ?? '?';
    process.stdout.write(
      `\nMemory per cached validated name — ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, node ${process.version}, unbound ${unboundVersion}; ` +
        `one thread each; dnsperf -n 1 -q ${OUTSTANDING}\n\n${table(rows)}\n`,
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    for (const s of tree?.servers ?? []) await s.stop().catch(() => undefined);
    for (const d of tree?.dirs ?? []) removeDir(d);
    removeDir(dir);
  }
}

await main();
