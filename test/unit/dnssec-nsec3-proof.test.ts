import { describe, expect, it } from 'vitest';
import { proveNoDs } from '../../src/dnssec/nsec-proof.js';
import { proveWithNsec3 } from '../../src/dnssec/nsec3-proof.js';
import { DEFAULT_VALIDATION_LIMITS, ValidationBudget, ValidationLimitError } from '../../src/dnssec/validation-budget.js';
import { EdeCode } from '../../src/wire/edns.js';
import type { ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseRecordLine } from '../../src/wire/record-text.js';
import { RRType, typeToString } from '../../src/wire/rr-type.js';
import { FIXTURE_ORIGIN, ZoneModel, readFixture } from '../fixtures/denial/zone-model.js';

const n = (text: string) => Name.parse(text);
const EXAMPLE = n('example.');
const budget = (overrides: Partial<typeof DEFAULT_VALIDATION_LIMITS> = {}) => new ValidationBudget({ ...DEFAULT_VALIDATION_LIMITS, ...overrides });
/** The budget counts names hashed, whatever the iterations (12 in the RFC 5155 zone). */
const HASH_COST = 1;

/**
 * The NSEC3 chain of the signed zone in RFC 5155 Appendix A (salt aabbccdd, 12 iterations,
 * every record opt-out): hashed owner → [next hashed owner, types]. The names behind the hashes
 * are in the comments (H(name) as the appendix lists them).
 */
const RFC5155_NSEC3: Record<string, readonly [string, string]> = {
  '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom': ['2t7b4g4vsa5smi47k61mv5bv1a22bojr', 'NS SOA MX RRSIG DNSKEY NSEC3PARAM'], // example.
  '2t7b4g4vsa5smi47k61mv5bv1a22bojr': ['2vptu5timamqttgl4luu9kg21e0aor3s', 'A RRSIG'], // ns1.example.
  '2vptu5timamqttgl4luu9kg21e0aor3s': ['35mthgpgcu1qg68fab165klnsnk3dpvl', 'MX RRSIG'], // x.y.w.example.
  '35mthgpgcu1qg68fab165klnsnk3dpvl': ['b4um86eghhds6nea196smvmlo4ors995', 'NS DS RRSIG'], // a.example.
  b4um86eghhds6nea196smvmlo4ors995: ['gjeqe526plbf1g8mklp59enfd789njgi', 'MX RRSIG'], // x.w.example.
  gjeqe526plbf1g8mklp59enfd789njgi: ['ji6neoaepv8b5o6k4ev33abha8ht9fgc', 'A HINFO AAAA RRSIG'], // ai.example.
  ji6neoaepv8b5o6k4ev33abha8ht9fgc: ['k8udemvp1j2f7eg6jebps17vp3n8i58h', ''], // y.w.example. (empty non-terminal)
  k8udemvp1j2f7eg6jebps17vp3n8i58h: ['kohar7mbb8dc2ce8a9qvl8hon4k53uhi', ''], // w.example. (empty non-terminal)
  kohar7mbb8dc2ce8a9qvl8hon4k53uhi: ['q04jkcevqvmu85r014c7dkba38o0ji5r', 'A RRSIG'], // 2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.
  q04jkcevqvmu85r014c7dkba38o0ji5r: ['r53bq7cc2uvmubfu5ocmm6pers9tk9en', 'A RRSIG'], // ns2.example.
  r53bq7cc2uvmubfu5ocmm6pers9tk9en: ['t644ebqk9bibcna874givr6joj62mlhv', 'MX RRSIG'], // *.w.example.
  t644ebqk9bibcna874givr6joj62mlhv: ['0p9mhaveqvm6t7vbl5lop2u3t2rp3tom', 'A HINFO AAAA RRSIG'], // xx.example.
};

interface Nsec3Options {
  hashAlgorithm?: number;
  flags?: number;
  iterations?: number;
  salt?: string;
  types?: string;
  next?: string;
  zone?: string;
}

