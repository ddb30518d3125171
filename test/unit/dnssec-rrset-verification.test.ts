import { describe, expect, it } from 'vitest';
import { keyTag } from '../../src/crypto/key-tag.js';
import { absoluteSignatureTime, usableZoneKeys, verifyRrset } from '../../src/dnssec/rrset-verification.js';
import { ValidationLimitError } from '../../src/dnssec/validation-budget.js';
import { EdeCode } from '../../src/wire/edns.js';
import type { ResourceRecord } from '../../src/wire/message.js';
import { b64, dnskeyRdata as rfcDnskeyRdata, SIGNATURE_VECTORS } from '../fixtures/crypto/rfc-vectors.js';
import {
  DAY,
  NOW,
  collidingRdata,
  context,
  corrupt,
  dnskeyRdata,
  makeKey,
  n,
  rr,
  rrsigRecord,
  sign,
  signWith,
} from '../fixtures/validation/signing.js';

const EXAMPLE = n('example.');
const zsk = makeKey('example.', { flags: 256 });
const www = [rr('www.example. 3600 IN A 192.0.2.1'), rr('www.example. 3600 IN A 192.0.2.2')];
const WRAP = 2 ** 32;

describe('RFC vectors: verifyRrset on the RFCs’ own RRset, RRSIG and DNSKEY (RFC 4034 §3.1.8.1, RFC 4035 §5.3)', () => {
  describe.each(SIGNATURE_VECTORS.map((v) => [v.source, v] as const))('%s', (_source, v) => {
    const owner = n(v.owner);
    const signer = n(v.rrsig.signer);
    const rrset: ResourceRecord[] = v.rdatas.map((rdata) => ({ name: owner, type: v.rrsig.typeCovered, class: 1, ttl: v.rrsig.originalTtl, rdata }));
    const key = rfcDnskeyRdata(v.flags, v.algorithm, b64(v.publicKey));
    const rrsig = rrsigRecord(owner, v.rrsig.originalTtl, { ...v.rrsig, signerName: signer, signature: b64(v.signature) });
    const { inception, expiration } = v.rrsig;
    const mid = Math.floor((inception + expiration) / 2);

    it('the key tag the RFC prints is the key’s', () => expect(keyTag(key)).toBe(v.keyTag));

    it('secure inside the validity window, with the verifying key returned', () => {
      const r = verifyRrset(rrset, [rrsig], signer, [key], context(mid));
      expect(r.outcome.state).toBe('secure');
      expect(r.key).toEqual(key);
      expect(r.wildcardEncloser).toBeUndefined();
      expect(r.checks.map((c) => c.result)).toEqual(['valid']);
    });

    it('bogus (Signature Expired) after the expiration plus the clock skew', () => {
      const r = verifyRrset(rrset, [rrsig], signer, [key], context(expiration + 301));
      expect(r.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.SIGNATURE_EXPIRED });
      expect(r.outcome.reason).toContain(new Date(expiration * 1000).toISOString());
    });

    it('bogus (Signature Not Yet Valid) before the inception minus the clock skew', () => {
      const r = verifyRrset(rrset, [rrsig], signer, [key], context(inception - 301));
      expect(r.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.SIGNATURE_NOT_YET_VALID });
    });

    it('bogus (DNSSEC Bogus) when one signature bit is flipped', () => {
      const r = verifyRrset(rrset, [corrupt(rrsig)], signer, [key], context(mid));
      expect(r.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    });
  });

  it('RFC 8080 §6.1 (Errata 4935): example.com. MX verifies on 2015-08-01, with the TTL capped by the time left', () => {
    const v = SIGNATURE_VECTORS.find((x) => x.source.startsWith('RFC 8080 §6.1') && x.keyTag === 3613)!;
    const owner = n('example.com.');
    const rrset = [rr('example.com. 3600 IN MX 10 mail.example.com.')];
    const rrsig = rrsigRecord(owner, 3600, { ...v.rrsig, signerName: owner, signature: b64(v.signature) });
    const key = rfcDnskeyRdata(257, 15, b64(v.publicKey));
    const now = v.rrsig.expiration - 1000;
    const r = verifyRrset(rrset, [rrsig], owner, [key], context(now));
    expect(r.outcome.state).toBe('secure');
    expect(r.outcome.reason).toBe('example.com.: example.com./MX signed by key 3613 (algorithm 15), valid until 2015-08-19T22:00:00.000Z');
    expect(r.ttl).toBe(1000);
    expect(verifyRrset(rrset, [rrsig], owner, [key], context(v.rrsig.expiration + 301)).outcome.reason).toBe(
      'example.com.: the RRSIG by key 3613 over example.com./MX expired at 2015-08-19T22:00:00.000Z',
    );
    // In 2026 (the real 2015 signature, long expired) it is bogus whatever the key.
    expect(verifyRrset(rrset, [rrsig], owner, [key], context(NOW)).outcome.ede).toBe(EdeCode.SIGNATURE_EXPIRED);
  });
});

