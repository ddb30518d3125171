import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { RecordCache } from '../../src/resolver/record-cache.js';
import { Credibility } from '../../src/resolver/security-status.js';
import { ResponseCache, recordTtlOffsets } from '../../src/resolver/response-cache.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseRecordLine } from '../../src/wire/record-text.js';
import { defaultEdns } from '../../src/wire/edns.js';

const rr = (line: string) => parseRecordLine(line);
const limits = { maxBytes: 1024 * 1024, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 3600 };

describe('RecordCache', () => {
  it('counts TTLs down on the clock and forgets expired RRsets', () => {
    const clock = new ManualClock();
    const cache = new RecordCache(clock, limits);
    cache.storeRrset([rr('www.example. 300 IN A 192.0.2.1')], [], Credibility.answer);
    clock.advance(100_000);
    const e = cache.lookup(Name.parse('WWW.example.'), 1)!;
    expect(e.kind).toBe('rrset');
    expect(cache.withRemainingTtl((e as { records: never[] }).records, e)[0]!.ttl).toBe(200);
    clock.advance(200_000);
    expect(cache.lookup(Name.parse('www.example.'), 1)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('caps TTLs at maxTtl and negative TTLs at maxNegativeTtl', () => {
    const clock = new ManualClock();
    const cache = new RecordCache(clock, { ...limits, maxTtl: 600, maxNegativeTtl: 60 });
    cache.storeRrset([rr('a.example. 86400 IN A 192.0.2.1')], [], Credibility.answer);
    cache.storeNegative('nxdomain', Name.parse('nope.example.'), 1, [], 3600);
    clock.advance(61_000);
    expect(cache.lookup(Name.parse('nope.example.'), 28)).toBeUndefined();
    expect(cache.lookup(Name.parse('a.example.'), 1)).toBeDefined();
    clock.advance(540_000);
    expect(cache.lookup(Name.parse('a.example.'), 1)).toBeUndefined();
  });

  it('an NXDOMAIN covers every type; NODATA only its own', () => {
    const cache = new RecordCache(new ManualClock(), limits);
    cache.storeNegative('nxdomain', Name.parse('nx.example.'), 1, [], 300);
    cache.storeNegative('nodata', Name.parse('nd.example.'), 28, [], 300);
    expect(cache.lookup(Name.parse('nx.example.'), 16)?.kind).toBe('nxdomain');
    expect(cache.lookup(Name.parse('nd.example.'), 28)?.kind).toBe('nodata');
    expect(cache.lookup(Name.parse('nd.example.'), 1)).toBeUndefined();
  });

  it('never lets glue replace an authoritative answer (RFC 2181 §5.4.1)', () => {
    const cache = new RecordCache(new ManualClock(), limits);
    cache.storeRrset([rr('ns.example. 300 IN A 192.0.2.1')], [], Credibility.answer);
    cache.storeRrset([rr('ns.example. 300 IN A 198.51.100.66')], [], Credibility.glue);
    const e = cache.rrset(Name.parse('ns.example.'), 1)!;
    expect(e.records[0]!.rdata).toEqual(Uint8Array.from([192, 0, 2, 1]));
  });

  it('answers a CNAME when the asked type is absent', () => {
    const cache = new RecordCache(new ManualClock(), limits);
    cache.storeRrset([rr('alias.example. 300 IN CNAME target.example.')], [], Credibility.answer);
    expect(cache.lookup(Name.parse('alias.example.'), 1)).toMatchObject({ kind: 'rrset', type: 5 });
  });

  it('flushes a name and everything below it, and only that', () => {
    const cache = new RecordCache(new ManualClock(), limits);
    for (const n of ['example.', 'a.example.', 'b.a.example.', 'other.'])
      cache.storeRrset([rr(`${n} 300 IN TXT "x"`)], [], Credibility.answer);
    expect(cache.flush(Name.parse('a.example.'))).toBe(2);
    expect(cache.rrset(Name.parse('example.'), 16)).toBeDefined();
    expect(cache.rrset(Name.parse('b.a.example.'), 16)).toBeUndefined();
    expect(cache.flush()).toBe(2);
  });

  it('stays within its byte bound by evicting the least recently used', () => {
    const cache = new RecordCache(new ManualClock(), { ...limits, maxBytes: 20_000 });
    for (let i = 0; i < 1000; i++) cache.storeRrset([rr(`n${i}.example. 300 IN A 192.0.2.1`)], [], Credibility.answer);
    const s = cache.stats();
    expect(s.bytes).toBeLessThanOrEqual(20_000);
    expect(s.entries).toBeLessThan(1000);
    expect(cache.rrset(Name.parse('n999.example.'), 1)).toBeDefined();
    expect(cache.rrset(Name.parse('n0.example.'), 1)).toBeUndefined();
  });
});

describe('ResponseCache (the encoded-answer fast path)', () => {
  const response = newMessage({
    id: 1, qr: true, rd: true, ra: true,
    question: [{ name: Name.parse('www.example.'), type: 1, class: 1 }],
    answer: [rr('www.example. 300 IN CNAME web.example.'), rr('web.example. 120 IN A 192.0.2.80')],
    edns: defaultEdns(),
  });
  const wire = encodeMessage(response);

  it('finds every record TTL and skips OPT', () => {
    const offsets = recordTtlOffsets(wire);
    expect(offsets).toHaveLength(2);
    expect(offsets.map((o) => Buffer.from(wire).readUInt32BE(o))).toEqual([300, 120]);
  });

  it("re-addresses a cached answer: the query's ID, RD, CD and letter case; TTLs counted down", () => {
    const clock = new ManualClock();
    const cache = new ResponseCache(clock);
    cache.store('k', Name.parse('www.example.'), wire, 120);
    clock.advance(50_000);
    const query = encodeMessage(newMessage({ id: 0xbeef, rd: false, cd: true, question: [{ name: Name.parse('WwW.ExAmple.'), type: 1, class: 1 }], edns: defaultEdns() }));
    const questionEnd = 12 + Name.parse('www.example.').length + 4;
    const out = decodeMessage(cache.answer('k', query, questionEnd, 1232)!);
    expect(out.id).toBe(0xbeef);
    expect(out.rd).toBe(false);
    expect(out.cd).toBe(true);
    expect(out.question[0]!.name.toString()).toBe('WwW.ExAmple.');
    expect(out.answer.map((a) => a.ttl)).toEqual([250, 70]);
    expect(cache.answer('k', query, questionEnd, 40)).toBeUndefined();
    clock.advance(71_000);
    expect(cache.answer('k', query, questionEnd, 1232)).toBeUndefined();
  });
});
