/**
 * DNSSEC validation cost: cold-cache validated resolution, Keymaster against Unbound in the same
 * run, and signatures verified per second in-process. Run by hand (as root: port 53):
 *
 *     npm run bench:validation
 *
 * Part 1, signatures: `verifyRrset` (src/dnssec/rrset-verification.ts) over one A RRset signed by
 * `signRrset` with a fresh key of each algorithm, for BENCH_VERIFY_MS each; beside it node:crypto's
 * bare `verify` with a prepared KeyObject (what is left when our DNSKEY decoding, key import and
 * canonical form are taken away) and, when `openssl` is installed, `openssl speed`'s verify rate
 * (the library's own ceiling on this CPU).
 *
 * Part 2, resolution: the BIND-signed tree of test/support/signed-hierarchy.ts on 127.10.24.0/24,
 * Keymaster (127.10.25.1), Unbound with its defaults (127.10.25.2) and Unbound with
 * `aggressive-nsec: no` (127.10.25.3), each validating from the root DS and started fresh, so its
 * cache is cold. Each is asked BENCH_NAMES distinct names (DO=1), a quarter of each kind, one
 * dnsperf run per kind in this order:
 *   wild-nsec   nK.wild.nsec.sec. A    wildcard expansion, NSEC proof that nK.wild does not exist
 *   wild-nsec3  nK.wild.nsec3.sec. A   the same with NSEC3 (closest encloser, next closer)
 *   nx-nsec     nxK.alg13.sec. A       NXDOMAIN, NSEC proof (name and wildcard)
 *   nx-nsec3    nxK.nsec3.sec. A       NXDOMAIN, NSEC3 proof
 * Every name is a cache miss for the answer; the zone's DNSKEY/DS chain is fetched once. Unbound
 * 1.15+ defaults to `aggressive-nsec: yes` (RFC 8198): a validated NSEC range answers every later
 * name inside it from cache, so its NSEC NXDOMAIN (and wildcard) runs stop being cold after the
 * first few queries. Keymaster has no aggressive use yet; the second Unbound shows the like-for-like
 * figure. After each run one name of the run is asked again and must come back with AD=1 and the
 * expected RCODE, and dnsperf must have seen only that RCODE and no loss; anything else is listed
 * under the table, so a fast run of failures cannot pass for a fast validator.
 *
 * NSD's response rate limiting (on by default in Debian: 200 responses/s per source /24) buckets
 * every NXDOMAIN of a zone, and every expansion of one wildcard, together: exactly this workload.
 * test/support's startNsd turns it off (`rrl-ratelimit: 0`) for every test server.
 *
 * Environment: BENCH_NAMES (5000), BENCH_CLIENTS (dnsperf -c, 4), BENCH_OUTSTANDING (dnsperf -q,
 * 100), BENCH_VERIFY_MS (2000), BENCH_PARTS (signatures,resolution).
 */
import { execFileSync } from 'node:child_process';
import { type KeyObject, verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { signRrset } from '../src/authority/rrset-signer.js';
import { algorithmProfile } from '../src/crypto/algorithm-profile.js';
import { publicKeyFromDnskey } from '../src/crypto/dnskey-public-key.js';
import { generateKeyPair } from '../src/crypto/key-generation.js';
import { keyTag } from '../src/crypto/key-tag.js';
import { verifyRrset } from '../src/dnssec/rrset-verification.js';
import { DEFAULT_VALIDATION_LIMITS, ValidationBudget } from '../src/dnssec/validation-budget.js';
import { decodeRrsig, rrsigSignedData } from '../src/wire/signed-data.js';
import { rcodeToString } from '../src/wire/message.js';
import { Name } from '../src/wire/name.js';
import { parseRecordLine } from '../src/wire/record-text.js';
import { haveTool, removeDir, tempDir } from '../test/support/external-servers.js';
import { askDnssec, type SignedHierarchy, startSignedHierarchy } from '../test/support/signed-hierarchy.js';
import { type PerfResult, dnsperf, fmt, startValidatingKeymaster, table } from './bench-kit.js';

const NAMES = Math.max(4, Number(process.env['BENCH_NAMES'] ?? 5000));
const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 4);
const OUTSTANDING = Number(process.env['BENCH_OUTSTANDING'] ?? 100);
const VERIFY_MS = Number(process.env['BENCH_VERIFY_MS'] ?? 2000);
const PARTS = new Set((process.env['BENCH_PARTS'] ?? 'signatures,resolution').split(',').map((p) => p.trim()));

