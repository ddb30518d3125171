import { describe, expect, it } from 'vitest';
import { proveNoDs, proveWithNsec } from '../../src/dnssec/nsec-proof.js';
import { DEFAULT_VALIDATION_LIMITS, ValidationBudget } from '../../src/dnssec/validation-budget.js';
import { EdeCode } from '../../src/wire/edns.js';
import type { ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseRecordLine } from '../../src/wire/record-text.js';
import { RRType, typeToString } from '../../src/wire/rr-type.js';
import { FIXTURE_ORIGIN, ZoneModel, readFixture } from '../fixtures/denial/zone-model.js';

const n = (text: string) => Name.parse(text);
const EXAMPLE = n('example.');
const limits = DEFAULT_VALIDATION_LIMITS;
const nsecLine = (owner: string, rdata: string): ResourceRecord => parseRecordLine(`${owner} 3600 IN NSEC ${rdata}`);

/** The NSEC chain of the signed zone in RFC 4035 Appendix A. */
const RFC4035_NSEC: Record<string, string> = {
  'example.': 'a.example. NS SOA MX RRSIG NSEC DNSKEY',
  'a.example.': 'ai.example. NS DS RRSIG NSEC',
  'ai.example.': 'b.example. A HINFO AAAA RRSIG NSEC',
  'b.example.': 'ns1.example. NS RRSIG NSEC',
  'ns1.example.': 'ns2.example. A RRSIG NSEC',
  'ns2.example.': '*.w.example. A RRSIG NSEC',
  '*.w.example.': 'x.w.example. MX RRSIG NSEC',
  'x.w.example.': 'x.y.w.example. MX RRSIG NSEC',
  'x.y.w.example.': 'xx.example. MX RRSIG NSEC',
  'xx.example.': 'example. A HINFO AAAA RRSIG NSEC',
};
const nsec = (owner: string): ResourceRecord => nsecLine(owner, RFC4035_NSEC[owner]!);