describe('signer name and owner (RFC 4035 §5.3.1)', () => {
  it('secure when the signer is the zone passed and the owner is below it; names compare case-insensitively', () => {
    const mixed = [rr('WWW.Example. 3600 IN A 192.0.2.1')];
    const r = verifyRrset(mixed, [sign(mixed, zsk)], n('EXAMPLE.'), [zsk.rdata], context());
    expect(r.outcome.state).toBe('secure');
  });

  it('an RRSIG whose signer is another zone does not count, even though its signature verifies', () => {
    const other = makeKey('other.');
    const r = verifyRrset(www, [signWith(www, other, {})], EXAMPLE, [other.rdata], context());
    expect(r.checks.map((c) => c.result)).toEqual(['wrong-signer']);
    expect(r.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(r.outcome.reason).toBe('example.: the RRSIG over www.example./A names signer other., not example.');
  });

  it('a parent’s key cannot sign for a child zone: signer sub.example. ≠ the zone example.', () => {
    const r = verifyRrset(www, [signWith(www, zsk, { signerName: n('sub.example.') })], EXAMPLE, [zsk.rdata], context());
    expect(r.outcome.state).toBe('bogus');
    expect(r.checks[0]!.result).toBe('wrong-signer');
  });

  it('an RRset outside the signer’s zone is not secure, even with a good signature by the zone’s key', () => {
    const outside = [rr('www.other. 3600 IN A 192.0.2.1')];
    const rrsig = signWith(outside, zsk, {}); // signer example., labels 2
    const r = verifyRrset(outside, [rrsig], EXAMPLE, [zsk.rdata], context());
    expect(r.checks.map((c) => c.result)).toEqual(['wrong-signer']);
    expect(r.outcome.state).toBe('bogus');
  });
});

describe('label count and wildcards (RFC 4035 §5.3.1, §5.3.4; RFC 4034 §3.1.3)', () => {
  it('a wildcard expansion (labels < owner labels) is secure and names the wildcard’s closest encloser', () => {
    const expanded = [rr('x.y.example. 3600 IN A 192.0.2.7')];
    const r = verifyRrset(expanded, [signWith(expanded, zsk, { labels: 2 })], EXAMPLE, [zsk.rdata], context());
    expect(r.outcome.state).toBe('secure');
    expect(r.wildcardEncloser?.toString()).toBe('y.example.');
    expect(r.outcome.reason).toContain('expanded from *.y.example.');
  });

  it('an expansion from the apex wildcard *.example. (labels = the signer’s) is allowed', () => {
    const expanded = [rr('a.b.example. 3600 IN A 192.0.2.7')];
    const r = verifyRrset(expanded, [signWith(expanded, zsk, { labels: 1 })], EXAMPLE, [zsk.rdata], context());
    expect(r.outcome.state).toBe('secure');
    expect(r.wildcardEncloser?.toString()).toBe('example.');
  });

  it('the wildcard owner *.a.example. itself, signed with labels 2, is not an expansion', () => {
    const wild = [rr('*.a.example. 3600 IN A 192.0.2.8')];
    const rrsig = sign(wild, zsk);
    expect(rrsig.rdata[3]).toBe(2); // the signer left the "*" out of the label count
    const r = verifyRrset(wild, [rrsig], EXAMPLE, [zsk.rdata], context());
    expect(r.outcome.state).toBe('secure');
    expect(r.wildcardEncloser).toBeUndefined();
  });

  it('labels greater than the owner’s are bad: www.example. with labels 3', () => {
    const rrsig = sign(www, zsk);
    const r = verifyRrset(www, [{ ...rrsig, rdata: withLabels(rrsig.rdata, 3) }], EXAMPLE, [zsk.rdata], context());
    expect(r.checks.map((c) => c.result)).toEqual(['bad-labels']);
    expect(r.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(r.outcome.reason).toBe('example.: the RRSIG over www.example./A has a label count outside the owner and its zone');
  });

  it('labels counting the "*" of a wildcard owner are bad (RFC 4034 §3.1.3), though the signature over them verifies', () => {
    const wild = [rr('*.a.example. 3600 IN A 192.0.2.8')];
    const r = verifyRrset(wild, [signWith(wild, zsk, { labels: 3 })], EXAMPLE, [zsk.rdata], context());
    expect(r.checks.map((c) => c.result)).toEqual(['bad-labels']);
    expect(r.outcome.state).toBe('bogus');
  });

  it('regression (wildcard forgery): labels below the signer’s label count would expand *.example. from zone sub.example.', () => {
    const sub = makeKey('sub.example.');
    const forged = [rr('www.sub.example. 3600 IN A 203.0.113.66')];
    // A good signature by sub.example.'s own key over "*.example. A": a wildcard above its apex.
    const r = verifyRrset(forged, [signWith(forged, sub, { labels: 1 })], n('sub.example.'), [sub.rdata], context());
    expect(r.checks.map((c) => c.result)).toEqual(['bad-labels']);
    expect(r.outcome.state).toBe('bogus');
    expect(r.wildcardEncloser).toBeUndefined();
    // The same zone's own wildcard *.sub.example. is fine.
    const honest = verifyRrset(forged, [signWith(forged, sub, { labels: 2 })], n('sub.example.'), [sub.rdata], context());
    expect(honest.outcome.state).toBe('secure');
    expect(honest.wildcardEncloser?.toString()).toBe('sub.example.');
  });

  it('regression: labels 0 (the root wildcard "*.") from zone example. is rejected', () => {
    const r = verifyRrset(www, [signWith(www, zsk, { labels: 0 })], EXAMPLE, [zsk.rdata], context());
    expect(r.checks.map((c) => c.result)).toEqual(['bad-labels']);
  });
});

/** RRSIG RDATA with another label count (the signature no longer matters: the count is refused first). */
function withLabels(rdata: Uint8Array, labels: number): Uint8Array {
  const out = Uint8Array.from(rdata);
  out[3] = labels;
  return out;
}

describe('validity window (RFC 4035 §5.3.1) and clock skew', () => {
  const window = { inception: NOW - DAY, expiration: NOW + DAY };
  const rrsig = sign(www, zsk, window);
  const at = (now: number, clockSkew = 300) => verifyRrset(www, [rrsig], EXAMPLE, [zsk.rdata], context(now, { clockSkew }));

  it('valid at both ends of the window and within the skew beyond them', () => {
    for (const now of [window.inception, window.expiration, window.inception - 300, window.expiration + 300]) expect(at(now).outcome.state).toBe('secure');
  });

  it('expired one second past expiration + skew: EDE 7, with the zone, the RRset and the time in the reason', () => {
    const r = at(window.expiration + 301);
    expect(r.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.SIGNATURE_EXPIRED });
    expect(r.outcome.reason).toBe(`example.: the RRSIG by key ${zsk.tag} over www.example./A expired at ${new Date(window.expiration * 1000).toISOString()}`);
    expect(r.checks.map((c) => c.result)).toEqual(['expired']);
  });

  it('not yet valid one second before inception - skew: EDE 8', () => {
    const r = at(window.inception - 301);
    expect(r.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.SIGNATURE_NOT_YET_VALID });
    expect(r.outcome.reason).toBe(`example.: the RRSIG by key ${zsk.tag} over www.example./A is not valid before ${new Date(window.inception * 1000).toISOString()}`);
  });

  it('without skew the window is exact', () => {
    expect(at(window.expiration, 0).outcome.state).toBe('secure');
    expect(at(window.expiration + 1, 0).outcome.ede).toBe(EdeCode.SIGNATURE_EXPIRED);
    expect(at(window.inception, 0).outcome.state).toBe('secure');
    expect(at(window.inception - 1, 0).outcome.ede).toBe(EdeCode.SIGNATURE_NOT_YET_VALID);
  });

  it('one good RRSIG is enough: an expired one beside a current one is secure', () => {
    const old = sign(www, zsk, { inception: NOW - 30 * DAY, expiration: NOW - 10 * DAY });
    const r = verifyRrset(www, [old, rrsig], EXAMPLE, [zsk.rdata], context());
    expect(r.outcome.state).toBe('secure');
    expect(r.checks.map((c) => c.result)).toEqual(['expired', 'valid']);
  });
});

