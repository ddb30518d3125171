/**
 * The store of validated NSEC/NSEC3 ranges (RFC 8198) on its own, fed the proofs of zones signed
 * by the project's signer: what it answers, and what it must refuse even when handed records
 * (opt-out spans, a zone cut's NSEC, an expired range, a name below another zone).
 */
import { describe, expect, it } from 'vitest';
import { answerFromZone } from '../../src/authority/authoritative-answer.js';
import { ValidationBudget } from '../../src/dnssec/validation-budget.js';
import { type ProvenDenial, AggressiveNsecCache } from '../../src/resolver/aggressive-nsec-cache.js';
import { MemoryBudget } from '../../src/resolver/memory-budget.js';
import { Rcode } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { SignedWorld } from '../fixtures/validation/signed-world.js';

const world = SignedWorld.build([
  { origin: '.' },
  { origin: 'example.', records: ['a.example. 3600 IN A 192.0.2.1', 'sub.example. 3600 IN NS ns.elsewhere.', 'z.example. 3600 IN A 192.0.2.3'] },
  { origin: 'optout.', denial: { kind: 'nsec3', iterations: 0, salt: new Uint8Array(), optOut: true }, records: ['a.optout. 3600 IN A 192.0.2.11'] },
  { origin: 'n3.', denial: { kind: 'nsec3', iterations: 0, salt: new Uint8Array(), optOut: false }, records: ['a.n3. 3600 IN A 192.0.2.31'] },
]);
const N = (s: string) => Name.parse(s);

/** The proof the zone's server gives for a name, as the validator would hand it over. */
function proofFor(origin: string, qname: string, qtype = RRType.A): ProvenDenial {
  const zone = world.zone(origin).data;
  const a = answerFromZone(zone, N(qname), qtype, true);
  return {
    zone: N(origin),
    records: a.authority.filter((r) => r.type === RRType.NSEC || r.type === RRType.NSEC3),
    soa: a.authority.filter((r) => r.type === RRType.SOA),
    rrsigs: a.authority.filter((r) => r.type === RRType.RRSIG),
    ttl: 300,
  };
}

const cache = () => new AggressiveNsecCache(MemoryBudget.whole('denial', 1 << 20), { maxTtl: 86_400, maxNegativeTtl: 3600 });
const budget = () => new ValidationBudget();

describe('AggressiveNsecCache', () => {
  it('answers NXDOMAIN for a name in a learnt NSEC range, with SOA, NSEC and their RRSIGs, TTL capped by the SOA minimum', () => {
    const c = cache();
    c.learn([proofFor('example.', 'b.example.')], 0);
    const a = c.answer(N('c.example.'), RRType.A, 1000, budget());
    expect(a?.rcode).toBe(Rcode.NXDOMAIN);
    const soa = a!.authority.find((r) => r.type === RRType.SOA)!;
    expect(a!.authority.some((r) => r.type === RRType.NSEC)).toBe(true);
    expect(a!.authority.filter((r) => r.type === RRType.RRSIG).length).toBeGreaterThanOrEqual(2);
    for (const r of a!.authority) expect(r.ttl).toBeLessThanOrEqual(Math.min(299, soa.ttl));
  });

  it('a name outside the learnt range, or past the range\'s TTL, is not answered', () => {
    const c = cache();
    c.learn([proofFor('example.', 'b.example.')], 0);
    expect(c.answer(N('zz.example.'), RRType.A, 1000, budget())).toBeUndefined();
    expect(c.answer(N('c.example.'), RRType.A, 301_000, budget())).toBeUndefined();
  });

  it('never denies names below a zone cut from the parent\'s NSEC at the delegation (RFC 6840 §4.1)', () => {
    const c = cache();
    c.learn([proofFor('example.', 'sub.example.', RRType.DS)], 0);
    expect(c.answer(N('www.sub.example.'), RRType.A, 1000, budget())).toBeUndefined();
    expect(c.answer(N('sub.example.'), RRType.A, 1000, budget())).toBeUndefined();
  });

  it('never keeps NSEC3 opt-out records, even when handed them', () => {
    const c = cache();
    c.learn([proofFor('optout.', 'b.optout.')], 0);
    expect(c.stats().ranges).toBe(1); // the SOA only
    expect(c.answer(N('b.optout.'), RRType.A, 1000, budget())).toBeUndefined();
    expect(c.answer(N('c.optout.'), RRType.A, 1000, budget())).toBeUndefined();
  });

  it('answers from NSEC3 without opt-out, paying the hashes from the budget', () => {
    const c = cache();
    c.learn([proofFor('n3.', 'b.n3.')], 0);
    const b = budget();
    expect(c.answer(N('b.n3.'), RRType.A, 1000, b)?.rcode).toBe(Rcode.NXDOMAIN);
    expect(b.nsec3Hashes).toBeGreaterThan(0);
  });

  it('ANY (a meta type no bitmap lists) is never answered NODATA; a name the range covers is still NXDOMAIN', () => {
    const c = cache();
    c.learn([proofFor('example.', 'a.example.', RRType.MX), proofFor('example.', 'b.example.')], 0);
    expect(c.answer(N('a.example.'), RRType.TXT, 1000, budget())?.rcode).toBe(Rcode.NOERROR);
    expect(c.answer(N('a.example.'), 255, 1000, budget())).toBeUndefined();
    expect(c.answer(N('c.example.'), 255, 1000, budget())?.rcode).toBe(Rcode.NXDOMAIN);
  });

  it('without the zone\'s SOA nothing is synthesised (a negative answer carries it)', () => {
    const c = cache();
    c.learn([{ ...proofFor('example.', 'b.example.'), soa: [] }], 0);
    expect(c.answer(N('c.example.'), RRType.A, 1000, budget())).toBeUndefined();
  });
});
