/**
 * resolver.cache.maxSize is the real resident cost: a fresh node process (dist/, --expose-gc)
 * fills the record cache, the validated store and the response cache — sharing one budget, as in
 * the resolver — with three times the names they can hold, and reports what its memory grew by.
 * No network: the stores are filled directly, each name as a resolution of a signed A fills them.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAX_SIZE = 48 * 1024 * 1024;
/**
 * RSS growth allowed, as a factor of maxSize: V8's old space grows ahead of what is live and malloc
 * keeps some of what short-lived buffers gave back (measured: 0.93–1.33 with the three stores,
 * which get 75% of maxSize, full).
 */
const RSS_FACTOR = 1.75;
/** Heap and buffers over what the budget charged (measured 1.03): the per-entry constant is honest. */
const HEAP_FACTOR = 1.1;

const dist = (path: string) => pathToFileURL(resolve('dist', path)).href;

const SCRIPT = `
import { ManualClock } from '${dist('clock.js')}';
import { MemoryBudget } from '${dist('resolver/memory-budget.js')}';
import { RecordCache } from '${dist('resolver/record-cache.js')}';
import { KeptAnswers } from '${dist('resolver/kept-answers.js')}';
import { ResponseCache } from '${dist('resolver/response-cache.js')}';
import { Name } from '${dist('wire/name.js')}';
import { encodeMessage } from '${dist('wire/message-encoder.js')}';
import { newMessage } from '${dist('wire/message.js')}';

const [maxSize, names] = process.argv.slice(-2).map(Number);
// V8 gives pages back from background threads after a full GC: a moment for them, then again.
const settle = async () => { gc(); await new Promise((r) => setTimeout(r, 300)); gc(); return process.memoryUsage(); };
const clock = new ManualClock(1_800_000_000_000);
const budget = new MemoryBudget(maxSize);
const records = new RecordCache(clock, { maxBytes: maxSize, minTtl: 0, maxTtl: 86400, maxNegativeTtl: 3600 }, budget);
const kept = new KeptAnswers(budget);
const responses = new ResponseCache(clock, budget);
const zone = Name.parse('fill.example.');
const keep = Name.parse('KeeP.fill.example.');
const signature = new Uint8Array(110).fill(7);
function fill(name, i) {
  const a = { name, type: 1, class: 1, ttl: 3600, rdata: Uint8Array.of(10, (i >> 16) & 255, (i >> 8) & 255, i & 255) };
  const sig = { name, type: 46, class: 1, ttl: 3600, rdata: signature };
  records.storeRrset([a], [sig], 3, 'secure');
  kept.set(name.key + '/1', { rcode: 0, answer: [a, sig], authority: [], security: 'secure', outcome: { state: 'secure', reason: 'fill.example.: ' + name + '/A signed by key 12345' } }, clock.now(), clock.now() + 3600_000);
  const wire = encodeMessage(newMessage({ id: 1, qr: true, rd: true, ra: true, ad: true, question: [{ name, type: 1, class: 1 }], answer: [a, sig] }));
  responses.store(Buffer.from(name.wire).toString('latin1') + '/1/1', name, wire, 3600);
}
const before = await settle();
fill(keep, 0);
for (let i = 0; i < names; i++) {
  fill(Name.parse('n' + i + '.' + zone), i);
  // Asked for now and then, as a popular name is: it must outlive the flood.
  if (i % 1000 === 0) { records.lookup(keep, 1); kept.get(keep.key + '/1'); }
}
const after = await settle();
console.log(JSON.stringify({
  rssGrowth: after.rss - before.rss,
  heapGrowth: after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers,
  charged: budget.totalBytes(),
  entries: { records: records.stats().entries, validated: kept.size, responses: responses.size },
  keepRecords: records.lookup(keep, 1)?.records[0]?.name.toString() ?? null,
  keepVerdict: kept.get(keep.key + '/1')?.answer.outcome?.state ?? null,
  first: records.lookup(Name.parse('n0.' + zone), 1) !== undefined,
  last: records.lookup(Name.parse('n' + (names - 1) + '.' + zone), 1) !== undefined,
}));
`;

interface Report {
  rssGrowth: number;
  heapGrowth: number;
  charged: number;
  entries: { records: number; validated: number; responses: number };
  keepRecords: string | null;
  keepVerdict: string | null;
  first: boolean;
  last: boolean;
}

function run(maxSize: number, names: number): Report {
  // A small young generation: V8 otherwise grows it to 32 MiB under any allocation-heavy work, a
  // fixed cost of the process (in Keymaster's RSS at start) that says nothing of the cache.
  const args = ['--expose-gc', '--max-semi-space-size=2', '--input-type=module', '-e', SCRIPT, '--', String(maxSize), String(names)];
  const out = execFileSync('node', args, { encoding: 'utf8', maxBuffer: 1024 * 1024 });
  return JSON.parse(out.trim().split('\n').pop()!) as Report;
}

describe('resolver.cache.maxSize as resident memory', () => {
  it('filled with three times what fits, RSS grows by no more than maxSize × 1.75, the heap by what was charged, and a name in use survives', { timeout: 180_000 }, () => {
    // At ~1 KB charged per name in the three stores' 75% of 48 MiB, ~39k names fit: ask for 120k.
    const r = run(MAX_SIZE, 120_000);
    console.log(`maxSize ${MAX_SIZE} B: RSS +${r.rssGrowth} B, heap+buffers +${r.heapGrowth} B, charged ${r.charged} B, entries ${JSON.stringify(r.entries)}`);
    expect(r.charged).toBeLessThanOrEqual(MAX_SIZE);
    // Full: evicting, not refusing.
    expect(r.charged).toBeGreaterThan(0.6 * MAX_SIZE * (0.4 + 0.15 + 0.2));
    expect(r.entries.records).toBeLessThan(120_000);
    expect(r.rssGrowth).toBeLessThanOrEqual(RSS_FACTOR * MAX_SIZE);
    expect(r.heapGrowth).toBeLessThanOrEqual(HEAP_FACTOR * r.charged);
    // Least recently used goes first: the oldest name is gone, the newest and the one in use are kept.
    expect(r.first).toBe(false);
    expect(r.last).toBe(true);
    expect(r.keepRecords).toBe('KeeP.fill.example.');
    expect(r.keepVerdict).toBe('secure');
  });
});