describe('serial arithmetic across the 2106 wrap (RFC 4034 §3.1.5, RFC 1982)', () => {
  it('absoluteSignatureTime maps a 32-bit field to the absolute time nearest now', () => {
    expect(absoluteSignatureTime(NOW, NOW)).toBe(NOW);
    expect(absoluteSignatureTime(NOW - 10, NOW)).toBe(NOW - 10);
    expect(absoluteSignatureTime(10, WRAP - 10)).toBe(WRAP + 10); // just after the wrap, seen from before it
    expect(absoluteSignatureTime(WRAP - 10, WRAP + 10)).toBe(WRAP - 10); // just before, seen from after
    expect(absoluteSignatureTime((NOW + 2 ** 31 - 1) >>> 0, NOW)).toBe(NOW + 2 ** 31 - 1);
    expect(absoluteSignatureTime((NOW - 2 ** 31) >>> 0, NOW)).toBe(NOW - 2 ** 31);
  });

  const window = { inception: WRAP - DAY, expiration: WRAP + 600 };
  const rrsig = sign(www, zsk, window);

  it('a signature spanning the wrap (expiration field 600) is valid before and after it, its TTL capped by the real time left', () => {
    const before = verifyRrset(www, [rrsig], EXAMPLE, [zsk.rdata], context(WRAP - 100));
    expect(before.outcome.state).toBe('secure');
    expect(before.ttl).toBe(700);
    expect(before.outcome.reason).toContain('valid until 2106-02-07T06:38:16.000Z');
    const after = verifyRrset(www, [rrsig], EXAMPLE, [zsk.rdata], context(WRAP + 100));
    expect(after.outcome.state).toBe('secure');
    expect(after.ttl).toBe(500);
  });

  it('after the wrap it expires at 2106-02-07T06:38:16Z, and the reason says so', () => {
    const r = verifyRrset(www, [rrsig], EXAMPLE, [zsk.rdata], context(WRAP + 901));
    expect(r.outcome.ede).toBe(EdeCode.SIGNATURE_EXPIRED);
    expect(r.outcome.reason).toContain('expired at 2106-02-07T06:38:16.000Z');
    expect(r.checks[0]).toMatchObject({ inception: WRAP - DAY, expiration: WRAP + 600 });
  });

  it('a signature made before the wrap is not yet valid when it starts after it', () => {
    const later = sign(www, zsk, { inception: WRAP + 1000, expiration: WRAP + DAY });
    expect(verifyRrset(www, [later], EXAMPLE, [zsk.rdata], context(WRAP - 1000)).outcome.ede).toBe(EdeCode.SIGNATURE_NOT_YET_VALID);
  });
});

