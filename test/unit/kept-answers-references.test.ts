/**
 * A kept answer (verdict) refers to the record-cache entries its answer is made of instead of
 * copying them (kept-answers.ts): rebuilt byte for byte while those entries are the ones it
 * referred to; a miss once any was evicted or replaced, so a verdict never vouches for other bytes.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { ResolverAnswer } from '../../src/resolver/resolver.js';
import { KeptAnswers } from '../../src/resolver/kept-answers.js';
import { MemoryBudget } from '../../src/resolver/memory-budget.js';
import { RecordCache } from '../../src/resolver/record-cache.js';
import { ReasonTemplates } from '../../src/resolver/reason-templates.js';
import { Credibility } from '../../src/resolver/security-status.js';
import type { ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseRecordLine } from '../../src/wire/record-text.js';

const rr = (line: string) => parseRecordLine(line);
const SIG = 'A 13 2 300 20270101000000 20260101000000 12345 example. AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const www = [rr('www.example. 300 IN A 192.0.2.1'), rr('www.example. 300 IN A 192.0.2.2')];
const wwwSig = [rr(`www.example. 300 IN RRSIG ${SIG}`)];
const alias = [rr('alias.example. 300 IN CNAME www.example.')];
const aliasSig = [rr(`alias.example. 300 IN RRSIG ${SIG.replace(/^A /, 'CNAME ')}`)];
const limits = { maxBytes: 16 * 1024 * 1024, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 3600 };
const secure = { state: 'secure' as const, reason: 'example.: signed' };

function setup() {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const memory = new MemoryBudget(limits.maxBytes);
  const records = new RecordCache(clock, limits, memory);
  const kept = new KeptAnswers<ResolverAnswer>(memory, records);
  const answer = (records: ResourceRecord[]): ResolverAnswer => ({ rcode: 0, answer: records, authority: [], security: 'secure', outcome: secure });
  const now = clock.now();
  const set = (key: string, recs: ResourceRecord[]) => kept.set(key, answer(recs), now, now + 300_000);
  return { clock, memory, records, kept, set };
}

const bytesOf = (records: readonly ResourceRecord[]) => records.map((r) => `${r.name.wire.join(',')}|${r.type}|${r.class}|${r.ttl}|${r.rdata.join(',')}`);

describe('kept answers by reference', () => {
  it('rebuilds the answer byte for byte from the record entries (a CNAME chain too), charged less than a copy', () => {
    const { memory, records, kept, set } = setup();
    records.storeRrset(www, wwwSig, Credibility.answer);
    records.storeRrset(alias, aliasSig, Credibility.answer);
    const chain = [...alias, ...aliasSig, ...www, ...wwwSig];
    set('alias/1', chain);
    const byRef = memory.usage().validated.bytes;
    expect(bytesOf(kept.get('alias/1')!.answer.answer)).toEqual(bytesOf(chain));
    expect(kept.get('alias/1')!.answer.outcome).toEqual(secure);
    // The same answer with nothing to refer to is copied: it costs more.
    const alone = setup();
    alone.set('alias/1', chain);
    expect(alone.memory.usage().validated.bytes).toBeGreaterThan(byRef + 150);
    expect(bytesOf(alone.kept.get('alias/1')!.answer.answer)).toEqual(bytesOf(chain));
  });

  it('is a miss once a record it refers to is evicted or replaced by other data (a verdict never vouches for other bytes)', () => {
    const { records, kept, set } = setup();
    records.storeRrset(www, wwwSig, Credibility.answer);
    set('www/1', [...www, ...wwwSig]);
    // A spoofed or changed RRset under the same name and type, signature bytes and all.
    records.storeRrset([rr('www.example. 300 IN A 203.0.113.66')], wwwSig, Credibility.answer);
    expect(kept.get('www/1')).toBeUndefined();
    expect(kept.lost).toBe(1);
    records.storeRrset(www, wwwSig, Credibility.answer);
    set('www/1', [...www, ...wwwSig]);
    records.remove(Name.parse('www.example.'), 1);
    expect(kept.get('www/1')).toBeUndefined();
    expect(kept.lost).toBe(2);
  });

  it('stays good when the same records are stored again (a refresh, a shared CNAME target)', () => {
    const { clock, records, kept, set } = setup();
    records.storeRrset(www, wwwSig, Credibility.answer);
    set('www/1', [...www, ...wwwSig]);
    clock.advance(10_000);
    records.storeRrset(www, wwwSig, Credibility.answer);
    expect(bytesOf(kept.get('www/1')!.answer.answer)).toEqual(bytesOf([...www, ...wwwSig]));
  });

  it('copies what the record cache does not hold as it is: TTLs counted down, other order, an entry expiring first', () => {
    const { clock, records, kept, set } = setup();
    records.storeRrset(www, wwwSig, Credibility.answer);
    const aged = [...www, ...wwwSig].map((r) => ({ ...r, ttl: r.ttl - 5 }));
    set('aged/1', aged);
    set('reordered/1', [...wwwSig, ...www]);
    const now = clock.now();
    kept.set('longer/1', { rcode: 0, answer: [...www, ...wwwSig], authority: [], security: 'secure', outcome: secure }, now, now + 400_000);
    records.remove(Name.parse('www.example.'), 1);
    expect(bytesOf(kept.get('aged/1')!.answer.answer)).toEqual(bytesOf(aged));
    expect(bytesOf(kept.get('reordered/1')!.answer.answer)).toEqual(bytesOf([...wwwSig, ...www]));
    expect(kept.get('longer/1')).toBeDefined();
    expect(kept.lost).toBe(0);
  });

  it('pinned, it keeps its own copy: it outlives its records (serve-stale, prefetch), its recheck time kept', () => {
    const { records, kept, set } = setup();
    records.storeRrset(www, wwwSig, Credibility.answer);
    set('www/1', [...www, ...wwwSig]);
    const k = kept.get('www/1')!;
    k.recheckAt = 1234;
    kept.pin('www/1', k);
    records.remove(Name.parse('www.example.'), 1);
    const again = kept.get('www/1')!;
    expect(bytesOf(again.answer.answer)).toEqual(bytesOf([...www, ...wwwSig]));
    expect(again.recheckAt).toBe(1234);
    expect(again.storedAt).toBe(k.storedAt);
    expect(again.expiresAt).toBe(k.expiresAt);
  });
});

describe('reasons kept as shared templates', () => {
  it('gives back each verdict its own reason, owner and all; a template of an older generation is nothing, never another text', () => {
    const { records, kept, set } = setup();
    records.storeRrset(www, wwwSig, Credibility.answer);
    const now = Date.UTC(2026, 5, 1);
    const reason = (owner: string) => `example.: ${owner}/A signed by key 12345 (algorithm 13), valid until 2027-01-01T00:00:00.000Z`;
    kept.set('www/1', { rcode: 0, answer: [...www, ...wwwSig], authority: [], security: 'secure', outcome: { state: 'secure', reason: reason('www.example.') } }, now, now + 300_000);
    set('other/1', [rr('other.example. 300 IN A 192.0.2.3')]);
    expect(kept.get('www/1')!.answer.outcome?.reason).toBe(reason('www.example.'));
    expect(kept.get('other/1')!.answer.outcome?.reason).toBe(secure.reason);
    const templates = new ReasonTemplates(2);
    const a = templates.pack(reason('a.example.'), 'a.example.')!;
    expect(templates.pack(reason('b.example.'), 'b.example.')).toEqual(a); // one template for both
    expect(templates.unpack(a, 'b.example.')).toBe(reason('b.example.'));
    templates.pack('two', 'x.');
    templates.pack('three', 'x.'); // full: a new generation
    expect(templates.unpack(a, 'a.example.')).toBeUndefined();
    expect(templates.pack('has \u0001 in it', 'x.')).toBeUndefined();
  });
});
