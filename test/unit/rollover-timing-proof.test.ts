import { describe, expect, it } from 'vitest';
import { unrevokedDnskey } from '../../src/authority/rollover/rollover-keys.js';
import { RFC5011_TIMERS } from '../../src/trust/rfc5011.js';
import { DAY, HOUR, RolloverWorld, type WorldOptions } from '../support/rollover-world.js';
import { proveRolloverTiming, type ProofInput } from '../support/rollover-proof.js';

/**
 * The timing proof: each simulated rollover is replayed against every DS RRset, DNSKEY RRset and
 * data RRset a resolver could have cached at each instant (rollover-proof.ts says how), and with
 * RFC 5011 against resolvers that track the zone as a trust point. Not one combination may fail.
 * The last tests show the check is not vacuous: with a TTL the engine is not told about, or
 * hold-downs the resolvers do not share, it finds the failures.
 */

function simulate(options: WorldOptions, days: number, during?: (w: RolloverWorld) => void) {
  const w = new RolloverWorld(options);
  const initialKsks = w.metadata.filter((k) => k.role === 'ksk').map((k) => ({ state: k.state, dnskey: unrevokedDnskey(k) }));
  during?.(w);
  w.runUntil(w.now + days * DAY);
  return { w, initialKsks };
}

function prove(w: RolloverWorld, trustPoint?: ProofInput['trustPoint']) {
  return proveRolloverTiming({
    zone: w.zone,
    versions: w.versions,
    dsVersions: w.dsVersions,
    propagationDelay: w.timers.propagationDelay,
    parentPropagationDelay: w.timers.parentPropagationDelay,
    end: w.now,
    ...(trustPoint ? { trustPoint } : {}),
  });
}

const cdsParent = { kind: 'cds-scan', every: 6 * HOUR } as const;

describe('timing proof: no cached combination ever fails to validate', () => {
  it('ZSK pre-publish and KSK double signature with a parent that follows the CDS', () => {
    const { w } = simulate({ rfc5011: false, parent: cdsParent }, 62);
    expect(w.keysIn('ksk', 'retired')).toHaveLength(1);
    expect(w.keysIn('zsk', 'retired')).toHaveLength(2);
    const proof = prove(w);
    expect(proof.failures).toEqual([]);
    expect(proof.rrsetChecks).toBeGreaterThan(5000);
    expect(proof.dnskeyChecks).toBeGreaterThan(200);
  });

  it('RFC 5011: DS-validating resolvers and trust-point resolvers (from the keyset) through the revocation and the hold-down', () => {
    const { w, initialKsks } = simulate({ rfc5011: true, parent: cdsParent }, 95);
    expect(w.keysIn('ksk', 'retired')).toHaveLength(1);
    const proof = prove(w, { initialKeys: initialKsks.map((k) => k.dnskey), timers: RFC5011_TIMERS, resolvers: 4 });
    expect(proof.failures).toEqual([]);
    expect(proof.refreshes).toBeGreaterThan(4 * 95 * 20);
  });

  it('RFC 5011 rolled early (zone roll on day 1) with trust-point resolvers that knew only the active KSK', () => {
    const { w, initialKsks } = simulate({ rfc5011: true, parent: cdsParent }, 75, (world) => world.roll(world.keysIn('ksk', 'active')[0]!.id));
    expect(w.keysIn('ksk', 'retired')).toHaveLength(1);
    const activeOnly = initialKsks.filter((k) => k.state === 'active').map((k) => k.dnskey);
    expect(prove(w, { initialKeys: activeOnly, timers: RFC5011_TIMERS, resolvers: 4 }).failures).toEqual([]);
  });

  it('a parent DS that never appears: the old KSK stays and the zone stays valid', () => {
    const { w } = simulate({ rfc5011: false, parent: { kind: 'never' } }, 100);
    expect(w.keysIn('ksk', 'active')).toHaveLength(2);
    expect(prove(w).failures).toEqual([]);
  });

  it('a parent DS for the wrong key', () => {
    const { w } = simulate({ rfc5011: false, parent: { kind: 'wrong-key', every: 6 * HOUR } }, 70);
    expect(prove(w).failures).toEqual([]);
  });

  it('a manual step when the parent updated the DS but Keymaster cannot see it', () => {
    const w = new RolloverWorld({ rfc5011: false, parent: { kind: 'invisible', every: 6 * HOUR } });
    const start = w.now;
    w.runUntil(start + 61 * DAY);
    const [k1] = w.keysIn('ksk', 'active');
    w.stepManually(k1!.id);
    w.runUntil(start + 64 * DAY);
    expect(w.key(k1!.id).state).toBe('retired');
    expect(prove(w).failures).toEqual([]);
  });

  for (const rfc5011 of [false, true])
    it(`a crash between the writes of every multi-key step (${rfc5011 ? 'RFC 5011' : 'double signature'})`, () => {
      const { w, initialKsks } = simulate({ rfc5011, parent: cdsParent, crashMidStep: true }, rfc5011 ? 95 : 62);
      expect(w.crashes).toBeGreaterThan(3);
      expect(prove(w, rfc5011 ? { initialKeys: initialKsks.map((k) => k.dnskey), timers: RFC5011_TIMERS, resolvers: 2 } : undefined).failures).toEqual([]);
    });
});

