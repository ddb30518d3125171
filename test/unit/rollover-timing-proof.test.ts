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

describe('timing proof: the check finds what is wrong', () => {
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
