/**
 * The answer validator and the chain of trust against zones signed in-process (the project's
 * own signer) and answers forged from them: the zone that holds data is found from its owner
 * name, never from the Signer's Name the attacker writes (RFC 4035 §5.3.1).
 */
import { describe, expect, it } from 'vitest';
import type { TrustAnchor } from '../../src/dnssec/trust-anchor.js';
import { AnswerValidator } from '../../src/resolver/answer-validator.js';
import { ChainOfTrust } from '../../src/resolver/chain-of-trust.js';
import type { Resolution } from '../../src/resolver/iterator.js';
import { rrsetKey } from '../../src/resolver/link-origins.js';
import { EdeCode } from '../../src/wire/edns.js';
import { Rcode } from '../../src/wire/message.js';
import { RRType } from '../../src/wire/rr-type.js';
import { SignedWorld, forged } from '../fixtures/validation/signed-world.js';
import { NOW, corrupt, makeKey, n, rr, signWith } from '../fixtures/validation/signing.js';

const q = (name: string, type: number) => ({ name: n(name), type, class: 1 });

function validatorFor(anchors: readonly TrustAnchor[]): { validator: AnswerValidator; chain: ChainOfTrust } {
  const chain = new ChainOfTrust({ anchors: { anchors: () => anchors }, bogusTtl: 60, maxKeyTtl: 86_400 });
  return { validator: new AnswerValidator(chain), chain };
}