describe('timing proof: algorithm rollover (RFC 6781 §4.1.4), with strict resolvers too', () => {
  const RSA = 8;
  const ECDSA = 13;
  /** A zone signed with `from`, its algorithm changed to `to` on day 1 (zone sign), run `days`. */
  function algorithmRoll(options: Omit<WorldOptions, 'policy'>, days: number, from = RSA, to = ECDSA, onStep?: (w: RolloverWorld) => void) {
    const w = new RolloverWorld({ ...options, policy: { algorithm: from } });
    const initialKsks = w.metadata.filter((k) => k.role === 'ksk').map((k) => unrevokedDnskey(k));
    const start = w.now;
    w.runUntil(start + DAY);
    w.sign({ algorithm: to });
    w.runUntil(start + days * DAY, onStep);
    return { w, initialKsks };
  }
  const allOf = (w: RolloverWorld, algorithm: number) => w.metadata.filter((k) => k.state !== 'retired').every((k) => k.algorithm === algorithm);

  it('RSASHA256 to ECDSAP256SHA256 with a parent that follows the CDS', () => {
    const { w } = algorithmRoll({ rfc5011: false, parent: cdsParent }, 4);
    expect(allOf(w, ECDSA)).toBe(true);
    const proof = prove(w);
    expect(proof.failures).toEqual([]);
    expect(proof.strictChecks).toBeGreaterThan(1000);
  });

  it('ECDSAP256SHA256 to RSASHA256, the other way', () => {
    const { w } = algorithmRoll({ rfc5011: false, parent: cdsParent }, 4, ECDSA, RSA);
    expect(allOf(w, RSA)).toBe(true);
    expect(prove(w).failures).toEqual([]);
  });

  it('with RFC 5011 keys, DS-validating resolvers and trust-point resolvers (from the RSA keyset) through the add hold-down', () => {
    const { w, initialKsks } = algorithmRoll({ rfc5011: true, parent: cdsParent }, 36);
    expect(allOf(w, ECDSA)).toBe(true);
    const proof = prove(w, { initialKeys: initialKsks, timers: RFC5011_TIMERS, resolvers: 4 });
    expect(proof.failures).toEqual([]);
    expect(proof.refreshes).toBeGreaterThan(4 * 30 * 20);
  });

  it('a parent that never changes the DS: both algorithms stay, the zone stays valid', () => {
    const { w } = algorithmRoll({ rfc5011: false, parent: { kind: 'never' } }, 60);
    expect(w.keysIn('ksk', 'active').map((k) => k.algorithm).sort((a, b) => a - b)).toEqual([RSA, ECDSA]);
    expect(prove(w).failures).toEqual([]);
  });

  it('a parent that adds the new DS and keeps the old one: the old algorithm stays, the zone stays valid', () => {
    const { w } = algorithmRoll({ rfc5011: false, parent: { kind: 'add-only', every: 6 * HOUR } }, 20);
    expect(w.dsVersions.at(-1)!.ds).toHaveLength(2);
    expect(w.keysIn('ksk', 'active')).toHaveLength(2);
    expect(prove(w).failures).toEqual([]);
  });

  it('a manual step when the parent replaced the DS but Keymaster cannot see it', () => {
    const { w } = algorithmRoll({ rfc5011: false, parent: { kind: 'invisible', every: 6 * HOUR } }, 3);
    const lead = w.metadata.find((k) => k.rollover?.status === 'KskWaitingForDSUpdate')!;
    w.stepManually(lead.id);
    w.runUntil(w.now + 2 * DAY);
    expect(allOf(w, ECDSA)).toBe(true);
    expect(prove(w).failures).toEqual([]);
  });

  for (const rfc5011 of [false, true]) {
    it(`a restart after every step, and a crash between the writes of every multi-key step (${rfc5011 ? 'RFC 5011 keys' : 'double signature'})`, () => {
      const days = rfc5011 ? 36 : 4;
      const restarted = algorithmRoll({ rfc5011, parent: cdsParent }, days, RSA, ECDSA, (w) => w.restart());
      expect(restarted.w.restarts).toBeGreaterThan(10);
      const crashed = algorithmRoll({ rfc5011, parent: cdsParent, crashMidStep: true }, days);
      expect(crashed.w.crashes).toBeGreaterThanOrEqual(3);
      for (const { w, initialKsks } of [restarted, crashed]) {
        expect(allOf(w, ECDSA)).toBe(true);
        expect(prove(w, rfc5011 ? { initialKeys: initialKsks, timers: RFC5011_TIMERS, resolvers: 2 } : undefined).failures).toEqual([]);
      }
    });
  }
});