describe('NSEC name error (RFC 4035 §5.4, Appendix B.2)', () => {
  const proof = () => [nsec('b.example.'), nsec('example.')];

  it('B.2: ml.example. is covered by b.example. → ns1.example., the wildcard *.example. by example. → a.example.', () => {
    const outcome = proveWithNsec('nxdomain', n('ml.example.'), RRType.A, EXAMPLE, proof(), limits);
    expect(outcome.state).toBe('secure');
    expect(outcome.reason).toContain('NSEC b.example. → ns1.example. covers ml.example.');
    expect(outcome.reason).toContain('NSEC example. → a.example. covers the wildcard *.example.');
    expect(outcome.closestEncloser?.toString()).toBe('example.');
  });

  it('compares names case-insensitively', () => {
    expect(proveWithNsec('nxdomain', n('ML.Example.'), RRType.A, EXAMPLE, proof(), limits).state).toBe('secure');
  });

  it('tampered: without the NSEC that denies the wildcard the answer is bogus (NSEC Missing)', () => {
    const outcome = proveWithNsec('nxdomain', n('ml.example.'), RRType.A, EXAMPLE, [nsec('b.example.')], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
    expect(outcome.reason).toBe('example.: no NSEC proves the wildcard *.example. does not exist');
  });

  it('tampered: without the covering NSEC the answer is bogus', () => {
    const outcome = proveWithNsec('nxdomain', n('ml.example.'), RRType.A, EXAMPLE, [nsec('example.')], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
    expect(outcome.reason).toBe('example.: no NSEC proves the name ml.example. does not exist');
  });

  it('tampered: an NSEC showing the wildcard exists makes the NXDOMAIN bogus', () => {
    const wildcard = nsecLine('*.example.', 'a.example. TXT RRSIG NSEC');
    const outcome = proveWithNsec('nxdomain', n('ml.example.'), RRType.A, EXAMPLE, [...proof(), wildcard], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain('wildcard exists');
  });

  it('an NXDOMAIN for a name that has its own NSEC is bogus', () => {
    const outcome = proveWithNsec('nxdomain', n('ns1.example.'), RRType.A, EXAMPLE, [nsec('ns1.example.'), nsec('example.')], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
  });

  it('takes the closest encloser from the owner: b.x.w.example. is below x.w.example., whose wildcard is covered too', () => {
    const outcome = proveWithNsec('nxdomain', n('b.x.w.example.'), RRType.A, EXAMPLE, [nsec('x.w.example.')], limits);
    expect(outcome.state).toBe('secure');
    expect(outcome.closestEncloser?.toString()).toBe('x.w.example.');
    expect(outcome.reason).toContain('covers b.x.w.example. and the wildcard *.x.w.example.');
  });

  it('takes the closest encloser from the next name too: !.w.example. is below the empty non-terminal w.example.', () => {
    // ns2.example. → *.w.example. covers !.w.example. ("!" sorts before "*"); its owner shares only
    // example. with it, but the next name shows w.example. exists, and *.w.example. with it.
    const records = [nsec('ns2.example.'), nsec('example.'), nsec('*.w.example.')];
    const nx = proveWithNsec('nxdomain', n('!.w.example.'), RRType.A, EXAMPLE, records, limits);
    expect(nx).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(nx.reason).toContain('NSEC at *.w.example. shows the wildcard exists');
    const nodata = proveWithNsec('nodata', n('!.w.example.'), RRType.AAAA, EXAMPLE, records, limits);
    expect(nodata).toMatchObject({ state: 'secure' });
    expect(nodata.wildcard?.toString()).toBe('*.w.example.');
  });

  it('the last NSEC wraps to the apex and covers every name after its owner', () => {
    const outcome = proveWithNsec('nxdomain', n('zz.example.'), RRType.A, EXAMPLE, [nsec('xx.example.'), nsec('example.')], limits);
    expect(outcome.state).toBe('secure');
    expect(outcome.reason).toContain('NSEC xx.example. → example. covers zz.example.');
  });

  it('the apex NSEC of a one-name zone (next name = apex) covers every other name, wildcard included', () => {
    const only = nsecLine('example.', 'example. NS SOA RRSIG NSEC DNSKEY');
    const outcome = proveWithNsec('nxdomain', n('www.example.'), RRType.A, EXAMPLE, [only], limits);
    expect(outcome.state).toBe('secure');
    expect(outcome.reason).toContain('covers www.example. and the wildcard *.example.');
  });
});

describe('NSEC no data (RFC 4035 §3.1.3.1, Appendix B.3)', () => {
  it('B.3: the NSEC at ns1.example. lists A but not MX', () => {
    const outcome = proveWithNsec('nodata', n('ns1.example.'), RRType.MX, EXAMPLE, [nsec('ns1.example.')], limits);
    expect(outcome.state).toBe('secure');
    expect(outcome.reason).toBe('example.: NSEC at ns1.example. lists neither MX nor CNAME');
  });

  it('tampered: a bitmap listing the type makes the NODATA bogus', () => {
    const swapped = nsecLine('ns1.example.', 'ns2.example. A MX RRSIG NSEC');
    const outcome = proveWithNsec('nodata', n('ns1.example.'), RRType.MX, EXAMPLE, [swapped], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toBe('example.: NSEC at ns1.example. lists MX');
  });

  it('RFC 6840 §4.3: a bitmap with CNAME does not prove NODATA', () => {
    const cname = nsecLine('ns1.example.', 'ns2.example. CNAME RRSIG NSEC');
    const outcome = proveWithNsec('nodata', n('ns1.example.'), RRType.MX, EXAMPLE, [cname], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain('CNAME');
  });

  it('an NSEC that only covers the name (it does not exist) is no NODATA proof without a wildcard', () => {
    const outcome = proveWithNsec('nodata', n('ml.example.'), RRType.A, EXAMPLE, [nsec('b.example.'), nsec('example.')], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
    expect(outcome.reason).toContain('no NSEC shows a wildcard *.example.');
  });

  it('no NSEC at all is bogus with NSEC Missing', () => {
    expect(proveWithNsec('nodata', n('ns1.example.'), RRType.MX, EXAMPLE, [], limits)).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
  });
});

describe('NSEC empty non-terminal no data', () => {
  it('y.w.example. is an empty non-terminal: x.w.example. → x.y.w.example. passes over it to a descendant', () => {
    const outcome = proveWithNsec('nodata', n('y.w.example.'), RRType.A, EXAMPLE, [nsec('x.w.example.')], limits);
    expect(outcome.state).toBe('secure');
    expect(outcome.reason).toContain('shows y.w.example. is an empty non-terminal');
  });

  it('w.example. is an empty non-terminal: ns2.example. → *.w.example.', () => {
    expect(proveWithNsec('nodata', n('w.example.'), RRType.TXT, EXAMPLE, [nsec('ns2.example.')], limits).state).toBe('secure');
  });

  it('tampered: the same NSEC cannot prove an NXDOMAIN for the empty non-terminal, which exists', () => {
    const outcome = proveWithNsec('nxdomain', n('y.w.example.'), RRType.A, EXAMPLE, [nsec('x.w.example.'), nsec('ns2.example.')], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain('empty non-terminal');
  });

  it('tampered: an NSEC whose next name is not below the name proves no empty non-terminal', () => {
    const outcome = proveWithNsec('nodata', n('y.w.example.'), RRType.A, EXAMPLE, [nsec('x.y.w.example.')], limits);
    expect(outcome.state).toBe('bogus');
  });
});

describe('the edge of an empty non-terminal: an NSEC whose next name is a descendant of the name (RFC 4035 §5.4, RFC 4592 §2.2.2)', () => {
  // example. holds b.example. only as the parent of a.b.example. (and of *.b.example. in the second chain).
  const chain = [nsecLine('example.', 'a.b.example. SOA NS RRSIG NSEC DNSKEY'), nsecLine('a.b.example.', 'example. A RRSIG NSEC')];

  it.each(['a.b.example.', 'A.B.example.', '\\000.b.example.', 'x.y.z.b.example.'])('next name %s below b.example.: b.example. exists (NODATA secure, NXDOMAIN bogus)', (next) => {
    const records = [nsecLine('example.', `${next} SOA NS RRSIG NSEC DNSKEY`)];
    expect(proveWithNsec('nodata', n('b.example.'), RRType.A, EXAMPLE, records, limits).state).toBe('secure');
    expect(proveWithNsec('nodata', n('B.EXAMPLE.'), RRType.A, EXAMPLE, records, limits).state).toBe('secure');
    expect(proveWithNsec('nxdomain', n('b.example.'), RRType.A, EXAMPLE, records, limits)).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
  });

  it('a wildcard answer cannot be synthesised for an empty non-terminal: *.example. does not answer b.example.', () => {
    const outcome = proveWithNsec('wildcard-answer', n('b.example.'), RRType.A, EXAMPLE, chain, limits, { closestEncloser: EXAMPLE });
    expect(outcome.state).toBe('bogus');
  });

  it('the next name equal to the name: the name exists, nothing is covered', () => {
    expect(proveWithNsec('nxdomain', n('a.b.example.'), RRType.A, EXAMPLE, [chain[0]!], limits).state).toBe('bogus');
  });

  it('a name below the empty non-terminal is proven absent, its closest encloser the empty non-terminal (RFC 4592 §2.2.2)', () => {
    const outcome = proveWithNsec('nxdomain', n('c.b.example.'), RRType.A, EXAMPLE, chain, limits);
    expect(outcome.state).toBe('secure');
    expect(outcome.closestEncloser?.toString()).toBe('b.example.');
  });

  it('a wildcard below the empty non-terminal answers its names, the empty non-terminal blocks *.example.', () => {
    const wild = [nsecLine('example.', '*.b.example. SOA NS RRSIG NSEC DNSKEY'), nsecLine('*.b.example.', 'example. A RRSIG NSEC')];
    expect(proveWithNsec('wildcard-answer', n('x.b.example.'), RRType.A, EXAMPLE, wild, limits, { closestEncloser: n('b.example.') }).state).toBe('secure');
    expect(proveWithNsec('wildcard-answer', n('x.b.example.'), RRType.A, EXAMPLE, wild, limits, { closestEncloser: EXAMPLE }).state).toBe('bogus');
  });

  it('a next name below a sibling says nothing of the name: c.example. is proven absent', () => {
    const outcome = proveWithNsec('nxdomain', n('c.example.'), RRType.A, EXAMPLE, chain, limits);
    expect(outcome.state).toBe('secure');
  });

  it('a DS query at the empty non-terminal: no delegation (the walk goes on in the same zone)', () => {
    const outcome = proveNoDs(n('b.example.'), EXAMPLE, chain, new ValidationBudget(limits));
    expect(outcome).toMatchObject({ state: 'bogus', delegation: false });
    expect(proveWithNsec('nodata', n('b.example.'), RRType.DS, EXAMPLE, chain, limits)).toMatchObject({ state: 'secure', delegation: false });
  });
});

describe('NSEC wildcard expansion (RFC 4035 §5.3.4, Appendix B.6)', () => {
  it('B.6: a.z.w.example. from *.w.example.: x.y.w.example. → xx.example. proves no closer match', () => {
    const outcome = proveWithNsec('wildcard-answer', n('a.z.w.example.'), RRType.MX, EXAMPLE, [nsec('x.y.w.example.')], limits, { closestEncloser: n('w.example.') });
    expect(outcome.state).toBe('secure');
    expect(outcome.reason).toContain('NSEC x.y.w.example. → xx.example. covers a.z.w.example.');
  });

  it('tampered: an NSEC that does not cover the name proves nothing', () => {
    const outcome = proveWithNsec('wildcard-answer', n('a.z.w.example.'), RRType.MX, EXAMPLE, [nsec('ns2.example.')], limits, { closestEncloser: n('w.example.') });
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
  });

  it('tampered: a wildcard higher than the proven closest encloser is bogus', () => {
    const outcome = proveWithNsec('wildcard-answer', n('a.z.w.example.'), RRType.MX, EXAMPLE, [nsec('x.y.w.example.')], limits, { closestEncloser: EXAMPLE });
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain('closest encloser of a.z.w.example. at w.example., not at the wildcard');
  });

  it('tampered: an expansion over a name that has its own NSEC is bogus', () => {
    const outcome = proveWithNsec('wildcard-answer', n('x.w.example.'), RRType.MX, EXAMPLE, [nsec('x.w.example.')], limits, { closestEncloser: n('w.example.') });
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
  });

  it('the wildcard owner answered literally needs no proof', () => {
    expect(proveWithNsec('wildcard-answer', n('*.w.example.'), RRType.MX, EXAMPLE, [nsec('x.w.example.')], limits, { closestEncloser: n('w.example.') }).state).toBe('secure');
  });

  it('a wildcard answer without the encloser is a programming error', () => {
    expect(() => proveWithNsec('wildcard-answer', n('a.z.w.example.'), RRType.MX, EXAMPLE, [nsec('x.y.w.example.')], limits)).toThrow(RangeError);
  });
});

describe('NSEC wildcard no data (RFC 4035 §3.1.3.4, Appendix B.7)', () => {
  const proof = () => [nsec('x.y.w.example.'), nsec('*.w.example.')];

  it('B.7: a.z.w.example./AAAA: covered by x.y.w.example. → xx.example., *.w.example. has MX only', () => {
    const outcome = proveWithNsec('nodata', n('a.z.w.example.'), RRType.AAAA, EXAMPLE, proof(), limits);
    expect(outcome.state).toBe('secure');
    expect(outcome.wildcard?.toString()).toBe('*.w.example.');
    expect(outcome.closestEncloser?.toString()).toBe('w.example.');
  });

  it('tampered: the wildcard NSEC listing the type makes it bogus', () => {
    const records = [nsec('x.y.w.example.'), nsecLine('*.w.example.', 'x.w.example. MX AAAA RRSIG NSEC')];
    const outcome = proveWithNsec('nodata', n('a.z.w.example.'), RRType.AAAA, EXAMPLE, records, limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toBe('example.: NSEC at *.w.example. lists AAAA');
  });

  it('tampered: without the wildcard NSEC it is bogus (NSEC Missing)', () => {
    const outcome = proveWithNsec('nodata', n('a.z.w.example.'), RRType.AAAA, EXAMPLE, [nsec('x.y.w.example.')], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
  });
});

describe('NSEC chain faults (regressions)', () => {
  it('an NSEC whose next name is outside the zone is bogus', () => {
    const escaped = nsecLine('b.example.', 'ns1.example.org. NS RRSIG NSEC');
    const outcome = proveWithNsec('nxdomain', n('ml.example.'), RRType.A, EXAMPLE, [escaped, nsec('example.')], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toBe('example.: NSEC b.example. → ns1.example.org. leaves the zone');
  });

  it('RFC 6840 §4.1: the NSEC at a delegation point does not deny names below it', () => {
    const outcome = proveWithNsec('nxdomain', n('mc.b.example.'), RRType.A, EXAMPLE, [nsec('b.example.'), nsec('example.')], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain('is at a delegation point and cannot deny the name mc.b.example. below it (RFC 6840 §4.1)');
  });

  it('RFC 6840 §4.1: the NSEC at a delegation point does not deny types other than DS', () => {
    const outcome = proveWithNsec('nodata', n('b.example.'), RRType.A, EXAMPLE, [nsec('b.example.')], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain('is a delegation point: it proves nothing about A');
    expect(proveWithNsec('nodata', n('b.example.'), RRType.DS, EXAMPLE, [nsec('b.example.')], limits)).toMatchObject({ state: 'secure', delegation: true });
  });

  it('the NSEC at a DNAME does not deny names below it', () => {
    const dname = nsecLine('d.example.', 'e.example. DNAME RRSIG NSEC');
    const outcome = proveWithNsec('nxdomain', n('x.d.example.'), RRType.A, EXAMPLE, [dname, nsec('example.')], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain('DNAME');
  });

  it('B.8: a DS is not denied by the child apex NSEC', () => {
    const outcome = proveWithNsec('nodata', EXAMPLE, RRType.DS, EXAMPLE, [nsec('example.')], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain('zone apex');
  });

  it('a negative answer padded with 100 NSEC records is bogus before any is looked at', () => {
    const padding = Array.from({ length: 100 }, (_, i) => nsecLine(`p${i}.example.`, `p${i}a.example. A RRSIG NSEC`));
    const outcome = proveWithNsec('nxdomain', n('ml.example.'), RRType.A, EXAMPLE, [...padding, nsec('b.example.'), nsec('example.')], limits);
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toBe('example.: negative answer padded with 102 proofs (limit 32)');
  });

  it('a name outside the zone cannot be denied by it', () => {
    expect(proveWithNsec('nxdomain', n('ml.example.org.'), RRType.A, EXAMPLE, [nsec('b.example.')], limits)).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
  });

  it('NSEC records owned outside the zone are not used', () => {
    const foreign = nsecLine('example.org.', 'zz.example.org. NS SOA RRSIG NSEC');
    expect(proveWithNsec('nxdomain', n('ml.example.'), RRType.A, EXAMPLE, [foreign], limits)).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
  });
});

describe('NSEC insecure delegation proof (proveNoDs, RFC 4035 Appendix B.5)', () => {
  const budget = () => new ValidationBudget();

  it('B.5: b.example. has NS and neither DS nor SOA: an unsigned delegation', () => {
    const outcome = proveNoDs(n('b.example.'), EXAMPLE, [nsec('b.example.')], budget());
    expect(outcome).toMatchObject({ state: 'secure', delegation: true });
    expect(outcome.reason).toBe('example.: NSEC at b.example. lists NS without DS: an unsigned delegation');
  });

  it('tampered: the NSEC at a.example. lists DS', () => {
    expect(proveNoDs(n('a.example.'), EXAMPLE, [nsec('a.example.')], budget())).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
  });

  it('tampered: the child apex NSEC (SOA bit) cannot deny the DS', () => {
    const apex = nsecLine('b.example.', 'ns1.example. NS SOA RRSIG NSEC DNSKEY');
    const outcome = proveNoDs(n('b.example.'), EXAMPLE, [apex], budget());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain("child zone's apex");
  });

  it('a name without NS is no delegation: not secure, delegation false', () => {
    expect(proveNoDs(n('ns1.example.'), EXAMPLE, [nsec('ns1.example.')], budget())).toMatchObject({ state: 'bogus', delegation: false });
    expect(proveNoDs(n('y.w.example.'), EXAMPLE, [nsec('x.w.example.')], budget())).toMatchObject({ state: 'bogus', delegation: false });
  });

  it('no NSEC at the child is bogus with NSEC Missing', () => {
    expect(proveNoDs(n('b.example.'), EXAMPLE, [nsec('ai.example.')], budget())).toMatchObject({ state: 'bogus', ede: EdeCode.NSEC_MISSING });
  });

  it('the zone cannot deny its own DS', () => {
    expect(proveNoDs(EXAMPLE, EXAMPLE, [nsec('example.')], budget()).state).toBe('bogus');
  });
});

describe('NSEC proofs over a chain signed by BIND dnssec-signzone (test/fixtures/denial)', () => {
  const model = ZoneModel.load();
  const chain = readFixture('example.nsec');
  const wide = { ...limits, maxDenialRecords: 100 };
  const names = model.queryNames();
  const types = [RRType.A, RRType.AAAA, RRType.TXT, RRType.CNAME, RRType.DS];

  it('proves NXDOMAIN exactly for the names the zone does not have (and no wildcard covers)', () => {
    const wrong = names.filter((q) => proveWithNsec('nxdomain', q, RRType.A, FIXTURE_ORIGIN, chain, wide).state !== model.expectNxdomain(q)).map(String);
    expect(wrong).toEqual([]);
    expect(names.filter((q) => model.expectNxdomain(q) === 'secure').length).toBeGreaterThan(40);
  });

  it('proves NODATA exactly where the zone (or its wildcard) has the name but not the type', () => {
    const wrong: string[] = [];
    for (const q of names)
      for (const t of types)
        if (proveWithNsec('nodata', q, t, FIXTURE_ORIGIN, chain, wide).state !== model.expectNodata(q, t)) wrong.push(`${q}/${typeToString(t)}`);
    expect(wrong).toEqual([]);
    const secureCount = names.flatMap((q) => types.map((t) => model.expectNodata(q, t))).filter((e) => e === 'secure').length;
    expect(secureCount).toBeGreaterThan(60);
  });

  it('proves a wildcard answer exactly for absent names with their true closest encloser', () => {
    const wrong: string[] = [];
    for (const q of names) {
      if (q.labelCount < 2 || model.cutAbove(q)) continue;
      const absent = !model.exists(q);
      const encloser = absent ? model.closestEncloser(q) : q.parent(1);
      const right = proveWithNsec('wildcard-answer', q, RRType.A, FIXTURE_ORIGIN, chain, wide, { closestEncloser: encloser }).state;
      if (right !== (absent || (q.isWildcard && model.exists(q)) ? 'secure' : 'bogus')) wrong.push(`${q} from *.${encloser}`);
      if (absent && !encloser.equals(FIXTURE_ORIGIN)) {
        const higher = encloser.parent(1);
        if (proveWithNsec('wildcard-answer', q, RRType.A, FIXTURE_ORIGIN, chain, wide, { closestEncloser: higher }).state !== 'bogus') wrong.push(`${q} from *.${higher}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('proves the unsigned delegation sub.example. and nothing for the signed one', () => {
    const budget = new ValidationBudget(wide);
    expect(proveNoDs(n('sub.example.'), FIXTURE_ORIGIN, chain, budget)).toMatchObject({ state: 'secure', delegation: true });
    expect(proveNoDs(n('secure.example.'), FIXTURE_ORIGIN, chain, budget).state).toBe('bogus');
    expect(proveNoDs(n('www.example.'), FIXTURE_ORIGIN, chain, budget)).toMatchObject({ state: 'bogus', delegation: false });
    expect(proveNoDs(n('a.b.example.'), FIXTURE_ORIGIN, chain, budget)).toMatchObject({ state: 'bogus', delegation: false });
  });
});
