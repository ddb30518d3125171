/**
 * Keymaster against Unbound, run one after the other on the same machine in the same process
 * tree, on the private signed tree of bench/counted-signed-tree.ts (127.10.135.0/24). Run by hand
 * (as root: port 53):
 *
 *     npm run bench:cache
 *
 * Each resolver is started fresh (empty cache), validating from the tree's root DS, with
 * Keymaster's `workers` and Unbound's `num-threads` both BENCH_WORKERS (default 1). For each, in order:
 *   cold     BENCH_COLD_NAMES distinct existing names (half under the NSEC zone, half under the
 *            NSEC3 one), each asked once with DO=1 (dnsperf -n 1): wall time. Every answer must be
 *            NOERROR with none lost, and a sample of them AD=1.
 *   cached   BENCH_CACHED_NAMES of those names, asked again and again for BENCH_SECONDS (dnsperf -l):
 *            queries per second.
 *   flood    BENCH_FLOOD_NAMES random names under the NSEC zone, then as many under the NSEC3
 *            zone (the same names for both resolvers; spread over all the zone's NSEC ranges),
 *            each asked once: the queries that reached the zone's servers (counted by the relay
 *            in front of them), and NXDOMAIN for all.
 * Ratios are Keymaster / Unbound: above 1 is better for throughput, worse for time and queries.
 *
 * Environment: BENCH_WORKERS (1), BENCH_COLD_NAMES (500), BENCH_CACHED_NAMES (100),
 * BENCH_SECONDS (10), BENCH_FLOOD_NAMES (5000), BENCH_CLIENTS (dnsperf -c, 4), BENCH_OUTSTANDING
 * (dnsperf -q, 100), BENCH_PROFILE (a directory: Keymaster runs with --cpu-prof into it, or
 * --heap-prof with BENCH_PROFILE_KIND=heap), BENCH_ONLY=cold (the cold runs only).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveTool, removeDir, tempDir } from '../test/support/external-servers.js';
import { askDnssec, startValidatingUnbound, summariseAnswer } from '../test/support/signed-hierarchy.js';
import { type PerfResult, dnsperf, fmt, machine, ratio, startValidatingKeymaster, table } from './bench-kit.js';
import { type CountedSignedTree, TLDS, type Tld, startCountedSignedTree } from './counted-signed-tree.js';

const env = (key: string, fallback: number) => Number(process.env[key] ?? fallback);
const WORKERS = env('BENCH_WORKERS', 1);
const COLD_NAMES = env('BENCH_COLD_NAMES', 500);
const CACHED_NAMES = Math.min(COLD_NAMES, env('BENCH_CACHED_NAMES', 100));
const SECONDS = env('BENCH_SECONDS', 10);
const FLOOD_NAMES = env('BENCH_FLOOD_NAMES', 5000);
const CLIENTS = env('BENCH_CLIENTS', 4);
const OUTSTANDING = env('BENCH_OUTSTANDING', 100);

/** `cold`: the cold run only (for a profile of the cold path). */
const ONLY_COLD = process.env['BENCH_ONLY'] === 'cold';

const PREFIX = '127.10.135';
const KEYMASTER = `${PREFIX}.10`;
const UNBOUND = `${PREFIX}.11`;

interface Files {
  readonly cold: string;
  readonly cached: string;
  readonly flood: Record<Tld, string>;
}

interface Run {
  readonly cold: PerfResult;
  readonly cached: PerfResult;
  readonly flood: Record<Tld, { perf: PerfResult; upstream: number }>;
  /** Anything that was not the answer expected: a fast run of failures must not pass for a fast resolver. */
  readonly problems: string[];
}

function writeQuestions(file: string, names: readonly string[]): string {
  writeFileSync(file, names.map((n) => `${n} A\n`).join(''));
  return file;
}

/** The expected RCODE for every query and nothing lost, else a line saying what dnsperf saw. */
function expectAll(label: string, perf: PerfResult, rcode: string): string[] {
  return perf.lost === 0 && perf.rcodes.startsWith(`${rcode} `) && !perf.rcodes.includes(',') && perf.completed === perf.sent
    ? []
    : [`${label}: ${perf.completed}/${perf.sent} completed, ${perf.lost} lost, ${perf.rcodes}`];
}