describe('TTL capping (RFC 4035 §5.3.3): min(original TTL, RRset TTL, seconds until expiration)', () => {
  const rrsetWithTtl = (ttl: number) => [rr(`www.example. ${ttl} IN A 192.0.2.1`)];

  it('the RRset TTL when it is the smallest (a cache counted it down)', () => {
    const set = rrsetWithTtl(300);
    const r = verifyRrset(set, [signWith(set, zsk, { originalTtl: 3600 })], EXAMPLE, [zsk.rdata], context());
    expect(r.ttl).toBe(300);
  });

  it('the original TTL when the RRset arrives with a larger one', () => {
    const set = rrsetWithTtl(86400);
    const r = verifyRrset(set, [signWith(set, zsk, { originalTtl: 3600 })], EXAMPLE, [zsk.rdata], context());
    expect(r.outcome.state).toBe('secure');
    expect(r.ttl).toBe(3600);
  });

  it('the seconds until expiration when the signature ends sooner; 0 when accepted within the skew past it', () => {
    const set = rrsetWithTtl(3600);
    const rrsig = sign(set, zsk, { inception: NOW - DAY, expiration: NOW + 120 });
    expect(verifyRrset(set, [rrsig], EXAMPLE, [zsk.rdata], context()).ttl).toBe(120);
    const late = verifyRrset(set, [rrsig], EXAMPLE, [zsk.rdata], context(NOW + 200));
    expect(late.outcome.state).toBe('secure');
    expect(late.ttl).toBe(0);
  });

  it('the smallest TTL among the RRset’s records', () => {
    const set = [rr('www.example. 3600 IN A 192.0.2.1'), rr('www.example. 60 IN A 192.0.2.2')];
    expect(verifyRrset(set, [signWith(set, zsk, { originalTtl: 3600 })], EXAMPLE, [zsk.rdata], context()).ttl).toBe(60);
  });
});

