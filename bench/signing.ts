/**
 * Signing a big zone: Keymaster against BIND's `dnssec-signzone` and Knot's `kzonesign`, in one
 * run, on one generated zone. Run by hand:
 *
 *     npm run bench:signing
 *
 * The zone (bench.example.) has BENCH_SIGN_NAMES hosts `hN` with an A record, every tenth with
 * an MX and every 25th with a TXT, besides the apex SOA and NS and three more hosts. All three
 * sign it with ECDSAP256SHA256 (a KSK and a ZSK) and NSEC3 with no extra iterations and no salt
 * (RFC 9276), each from the zone file to a signed zone file:
 *
 *   Keymaster   a fresh `node` process (this file with --keymaster-child) that makes its keys,
 *               then parseZoneText, signZoneInParallel with a thread per core (the compiled
 *               worker threads, required: the run fails rather than sign on one thread),
 *               zoneToText and one write. Timed from spawn to exit, as the other two are. Also
 *               shown alone: the signing, which is what `keymaster zone sign` does (it serves
 *               the signed zone from memory and writes no zone file).
 *   BIND        dnssec-signzone -S -x -3 - -H 0 -n CORES (smart signing with the keys made by
 *               dnssec-keygen -a ECDSAP256SHA256; -x: the DNSKEY RRset by the KSK alone, as the
 *               others do).
 *   Knot        kzonesign -o DIR with a KASP policy `algorithm: ecdsap256sha256, nsec3: on,
 *               nsec3-iterations: 0, nsec3-salt-length: 0, signing-threads: 2` and
 *               `adjust-threads: 2` (two threads, the issue's yardstick; kzonesign has no thread
 *               option of its own). Keys are made by keymgr beforehand. Debian ships kzonesign in
 *               knot-dnssecutils.
 *
 * Key generation is outside the timings of BIND and Knot, inside Keymaster's (two P-256 keys, ~1 ms). Each signer runs BENCH_SIGN_RUNS times (3), in turn, and
 * its best time counts (the machine is shared; the best run is the least disturbed). Afterwards
 * every output is checked: `dnssec-verify` on each (BENCH_SIGN_VERIFY=0 skips it: ~13 s per
 * output at 100k names here), the record counts, and that the three NSEC3 chains have exactly the
 * same owner names (the same names hashed with the same parameters). A failed check is printed
 * under the tables and makes the exit status 1.
 *
 * Environment: BENCH_SIGN_NAMES (100000), BENCH_SIGN_RUNS (3), BENCH_SIGN_VERIFY (1),
 * BENCH_SIGN_KEEP (0: the temporary directory is removed).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signZoneInParallel } from '../src/authority/parallel-signer.js';
import type { ZoneSigningKey } from '../src/authority/zone-signer.js';
import { generateKeyPair } from '../src/crypto/key-generation.js';
import { keyTag } from '../src/crypto/key-tag.js';
import { Name } from '../src/wire/name.js';
import { encodeRdata } from '../src/wire/rdata-codec.js';
import { RRType } from '../src/wire/rr-type.js';
import { parseZoneText, zoneToText } from '../src/wire/zone-file.js';
import { haveTool, removeDir, tempDir } from '../test/support/external-servers.js';

const NAMES = Math.max(1, Number(process.env['BENCH_SIGN_NAMES'] ?? 100_000));
const RUNS = Math.max(1, Number(process.env['BENCH_SIGN_RUNS'] ?? 3));
const VERIFY = process.env['BENCH_SIGN_VERIFY'] !== '0';
const KEEP = process.env['BENCH_SIGN_KEEP'] === '1';
const CORES = availableParallelism();
const KNOT_THREADS = 2;
const ZONE = 'bench.example.';
const ALGORITHM = 13;

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Left-aligned first column, right-aligned the rest, two spaces between. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

function zoneText(names: number): string {
  const lines = [`$ORIGIN ${ZONE}`, '$TTL 3600', '@ IN SOA ns1 hostmaster 1 7200 900 1209600 300', '@ IN NS ns1', '@ IN NS ns2', 'ns1 IN A 192.0.2.1', 'ns2 IN A 192.0.2.2', 'mail IN A 192.0.2.25'];
  for (let i = 0; i < names; i++) {
    lines.push(`h${i} IN A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    if (i % 10 === 0) lines.push(`h${i} IN MX 10 mail`);
    if (i % 25 === 0) lines.push(`h${i} IN TXT "host ${i}"`);
  }
  return lines.join('\n') + '\n';
}

function run(command: string, args: readonly string[], cwd: string): number {
  const start = performance.now();
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}`);
  return seconds;
}

/** `9.18.49` from `dnssec-signzone 9.18.49-1~deb12u3-Debian`, `3.2.6` from `kzonesign (Knot DNS), version 3.2.6`. */
function version(command: string, flag: string): string {
  const r = spawnSync(command, [flag], { encoding: 'utf8' });
  return /(\d+\.\d+\.\d+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? '?';
}

interface Signer {
  readonly label: string;
  readonly threads: number;
  readonly output: string;
  /** Signs the zone file to `output`; the seconds it took. */
  sign(): Promise<number>;
  best: number;
}

// -------------------------------------------------------------------------------------------
// Keymaster
// -------------------------------------------------------------------------------------------

function keymasterKey(zone: Name, role: 'ksk' | 'zsk'): ZoneSigningKey {
  const { privateKey, publicKeyField } = generateKeyPair(ALGORITHM);
  const dnskeyRdata = encodeRdata(RRType.DNSKEY, { flags: role === 'ksk' ? 257 : 256, protocol: 3, algorithm: ALGORITHM, publicKey: publicKeyField });
  return { zone, algorithm: ALGORITHM, keyTag: keyTag(dnskeyRdata), privateKey, dnskeyRdata, role };
}

/**
 * One Keymaster run, in a fresh process like the other signers' (`--keymaster-child ZONEFILE
 * OUTPUT`): keys, parse, sign on a thread per core, write; its phases as JSON on stdout.
 */
async function keymasterChild(zoneFile: string, output: string): Promise<void> {
  const zone = Name.parse(ZONE);
  const keys = [keymasterKey(zone, 'ksk'), keymasterKey(zone, 'zsk')];
  const start = performance.now();
  const { records } = parseZoneText(readFileSync(zoneFile, 'utf8'), { origin: zone, fileName: zoneFile });
  const parsed = performance.now();
  const now = Math.floor(Date.now() / 1000);
  const window = { inception: now - 3600, expiration: now + 30 * 86400 };
  const signed = await signZoneInParallel(
    records,
    { zone, keys, windows: { dnskey: window, ds: window, other: window }, denial: { kind: 'nsec3', iterations: 0, salt: new Uint8Array(0), optOut: false } },
    { threads: CORES, threshold: 0, requireThreads: CORES > 1 },
  );
  const signedAt = performance.now();
  writeFileSync(output, zoneToText(signed, zone));
  const end = performance.now();
  console.log(JSON.stringify({ parse: (parsed - start) / 1000, sign: (signedAt - parsed) / 1000, write: (end - signedAt) / 1000 }));
}

/** The whole run (process start to exit, as the other signers are timed), and inside it the signing alone. */
function keymasterSigners(dir: string, zoneFile: string): [Signer, Signer] {
  const output = join(dir, 'keymaster.signed');
  const inMemory: Signer = { label: 'Keymaster, signing alone (zone sign)', threads: CORES, output, best: Infinity, sign: async () => Infinity };
  const fileToFile: Signer = {
    label: 'Keymaster, zone file to signed file',
    threads: CORES,
    output,
    best: Infinity,
    async sign() {
      const start = performance.now();
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--keymaster-child', zoneFile, output], { encoding: 'utf8', maxBuffer: 1024 * 1024 });
      const seconds = (performance.now() - start) / 1000;
      if (child.status !== 0) throw new Error(`Keymaster signing failed (${child.status ?? child.signal}): ${child.stderr}`);
      const phases = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { parse: number; sign: number; write: number };
      inMemory.best = Math.min(inMemory.best, phases.sign);
      console.log(`  Keymaster: parse ${fmt(phases.parse, 2)} s, sign ${fmt(phases.sign, 2)} s, write ${fmt(phases.write, 2)} s`);
      return seconds;
    },
  };
  return [fileToFile, inMemory];
}

// -------------------------------------------------------------------------------------------
// BIND and Knot
// -------------------------------------------------------------------------------------------

function bindSigner(dir: string, zoneFile: string): Signer {
  const work = join(dir, 'bind');
  mkdirSync(work);
  for (const role of [['-f', 'KSK'], []]) execFileSync('dnssec-keygen', ['-q', '-K', work, '-a', 'ECDSAP256SHA256', ...role, ZONE], { cwd: work });
  const output = join(work, 'zone.signed');
  return {
    label: `BIND dnssec-signzone ${version('dnssec-signzone', '-V')}`,
    threads: CORES,
    output,
    best: Infinity,
    sign: async () => run('dnssec-signzone', ['-q', '-S', '-x', '-K', work, '-d', work, '-3', '-', '-H', '0', '-n', String(CORES), '-o', ZONE, '-f', output, zoneFile], work),
  };
}

function knotSigner(dir: string, zoneFile: string): Signer {
  const work = join(dir, 'knot');
  const out = join(work, 'out');
  mkdirSync(out, { recursive: true });
  const config = join(work, 'knot.conf');
  writeFileSync(
    config,
    `server:
    rundir: "${work}"
database:
    storage: "${work}"
policy:
  - id: bench
    algorithm: ecdsap256sha256
    nsec3: on
    nsec3-iterations: 0
    nsec3-salt-length: 0
    signing-threads: ${KNOT_THREADS}
zone:
  - domain: ${ZONE}
    file: "${zoneFile}"
    dnssec-signing: on
    dnssec-policy: bench
    adjust-threads: ${KNOT_THREADS}
`,
  );
  for (const ksk of ['yes', 'no']) execFileSync('keymgr', ['-c', config, ZONE, 'generate', 'algorithm=ecdsap256sha256', `ksk=${ksk}`, `zsk=${ksk === 'yes' ? 'no' : 'yes'}`], { cwd: work });
  return {
    label: `Knot kzonesign ${version('kzonesign', '-V')}`,
    threads: KNOT_THREADS,
    output: join(out, `${ZONE}zone`),
    best: Infinity,
    sign: async () => run('kzonesign', ['-c', config, '-o', out, ZONE], work),
  };
}

// -------------------------------------------------------------------------------------------
// Checks of the outputs
// -------------------------------------------------------------------------------------------

interface OutputCheck {
  readonly label: string;
  readonly records: number;
  readonly rrsigs: number;
  readonly nsec3: string[];
  readonly nsec3param: string;
  verify: string;
}

function checkOutput(label: string, file: string): OutputCheck {
  const { records } = parseZoneText(readFileSync(file, 'utf8'), { origin: ZONE, fileName: file });
  const nsec3 = records.filter((r) => r.type === RRType.NSEC3).map((r) => r.name.toString().toLowerCase());
  nsec3.sort();
  const param = records.find((r) => r.type === RRType.NSEC3PARAM);
  return {
    label,
    records: records.length,
    rrsigs: records.filter((r) => r.type === RRType.RRSIG).length,
    nsec3,
    nsec3param: param ? Buffer.from(param.rdata).toString('hex') : 'none',
    verify: 'skipped',
  };
}

function dnssecVerify(file: string): string {
  const start = performance.now();
  const r = spawnSync('dnssec-verify', ['-q', '-o', ZONE, file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = fmt((performance.now() - start) / 1000, 1);
  return r.status === 0 ? `valid (${seconds} s)` : `FAILED: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' / ')}`;
}

// -------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dir = tempDir('bench-signing');
  const problems: string[] = [];
  try {
    const zoneFile = join(dir, `${ZONE}zone`);
    writeFileSync(zoneFile, zoneText(NAMES));
    console.log(`Zone ${ZONE}: ${fmt(NAMES)} hosts, ECDSAP256SHA256, NSEC3 (0 extra iterations, no salt); ${CORES} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}; best of ${RUNS}`);

    const [keymaster, keymasterAlone] = keymasterSigners(dir, zoneFile);
    const signers: Signer[] = [keymaster];
    const others: Signer[] = [];
    if (['dnssec-keygen', 'dnssec-signzone'].every(haveTool)) others.push(bindSigner(dir, zoneFile));
    else problems.push('BIND: dnssec-signzone not installed (apt-get install bind9-utils)');
    if (['kzonesign', 'keymgr'].every(haveTool)) others.push(knotSigner(dir, zoneFile));
    else problems.push('Knot: kzonesign not installed (apt-get install knot knot-dnssecutils)');
    signers.push(...others);

    for (let round = 1; round <= RUNS; round++) {
      console.log(`run ${round}:`);
      for (const s of signers) {
        const seconds = await s.sign();
        s.best = Math.min(s.best, seconds);
        console.log(`  ${s.label}: ${fmt(seconds, 2)} s`);
      }
    }

    const base = keymaster.best;
    const rows = [['signer', 'threads', 'seconds', 'ratio to Keymaster file to file']];
    for (const s of [keymaster, keymasterAlone, ...others]) rows.push([s.label, String(s.threads), fmt(s.best, 2), `${fmt(s.best / base, 2)}`]);
    console.log(`\n${table(rows)}`);
    for (const o of others)
      console.log(
        `${o.label}: ${fmt(o.best / base, 2)} × Keymaster's time file to file, ${fmt(o.best / keymasterAlone.best, 2)} × its signing alone (above 1: Keymaster is faster)`,
      );

    const checks = [checkOutput('Keymaster', keymaster.output), ...others.map((o) => checkOutput(o.label.split(' ')[0]!, o.output))];
    if (VERIFY) for (const [i, s] of [keymaster, ...others].entries()) checks[i]!.verify = dnssecVerify(s.output);
    console.log(
      `\n${table([
        ['output', 'records', 'RRSIG', 'NSEC3', 'NSEC3PARAM', 'dnssec-verify'],
        ...checks.map((c) => [c.label, fmt(c.records), fmt(c.rrsigs), fmt(c.nsec3.length), c.nsec3param === '0100000000' ? '1 0 0 -' : c.nsec3param, c.verify]),
      ])}`,
    );
    for (const c of checks) {
      if (c.verify.startsWith('FAILED')) problems.push(`${c.label}: dnssec-verify ${c.verify}`);
      if (c.nsec3param !== '0100000000') problems.push(`${c.label}: NSEC3PARAM is not 1 0 0 - (${c.nsec3param})`);
      if (c.nsec3.join() !== checks[0]!.nsec3.join()) problems.push(`${c.label}: its NSEC3 owner names differ from Keymaster's`);
    }
    // Every host, the apex and ns1/ns2/mail: one NSEC3 each, no empty non-terminals in this zone.
    if (checks[0]!.nsec3.length !== NAMES + 4) problems.push(`Keymaster: ${checks[0]!.nsec3.length} NSEC3 records, expected ${NAMES + 4}`);
    if (problems.length === 0) console.log('\nchecks: every output valid, the same NSEC3 chain owners in all');
  } finally {
    if (KEEP) console.log(`kept ${dir}`);
    else removeDir(dir);
  }
  if (problems.length > 0) {
    console.log(`\nproblems:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    process.exitCode = 1;
  }
}

if (process.argv[2] === '--keymaster-child') await keymasterChild(process.argv[3]!, process.argv[4]!);
else await main();
