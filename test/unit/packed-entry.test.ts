import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { packEntry, packedExpiresAt, unpackEntry, unpackFields } from '../../src/resolver/packed-entry.js';
import { RecordCache } from '../../src/resolver/record-cache.js';
import { Credibility } from '../../src/resolver/security-status.js';
import type { ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseRecordLine } from '../../src/wire/record-text.js';

const rr = (line: string) => parseRecordLine(line);
const limits = { maxBytes: 1024 * 1024, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 3600 };

const records = [rr('WwW.Example. 300 IN A 192.0.2.1'), rr('www.example. 300 IN A 192.0.2.2')];
const rrsigs = [rr('WwW.Example. 300 IN RRSIG A 13 2 300 20300101000000 20200101000000 12345 example. c2lnbmF0dXJlYnl0ZXM=')];
const proofs = [rr('*.example. 3600 IN NSEC zzz.example. A RRSIG NSEC'), rr('a.b.example. 60 IN NSEC c.example. A')];
const fields = {
  kind: 1, security: 'secure' as const, state: 'secure' as const, code: 3, type: 1, class: 1, ede: 22,
  storedAt: 1_764_000_000_123, expiresAt: 1_764_000_300_123, name: records[0]!.name, text: 'example.: A signed by key 12345 — verified ✓',
};

/** A record as text, its owner's case kept (the cache must hand back what the iterator stored). */
const show = (r: ResourceRecord) => `${Buffer.from(r.name.wire).toString('hex')} ${r.type} ${r.class} ${r.ttl} ${Buffer.from(r.rdata).toString('hex')}`;

describe('packed cache entries', () => {
  it('round-trip: every field, every record, owner case and TTLs as received', () => {
    const packed = packEntry(fields, [records, rrsigs, proofs, []]);
    const e = unpackEntry(packed)!;
    expect(e).toBeDefined();
    const { sections, ...rest } = e;
    expect({ ...rest, name: rest.name.toString() }).toEqual({ ...fields, name: 'WwW.Example.' });
    expect(sections.map((s) => s.map(show))).toEqual([records, rrsigs, proofs, []].map((s) => s.map(show)));
    // The same owner in a row is written once (one byte); decoded records still carry their own case.
    expect(sections[0]![1]!.name.wire).toEqual(records[1]!.name.wire);
    expect(packedExpiresAt(packed)).toBe(fields.expiresAt);
    expect(unpackFields(packed)).toMatchObject({ code: 3, text: fields.text });
  });

  it('optional fields stay absent, and an entry without records round-trips', () => {
    const packed = packEntry({ kind: 0, security: 'unchecked', code: 0, type: 0, class: 0, storedAt: 0, expiresAt: 1, name: Name.root }, []);
    const e = unpackEntry(packed)!;
    expect(e.state).toBeUndefined();
    expect(e.ede).toBeUndefined();
    expect(e.text).toBeUndefined();
    expect(e.sections).toEqual([]);
  });

  it('a truncated entry never decodes, at any length', () => {
    const packed = packEntry(fields, [records, rrsigs, proofs]);
    for (let n = 0; n < packed.length; n++) expect(unpackEntry(packed.subarray(0, n)), `length ${n}`).toBeUndefined();
    expect(unpackEntry(new Uint8Array([...packed, 0]))).toBeUndefined();
  });

  it('a damaged entry never yields a wrong record: every byte flipped, every bit of a few', () => {
    const packed = packEntry(fields, [records, rrsigs, proofs]);
    const original = unpackEntry(packed)!.sections.map((s) => s.map(show));
    for (let i = 0; i < packed.length; i++) {
      for (const mask of i < 40 ? [1, 2, 4, 8, 16, 32, 64, 128] : [0xff, 0x20, 1]) {
        const bad = new Uint8Array(packed);
        bad[i]! ^= mask;
        const e = unpackEntry(bad);
        // Decoding either fails or (never, with the checksum) gives back exactly the same records.
        if (e) expect(e.sections.map((s) => s.map(show)), `byte ${i} ^ ${mask}`).toEqual(original);
        else expect(e).toBeUndefined();
      }
    }
  });

  it('a slice of a larger buffer decodes as well as its own buffer', () => {
    const packed = packEntry(fields, [records]);
    const slab = new Uint8Array(packed.length + 100);
    slab.set(packed, 37);
    expect(unpackEntry(slab.subarray(37, 37 + packed.length))!.sections[0]!.map(show)).toEqual(records.map(show));
    expect(packedExpiresAt(slab.subarray(37, 37 + packed.length))).toBe(fields.expiresAt);
  });

  it('refuses what it cannot represent instead of writing a wrong entry', () => {
    const huge = { ...records[0]!, rdata: new Uint8Array(70_000) };
    expect(() => packEntry(fields, [[huge]])).toThrow(RangeError);
  });
});