describe('timing proof: the check finds what is wrong', () => {
  it('an algorithm changed by swapping every key at once (what zone sign did before algorithm rollover)', () => {
    const w = new RolloverWorld({ rfc5011: false, policy: { algorithm: 8 }, parent: cdsParent });
    w.runUntil(w.now + DAY);
    w.swapAlgorithmAtOnce(13);
    w.runUntil(w.now + 2 * DAY);
    const failures = prove(w).failures.join('\n');
    expect(failures).toMatch(/DS ds0 \+ DNSKEY of v\d+ algorithm swapped at once: bogus: .*no DNSKEY matches the DS/);
    expect(failures).toMatch(/of v\d+ algorithm swapped at once with the DNSKEY RRset of v0 .*no trusted DNSKEY with tag \d+ \(algorithm 13\)/);
  });

  it('an algorithm rollover with a TTL the engine was not told: only a resolver that wants every algorithm to sign fails', () => {
    const w = new RolloverWorld({ rfc5011: false, policy: { algorithm: 8 }, parent: cdsParent, extraRecords: 'long 28800 TXT "cached for 8 hours"\n', toldMaxZoneTtl: 3600 });
    w.runUntil(w.now + DAY);
    w.sign({ algorithm: 13 });
    w.runUntil(w.now + 3 * DAY);
    const failures = prove(w).failures;
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((f) => /long\.child\.example\.\/TXT .*every DNSKEY algorithm required.*algorithm 8/.test(f))).toBe(true);
  });

  it('an algorithm rollover whose engine lowered the add hold-down its trust-point resolvers keep', () => {
    const w = new RolloverWorld({ rfc5011: true, policy: { algorithm: 8 }, parent: cdsParent, timers: { addHoldDown: 3600, minimumWait: 60 } });
    const initial = w.metadata.filter((k) => k.role === 'ksk').map((k) => unrevokedDnskey(k));
    w.runUntil(w.now + DAY);
    w.sign({ algorithm: 13 });
    w.runUntil(w.now + 3 * DAY);
    expect(prove(w, { initialKeys: initial, timers: RFC5011_TIMERS, resolvers: 2 }).failures.join('\n')).toMatch(/trust point/);
  });


  it('a DNSKEY TTL longer than the engine was told: the new ZSK signs before every cache has it', () => {
    const { w } = simulate({ rfc5011: false, parent: cdsParent, servedDnskeyTtl: 86400 }, 31);
    const failures = prove(w).failures;
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.join('\n')).toMatch(/www\.child\.example\.\/A .* no trusted DNSKEY with tag/);
  });

  it('a parent DS TTL longer than reported: the old KSK goes while its DS is still cached', () => {
    const { w } = simulate({ rfc5011: false, parent: cdsParent, parentServesDsTtl: 86400 }, 61);
    expect(prove(w).failures.join('\n')).toMatch(/DS ds0 \+ DNSKEY .*no DNSKEY matches the DS/);
  });

  it('a standby taken into service before the trust-point resolvers accepted it (engine add hold-down lowered, theirs not)', () => {
    const { w, initialKsks } = simulate({ rfc5011: true, parent: cdsParent, timers: { addHoldDown: 3600, minimumWait: 60 } }, 3, (world) => world.roll(world.keysIn('ksk', 'active')[0]!.id));
    const activeOnly = initialKsks.filter((k) => k.state === 'active').map((k) => k.dnskey);
    expect(prove(w, { initialKeys: activeOnly, timers: RFC5011_TIMERS, resolvers: 2 }).failures.join('\n')).toMatch(/trust point/);
  });
});
