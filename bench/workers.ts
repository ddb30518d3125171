/**
 * `workers`: cached throughput of Keymaster with 1 and with 2 (or BENCH_WORKERS) processes, each
 * against Unbound with as many threads, measured by dnsperf on loopback over the private tree of
 * test/support/dns-hierarchy.ts; plus authoritative answers from a hosted zone (which the workers
 * hand to the primary) and the resident memory of all the processes. Run by hand:
 *
 *     npm run bench:workers
 *
 * Environment: BENCH_SECONDS (10), BENCH_CLIENTS (dnsperf -c, 4), BENCH_OUTSTANDING (dnsperf -q, 100),
 * BENCH_WORKERS (2). Addresses: the tree on 127.10.134.1–17, Keymaster 127.10.134.120 (control
 * :5380), Unbound 127.10.134.121; port 53 (run as root).
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ask, startHierarchy, type Hierarchy } from '../test/support/dns-hierarchy.js';
import { haveTool, removeDir, startKeymaster, tempDir } from '../test/support/external-servers.js';
import { CACHED_QUESTIONS } from './bench-kit.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 4);
const OUTSTANDING = Number(process.env['BENCH_OUTSTANDING'] ?? 100);
const WORKERS = Number(process.env['BENCH_WORKERS'] ?? 2);
const KEYMASTER = '127.10.134.120';
const UNBOUND = '127.10.134.121';
const HOSTED = 'hosted.lab.';


function dnsperf(server: string, dataFile: string): number {
  const out = execFileSync('dnsperf', ['-s', server, '-p', '53', '-d', dataFile, '-c', String(CLIENTS), '-q', String(OUTSTANDING), '-t', '5', '-l', String(SECONDS)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const m = /Queries per second:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`dnsperf output without a rate:\n${out}`);
  return Number(m[1]);
}

/** RSS of a process and its children (the workers), MiB. */
function treeRssMiB(pid: number): number {
  const out = execFileSync('ps', ['-o', 'rss=', '--ppid', String(pid), '-p', String(pid)], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim()).reduce((n, l) => n + Number(l.trim()), 0) / 1024;
}

interface Run {
  readonly label: string;
  readonly cached: number;
  readonly authoritative?: number;
  readonly rssMiB: number;
}

async function keymasterRun(hierarchy: Hierarchy, dir: string, workers: number, files: { cached: string; hosted: string }): Promise<Run> {
  const zoneFile = join(dir, `hosted-${workers}.zone`);
  writeFileSync(zoneFile, `$ORIGIN ${HOSTED}\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A 192.0.2.53\nwww A 192.0.2.80\n`);
  const km = await startKeymaster({
    address: KEYMASTER,
    control: `${KEYMASTER}:5380`,
    rootHints: hierarchy.rootHintsFile,
    workers,
    extraYaml: `log:\n  level: warn\nzones:\n  - name: ${HOSTED}\n    file: ${JSON.stringify(zoneFile)}\n`,
  });
  try {
    for (const [name, type] of CACHED_QUESTIONS) await ask({ host: KEYMASTER, port: 53 }, name, type, { timeoutMs: 15_000 });
    process.stderr.write(`Keymaster workers: ${workers}: cached, ${SECONDS} s\n`);
    const cached = dnsperf(KEYMASTER, files.cached);
    process.stderr.write(`Keymaster workers: ${workers}: authoritative, ${SECONDS} s\n`);
    const authoritative = dnsperf(KEYMASTER, files.hosted);
    return { label: `Keymaster workers: ${workers}`, cached, authoritative, rssMiB: treeRssMiB(km.child.pid!) };
  } finally {
    await km.stop();
  }
}

async function unboundRun(hierarchy: Hierarchy, threads: number, files: { cached: string }): Promise<Run> {
  const unbound = await hierarchy.startUnbound(UNBOUND, { extraConfig: [`num-threads: ${threads}`] });
  try {
    for (const [name, type] of CACHED_QUESTIONS) await ask({ host: UNBOUND, port: 53 }, name, type, { timeoutMs: 15_000 });
    process.stderr.write(`Unbound num-threads: ${threads}: cached, ${SECONDS} s\n`);
    const cached = dnsperf(UNBOUND, files.cached);
    return { label: `Unbound num-threads: ${threads}`, cached, rssMiB: treeRssMiB(unbound.pid()!) };
  } finally {
    await unbound.stop();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  for (const tool of ['nsd', 'unbound', 'dnsperf']) if (!haveTool(tool)) throw new Error(`${tool} is not installed (apt-get install ${tool})`);
  const dir = tempDir('bench-workers');
  let hierarchy: Hierarchy | undefined;
  try {
    hierarchy = await startHierarchy({ prefix: '127.10.134' });
    const files = { cached: join(dir, 'cached.txt'), hosted: join(dir, 'hosted.txt') };
    writeFileSync(files.cached, CACHED_QUESTIONS.map(([n, t]) => `${n} ${t}\n`).join(''));
    writeFileSync(files.hosted, `www.${HOSTED} A\nnope.${HOSTED} A\n${HOSTED} SOA\n`);
    const runs: Run[] = [];
    for (const n of [1, WORKERS]) {
      runs.push(await keymasterRun(hierarchy, dir, n, files));
      runs.push(await unboundRun(hierarchy, n, files));
    }
    const [k1, u1, kn, un] = runs as [Run, Run, Run, Run];
    const rows = [
      ['server', 'cached q/s', 'vs Unbound', 'authoritative q/s', 'RSS MiB (all processes)'],
      ...[[k1, u1], [u1, u1], [kn, un], [un, un]].map(([r, u]) => [r!.label, fmt(r!.cached), (r!.cached / u!.cached).toFixed(2), r!.authoritative === undefined ? '-' : fmt(r!.authoritative), r!.rssMiB.toFixed(0)]),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    process.stdout.write(
      `\nworkers benchmark — dnsperf -c ${CLIENTS} -q ${OUTSTANDING} -l ${SECONDS}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), availableParallelism ${availableParallelism()}; Node ${process.version}\n\n` +
        rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n') +
        `\n\nKeymaster workers: ${WORKERS} / workers: 1, cached: ${(kn.cached / k1.cached).toFixed(2)}; authoritative: ${(kn.authoritative! / k1.authoritative!).toFixed(2)}\n`,
    );
  } finally {
    await hierarchy?.stop();
    removeDir(dir);
  }
}

await main();