describe('key selection (RFC 4035 §5.3.1; RFC 5011 §2.1 REVOKE)', () => {
  it('the key’s algorithm must match: a key with the same tag and public key but algorithm 14 does not verify an algorithm-13 RRSIG', () => {
    const ksk = makeKey('example.'); // flags 257, algorithm 13
    // flags 257→256 and algorithm 13→14 are both low octets: -1 and +1 leave the key tag.
    const other = Uint8Array.from(ksk.rdata);
    other[1] = 0x00;
    other[3] = 14;
    expect(keyTag(other)).toBe(ksk.tag);
    const rrsig = sign(www, ksk);
    expect(verifyRrset(www, [rrsig], EXAMPLE, [ksk.rdata], context()).outcome.state).toBe('secure');
    const r = verifyRrset(www, [rrsig], EXAMPLE, [other], context());
    expect(r.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSKEY_MISSING });
    expect(r.checks[0]!.result).toBe('no-key');
  });

  it('the key tag must match: an RRSIG naming another tag is not verified with the key (EDE 9 names the tag)', () => {
    const rrsig = signWith(www, zsk, { keyTag: zsk.tag ^ 1 });
    const r = verifyRrset(www, [rrsig], EXAMPLE, [zsk.rdata], context());
    expect(r.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSKEY_MISSING });
    expect(r.outcome.reason).toBe(`example.: no trusted DNSKEY with tag ${zsk.tag ^ 1} (algorithm 13) for the RRSIG over www.example./A`);
  });

  it.each([
    ['without the zone-key bit (flags 0)', { flags: 0 }],
    ['with REVOKE set (flags 0x0181)', { flags: 0x0181 }],
    ['with protocol 2', { flags: 257, protocol: 2 }],
  ])('a key %s is never used, though it made the signature', (_what, opts) => {
    const key = makeKey('example.', opts);
    const r = verifyRrset(www, [sign(www, key)], EXAMPLE, [key.rdata], context());
    expect(r.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSKEY_MISSING });
    expect(usableZoneKeys([key.rdata])).toEqual([]);
  });

  it('usableZoneKeys keeps zone keys (ZSK and KSK) and drops the others', () => {
    const ksk = makeKey('example.');
    const revoked = dnskeyRdata(0x0181, 13, ksk.rdata.subarray(4));
    const noZone = dnskeyRdata(0x0001, 13, ksk.rdata.subarray(4));
    expect(usableZoneKeys([zsk.rdata, revoked, ksk.rdata, noZone])).toEqual([zsk.rdata, ksk.rdata]);
  });
});

