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
  server: ['wire', 'crypto', 'dnssec', 'store', 'storage', 'config', 'logging', 'clock', 'scheduler', 'policy', 'resolver', 'trust', 'authority', 'cluster'],
  // The CLI should need only the control contract and `serve`; it still reads some domain types
  // (listed here so that no new arrow appears unnoticed).
  cli: ['server', 'config', 'logging', 'wire', 'clock', 'crypto', 'trust', 'resolver', 'authority', 'policy', 'storage', 'cluster'],
};

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
});