describe('RecordCache over packed entries', () => {
  it('TTL math: each record counts down from its own TTL, the entry expires at the lowest (clamped)', () => {
    const clock = new ManualClock(1_000_000);
    const cache = new RecordCache(clock, { ...limits, maxTtl: 3600 });
    const set = [rr('mixed.example. 7200 IN A 192.0.2.1'), rr('mixed.example. 900 IN A 192.0.2.2')];
    const sig = [rr('mixed.example. 600 IN RRSIG A 13 2 7200 20300101000000 20200101000000 12345 example. c2ln')];
    cache.storeRrset(set, sig, Credibility.answer, 'secure');
    clock.advance(250_500);
    const e = cache.rrset(Name.parse('MIXED.example.'), 1)!;
    expect(cache.withRemainingTtl(e.records, e).map((r) => r.ttl)).toEqual([6950, 650]);
    expect(cache.withRemainingTtl(e.rrsigs, e).map((r) => r.ttl)).toEqual([350]);
    expect(cache.remainingTtl(e)).toBe(349);
    expect(e.security).toBe('secure');
    expect(e.credibility).toBe(Credibility.answer);
    clock.advance(349_500);
    expect(cache.rrset(Name.parse('mixed.example.'), 1)).toBeUndefined();
  });

  it('keeps owner-name case, bogus status and proofs as stored', () => {
    const clock = new ManualClock();
    const cache = new RecordCache(clock, limits);
    cache.storeRrset([rr('MiXeD.Example. 300 IN TXT "x"')], [], Credibility.answer, 'bogus', proofs);
    const e = cache.rrset(Name.parse('mixed.example.'), 16)!;
    expect(e.name.toString()).toBe('MiXeD.Example.');
    expect(e.records[0]!.name.toString()).toBe('MiXeD.Example.');
    expect(e.security).toBe('bogus');
    expect(e.proofs.map(show)).toEqual(proofs.map(show));
    cache.storeNegative('nxdomain', Name.parse('GoNe.Example.'), 1, [rr('example. 300 IN SOA ns.example. h.example. 1 2 3 4 300')], 300, 'secure');
    const n = cache.lookup(Name.parse('gone.example.'), 28)!;
    expect(n.kind).toBe('nxdomain');
    expect(n.name.toString()).toBe('GoNe.Example.');
    expect(n.security).toBe('secure');
  });

  it('a higher-credibility live RRset is not replaced by lower-credibility data', () => {
    const clock = new ManualClock();
    const cache = new RecordCache(clock, limits);
    cache.storeRrset([rr('ns.example. 300 IN A 192.0.2.1')], [], Credibility.answer);
    cache.storeRrset([rr('ns.example. 300 IN A 192.0.2.66')], [], Credibility.glue);
    expect(show(cache.rrset(Name.parse('ns.example.'), 1)!.records[0]!)).toBe(show(rr('ns.example. 300 IN A 192.0.2.1')));
  });
});