/** The Appendix A record at `hash`, optionally altered. */
function nsec3(hash: string, o: Nsec3Options = {}): ResourceRecord {
  const [next, types] = RFC5155_NSEC3[hash] ?? [o.next ?? hash, ''];
  const rdata = `${o.hashAlgorithm ?? 1} ${o.flags ?? 1} ${o.iterations ?? 12} ${o.salt ?? 'aabbccdd'} ${o.next ?? next} ${o.types ?? types}`;
  return parseRecordLine(`${hash}.${o.zone ?? 'example.'} 3600 IN NSEC3 ${rdata}`);
}
/** The same records with the opt-out flag cleared, as in a zone signed without opt-out. */
const strict = (hash: string, o: Nsec3Options = {}) => nsec3(hash, { ...o, flags: 0 });

const H = {
  example: '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom',
  ns1: '2t7b4g4vsa5smi47k61mv5bv1a22bojr',
  a: '35mthgpgcu1qg68fab165klnsnk3dpvl',
  xw: 'b4um86eghhds6nea196smvmlo4ors995',
  yw: 'ji6neoaepv8b5o6k4ev33abha8ht9fgc',
  w: 'k8udemvp1j2f7eg6jebps17vp3n8i58h',
  ns2: 'q04jkcevqvmu85r014c7dkba38o0ji5r',
  wildW: 'r53bq7cc2uvmubfu5ocmm6pers9tk9en',
} as const;