describe('island of security: corp.example. anchored by a DS, example. unsigned', () => {
  const world = SignedWorld.build([
    { origin: 'example.', signed: false, records: ['www.example. 300 IN A 192.0.2.9'] },
    { origin: 'corp.example.', noDs: true, records: ['www.corp.example. 3600 IN A 192.0.2.1', '*.wild.corp.example. 3600 IN A 192.0.2.7', 'mail.corp.example. 3600 IN MX 10 www.corp.example.'] },
  ]);
  const { validator } = validatorFor([world.anchor('corp.example.')]);
  const attacker = makeKey('example.', { flags: 256 });

  it('honest data, NXDOMAIN, NODATA and a wildcard answer are secure', async () => {
    for (const [name, type] of [['www.corp.example.', RRType.A], ['nx.corp.example.', RRType.A], ['www.corp.example.', RRType.TXT], ['x.wild.corp.example.', RRType.A]] as const) {
      const r = world.answer(n(name), type);
      const outcome = await validator.validate(q(name, type), r, world.run());
      expect(outcome.state, `${name}: ${outcome.reason}`).toBe('secure');
    }
  });

  it.each([
    ['data', 'www.corp.example.', RRType.A, Rcode.NOERROR],
    ['NXDOMAIN', 'nx.corp.example.', RRType.A, Rcode.NXDOMAIN],
    ['NODATA', 'www.corp.example.', RRType.TXT, Rcode.NOERROR],
    ['wildcard', 'x.wild.corp.example.', RRType.A, Rcode.NOERROR],
  ] as const)('%s whose RRSIGs name the unsigned parent example. as signer (above the anchor) is bogus, not insecure', async (_what, name, type, rcode) => {
    const honest = world.answer(n(name), type);
    expect(honest.rcode).toBe(rcode);
    const outcome = await validator.validate(q(name, type), forged(honest, attacker), world.run());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain('bad signer name');
    expect(outcome.reason).toContain('above the trust anchor corp.example.');
  });

  it('a signature that verifies with the attacker’s own key, signer example., is bogus too', async () => {
    const outcome = await validator.validate(q('www.corp.example.', RRType.A), forged(world.answer(n('www.corp.example.'), RRType.A), attacker, attacker.zone, false), world.run());
    expect(outcome.state).toBe('bogus');
  });

  it.each([
    ['outside the chain (other.test.)', 'other.test.', 'does not enclose it'],
    ['below the zone, not an apex (www.corp.example.)', 'www.corp.example.', 'not a zone apex'],
  ])('a signer %s is bogus', async (_what, signer, why) => {
    const key = makeKey(signer, { flags: 256 });
    const outcome = await validator.validate(q('www.corp.example.', RRType.A), forged(world.answer(n('www.corp.example.'), RRType.A), key, n(signer)), world.run());
    expect(outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
    expect(outcome.reason).toContain(why);
  });

  it('the unsigned parent’s own data, with a garbage RRSIG, is insecure: no anchor holds it', async () => {
    const outcome = await validator.validate(q('www.example.', RRType.A), forged(world.answer(n('www.example.'), RRType.A), attacker), world.run());
    expect(outcome.state).toBe('insecure');
  });

  it('a DS RRset is held by the parent side: the DS of corp.example. is no data of the island', async () => {
    const ds = [rr('corp.example. 3600 IN DS 1 13 2 0000000000000000000000000000000000000000000000000000000000000000')];
    const key = makeKey('corp.example.', { flags: 256 });
    const r: Resolution = { rcode: Rcode.NOERROR, answer: [...ds, corrupt(signWith(ds, key))], authority: [], security: 'unchecked' };
    expect((await validator.validate(q('corp.example.', RRType.DS), r, world.run())).state).toBe('insecure');
  });
});

describe('a chain from the root: ., example., sub.example. and a.b.example. signed; unsigned.example. not', () => {
  const world = SignedWorld.build([
    { origin: '.' },
    { origin: 'example.', records: ['www.example. 3600 IN A 192.0.2.2', 'alias.example. 3600 IN CNAME www.hosted.test.', 'fake.example. 3600 IN A 192.0.2.66'] },
    { origin: 'sub.example.', records: ['www.sub.example. 3600 IN A 192.0.2.3'] },
    { origin: 'a.b.example.', records: ['www.a.b.example. 3600 IN A 192.0.2.4'] },
    { origin: 'unsigned.example.', signed: false, records: ['www.unsigned.example. 3600 IN A 192.0.2.5'] },
  ]);
  const root = world.anchor('.');

  it('data of a signed child is secure; the walk asked the DS of each cut down to the signer', async () => {
    const { validator } = validatorFor([root]);
    world.fetches.length = 0;
    const outcome = await validator.validate(q('www.sub.example.', RRType.A), world.answer(n('www.sub.example.'), RRType.A), world.run());
    expect(outcome.state, outcome.reason).toBe('secure');
    expect(world.fetches).toEqual(['./DNSKEY', 'example./DS', 'example./DNSKEY', 'sub.example./DS', 'sub.example./DNSKEY']);
  });

  it('the parent’s valid signature over its child’s data does not count (RFC 4035 §5.3.1): bogus', async () => {
    const { validator } = validatorFor([root]);
    const parent = world.zone('example.').zsk!;
    const a = world.answer(n('www.sub.example.'), RRType.A).answer.filter((r) => r.type === RRType.A);
    const r: Resolution = { rcode: Rcode.NOERROR, answer: [...a, signWith(a, parent)], authority: [], security: 'unchecked' };
    const outcome = await validator.validate(q('www.sub.example.', RRType.A), r, world.run());
    expect(outcome.state).toBe('bogus');
    expect(outcome.reason).toContain('bad signer name');
  });

  it('data of an unsigned child is insecure whatever its RRSIG claims', async () => {
    const { validator } = validatorFor([root]);
    const honest = world.answer(n('www.unsigned.example.'), RRType.A);
    for (const signer of ['unsigned.example.', 'example.', 'evil.test.']) {
      const outcome = await validator.validate(q('www.unsigned.example.', RRType.A), forged(honest, makeKey(signer, { flags: 256 }), n(signer)), world.run());
      expect(outcome.state, `${signer}: ${outcome.reason}`).toBe('insecure');
    }
  });

  it('a server that answers NXDOMAIN for the DS of an empty non-terminal (b.example.), with the NSEC showing it exists, does not break the chain below', async () => {
    const { validator } = validatorFor([root]);
    world.override = (name, type) => {
      if (type !== RRType.DS || !name.equals(n('b.example.'))) return undefined;
      return { ...world.answer(name, type), rcode: Rcode.NXDOMAIN };
    };
    try {
      const outcome = await validator.validate(q('www.a.b.example.', RRType.A), world.answer(n('www.a.b.example.'), RRType.A), world.run());
      expect(outcome.state, outcome.reason).toBe('secure');
    } finally {
      world.override = undefined;
    }
  });

  it('a CNAME chain into a hosted zone: the hosted link is trusted (insecure, no AD), the signed link is still checked', async () => {
    const { validator } = validatorFor([root]);
    const cname = world.answer(n('alias.example.'), RRType.A).answer;
    const hostedA = rr('www.hosted.test. 300 IN A 192.0.2.80');
    const hostedLinks = new Set([rrsetKey(hostedA.name, RRType.A)]);
    const honest: Resolution = { rcode: Rcode.NOERROR, answer: [...cname, hostedA], authority: [], security: 'unchecked', local: true, hostedLinks };
    const ok = await validator.validate(q('alias.example.', RRType.A), honest, world.run());
    expect(ok.state, ok.reason).toBe('insecure');
    expect(ok.reason).toContain('zone this server hosts');

    // The same chain with the CNAME forged (unsigned) in the signed zone example.: bogus.
    const forgedCname = rr('alias.example. 3600 IN CNAME www.hosted.test.');
    const bad = await validator.validate(q('alias.example.', RRType.A), { ...honest, answer: [forgedCname, hostedA] }, world.run());
    expect(bad).toMatchObject({ state: 'bogus', ede: EdeCode.RRSIGS_MISSING });
  });
});

describe('TTL capping (RFC 4035 §5.3.3) in the verdict and in key state', () => {
  const soon = { inception: NOW - 3600, expiration: NOW + 20 };
  const world = SignedWorld.build([
    { origin: 'example.', records: ['www.example. 3600 IN A 192.0.2.2'], window: soon, dnskeyWindow: { inception: NOW - 3600, expiration: NOW + 86_400 } },
  ]);

  it('a secure answer whose only signature expires in 20 s is capped at 20 s; a denial too', async () => {
    const { validator } = validatorFor([world.anchor('example.')]);
    const run = world.run();
    expect((await validator.validate(q('www.example.', RRType.A), world.answer(n('www.example.'), RRType.A), run)).state).toBe('secure');
    expect(run.ttlCaps.get(rrsetKey(n('www.example.'), RRType.A))).toBe(20);
    const neg = world.run();
    expect((await validator.validate(q('nx.example.', RRType.A), world.answer(n('nx.example.'), RRType.A), neg)).state).toBe('secure');
    expect(Math.max(...neg.ttlCaps.values())).toBeLessThanOrEqual(20);
    expect(neg.ttlCaps.size).toBeGreaterThan(0);
  });

  it('the RRSIG’s original TTL caps a longer TTL on the wire', async () => {
    const { validator } = validatorFor([world.anchor('example.')]);
    const honest = world.answer(n('www.example.'), RRType.A);
    const stretched = { ...honest, answer: honest.answer.map((r) => (r.type === RRType.A ? { ...r, ttl: 999_999 } : r)) };
    const run = world.run({ now: NOW - 7200 + 3600 }); // inside the window, 20 s + 3600 s before expiry
    expect((await validator.validate(q('www.example.', RRType.A), stretched, run)).state).toBe('secure');
    expect(run.ttlCaps.get(rrsetKey(n('www.example.'), RRType.A))).toBe(3600);
  });
});

describe('key state is kept no longer than the DNSKEY signature is valid', () => {
  const world = SignedWorld.build([{ origin: 'example.', records: ['www.example. 3600 IN A 192.0.2.2'], dnskeyWindow: { inception: NOW - 3600, expiration: NOW + 30 } }]);

  it('after the DNSKEY RRSIG’s expiry the keys are fetched again', async () => {
    const { validator } = validatorFor([world.anchor('example.')]);
    world.fetches.length = 0;
    await validator.validate(q('www.example.', RRType.A), world.answer(n('www.example.'), RRType.A), world.run());
    await validator.validate(q('www.example.', RRType.A), world.answer(n('www.example.'), RRType.A), world.run({ now: NOW + 10 }));
    expect(world.fetches).toEqual(['example./DNSKEY']);
    // At NOW+31 the 1-hour DNSKEY TTL would still hold; the signature does not.
    const later = await validator.validate(q('www.example.', RRType.A), world.answer(n('www.example.'), RRType.A), world.run({ now: NOW + 31 }));
    expect(world.fetches).toEqual(['example./DNSKEY', 'example./DNSKEY']);
    expect(later.state).toBe('secure'); // within the 300 s clock skew
  });
});

describe('the NSEC3 budget counts hashes, not iterations', () => {
  const world = SignedWorld.build([{ origin: 'n3.', records: ['www.n3. 3600 IN A 192.0.2.3'], denial: { kind: 'nsec3', iterations: 150, salt: new Uint8Array([0xab, 0xcd]), optOut: false } }]);

  it('a legitimate NXDOMAIN at 150 iterations three labels below the apex is secure within the default budget', async () => {
    const { validator } = validatorFor([world.anchor('n3.')]);
    const run = world.run();
    const outcome = await validator.validate(q('x.y.z.n3.', RRType.A), world.answer(n('x.y.z.n3.'), RRType.A), run);
    expect(outcome.state, outcome.reason).toBe('secure');
    expect(run.budget.nsec3Hashes).toBe(4); // y.z.n3., z.n3., n3. walked up; *.n3.
  });

  it('the budget still stops a query that hashes too many names', async () => {
    const { validator } = validatorFor([world.anchor('n3.')]);
    await expect(validator.validate(q('x.y.z.n3.', RRType.A), world.answer(n('x.y.z.n3.'), RRType.A), world.run({ limits: { maxNsec3Hashes: 3 } }))).rejects.toThrow('more than 3 NSEC3 hashes');
  });
});

describe('several RRSIGs with different signers', () => {
  const world = SignedWorld.build([{ origin: 'corp.example.', noDs: true, records: ['www.corp.example. 3600 IN A 192.0.2.1'] }]);
  const { validator } = validatorFor([world.anchor('corp.example.')]);

  it.each(['example.', 'www.corp.example.', 'other.test.'])('a forged RRSIG naming %s beside the zone’s real one: the real one counts, secure', async (signer) => {
    const honest = world.answer(n('www.corp.example.'), RRType.A);
    const a = honest.answer.filter((r) => r.type === RRType.A);
    const fake = corrupt(signWith(a, makeKey(signer, { flags: 256 })));
    const outcome = await validator.validate(q('www.corp.example.', RRType.A), { ...honest, answer: [...a, fake, ...honest.answer.filter((r) => r.type === RRType.RRSIG)] }, world.run());
    expect(outcome.state, outcome.reason).toBe('secure');
  });
});