async function measure(label: string, address: string, tree: CountedSignedTree, files: Files, sample: readonly string[]): Promise<Run> {
  const perf = (file: string, args: string[], dnssecOk = true) => dnsperf(address, file, { clients: CLIENTS, outstanding: OUTSTANDING, dnssecOk, args });
  const problems: string[] = [];
  process.stderr.write(`${label}: cold, ${COLD_NAMES} names\n`);
  const cold = await perf(files.cold, ['-n', '1']);
  problems.push(...expectAll(`${label} cold`, cold, 'NOERROR'));
  for (const name of sample) {
    const r = await askDnssec({ host: address, port: 53 }, name, 'A');
    if (!r.ad || r.rcode !== 0) problems.push(`${label}: ${name} ${summariseAnswer(r)} (expected NOERROR, AD=1)`);
  }
  if (ONLY_COLD) return { cold, cached: cold, flood: Object.fromEntries(TLDS.map((t) => [t, { perf: cold, upstream: 0 }])) as Run['flood'], problems };
  process.stderr.write(`${label}: cached, ${CACHED_NAMES} names for ${SECONDS} s\n`);
  await perf(files.cached, ['-n', '1'], false);
  const cached = await perf(files.cached, ['-l', String(SECONDS)], false);
  problems.push(...expectAll(`${label} cached`, cached, 'NOERROR'));
  const flood = {} as Run['flood'];
  for (const tld of TLDS) {
    process.stderr.write(`${label}: flood, ${FLOOD_NAMES} random names under ${tld}\n`);
    tree.resetCounts();
    const run = await perf(files.flood[tld], ['-n', '1']);
    flood[tld] = { perf: run, upstream: tree.counts[tld] };
    problems.push(...expectAll(`${label} flood ${tld}`, run, 'NXDOMAIN'));
  }
  return { cold, cached, flood, problems };
}

async function main(): Promise<void> {
  for (const tool of ['nsd', 'unbound', 'dnsperf', 'dnssec-signzone']) if (!haveTool(tool)) throw new Error(`${tool} is not installed`);
  const dir = tempDir('bench-cache');
  const stops: Array<() => Promise<void>> = [];
  try {
    process.stderr.write(`signing and starting the tree on ${PREFIX}.0/24\n`);
    const tree = await startCountedSignedTree(PREFIX, Math.ceil(COLD_NAMES / 2));
    stops.push(() => tree.stop());
    const coldNames = TLDS.flatMap((t) => tree.names(t)).slice(0, COLD_NAMES);
    // Interleaved, so the cached set has names of both zones.
    coldNames.sort((a, b) => Number(/^h(\d+)/.exec(a)![1]) - Number(/^h(\d+)/.exec(b)![1]));
    // hNNNNNNx sorts among the zone's names h0 … hN-1, so the flood falls into every NSEC range,
    // not all into the one before h0 (as random hex labels would).
    const random = (tld: Tld) => Array.from({ length: FLOOD_NAMES }, () => `h${randomInt(1_000_000)}x${randomBytes(2).toString('hex')}.${tld}`);
    const files: Files = {
      cold: writeQuestions(join(dir, 'cold.txt'), coldNames),
      cached: writeQuestions(join(dir, 'cached.txt'), coldNames.slice(0, CACHED_NAMES)),
      flood: Object.fromEntries(TLDS.map((t) => [t, writeQuestions(join(dir, `flood-${t}txt`), random(t))])) as Record<Tld, string>,
    };
    const sample = [coldNames[0]!, coldNames[1]!, coldNames.at(-1)!];

    const keymaster = await startValidatingKeymaster(KEYMASTER, tree, '', WORKERS);
    stops.push(() => keymaster.stop());
    const km = await measure('Keymaster', KEYMASTER, tree, files, sample);
    await keymaster.stop();

    const unbound = await startValidatingUnbound(UNBOUND, 53, { rootHintsFile: tree.rootHintsFile, rootDs: tree.rootDs }, [`num-threads: ${WORKERS}`]);
    stops.push(() => unbound.stop());
    const ub = await measure('Unbound', UNBOUND, tree, files, sample);
    await unbound.stop();

    const rows = [
      ['', 'Keymaster', 'Unbound', 'Keymaster / Unbound'],
      [`cached, queries/s (${CACHED_NAMES} names, ${SECONDS} s)`, fmt(km.cached.qps), fmt(ub.cached.qps), ratio(km.cached.qps, ub.cached.qps)],
      [`cold validated, wall s (${COLD_NAMES} names)`, fmt(km.cold.seconds, 2), fmt(ub.cold.seconds, 2), ratio(km.cold.seconds, ub.cold.seconds)],
      ['cold validated, avg latency ms', fmt(km.cold.avgLatencyMs, 1), fmt(ub.cold.avgLatencyMs, 1), ratio(km.cold.avgLatencyMs, ub.cold.avgLatencyMs)],
      ...TLDS.map((t) => [
        `flood under ${t}, upstream queries (${FLOOD_NAMES} names)`,
        fmt(km.flood[t].upstream),
        fmt(ub.flood[t].upstream),
        ratio(km.flood[t].upstream, ub.flood[t].upstream),
      ]),
    ];
    const problems = [...km.problems, ...ub.problems];
    process.stdout.write(
      `\n${machine()}\nKeymaster workers = Unbound num-threads = ${WORKERS}; dnsperf -c ${CLIENTS} -q ${OUTSTANDING}\n\n${table(rows)}\n` +
        (problems.length > 0 ? `\nNot as expected (these figures do not count):\n${problems.map((p) => `  ${p}`).join('\n')}\n` : '\nEvery answer as expected (RCODE, none lost, AD=1 on the sample).\n'),
    );
    if (problems.length > 0) process.exitCode = 1;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    removeDir(dir);
  }
}

await main();