describe('KeyTrap bounds (CVE-2023-50387): key-tag collisions, RRSIGs per RRset, the query budget', () => {
  const key = makeKey('example.', { algorithm: 15 });
  const fakes = Array.from({ length: 10 }, (_, i) => collidingRdata(key.rdata, i));
  const rrsig = sign(www, key);

  it('the fakes collide with the real key’s tag', () => {
    expect(new Set([key.tag, ...fakes.map((f) => keyTag(f))]).size).toBe(1);
  });

  it('only maxKeysPerKeyTag colliding keys are tried for one RRSIG, each paid from the budget', () => {
    const third = context(NOW, { maxKeysPerKeyTag: 3 });
    expect(verifyRrset(www, [rrsig], EXAMPLE, [fakes[0]!, fakes[1]!, key.rdata], third).outcome.state).toBe('secure');
    expect(third.budget.signatureChecks).toBe(3);

    const fourth = context(NOW, { maxKeysPerKeyTag: 3 });
    const r = verifyRrset(www, [rrsig], EXAMPLE, [fakes[0]!, fakes[1]!, fakes[2]!, key.rdata], fourth);
    expect(r.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(fourth.budget.signatureChecks).toBe(3);
  });

  it('more than maxSignaturesPerRrset RRSIGs: the extra ones are skipped', () => {
    const sigs = [corrupt(rrsig), corrupt(rrsig), corrupt(rrsig), rrsig];
    const limited = context(NOW, { maxSignaturesPerRrset: 3 });
    const r = verifyRrset(www, sigs, EXAMPLE, [key.rdata], limited);
    expect(r.outcome.state).toBe('bogus');
    expect(r.checks.map((c) => c.result)).toEqual(['bad-signature', 'bad-signature', 'bad-signature', 'skipped']);
    expect(limited.budget.signatureChecks).toBe(3);
    expect(verifyRrset(www, sigs, EXAMPLE, [key.rdata], context(NOW, { maxSignaturesPerRrset: 4 })).outcome.state).toBe('secure');
  });

  it('only skipped RRSIGs left: the reason says the limit was reached', () => {
    const other = makeKey('example.');
    const sigs = [sign(www, other, { inception: NOW - 9 * DAY, expiration: NOW - 8 * DAY }), rrsig];
    const r = verifyRrset(www, sigs, EXAMPLE, [key.rdata], context(NOW, { maxSignaturesPerRrset: 1 }));
    expect(r.checks.map((c) => c.result)).toEqual(['expired', 'skipped']);
    expect(r.outcome.state).toBe('bogus');
  });

  it('a KeyTrap RRset costs at most maxKeysPerKeyTag × maxSignaturesPerRrset checks; the shared budget then throws ValidationLimitError', () => {
    const trap = Array.from({ length: 20 }, () => corrupt(rrsig));
    const keys = [...fakes, key.rdata];
    const run = context(); // defaults: 4 keys per tag, 8 RRSIGs per RRset, 64 checks per query
    expect(verifyRrset(www, trap, EXAMPLE, keys, run).outcome.state).toBe('bogus');
    expect(run.budget.signatureChecks).toBe(32);
    verifyRrset(www, trap, EXAMPLE, keys, run);
    expect(run.budget.signatureChecks).toBe(64);
    let thrown: unknown;
    try {
      verifyRrset(www, trap, EXAMPLE, keys, run);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ValidationLimitError);
    expect(thrown).toMatchObject({ limit: 'signature-checks' });
  });

  it('a small budget throws within one RRset', () => {
    const run = context(NOW, { maxSignatureChecks: 5 });
    expect(() => verifyRrset(www, Array.from({ length: 8 }, () => corrupt(rrsig)), EXAMPLE, [key.rdata], run)).toThrow(ValidationLimitError);
    expect(run.budget.signatureChecks).toBe(6);
  });
});

describe('unsupported algorithms (RFC 6840 §5.11) and missing RRSIGs', () => {
  const gost = rrsigRecord(n('www.example.'), 3600, {
    typeCovered: 1,
    algorithm: 12,
    labels: 2,
    originalTtl: 3600,
    expiration: NOW + DAY,
    inception: NOW - DAY,
    keyTag: 4242,
    signerName: EXAMPLE,
    signature: new Uint8Array(64).fill(7),
  });

  it('an RRSIG of an unsupported algorithm is ignored while another verifies', () => {
    const r = verifyRrset(www, [gost, sign(www, zsk)], EXAMPLE, [zsk.rdata], context());
    expect(r.outcome.state).toBe('secure');
    expect(r.checks.map((c) => [c.algorithm, c.result])).toEqual([
      [12, 'unsupported-algorithm'],
      [13, 'valid'],
    ]);
  });

  it('only unsupported-algorithm RRSIGs: bogus, RRSIGs Missing', () => {
    const r = verifyRrset(www, [gost], EXAMPLE, [zsk.rdata], context());
    expect(r.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.RRSIGS_MISSING });
    expect(r.outcome.reason).toBe('example.: www.example./A has RRSIGs only of algorithms this validator does not implement');
  });

  it('no RRSIG, or RRSIGs only over another type or owner: EDE 10 naming the zone and the RRset', () => {
    const mx = [rr('www.example. 3600 IN MX 10 mail.example.')];
    const elsewhere = [rr('ftp.example. 3600 IN A 192.0.2.1')];
    for (const sigs of [[], [sign(mx, zsk)], [sign(elsewhere, zsk)]]) {
      const r = verifyRrset(www, sigs, EXAMPLE, [zsk.rdata], context());
      expect(r.outcome).toEqual({ state: 'bogus', reason: 'example.: no RRSIG for www.example./A', ede: EdeCode.RRSIGS_MISSING });
      expect(r.ttl).toBe(0);
    }
  });

  it('a bad signature: EDE 6 naming the key, the zone and the RRset', () => {
    const r = verifyRrset(www, [corrupt(sign(www, zsk))], EXAMPLE, [zsk.rdata], context());
    expect(r.outcome).toEqual({ state: 'bogus', reason: `example.: the RRSIG by key ${zsk.tag} over www.example./A does not verify`, ede: EdeCode.DNSSEC_BOGUS });
  });

  it('a changed RRset (a record added) no longer verifies', () => {
    const rrsig = sign(www, zsk);
    const more = [...www, rr('www.example. 3600 IN A 203.0.113.9')];
    expect(verifyRrset(more, [rrsig], EXAMPLE, [zsk.rdata], context()).outcome.ede).toBe(EdeCode.DNSSEC_BOGUS);
  });
});
