import { describe, expect, it } from 'vitest';
import type { ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRClass, RRType } from '../../src/wire/rr-type.js';
import { minimumTtl } from '../../src/wire/rrsets.js';

const rr = (type: number, ttl: number): ResourceRecord => ({ name: Name.parse('a.example.'), type, class: RRClass.IN, ttl, rdata: new Uint8Array(4) });

/** The one "smallest TTL of an answer" (the response cache, the resolver's cache, DoH Cache-Control). */
describe('minimumTtl', () => {
  it('is the smallest TTL across every section given', () => {
    expect(minimumTtl([rr(RRType.A, 300), rr(RRType.A, 60)], [rr(RRType.SOA, 120)])).toBe(60);
    expect(minimumTtl([rr(RRType.A, 300)], [rr(RRType.SOA, 5)])).toBe(5);
  });

  it('is 0 for no records (nothing to keep), and a TTL of 0 wins', () => {
    expect(minimumTtl()).toBe(0);
    expect(minimumTtl([], [])).toBe(0);
    expect(minimumTtl([rr(RRType.A, 0), rr(RRType.A, 3600)])).toBe(0);
  });

  it('passes over OPT, whose TTL field is the extended RCODE and flags (RFC 6891)', () => {
    expect(minimumTtl([rr(RRType.A, 300)], [rr(RRType.OPT, 0x8000)])).toBe(300);
    expect(minimumTtl([rr(RRType.OPT, 0)])).toBe(0);
  });
});