describe('NSEC3 name error (RFC 5155 §8.4, Appendix B.1)', () => {
  const records = (make = nsec3) => [make(H.example), make(H.xw), make(H.a)];

  it('B.1: a.c.x.w.example. — encloser x.w.example., next closer c.x.w.example. in an opt-out span: insecure', () => {
    const outcome = proveWithNsec3('nxdomain', n('a.c.x.w.example.'), RRType.A, EXAMPLE, records(), budget());
    expect(outcome).toMatchObject({ state: 'insecure', optOut: true });
    expect(outcome.ede).toBeUndefined();
    expect(outcome.closestEncloser?.toString()).toBe('x.w.example.');
    expect(outcome.reason).toContain('covering the next closer name c.x.w.example. is opt-out');
  });

  it('B.1 without opt-out: secure, naming encloser, next closer and wildcard', () => {
    const outcome = proveWithNsec3('nxdomain', n('a.c.x.w.example.'), RRType.A, EXAMPLE, records(strict), budget());
    expect(outcome.state).toBe('secure');
    expect(outcome.optOut).toBeUndefined();
    expect(outcome.reason).toBe(
      'example.: closest encloser x.w.example., NSEC3 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom → 2t7b4g4vsa5smi47k61mv5bv1a22bojr covers the next closer name c.x.w.example., ' +
        'NSEC3 35mthgpgcu1qg68fab165klnsnk3dpvl → b4um86eghhds6nea196smvmlo4ors995 covers the wildcard *.x.w.example.',
    );
  });

  it('tampered: without the record covering the wildcard *.x.w.example. it is bogus', () => {
    const outcome = proveWithNsec3('nxdomain', n('a.c.x.w.example.'), RRType.A, EXAMPLE, [strict(H.example), strict(H.xw)], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
    expect(outcome.reason).toBe('example.: no NSEC3 covers the wildcard *.x.w.example.');
  });

  it('tampered: without the record covering the next closer name it is bogus', () => {
    const outcome = proveWithNsec3('nxdomain', n('a.c.x.w.example.'), RRType.A, EXAMPLE, [strict(H.xw), strict(H.a)], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
    expect(outcome.reason).toBe('example.: no NSEC3 covers the next closer name c.x.w.example.');
  });

  it('tampered: without the closest encloser record the apex is the encloser and w.example. is not covered', () => {
    const outcome = proveWithNsec3('nxdomain', n('a.c.x.w.example.'), RRType.A, EXAMPLE, [strict(H.example), strict(H.a)], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
    expect(outcome.reason).toBe('example.: no NSEC3 covers the next closer name w.example.');
  });

  it('tampered: a record matching the wildcard makes the NXDOMAIN bogus', () => {
    const outcome = proveWithNsec3('nxdomain', n('a.z.w.example.'), RRType.A, EXAMPLE, [strict(H.w), strict(H.ns2), strict(H.wildW)], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain('matches the wildcard *.w.example.');
  });

  it('an NXDOMAIN for an existing name has no closest encloser proof', () => {
    // ns1.example. exists: its hash matches 2t7b…, so no record covers it as a next closer name.
    const outcome = proveWithNsec3('nxdomain', n('ns1.example.'), RRType.A, EXAMPLE, Object.keys(RFC5155_NSEC3).map((h) => strict(h)), budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
    expect(outcome.reason).toContain('no NSEC3 covers the next closer name ns1.example.');
  });
});

describe('NSEC3 no data (RFC 5155 §8.5, Appendix B.2, B.2.1)', () => {
  it('B.2: the record matching ns1.example. lists A, not MX (secure even in an opt-out zone)', () => {
    const outcome = proveWithNsec3('nodata', n('ns1.example.'), RRType.MX, EXAMPLE, [nsec3(H.ns1)], budget());
    expect(outcome.state).toBe('secure');
    expect(outcome.reason).toBe('example.: NSEC3 2t7b4g4vsa5smi47k61mv5bv1a22bojr → 2vptu5timamqttgl4luu9kg21e0aor3s (opt-out) matches ns1.example. and lists neither MX nor CNAME');
  });

  it('tampered: a bitmap listing the type makes it bogus', () => {
    const outcome = proveWithNsec3('nodata', n('ns1.example.'), RRType.MX, EXAMPLE, [nsec3(H.ns1, { types: 'A MX RRSIG' })], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toBe('example.: NSEC3 matching ns1.example. lists MX');
  });

  it('RFC 6840 §4.3: a bitmap with CNAME proves no NODATA', () => {
    const outcome = proveWithNsec3('nodata', n('ns1.example.'), RRType.MX, EXAMPLE, [nsec3(H.ns1, { types: 'CNAME RRSIG' })], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
  });

  it('B.2.1: y.w.example. is an empty non-terminal; its record has an empty bitmap', () => {
    const outcome = proveWithNsec3('nodata', n('y.w.example.'), RRType.A, EXAMPLE, [nsec3(H.yw)], budget());
    expect(outcome.state).toBe('secure');
  });

  it('tampered: the record for another name proves nothing (bogus, NSEC Missing)', () => {
    const outcome = proveWithNsec3('nodata', n('y.w.example.'), RRType.A, EXAMPLE, [strict(H.ns1)], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
  });

  it('RFC 6840 §4.1: the record of a delegation point proves nothing about types other than DS', () => {
    const outcome = proveWithNsec3('nodata', n('a.example.'), RRType.A, EXAMPLE, [nsec3(H.a, { types: 'NS RRSIG' })], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain('is a delegation point: it proves nothing about A');
  });

  it('RFC 5155 §8.3: a closest encloser at a delegation point is not of this zone', () => {
    // a.example. is a delegation (NS DS, no SOA): names below it are the child zone's.
    const records = [strict(H.a), strict(H.example)];
    const outcome = proveWithNsec3('nxdomain', n('mc.a.example.'), RRType.A, EXAMPLE, records, budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain('the closest encloser a.example. of mc.a.example. is a delegation point');
  });

  it('B.6: the child apex record cannot deny the DS', () => {
    const outcome = proveWithNsec3('nodata', EXAMPLE, RRType.DS, EXAMPLE, [nsec3(H.example)], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain('zone apex');
  });

  it('RFC 5155 §8.6: a DS NODATA resting on an opt-out span is insecure', () => {
    const outcome = proveWithNsec3('nodata', n('c.example.'), RRType.DS, EXAMPLE, [nsec3(H.a), nsec3(H.example)], budget());
    expect(outcome).toMatchObject({ state: 'insecure', optOut: true });
  });

  it('the same NODATA without opt-out is bogus: the name does not exist', () => {
    const outcome = proveWithNsec3('nodata', n('c.example.'), RRType.DS, EXAMPLE, [strict(H.a), strict(H.example)], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
    expect(outcome.reason).toContain('is not opt-out');
  });
});

describe('NSEC3 referral to an opt-out unsigned zone (RFC 5155 §8.9, Appendix B.3)', () => {
  it('B.3: c.example. — encloser example., next closer c.example. covered by an opt-out span: insecure delegation', () => {
    const outcome = proveNoDs(n('c.example.'), EXAMPLE, [nsec3(H.a), nsec3(H.example)], budget());
    expect(outcome).toMatchObject({ state: 'insecure', optOut: true });
    expect(outcome.closestEncloser?.toString()).toBe('example.');
    expect(outcome.reason).toContain('covers the next closer name c.example.: an unsigned delegation');
  });

  it('tampered: the same records without opt-out prove nothing about a delegation', () => {
    const outcome = proveNoDs(n('c.example.'), EXAMPLE, [strict(H.a), strict(H.example)], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
  });

  it('a matching record with NS and neither DS nor SOA proves an unsigned delegation', () => {
    const outcome = proveNoDs(n('a.example.'), EXAMPLE, [strict(H.a, { types: 'NS RRSIG' })], budget());
    expect(outcome).toMatchObject({ state: 'secure', delegation: true });
  });

  it('tampered: the matching record lists DS', () => {
    expect(proveNoDs(n('a.example.'), EXAMPLE, [strict(H.a)], budget())).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
  });

  it('a matching record without NS shows no delegation (not secure, delegation false)', () => {
    expect(proveNoDs(n('ns1.example.'), EXAMPLE, [strict(H.ns1)], budget())).toMatchObject({ state: 'bogus', delegation: false });
    expect(proveNoDs(n('y.w.example.'), EXAMPLE, [strict(H.yw)], budget())).toMatchObject({ state: 'bogus', delegation: false });
  });
});

describe('NSEC3 wildcard expansion (RFC 5155 §8.8, Appendix B.4)', () => {
  const wildcard = { closestEncloser: n('w.example.') };

  it('B.4: a.z.w.example. from *.w.example.: next closer z.w.example. lies in an opt-out span: insecure', () => {
    const outcome = proveWithNsec3('wildcard-answer', n('a.z.w.example.'), RRType.MX, EXAMPLE, [nsec3(H.ns2)], budget(), wildcard);
    expect(outcome).toMatchObject({ state: 'insecure', optOut: true });
  });

  it('B.4 without opt-out: secure', () => {
    const outcome = proveWithNsec3('wildcard-answer', n('a.z.w.example.'), RRType.MX, EXAMPLE, [strict(H.ns2)], budget(), wildcard);
    expect(outcome.state).toBe('secure');
    expect(outcome.reason).toContain('covers the next closer name z.w.example., so the wildcard *.w.example. applies');
  });

  it('tampered: without the covering record it is bogus', () => {
    const outcome = proveWithNsec3('wildcard-answer', n('a.z.w.example.'), RRType.MX, EXAMPLE, [strict(H.wildW)], budget(), wildcard);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
    expect(outcome.reason).toContain('no NSEC3 covers the next closer name z.w.example.');
  });

  it('tampered: a wildcard claimed one level too high leaves the next closer name w.example. uncovered', () => {
    const outcome = proveWithNsec3('wildcard-answer', n('a.z.w.example.'), RRType.MX, EXAMPLE, [strict(H.ns2)], budget(), { closestEncloser: EXAMPLE });
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
  });
});

describe('NSEC3 wildcard no data (RFC 5155 §8.7, Appendix B.5)', () => {
  const records = (make = nsec3) => [make(H.w), make(H.ns2), make(H.wildW)];

  it('B.5: a.z.w.example./AAAA: encloser w.example., *.w.example. has MX only; the opt-out span makes it insecure', () => {
    const outcome = proveWithNsec3('nodata', n('a.z.w.example.'), RRType.AAAA, EXAMPLE, records(), budget());
    expect(outcome).toMatchObject({ state: 'insecure', optOut: true });
    expect(outcome.wildcard?.toString()).toBe('*.w.example.');
  });

  it('B.5 without opt-out: secure, with the wildcard', () => {
    const outcome = proveWithNsec3('nodata', n('a.z.w.example.'), RRType.AAAA, EXAMPLE, records(strict), budget());
    expect(outcome.state).toBe('secure');
    expect(outcome.wildcard?.toString()).toBe('*.w.example.');
    expect(outcome.closestEncloser?.toString()).toBe('w.example.');
  });

  it('tampered: the wildcard record listing the type makes it bogus', () => {
    const outcome = proveWithNsec3('nodata', n('a.z.w.example.'), RRType.AAAA, EXAMPLE, [strict(H.w), strict(H.ns2), strict(H.wildW, { types: 'MX AAAA RRSIG' })], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toBe('example.: NSEC3 matching *.w.example. lists AAAA');
  });

  it('tampered: without the wildcard record (and no opt-out) it is bogus', () => {
    const outcome = proveWithNsec3('nodata', n('a.z.w.example.'), RRType.AAAA, EXAMPLE, [strict(H.w), strict(H.ns2)], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
  });

  it('hashes each name once: qname, z.w.example., w.example., *.w.example.', () => {
    const b = budget();
    proveWithNsec3('nodata', n('a.z.w.example.'), RRType.AAAA, EXAMPLE, records(strict), b);
    expect(b.nsec3Hashes).toBe(4 * HASH_COST);
  });
});

describe('NSEC3 limits and parameters (regressions)', () => {
  it('a negative answer padded with 100 NSEC3 records is bogus before any hash is computed', () => {
    const padding = Array.from({ length: 100 }, (_, i) => nsec3(`${i.toString(32).padStart(2, '0')}${'0'.repeat(30)}`, { next: `${i.toString(32).padStart(2, '0')}${'1'.repeat(30)}`, types: 'A' }));
    const b = budget();
    const outcome = proveWithNsec3('nxdomain', n('a.c.x.w.example.'), RRType.A, EXAMPLE, [...padding, strict(H.example), strict(H.xw), strict(H.a)], b);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toBe('example.: negative answer padded with 103 proofs (limit 32)');
    expect(b.nsec3Hashes).toBe(0);
  });

  it('RFC 9276 §3.2: 500 iterations make the answer insecure with EDE 27, before any hash', () => {
    const b = budget();
    const outcome = proveWithNsec3('nxdomain', n('a.c.x.w.example.'), RRType.A, EXAMPLE, [strict(H.example, { iterations: 500 }), strict(H.xw, { iterations: 500 })], b);
    expect(outcome).toMatchObject({ state: 'insecure', ede: EdeCode.UNSUPPORTED_NSEC3_ITERATIONS });
    expect(outcome.reason).toBe('example.: NSEC3 uses 500 iterations, above the limit of 150 (RFC 9276 §3.2)');
    expect(b.nsec3Hashes).toBe(0);
  });

  it('iterations at the limit are hashed normally', () => {
    const b = budget({ maxNsec3Iterations: 12 });
    expect(proveWithNsec3('nodata', n('ns1.example.'), RRType.MX, EXAMPLE, [nsec3(H.ns1)], b).state).toBe('secure');
    expect(b.nsec3Hashes).toBe(HASH_COST);
  });

  it('a proof that needs more hashes than the budget allows throws ValidationLimitError', () => {
    const b = budget({ maxNsec3Hashes: 2 * HASH_COST });
    expect(() => proveWithNsec3('nxdomain', n('a.c.x.w.example.'), RRType.A, EXAMPLE, [strict(H.example), strict(H.xw), strict(H.a)], b)).toThrow(ValidationLimitError);
  });

  it('the hash budget is shared: a second proof in the same query stops at the limit', () => {
    const b = budget({ maxNsec3Hashes: 5 * HASH_COST });
    proveWithNsec3('nxdomain', n('a.c.x.w.example.'), RRType.A, EXAMPLE, [strict(H.example), strict(H.xw), strict(H.a)], b); // 3 hashes
    expect(b.nsec3Hashes).toBe(3 * HASH_COST);
    expect(() => proveWithNsec3('nxdomain', n('a.c.x.w.example.'), RRType.A, EXAMPLE, [strict(H.example), strict(H.xw), strict(H.a)], b)).toThrow(ValidationLimitError);
  });

  it('RFC 5155 §8.2: a record with an unknown hash algorithm is ignored', () => {
    const unknown = nsec3(H.ns1, { hashAlgorithm: 2, types: 'A MX RRSIG' });
    expect(proveWithNsec3('nodata', n('ns1.example.'), RRType.MX, EXAMPLE, [unknown, nsec3(H.ns1)], budget()).state).toBe('secure');
  });

  it('RFC 5155 §8.1: with no supported hash algorithm at all the answer is insecure', () => {
    const b = budget();
    const outcome = proveWithNsec3('nodata', n('ns1.example.'), RRType.MX, EXAMPLE, [nsec3(H.ns1, { hashAlgorithm: 2 })], b);
    expect(outcome.state).toBe('insecure');
    expect(outcome.reason).toContain('no NSEC3 record uses a supported hash algorithm');
    expect(b.nsec3Hashes).toBe(0);
  });

  it('RFC 5155 §8.2: a record with flags other than 0 or 1 is ignored', () => {
    const outcome = proveWithNsec3('nodata', n('ns1.example.'), RRType.MX, EXAMPLE, [nsec3(H.ns1, { flags: 2 })], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
  });

  it('records whose parameters differ from the first usable one are ignored', () => {
    // The wildcard-covering record has another salt: it may not take part in the proof.
    const outcome = proveWithNsec3('nxdomain', n('a.c.x.w.example.'), RRType.A, EXAMPLE, [strict(H.example), strict(H.xw), strict(H.a, { salt: 'ff' })], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
    expect(outcome.reason).toBe('example.: no NSEC3 covers the wildcard *.x.w.example.');
  });

  it('records that are not directly below the zone are ignored', () => {
    const deeper = nsec3(H.ns1, { zone: 'sub.example.' });
    expect(proveWithNsec3('nodata', n('ns1.example.'), RRType.MX, EXAMPLE, [deeper], budget())).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
  });

  it('a name outside the zone cannot be denied by it', () => {
    expect(proveWithNsec3('nxdomain', n('www.example.org.'), RRType.A, EXAMPLE, [strict(H.example)], budget())).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
  });

  it('a wildcard answer without the encloser is a programming error', () => {
    expect(() => proveWithNsec3('wildcard-answer', n('a.z.w.example.'), RRType.MX, EXAMPLE, [strict(H.ns2)], budget())).toThrow(RangeError);
  });
});

describe('NSEC3 proofs over chains signed by BIND dnssec-signzone (test/fixtures/denial)', () => {
  const model = ZoneModel.load();
  const names = model.queryNames();
  const types = [RRType.A, RRType.AAAA, RRType.TXT, RRType.CNAME, RRType.DS];
  const wide = () => budget({ maxDenialRecords: 100 });

  describe('without opt-out', () => {
    const chain = readFixture('example.nsec3');

    it('proves NXDOMAIN exactly for the names the zone does not have (and no wildcard covers)', () => {
      const wrong = names.filter((q) => proveWithNsec3('nxdomain', q, RRType.A, FIXTURE_ORIGIN, chain, wide()).state !== model.expectNxdomain(q)).map(String);
      expect(wrong).toEqual([]);
    });

    it('proves NODATA exactly where the zone (or its wildcard) has the name but not the type', () => {
      const wrong: string[] = [];
      for (const q of names)
        for (const t of types)
          if (proveWithNsec3('nodata', q, t, FIXTURE_ORIGIN, chain, wide()).state !== model.expectNodata(q, t)) wrong.push(`${q}/${typeToString(t)}`);
      expect(wrong).toEqual([]);
    });

    it('proves a wildcard answer for absent names with their true closest encloser, not with a higher one', () => {
      const wrong: string[] = [];
      for (const q of names) {
        if (q.labelCount < 2 || model.cutAbove(q) || model.exists(q)) continue;
        const encloser = model.closestEncloser(q);
        if (proveWithNsec3('wildcard-answer', q, RRType.A, FIXTURE_ORIGIN, chain, wide(), { closestEncloser: encloser }).state !== 'secure') wrong.push(`${q} from *.${encloser}`);
        if (!encloser.equals(FIXTURE_ORIGIN) && proveWithNsec3('wildcard-answer', q, RRType.A, FIXTURE_ORIGIN, chain, wide(), { closestEncloser: encloser.parent(1) }).state !== 'bogus')
          wrong.push(`${q} from *.${encloser.parent(1)}`);
      }
      expect(wrong).toEqual([]);
    });

    it('proves the unsigned delegation sub.example. and nothing for the signed one', () => {
      expect(proveNoDs(n('sub.example.'), FIXTURE_ORIGIN, chain, wide())).toMatchObject({ state: 'secure', delegation: true });
      expect(proveNoDs(n('secure.example.'), FIXTURE_ORIGIN, chain, wide()).state).toBe('bogus');
      expect(proveNoDs(n('a.b.example.'), FIXTURE_ORIGIN, chain, wide())).toMatchObject({ state: 'bogus', delegation: false });
    });
  });

  describe('with opt-out (the unsigned delegation sub.example. has no NSEC3)', () => {
    const chain = readFixture('example.nsec3-optout');

    it('the delegation to sub.example. is proven insecure by the opt-out span over it', () => {
      expect(proveNoDs(n('sub.example.'), FIXTURE_ORIGIN, chain, wide())).toMatchObject({ state: 'insecure', optOut: true });
      expect(proveNoDs(n('secure.example.'), FIXTURE_ORIGIN, chain, wide()).state).toBe('bogus');
    });

    it('an NXDOMAIN is at best insecure: every span may hide an unsigned delegation', () => {
      const wrong = names
        .filter((q) => !model.cutAbove(q) && model.expectNxdomain(q) === 'secure')
        .filter((q) => {
          const outcome = proveWithNsec3('nxdomain', q, RRType.A, FIXTURE_ORIGIN, chain, wide());
          return outcome.state !== 'insecure' || outcome.optOut !== true;
        })
        .map(String);
      expect(wrong).toEqual([]);
    });

    it('names below the unsigned delegation are denied only insecurely', () => {
      const outcome = proveWithNsec3('nxdomain', n('www.sub.example.'), RRType.A, FIXTURE_ORIGIN, chain, wide());
      expect(outcome).toMatchObject({ state: 'insecure', optOut: true });
      expect(outcome.reason).toContain('next closer name sub.example.');
    });

    it('a NODATA from a matching record stays secure; at the opted-out delegation the DS NODATA is insecure', () => {
      const unsignedDelegation = (q: Name) => model.typesAt(q)?.has(RRType.NS) === true && !model.typesAt(q)!.has(RRType.DS) && !q.equals(FIXTURE_ORIGIN);
      const wrong: string[] = [];
      for (const q of names)
        for (const t of types)
          if (model.typesAt(q) && !unsignedDelegation(q) && model.expectNodata(q, t) === 'secure' && proveWithNsec3('nodata', q, t, FIXTURE_ORIGIN, chain, wide()).state !== 'secure') wrong.push(`${q}/${typeToString(t)}`);
      expect(wrong).toEqual([]);
      expect(proveWithNsec3('nodata', n('sub.example.'), RRType.DS, FIXTURE_ORIGIN, chain, wide())).toMatchObject({ state: 'insecure', optOut: true });
    });
  });
});
