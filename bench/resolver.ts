/**
 * Resolver throughput, latency and memory: Keymaster against Unbound (one thread) and against the
 * ceiling of a bare Node UDP responder, all measured by dnsperf on loopback, over the private
 * DNS tree of test/support/dns-hierarchy.ts (real NSD servers). Run by hand:
 *
 *     npm run bench:resolver
 *
 * Phases (each resolver is started fresh, so its cache is cold at the start):
 *   1. ceiling   — dnsperf against bench/udp-ceiling.ts (copy query, set QR, append one A).
 *   2. cold      — COLD_NAMES distinct names n0…nN-1.bulk.example., each asked once: every
 *                  query is a cache miss that goes to the authoritative server (the delegation
 *                  to bulk.example. is cached after the first).
 *   3. cached    — a handful of names, asked over and over for SECONDS seconds.
 *   4. memory    — the rest of MEMORY_NAMES distinct names asked once, then RSS (ps -o rss).
 *
 * Environment: BENCH_SECONDS (10), BENCH_COLD_NAMES (20000), BENCH_MEMORY_NAMES (100000),
 * BENCH_CLIENTS (dnsperf -c, 4), BENCH_OUTSTANDING (dnsperf -q, 100).
 * Addresses: the tree on 127.10.11.0/24, Keymaster 127.10.12.1 (control :5380), Unbound 127.10.12.2,
 * the ceiling responder 127.10.12.3; all port 53 (run as root).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ask, startHierarchy, type Hierarchy } from '../test/support/dns-hierarchy.js';
import { haveTool, removeDir, startKeymaster, tempDir } from '../test/support/external-servers.js';
import { CACHED_QUESTIONS, type PerfResult as KitPerfResult, dnsperf as kitDnsperf, fmt, startUdpCeiling, table } from './bench-kit.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const COLD_NAMES = Number(process.env['BENCH_COLD_NAMES'] ?? 20_000);
const MEMORY_NAMES = Math.max(COLD_NAMES, Number(process.env['BENCH_MEMORY_NAMES'] ?? 100_000));
const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 4);
const OUTSTANDING = Number(process.env['BENCH_OUTSTANDING'] ?? 100);

const KEYMASTER = '127.10.12.1';
const UNBOUND = '127.10.12.2';
const CEILING = '127.10.12.3';


interface PerfResult extends KitPerfResult {
  readonly label: string;
}

async function dnsperf(label: string, server: string, dataFile: string, args: string[]): Promise<PerfResult> {
  return { label, ...(await kitDnsperf(server, dataFile, { clients: CLIENTS, outstanding: OUTSTANDING, args })) };
}

function rssMiB(pid: number): number {
  return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) / 1024;
}

function writeNames(file: string, names: readonly string[], type = 'A'): string {
  writeFileSync(file, names.map((n) => `${n} ${type}\n`).join(''));
  return file;
}

interface ResolverRun {
  readonly cold: PerfResult;
  readonly cached: PerfResult;
  readonly memory?: PerfResult;
  readonly rssStartMiB: number;
  readonly rssAfterMiB: number;
  readonly namesCached: number;
}

async function measureResolver(
  label: string,
  address: string,
  pid: number,
  files: { cold: string; cached: string; memory: string | undefined },
): Promise<ResolverRun> {
  const rssStartMiB = rssMiB(pid);
  process.stderr.write(`${label}: cold run over ${COLD_NAMES} distinct names\n`);
  const cold = await dnsperf(`${label} cold`, address, files.cold, ['-n', '1']);
  for (const [name, type] of CACHED_QUESTIONS) await ask({ host: address, port: 53 }, name, type, { timeoutMs: 15_000 });
  process.stderr.write(`${label}: cached run, ${SECONDS} s\n`);
  const cached = await dnsperf(`${label} cached`, address, files.cached, ['-l', String(SECONDS)]);
  let memory: PerfResult | undefined;
  if (files.memory) {
    process.stderr.write(`${label}: ${MEMORY_NAMES - COLD_NAMES} more distinct names for the memory figure\n`);
    memory = await dnsperf(`${label} memory fill`, address, files.memory, ['-n', '1']);
  }
  return { cold, cached, ...(memory ? { memory } : {}), rssStartMiB, rssAfterMiB: rssMiB(pid), namesCached: cold.completed + (memory?.completed ?? 0) };
}

async function main(): Promise<void> {
  for (const tool of ['nsd', 'unbound', 'dnsperf']) if (!haveTool(tool)) throw new Error(`${tool} is not installed (apt-get install ${tool})`);
  const dir = tempDir('bench-resolver');
  let hierarchy: Hierarchy | undefined;
  const stops: (() => Promise<void>)[] = [];
  try {
    process.stderr.write(`starting the tree with ${MEMORY_NAMES} names in bulk.example.\n`);
    hierarchy = await startHierarchy({ prefix: '127.10.11', bulkNames: MEMORY_NAMES });
    const names = hierarchy.bulkNames;
    const files = {
      cold: writeNames(join(dir, 'cold.txt'), names.slice(0, COLD_NAMES)),
      memory: MEMORY_NAMES > COLD_NAMES ? writeNames(join(dir, 'memory.txt'), names.slice(COLD_NAMES)) : undefined,
      cached: join(dir, 'cached.txt'),
    };
    writeFileSync(files.cached, CACHED_QUESTIONS.map(([n, t]) => `${n} ${t}\n`).join(''));

    process.stderr.write(`ceiling: bare Node UDP responder, ${SECONDS} s\n`);
    const ceilingChild = await startUdpCeiling(CEILING);
    const ceiling = await dnsperf('Node dgram ceiling', CEILING, files.cached, ['-l', String(SECONDS)]);
    ceilingChild.kill('SIGTERM');

    const keymaster = await startKeymaster({ address: KEYMASTER, control: `${KEYMASTER}:5380`, rootHints: hierarchy.rootHintsFile, extraYaml: 'log:\n  level: warn\n' });
    stops.push(() => keymaster.stop());
    const km = await measureResolver('Keymaster', KEYMASTER, keymaster.child.pid!, files);
    await keymaster.stop();

    // Caches big enough for every name (the defaults, 4 MB + 8 MB, would evict most of them).
    const unbound = await hierarchy.startUnbound(UNBOUND, { extraConfig: ['msg-cache-size: 128m', 'rrset-cache-size: 256m'] });
    stops.push(() => unbound.stop());
    const ub = await measureResolver('Unbound', UNBOUND, unbound.pid()!, files);
    await unbound.stop();

    const perfRows = [
      ['run', 'queries/s', 'avg latency ms', 'completed', 'lost', 'Keymaster/Unbound', 'Keymaster/ceiling'],
      row(ceiling),
      row(km.cached, km.cached.qps / ub.cached.qps, km.cached.qps / ceiling.qps),
      row(ub.cached),
      row(km.cold, km.cold.qps / ub.cold.qps),
      row(ub.cold),
    ];
    const memRows = [
      ['resolver', 'RSS at start MiB', 'names cached', 'RSS after MiB', 'KiB per name'],
      memRow('Keymaster', km),
      memRow('Unbound (msg 128m, rrset 256m)', ub),
    ];
    process.stdout.write(
      `\nResolver benchmark — dnsperf -c ${CLIENTS} -q ${OUTSTANDING}; cached runs ${SECONDS} s over ${CACHED_QUESTIONS.length} names; ` +
        `cold runs ${COLD_NAMES} distinct names once; Unbound num-threads 1; ${(await import('node:os')).cpus().length} CPUs\n\n` +
        `${table(perfRows)}\n\nMemory after caching distinct names (ps -o rss):\n\n${table(memRows)}\n` +
        `\nKeymaster/Unbound memory ratio after the fill: ${(km.rssAfterMiB / ub.rssAfterMiB).toFixed(2)}\n`,
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await hierarchy?.stop();
    removeDir(dir);
  }
}

function row(r: PerfResult, vsUnbound?: number, vsCeiling?: number): string[] {
  return [
    r.label,
    fmt(r.qps),
    fmt(r.avgLatencyMs, 3),
    `${fmt(r.completed)}/${fmt(r.sent)}`,
    fmt(r.lost),
    vsUnbound === undefined ? '' : vsUnbound.toFixed(2),
    vsCeiling === undefined ? '' : vsCeiling.toFixed(2),
  ];
}

function memRow(label: string, r: ResolverRun): string[] {
  const grown = r.rssAfterMiB - r.rssStartMiB;
  return [label, fmt(r.rssStartMiB, 1), fmt(r.namesCached), fmt(r.rssAfterMiB, 1), r.namesCached > 0 ? fmt((grown * 1024) / r.namesCached, 2) : '-'];
}

await main();
