import { describe, expect, it } from 'vitest';
import { type VerifiedSignatures, verifyRrset } from '../../src/dnssec/rrset-verification.js';
import { DAY, NOW, context, corrupt, makeKey, n, rr, sign } from '../fixtures/validation/signing.js';

const zone = n('example.');
const zsk = makeKey('example.', { flags: 256 });
const www = [rr('www.example. 3600 IN A 192.0.2.1')];
// An NSEC RRset: proofs are checked again for every name they deny, so their signatures are remembered.
const nsec = [rr('www.example. 3600 IN NSEC zz.example. A RRSIG NSEC')];

function memory(): VerifiedSignatures & { size(): number } {
  const seen = new Set<string>();
  return { has: (f) => seen.has(f), add: (f) => void seen.add(f), size: () => seen.size };
}

describe('remembered signature checks', () => {
  it('a signature that verified once is not verified again: no budget spent', () => {
    const verified = memory();
    const sig = sign(nsec, zsk);
    const first = context();
    expect(verifyRrset(nsec, [sig], zone, [zsk.rdata], { ...first, verified }).outcome.state).toBe('secure');
    expect(first.budget.signatureChecks).toBe(1);
    expect(verified.size()).toBe(1);
    const second = context();
    expect(verifyRrset(nsec, [sig], zone, [zsk.rdata], { ...second, verified }).outcome.state).toBe('secure');
    expect(second.budget.signatureChecks).toBe(0);
  });

  it('only successes are remembered, and a remembered one still passes the window and data checks', () => {
    const verified = memory();
    const sig = sign(nsec, zsk);
    const bad = corrupt(sig);
    expect(verifyRrset(nsec, [bad], zone, [zsk.rdata], { ...context(), verified }).outcome.state).toBe('bogus');
    expect(verified.size()).toBe(0);
    expect(verifyRrset(nsec, [sig], zone, [zsk.rdata], { ...context(), verified }).outcome.state).toBe('secure');
    // Expired now: the memory does not bypass the validity window.
    expect(verifyRrset(nsec, [sig], zone, [zsk.rdata], { ...context(NOW + 30 * DAY), verified }).outcome.state).toBe('bogus');
    // Other data under the same RRSIG: a different fingerprint, verified and failing.
    const other = [rr('www.example. 3600 IN NSEC yy.example. A RRSIG NSEC')];
    const c = context();
    expect(verifyRrset(other, [{ ...sig }], zone, [zsk.rdata], { ...c, verified }).outcome.state).toBe('bogus');
    expect(c.budget.signatureChecks).toBe(1);
  });

  it('a plain RRset is not remembered (its verdict is kept with the answer); a wildcard expansion is, across the names it makes', () => {
    const verified = memory();
    const sig = sign(www, zsk);
    for (let i = 0; i < 2; i++) {
      const c = context();
      expect(verifyRrset(www, [sig], zone, [zsk.rdata], { ...c, verified }).outcome.state).toBe('secure');
      expect(c.budget.signatureChecks).toBe(1);
    }
    expect(verified.size()).toBe(0);
    const wild = sign([rr('*.example. 3600 IN A 192.0.2.9')], zsk);
    const spent = ['a.example.', 'b.example.'].map((owner) => {
      const c = context();
      const expanded = [rr(`${owner} 3600 IN A 192.0.2.9`)];
      expect(verifyRrset(expanded, [{ ...wild, name: n(owner) }], zone, [zsk.rdata], { ...c, verified }).outcome.state).toBe('secure');
      return c.budget.signatureChecks;
    });
    expect(spent).toEqual([1, 0]);
    expect(verified.size()).toBe(1);
  });
});