const TREE_PREFIX = '127.10.24';
const KEYMASTER = '127.10.25.1';
const UNBOUND = '127.10.25.2';
const UNBOUND_NO_AGGRESSIVE = '127.10.25.3';

// -------------------------------------------------------------------------------------------
// Part 1: signatures verified per second
// -------------------------------------------------------------------------------------------

const ALGORITHMS = [
  { number: 8, label: 'RSASHA256 2048', bits: 2048, openssl: { arg: 'rsa2048', line: /^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)/m } },
  { number: 13, label: 'ECDSAP256SHA256', openssl: { arg: 'ecdsap256', line: /ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)/ } },
  { number: 14, label: 'ECDSAP384SHA384', openssl: { arg: 'ecdsap384', line: /ecdsa \(nistp384\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)/ } },
  { number: 15, label: 'ED25519', openssl: { arg: 'ed25519', line: /EdDSA \(Ed25519\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)/ } },
  { number: 16, label: 'ED448', openssl: { arg: 'ed448', line: /EdDSA \(Ed448\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)/ } },
] as const;

/** Calls per second of `fn`, after a short warm-up, over `ms` milliseconds of wall time. */
function rate(fn: () => void, ms: number): number {
  const warm = performance.now() + Math.min(250, ms / 4);
  while (performance.now() < warm) fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 10; i++) fn();
    calls += 10;
    now = performance.now();
  }
  return calls / ((now - start) / 1000);
}

interface SignatureResult {
  readonly label: string;
  readonly verifyRrset: number;
  readonly nodeVerify: number;
  openssl?: number;
}

function measureSignatures(): SignatureResult[] {
  const zone = Name.parse('example.');
  const rrset = [parseRecordLine('www.example. 3600 IN A 192.0.2.1'), parseRecordLine('www.example. 3600 IN A 192.0.2.2')];
  const now = Math.floor(Date.now() / 1000);
  const results: SignatureResult[] = [];
  for (const alg of ALGORITHMS) {
    const pair = generateKeyPair(alg.number, 'bits' in alg ? alg.bits : undefined);
    // DNSKEY RDATA: flags 256 (zone key), protocol 3, algorithm, public key (RFC 4034 §2.1).
    const dnskey = new Uint8Array(4 + pair.publicKeyField.length);
    dnskey.set([1, 0, 3, alg.number]);
    dnskey.set(pair.publicKeyField, 4);
    const rrsig = signRrset(rrset, { zone, algorithm: alg.number, keyTag: keyTag(dnskey), privateKey: pair.privateKey }, { inception: now - 3600, expiration: now + 30 * 86400 });
    const check = () => verifyRrset(rrset, [rrsig], zone, [dnskey], { now, limits: DEFAULT_VALIDATION_LIMITS, budget: new ValidationBudget() });
    const first = check();
    if (first.outcome.state !== 'secure') throw new Error(`${alg.label}: the benchmark signature does not verify: ${first.outcome.reason}`);
    process.stderr.write(`signatures: ${alg.label}\n`);
    const ours = rate(check, VERIFY_MS);

    // The same verification straight through node:crypto, key imported once.
    const fields = decodeRrsig(rrsig.rdata);
    const data = rrsigSignedData(fields, rrset);
    const key: KeyObject = publicKeyFromDnskey(alg.number, pair.publicKeyField);
    const profile = algorithmProfile(alg.number);
    const bare =
      profile.keyType === 'rsa'
        ? () => verify(profile.digest, data, key, fields.signature)
        : profile.keyType === 'ec'
          ? () => verify(profile.digest, data, { key, dsaEncoding: 'ieee-p1363' }, fields.signature)
          : () => verify(null, data, key, fields.signature);
    if (!bare()) throw new Error(`${alg.label}: node:crypto does not verify the benchmark signature`);
    results.push({ label: alg.label, verifyRrset: ours, nodeVerify: rate(bare, VERIFY_MS / 2) });
  }
  return results;
}

