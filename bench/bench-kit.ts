/** What the resolver benches share: dnsperf runs, the machine they ran on, and plain-text tables. */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type KeymasterServer, startKeymaster } from '../test/support/external-servers.js';

export interface PerfResult {
  readonly qps: number;
  readonly avgLatencyMs: number;
  readonly sent: number;
  readonly completed: number;
  readonly lost: number;
  readonly seconds: number;
  /** dnsperf's "Response codes" line, e.g. "NOERROR 1250 (100.00%)". */
  readonly rcodes: string;
}

export interface DnsperfOptions {
  /** dnsperf -c */
  readonly clients: number;
  /** dnsperf -q */
  readonly outstanding: number;
  /** DO=1 (dnsperf -D): answers carry their signatures and the AD bit. */
  readonly dnssecOk?: boolean;
  /** More arguments: `-n 1` (each name once) or `-l SECONDS`. */
  readonly args: readonly string[];
}

/** Asynchronous: a relay or responder in this process keeps running while dnsperf does. */
export async function dnsperf(server: string, dataFile: string, options: DnsperfOptions): Promise<PerfResult> {
  const args = ['-s', server, '-p', '53', '-d', dataFile, '-c', String(options.clients), '-q', String(options.outstanding), '-t', '5', ...(options.dnssecOk ? ['-D'] : []), ...options.args];
  const out = await new Promise<string>((resolve, reject) =>
    execFile('dnsperf', args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => (error ? reject(new Error(`dnsperf: ${error.message}\n${stderr}`)) : resolve(stdout))),
  );
  const num = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) throw new Error(`dnsperf output without ${re}:\n${out}`);
    return Number(m[1]);
  };
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    seconds: num(/Run time \(s\):\s+([\d.]+)/),
    rcodes: /Response codes:\s+(.*)/.exec(out)?.[1]?.trim() ?? '',
  };
}

/** One line: CPU model, cores, Node, Unbound and dnsperf versions. */
export function machine(): string {
  const cpu = cpus();
  const firstLine = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').find((l) => l.trim())?.trim() ?? '?';
    } catch {
      return '?';
    }
  };
  const unbound = firstLine('unbound', ['-V']).replace(/^Version\s+/, '');
  const perf = firstLine('dpkg-query', ['-W', '-f', '${Version}', 'dnsperf']);
  return `${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores; node ${process.version}; Unbound ${unbound}; dnsperf ${perf}`;
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Left-aligned first column, right-aligned numbers, two spaces between. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

/** `a / b` as "0.84 ×", or "-" when b is 0. */
export function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)} ×` : '-';
}

/** bench/udp-ceiling.ts in its own process on address:53; resolves once it listens. */
export function startUdpCeiling(address: string): Promise<ChildProcess> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'udp-ceiling.js');
  const child = spawn('node', [script, address, '53'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`udp-ceiling exited with ${code}`)));
  });
}

/**
 * Keymaster validating from a private tree's root DS (its dsset- file), logging warnings only;
 * BENCH_PROFILE (a directory) runs it under --cpu-prof, or --heap-prof with BENCH_PROFILE_KIND=heap.
 */
export function startValidatingKeymaster(address: string, tree: { rootHintsFile: string; rootDsset: string }, extraYaml = '', workers = 1): Promise<KeymasterServer> {
  const profile = process.env['BENCH_PROFILE'];
  const kind = process.env['BENCH_PROFILE_KIND'] === 'heap' ? 'heap' : 'cpu';
  return startKeymaster({
    ...(profile ? { nodeArgs: [`--${kind}-prof`, `--${kind}-prof-dir=${profile}`] } : {}),
    address,
    control: `${address}:5380`,
    rootHints: tree.rootHintsFile,
    validation: true,
    rootAnchors: 'none',
    importAnchors: [tree.rootDsset],
    workers,
    extraYaml: `log:\n  level: warn\n${extraYaml}`,
  });
}

/** The cached workload over test/support/dns-hierarchy.ts's tree: names every resolver has answered once before the run. */
export const CACHED_QUESTIONS = [
  ['host.a.test.', 'A'],
  ['host.a.test.', 'AAAA'],
  ['www.a.test.', 'A'],
  ['host.b.example.', 'A'],
  ['y.c.lab.', 'A'],
  ['txt.a.test.', 'TXT'],
  ['nope.a.test.', 'A'],
  ['a.test.', 'MX'],
] as const;
