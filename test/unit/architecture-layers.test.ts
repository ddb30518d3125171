import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The floors of docs/architecture.md, enforced: every import in src/ goes along an arrow. A
 * folder may import itself and the floors listed for it; top-level modules (`clock.ts`,
 * `scheduler.ts`) are floors of their own.
 */
const PURE = ['wire', 'crypto', 'dnssec'];
const ALLOWED: Record<string, readonly string[]> = {
  wire: [],
  crypto: ['wire'],
  dnssec: ['wire', 'crypto'],
  storage: [],
  store: ['wire', 'storage'],
  config: ['wire'],
  logging: ['config'],
  clock: [],
  scheduler: ['clock'],
  policy: ['wire', 'store', 'storage', 'clock', 'scheduler', 'logging', 'config'],
  resolver: ['wire', 'crypto', 'dnssec', 'trust', 'policy', 'clock', 'logging'],
  // trust reads its own config section (the TrustAnchorsConfig type: root anchors, imports, RFC 5011 timers).
  trust: ['wire', 'crypto', 'dnssec', 'store', 'storage', 'clock', 'scheduler', 'logging', 'config'],
  // authority reads its zones' own config section (ZoneConfig, ACL prefixes): config/ is below it.
  authority: ['wire', 'crypto', 'dnssec', 'store', 'storage', 'clock', 'scheduler', 'logging', 'config'],
  // cluster reads its own config section (the ClusterConfig type).
  cluster: ['store', 'storage', 'clock', 'scheduler', 'logging', 'wire', 'config'],
  // RFC 7873 server cookies and the secret they are made from (kept in stateDir, rotated).
  cookies: ['wire', 'crypto', 'clock', 'logging', 'storage'],
  // The control API's paths, bodies and error codes; domain types it names are imported as types only (checked below).
  'control-contract': ['wire', 'config', 'storage', 'resolver', 'trust', 'authority', 'policy', 'cluster'],
  // Packets only: DNS listeners and the query pipeline, asking the domains for answers.
  server: ['wire', 'crypto', 'dnssec', 'config', 'logging', 'clock', 'resolver', 'authority', 'cookies', 'control-contract'],
  // What the server counts and reports, read from the server and the domains.
  metrics: ['wire', 'clock', 'config', 'server', 'control-contract', 'resolver', 'trust', 'authority', 'version'],
  // The control API's HTTP layer: routes that call the domains, the console, the metrics endpoint.
  control: ['wire', 'crypto', 'config', 'logging', 'clock', 'storage', 'store', 'control-contract', 'server', 'metrics', 'resolver', 'trust', 'authority', 'policy', 'cluster', 'version'],
  // The process model: the DNS worker processes (node:cluster) and their supervisor in the primary.
  workers: ['wire', 'clock', 'scheduler', 'config', 'logging', 'server', 'cookies', 'resolver', 'control-contract'],
  // The composition root: builds every part from the config and wires them together.
  serve: ['wire', 'crypto', 'dnssec', 'store', 'storage', 'config', 'logging', 'clock', 'scheduler', 'policy', 'resolver', 'trust', 'authority', 'cluster', 'cookies', 'control-contract', 'server', 'metrics', 'control', 'version', 'workers'],
  version: [],
  // The command: a client of the control contract, and `serve`. Besides: config (loading, durations),
  // logging and serve (`keymaster serve`), init (storage, store: the state directory), the `query`
  // command's DNS client (wire, resolver/dns-transport), input checked before it is sent (policy:
  // namespace, until, forwarders), and algorithm names for display (crypto).
  cli: ['control-contract', 'serve', 'config', 'logging', 'wire', 'crypto', 'resolver', 'policy', 'storage', 'store', 'version'],
};

/** Domains: they never import the packet layer, the HTTP layer, metrics or the composition root. */
const DOMAINS = ['resolver', 'trust', 'authority', 'policy', 'cluster'];
const ABOVE_DOMAINS = ['server', 'control', 'metrics', 'serve', 'cli'];
const MAX_SERVER_LINES = 2000;

const SRC = resolve('src');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function layerOf(file: string): string {
  const rel = relative(SRC, file);
  const first = rel.split('/')[0]!;
  return first.replace(/\.(ts|js)$/, '');
}

describe('architecture: imports follow the floors of docs/architecture.md', () => {
  const files = sourceFiles(SRC);

  it('every folder of src/ is a known floor', () => {
    expect([...new Set(files.map(layerOf))].filter((l) => !(l in ALLOWED))).toEqual([]);
  });

  it('no import goes against the arrows', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const spec = m[1] ?? m[2]!;
        if (!spec.startsWith('.')) continue;
        const to = layerOf(resolve(dirname(file), spec));
        if (to !== from && !ALLOWED[from]!.includes(to)) violations.push(`${relative(SRC, file)} imports ${spec} (${from} → ${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the pure floors do no I/O and read no clock of their own', () => {
    const impure = /from ['"]node:(fs|net|dgram|http|https|http2|child_process|worker_threads)(\/promises)?['"]|Date\.now\(\)|new Date\(\)|performance\.now\(\)/;
    const offenders = files.filter((f) => PURE.includes(layerOf(f)) && impure.test(readFileSync(f, 'utf8'))).map((f) => relative(SRC, f));
    expect(offenders).toEqual([]);
  });

  it('domains never import server/, control/, metrics/, serve/ or cli/', () => {
    for (const d of DOMAINS) expect(ALLOWED[d]!.filter((to) => ABOVE_DOMAINS.includes(to))).toEqual([]);
  });

  it('the control contract names domain types as types only (no domain code runs in a client)', () => {
    const valueImport = /(?:^|\n)\s*(import|export)\s+(?!type\b)[^'"]*?from\s*['"](\.\.\/(resolver|trust|authority|policy)\/[^'"]+)['"]/g;
    const offenders = files.filter((f) => layerOf(f) === 'control-contract').flatMap((f) => [...readFileSync(f, 'utf8').matchAll(valueImport)].map((m) => `${relative(SRC, f)} imports ${m[2]}`));
    expect(offenders).toEqual([]);
  });

  it(`src/server/ (DNS listeners and the query pipeline) stays under ${MAX_SERVER_LINES} lines`, () => {
    const lines = files.filter((f) => layerOf(f) === 'server').reduce((n, f) => n + readFileSync(f, 'utf8').split('\n').length - 1, 0);
    expect(lines).toBeLessThan(MAX_SERVER_LINES);
  });

  // File and function sizes: test/unit/source-shape.test.ts.
});