/** `openssl speed` verify/s for the algorithms of the table; empty when openssl is missing or fails. */
function opensslSpeed(results: SignatureResult[]): string | undefined {
  if (!haveTool('openssl')) return undefined;
  process.stderr.write('signatures: openssl speed\n');
  let out: string;
  try {
    const seconds = String(Math.max(1, Math.round(VERIFY_MS / 2000)));
    out = execFileSync('openssl', ['speed', '-seconds', seconds, ...ALGORITHMS.map((a) => a.openssl.arg)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  ALGORITHMS.forEach((alg, i) => {
    const m = alg.openssl.line.exec(out);
    if (m) results[i]!.openssl = Number(m[2]);
  });
  return execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
}

function signatureTable(results: readonly SignatureResult[]): string {
  const rows = [['algorithm', 'verifyRrset/s', 'µs each', 'node:crypto verify/s', 'openssl speed verify/s', 'ours/openssl']];
  for (const r of results) {
    rows.push([r.label, fmt(r.verifyRrset), fmt(1e6 / r.verifyRrset, 1), fmt(r.nodeVerify), r.openssl ? fmt(r.openssl) : '-', r.openssl ? (r.verifyRrset / r.openssl).toFixed(2) : '-']);
  }
  return table(rows);
}

// -------------------------------------------------------------------------------------------
// Part 2: cold-cache validated resolution
// -------------------------------------------------------------------------------------------

interface QueryKind {
  readonly id: string;
  readonly name: (k: number) => string;
  readonly rcode: 'NOERROR' | 'NXDOMAIN';
}

const KINDS: readonly QueryKind[] = [
  { id: 'wild-nsec', name: (k) => `n${k}.wild.nsec.sec.`, rcode: 'NOERROR' },
  { id: 'wild-nsec3', name: (k) => `n${k}.wild.nsec3.sec.`, rcode: 'NOERROR' },
  { id: 'nx-nsec', name: (k) => `nx${k}.alg13.sec.`, rcode: 'NXDOMAIN' },
  { id: 'nx-nsec3', name: (k) => `nx${k}.nsec3.sec.`, rcode: 'NXDOMAIN' },
];

interface KindRun {
  readonly kind: QueryKind;
  readonly perf: PerfResult;
  /** Empty when the re-asked name came back with AD=1 and the expected RCODE; else what came back. */
  readonly checkFailure: string;
  /** Signatures the resolver verified during the run, when it says (Keymaster's status). */
  readonly signatureChecks?: number;
}

async function measureResolver(label: string, address: string, files: readonly string[], signatureChecks?: () => Promise<number>): Promise<KindRun[]> {
  const runs: KindRun[] = [];
  for (const [i, kind] of KINDS.entries()) {
    process.stderr.write(`${label}: ${kind.id}, ${perKind()} distinct names\n`);
    const checksBefore = await signatureChecks?.();
    // DO=1, so the answers carry their RRSIGs and proofs and the AD bit (RFC 6840 §5.7).
    const perf = await dnsperf(address, files[i]!, { clients: CLIENTS, outstanding: OUTSTANDING, dnssecOk: true, args: ['-n', '1'] });
    const checksAfter = await signatureChecks?.();
    const probe = kind.name(0);
    let checkFailure = '';
    try {
      const answer = await askDnssec({ host: address, port: 53 }, probe, 'A', { timeoutMs: 10_000 });
      const rcode = rcodeToString(answer.rcode);
      if (rcode !== kind.rcode || !answer.ad) checkFailure = `${probe} A: ${rcode} ad=${answer.ad}, expected ${kind.rcode} ad=true`;
    } catch (error) {
      checkFailure = `${probe} A: ${(error as Error).message}`;
    }
    runs.push({ kind, perf, checkFailure, ...(checksBefore !== undefined && checksAfter !== undefined ? { signatureChecks: checksAfter - checksBefore } : {}) });
  }
  return runs;
}

const perKind = () => Math.floor(NAMES / KINDS.length);

/** All kinds together: queries over the summed run time, latency weighted by completed queries. */
function total(runs: readonly KindRun[]): PerfResult {
  const completed = runs.reduce((s, r) => s + r.perf.completed, 0);
  const seconds = runs.reduce((s, r) => s + r.perf.seconds, 0);
  return {
    qps: completed / seconds,
    avgLatencyMs: runs.reduce((s, r) => s + r.perf.avgLatencyMs * r.perf.completed, 0) / Math.max(1, completed),
    sent: runs.reduce((s, r) => s + r.perf.sent, 0),
    completed,
    lost: runs.reduce((s, r) => s + r.perf.lost, 0),
    seconds,
    rcodes: '',
  };
}

async function measureResolution(): Promise<string> {
  for (const tool of ['nsd', 'unbound', 'dnsperf', 'dnssec-signzone']) if (!haveTool(tool)) throw new Error(`${tool} is not installed`);
  const aggressiveDefault = execFileSync('unbound-checkconf', ['-o', 'aggressive-nsec', '/dev/null'], { encoding: 'utf8' }).trim();
  const unboundVersion = /Version\s+(\S+)/.exec(execFileSync('unbound', ['-V'], { encoding: 'utf8' }))?.[1] ?? '?';
  const dir = tempDir('bench-validation');
  let tree: SignedHierarchy | undefined;
  const stops: (() => Promise<void>)[] = [];
  const stopLast = async () => {
    await stops.pop()?.();
  };
  try {
    process.stderr.write(`signing and starting the tree on ${TREE_PREFIX}.0/24\n`);
    tree = await startSignedHierarchy({ prefix: TREE_PREFIX });
    const files = KINDS.map((kind) => {
      const file = join(dir, `${kind.id}.txt`);
      writeFileSync(file, Array.from({ length: perKind() }, (_, k) => `${kind.name(k)} A\n`).join(''));
      return file;
    });

    const keymaster = await startValidatingKeymaster(KEYMASTER, tree, '');
    stops.push(() => keymaster.stop());
    // `keymaster status --json`: resolver.validation.signatureChecks counts every verification.
    const kmChecks = async () => {
      const r = await keymaster.cli(['status', '--json']);
      const n = (JSON.parse(r.stdout) as { resolver?: { validation?: { signatureChecks?: number } } }).resolver?.validation?.signatureChecks;
      if (r.code !== 0 || typeof n !== 'number') throw new Error(`keymaster status --json gave no signature count: ${r.stderr}${r.stdout}`);
      return n;
    };
    const km = await measureResolver('Keymaster', KEYMASTER, files, kmChecks);
    await stopLast();

    const unbound = await tree.startUnbound(UNBOUND);
    stops.push(() => unbound.stop());
    const ub = await measureResolver(`Unbound (aggressive-nsec: ${aggressiveDefault}, default)`, UNBOUND, files);
    await stopLast();

    const plain = await tree.startUnbound(UNBOUND_NO_AGGRESSIVE, 53, ['aggressive-nsec: no']);
    stops.push(() => plain.stop());
    const ubPlain = await measureResolver('Unbound (aggressive-nsec: no)', UNBOUND_NO_AGGRESSIVE, files);
    await stopLast();

    const rows = [['names', 'Keymaster q/s', 'ms avg', 'KM sigs/q', 'Unbound q/s', 'ms avg', 'KM/UB', 'Unbound no-aggr q/s', 'ms avg', 'KM/UB no-aggr']];
    const sigsPerQuery = (runs: readonly KindRun[]) => {
      const completed = runs.reduce((s, r) => s + r.perf.completed, 0);
      return completed > 0 && runs.every((r) => r.signatureChecks !== undefined) ? (runs.reduce((s, r) => s + r.signatureChecks!, 0) / completed).toFixed(2) : '-';
    };
    const line = (label: string, k: PerfResult, kSigs: string, u: PerfResult, p: PerfResult) => [
      label,
      fmt(k.qps),
      fmt(k.avgLatencyMs, 2),
      kSigs,
      fmt(u.qps),
      fmt(u.avgLatencyMs, 2),
      (k.qps / u.qps).toFixed(2),
      fmt(p.qps),
      fmt(p.avgLatencyMs, 2),
      (k.qps / p.qps).toFixed(2),
    ];
    KINDS.forEach((kind, i) => rows.push(line(kind.id, km[i]!.perf, sigsPerQuery([km[i]!]), ub[i]!.perf, ubPlain[i]!.perf)));
    rows.push(line('all', total(km), sigsPerQuery(km), total(ub), total(ubPlain)));

    const problems: string[] = [];
    for (const [label, runs] of [['Keymaster', km], ['Unbound', ub], ['Unbound no-aggr', ubPlain]] as const) {
      for (const r of runs) {
        if (r.checkFailure) problems.push(`${label} ${r.kind.id}: re-asked ${r.checkFailure}`);
        if (r.perf.lost > 0) problems.push(`${label} ${r.kind.id}: ${r.perf.lost} of ${r.perf.sent} queries lost (no answer in 5 s)`);
        if (!r.perf.rcodes.startsWith(`${r.kind.rcode} `) || r.perf.rcodes.includes(',')) problems.push(`${label} ${r.kind.id}: response codes ${r.perf.rcodes}`);
      }
    }
    return (
      `Cold-cache validated resolution — ${NAMES} distinct names (${perKind()} per kind, A, DO=1), each resolver started fresh; ` +
      `dnsperf -c ${CLIENTS} -q ${OUTSTANDING}; Unbound ${unboundVersion}, num-threads 1; ${cpus().length} CPUs; ` +
      `NSD with rrl-ratelimit: 0 (test/support's startNsd)\n\n` +
      `${table(rows)}\n\n` +
      `wild-*: nK.wild.{nsec,nsec3}.sec. (wildcard expansion + proof that nK.wild does not exist); nx-*: nxK.alg13.sec. (NSEC), nxK.nsec3.sec. (NSEC3).\n` +
      `Unbound ${unboundVersion} defaults to aggressive-nsec: ${aggressiveDefault} (RFC 8198): once one NSEC range is validated it answers every other\n` +
      `name in that range from cache, so its NSEC runs are mostly cache hits; Keymaster does no aggressive NSEC use, so compare\n` +
      `like for like against the aggressive-nsec: no column. Even then Unbound verifies an RRset once and keeps its security status\n` +
      `in the RRset cache, so the NSEC/NSEC3 RRsets every denial repeats are not verified again; Keymaster verifies each answer\n` +
      `whole (KM sigs/q: signatures it verified per query). Only the wild-* rows need a new verification per name from both.\n` +
      `Every answer re-asked after its run: ` +
      (problems.length === 0 ? 'expected RCODE, AD=1, no losses.\n' : `\n  ${problems.join('\n  ')}\n`)
    );
  } finally {
    while (stops.length > 0) await stopLast().catch(() => undefined);
    await tree?.stop();
    removeDir(dir);
  }
}

// -------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  let report = '';
  if (PARTS.has('signatures')) {
    const results = measureSignatures();
    const openssl = opensslSpeed(results);
    report +=
      `Signatures verified per second — one A RRset (2 records), one RRSIG, one DNSKEY, ${VERIFY_MS} ms each, one thread, Node ${process.version}\n\n` +
      `${signatureTable(results)}\n\n` +
      `verifyRrset: the validator's whole check (RRSIG decode, window, key tag, DNSKEY decode and import, canonical RRset, verify).\n` +
      `node:crypto verify: the bare primitive with the key imported once.` +
      (openssl ? ` openssl speed: ${openssl}, its own fixed-size message.\n\n` : '\n\n');
  }
  if (PARTS.has('resolution')) report += await measureResolution();
  process.stdout.write(`\n${report}`);
}

await main();
