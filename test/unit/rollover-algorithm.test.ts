import { describe, expect, it } from 'vitest';
import { algorithmRolloverOf } from '../../src/authority/rollover/algorithm-rollover.js';
import { queueRollover, RolloverRequestError, rolloverView, stepRollover } from '../../src/authority/rollover/rollover-engine.js';
import { checkRolloverRecord, RolloverRecordError } from '../../src/authority/rollover/rollover-state.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import type { KeyMetadata } from '../../src/authority/key-store.js';
import { decodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import { DAY, HOUR, RolloverWorld, type WorldOptions } from '../support/rollover-world.js';
import { ALGORITHM_ROLLOVER_STAGES } from '../support/rollover-stages.js';

/**
 * Algorithm rollover (RSASHA256 → ECDSAP256SHA256) in the order of RFC 6781 §4.1.4: the new
 * algorithm signs everything before its DNSKEYs are published, its DNSKEYs are published, the DS
 * at the parent is replaced, the old DNSKEYs are withdrawn, and only then their signatures. Each
 * stage is checked on what the zone serves; the timing proof (rollover-timing-proof.test.ts)
 * checks it against every resolver cache.
 */

const MIN = 60_000;
const RSA = 8;
const ECDSA = 13;
const iso = (ms: number) => new Date(ms).toISOString();

/** What the zone serves now: DNSKEYs (tag/algorithm), the signers (tag/algorithm) of the DNSKEY, www/A and CDS RRsets, the CDS tags. */
function served(w: RolloverWorld) {
  const records = w.versions.at(-1)!.records;
  const signers = (type: number, owner: string) =>
    records
      .filter((r) => r.type === RRType.RRSIG && r.name.toString() === owner)
      .map((r) => decodeRrsig(r.rdata))
      .filter((s) => s.typeCovered === type)
      .map((s) => `${s.keyTag}/${s.algorithm}`)
      .sort();
  return {
    dnskeys: records.filter((r) => r.type === RRType.DNSKEY).map((r) => `${keyTag(r.rdata)}/${r.rdata[3]}`).sort(),
    dnskeySigners: signers(RRType.DNSKEY, 'child.example.'),
    dataSigners: signers(RRType.A, 'www.child.example.'),
    cdsSigners: signers(RRType.CDS, 'child.example.'),
    cds: records.filter((r) => r.type === RRType.CDS).map((r) => (decodeRdata(RRType.CDS, r.rdata) as { keyTag: number }).keyTag).sort((a, b) => a - b),
  };
}

const id = (k: KeyMetadata) => `${k.keyTag}/${k.algorithm}`;
const ids = (...keys: KeyMetadata[]) => keys.map(id).sort();
const statusOf = (w: RolloverWorld, keyId: string) => w.key(keyId).rollover?.status ?? 'NotRolling';
const at = (w: RolloverWorld, keyId: string, status: string) => w.statusLog.find((s) => s.keyId === keyId && s.status === status)!.at;
const view = (w: RolloverWorld, k: KeyMetadata) => rolloverView(w.key(k.id), w.metadata, { policy: w.policy, timers: w.timers, maxZoneTtl: w.maxZoneTtl });

/** A zone signed with RSASHA256 (rolled a day later), a parent that scans the CDS every 6 h. */
function rsaZone(options: Partial<WorldOptions> = {}) {
  const w = new RolloverWorld({ rfc5011: false, policy: { algorithm: RSA }, parent: { kind: 'cds-scan', every: 6 * HOUR }, ...options });
  const start = w.now;
  w.runUntil(start + DAY);
  return { w, start: w.now };
}

describe('algorithm rollover, RFC 6781 §4.1.4', () => {
  it('signs with the new algorithm first, publishes its keys, replaces the DS, withdraws the old keys, then their signatures', () => {
    const { w } = rsaZone();
    const [k1] = w.keysIn('ksk', 'active');
    const [z1] = w.keysIn('zsk', 'active');
    w.sign({ algorithm: ECDSA }); // zone sign … --algorithm ECDSAP256SHA256
    const t0 = w.now;

    // 1. New RRSIGs: the new keys sign everything (the DNSKEY RRset too), their DNSKEYs are not published.
    expect(w.statusesOf(k1!.id)).toEqual(['Queued', 'RollStarted', 'AlgorithmWaitingForMaxZoneTtl']);
    const k2 = w.keysIn('ksk', 'presigning')[0]!;
    const z2 = w.keysIn('zsk', 'presigning')[0]!;
    expect([k2.algorithm, z2.algorithm, k2.published, z2.published]).toEqual([ECDSA, ECDSA, undefined, undefined]);
    expect(w.key(k1!.id).rollover).toMatchObject({ method: 'Algorithm', algorithm: ECDSA, successor: k2.id, since: iso(t0) });
    expect(served(w)).toEqual({
      dnskeys: ids(k1!, z1!),
      dnskeySigners: ids(k1!, k2),
      dataSigners: ids(z1!, z2),
      cdsSigners: ids(z1!, z2, k1!, k2),
      cds: [k1!.keyTag],
    });
    expect(view(w, k1!)).toMatchObject({ currentRolloverStatus: 'AlgorithmWaitingForMaxZoneTtl', rolloverMethod: 'Algorithm', nextRolloverAction: 'PublishNewAlgorithmKeys', nextRolloverActionTime: iso(t0 + 65 * MIN) });
    // The old ZSK is shown in the rollover it takes part in.
    expect(view(w, z1!)).toMatchObject({ currentRolloverStatus: 'AlgorithmWaitingForMaxZoneTtl', rolloverMethod: 'Algorithm', nextRolloverAction: 'PublishNewAlgorithmKeys' });

    // 2. Dprp (5 min) + the largest TTL of the zone (1 h) later: the new DNSKEYs are published; the CDS is still the old key's.
    w.runUntil(t0 + 65 * MIN - 1000);
    expect(statusOf(w, k1!.id)).toBe('AlgorithmWaitingForMaxZoneTtl');
    w.runUntil(t0 + 65 * MIN);
    expect(statusOf(w, k1!.id)).toBe('AlgorithmWaitingForNewDnsKeyTtl');
    expect(w.key(k2.id)).toMatchObject({ state: 'active', published: iso(t0 + 65 * MIN) });
    expect(served(w)).toMatchObject({ dnskeys: ids(k1!, z1!, k2, z2), dnskeySigners: ids(k1!, k2), dataSigners: ids(z1!, z2), cds: [k1!.keyTag] });

    // 3. Dprp + DNSKEY TTL later: the CDS asks for the new KSK's DS only; the parent scans it at +6 h, the next check (+12 h) sees it.
    w.runUntil(t0 + 130 * MIN);
    expect(statusOf(w, k1!.id)).toBe('KskWaitingForDSUpdate');
    expect(served(w).cds).toEqual([k2.keyTag]);
    expect(w.events.filter((e) => e.name === 'key.rollover-waiting-for-ds')).toHaveLength(1);
    w.runUntil(t0 + 130 * MIN + 12 * HOUR);
    expect(w.key(k1!.id).rollover).toMatchObject({ status: 'KskWaitingForDSTtl', dsSeen: iso(t0 + 130 * MIN + 12 * HOUR) });
    expect(w.dsVersions.at(-1)!.ds.map((d) => (decodeRdata(RRType.DS, d) as { algorithm: number }).algorithm)).toEqual([ECDSA]);

    // 4. DprpP + DS TTL (2 h) later: the old DNSKEYs go, their signatures stay.
    const ds = t0 + 130 * MIN + 14 * HOUR;
    w.runUntil(ds - 1000);
    expect(statusOf(w, k1!.id)).toBe('KskWaitingForDSTtl');
    w.runUntil(ds);
    expect(w.key(k1!.id)).toMatchObject({ state: 'unpublished', rollover: { status: 'AlgorithmWaitingForOldDnsKeyTtl' } });
    expect(w.key(z1!.id).state).toBe('unpublished');
    expect(served(w)).toMatchObject({ dnskeys: ids(k2, z2), dnskeySigners: ids(k1!, k2), dataSigners: ids(z1!, z2), cds: [k2.keyTag] });

    // 5. Dprp + DNSKEY TTL later: the old signatures go; the rollover is complete.
    w.runUntil(ds + 65 * MIN - 1000);
    expect(served(w).dataSigners).toEqual(ids(z1!, z2));
    w.runUntil(ds + 65 * MIN);
    expect(served(w)).toEqual({ dnskeys: ids(k2, z2), dnskeySigners: ids(k2), dataSigners: ids(z2), cdsSigners: ids(z2, k2), cds: [k2.keyTag] });
    expect(w.key(k1!.id)).toMatchObject({ state: 'retired', rollover: { status: 'NotRolling', lastRollover: iso(ds + 65 * MIN) } });
    expect(w.key(z1!.id).state).toBe('retired');
    expect(w.key(k2.id)).toMatchObject({ state: 'active', nextRollover: iso(t0 + 65 * MIN + 60 * DAY), rollover: { status: 'NotRolling' } });
    expect(w.key(z2.id)).toMatchObject({ state: 'active', nextRollover: iso(t0 + 65 * MIN + 30 * DAY), rollover: { status: 'NotRolling' } });
    expect(w.statusesOf(k1!.id)).toEqual(ALGORITHM_ROLLOVER_STAGES);
    const mine = w.events.filter((e) => e.keyId === k1!.id).map((e) => `${e.name}${e.fields['status'] ? `:${e.fields['status']}` : ''}`);
    expect(mine.filter((e) => e !== 'key.rollover-waiting-for-ds')).toEqual([
      'key.ksk-rollover-stage:Queued',
      'key.ksk-rollover-stage:RollStarted',
      'key.rollover-started',
      'key.ksk-rollover-stage:AlgorithmWaitingForMaxZoneTtl',
      'key.ksk-rollover-stage:AlgorithmWaitingForNewDnsKeyTtl',
      'key.ksk-rollover-stage:KskWaitingForDSUpdate',
      'key.ksk-rollover-stage:KskWaitingForDSTtl',
      'key.ksk-rollover-stage:AlgorithmWaitingForOldDnsKeyTtl',
      'key.ksk-rollover-stage:NotRolling',
      'key.rollover-completed',
    ]);
    expect(w.events.find((e) => e.name === 'key.rollover-started')!.fields).toMatchObject({ method: 'Algorithm', fromAlgorithm: RSA, toAlgorithm: ECDSA });
    // The parent went from the old algorithm's DS to the new one's, without both at once (it follows the CDS).
    expect(w.dsVersions.map((d) => d.ds.map((x) => (decodeRdata(RRType.DS, x) as { algorithm: number }).algorithm))).toEqual([[RSA], [ECDSA]]);
  });

  it('with RFC 5011 keys: a new standby and next key come with the new keys, and the old KSK stays until trust-point resolvers hold the new one', () => {
    const { w } = rsaZone({ rfc5011: true });
    const [k1] = w.keysIn('ksk', 'active');
    const [s1] = w.keysIn('ksk', 'standby');
    const [n1] = w.keysIn('zsk', 'next');
    w.sign({ algorithm: ECDSA });
    const t0 = w.now;
    w.runUntil(t0 + 65 * MIN);
    const k2 = w.keysIn('ksk', 'active').find((k) => k.algorithm === ECDSA)!;
    const s2 = w.keysIn('ksk', 'standby').find((k) => k.algorithm === ECDSA)!;
    expect(s2.published).toBe(iso(t0 + 65 * MIN));
    expect(w.keysIn('zsk', 'next').map((k) => k.algorithm).sort((a, b) => a - b)).toEqual([RSA, ECDSA]);
    // The old standby's DS is asked for until the DS changes, then the new active and standby KSKs'.
    expect(served(w).cds).toEqual([k1!.keyTag, s1!.keyTag].sort((a, b) => a - b));
    w.runUntil(t0 + 130 * MIN);
    expect(served(w).cds).toEqual([k2.keyTag, s2.keyTag].sort((a, b) => a - b));
    // The parent's DS is there within a day, but the old keys stay through the add hold-down
    // (Dprp + TTL + 2 refreshes + 30 days after the new KSK was published).
    const ready = t0 + 65 * MIN + 30 * DAY + 3 * HOUR + 5 * MIN;
    expect(view(w, k1!)).toMatchObject({ currentRolloverStatus: 'KskWaitingForDSUpdate' });
    w.runUntil(t0 + DAY);
    expect(view(w, k1!)).toMatchObject({ currentRolloverStatus: 'KskWaitingForDSTtl', nextRolloverAction: 'WithdrawOldAlgorithmKeys', nextRolloverActionTime: iso(ready) });
    w.runUntil(ready - 1000);
    expect(w.key(k1!.id).state).toBe('active');
    w.runUntil(ready);
    // Old standby and next key leave with their DNSKEYs (they signed nothing); the old active ones keep signing a while.
    expect([w.key(k1!.id).state, w.key(s1!.id).state, w.key(n1!.id).state]).toEqual(['unpublished', 'retired', 'retired']);
    w.runUntil(ready + 65 * MIN);
    expect(w.metadata.filter((k) => k.algorithm === RSA).map((k) => k.state)).toEqual(['retired', 'retired', 'retired', 'retired']);
    expect(w.metadata.filter((k) => k.state !== 'retired').every((k) => k.algorithm === ECDSA)).toBe(true);
  });

  it('a parent that never changes the DS: waits in KskWaitingForDSUpdate, warns at every check, never withdraws the old algorithm', () => {
    const { w, start } = rsaZone({ parent: { kind: 'never' } });
    const [k1] = w.keysIn('ksk', 'active');
    const [z1] = w.keysIn('zsk', 'active');
    w.sign({ algorithm: ECDSA });
    w.runUntil(start + 100 * DAY);
    expect(w.key(k1!.id)).toMatchObject({ state: 'active', rollover: { status: 'KskWaitingForDSUpdate' } });
    expect(w.key(z1!.id).state).toBe('active');
    const waits = w.events.filter((e) => e.name === 'key.rollover-waiting-for-ds');
    expect(waits.length).toBeGreaterThan(190);
    expect(String(waits.at(-1)!.fields['reason'])).toMatch(new RegExp(`names key tags ${k1!.keyTag}, not \\d+`));
    // Both algorithms published and signing all along; no other roll started meanwhile.
    expect(served(w).dnskeys).toHaveLength(4);
    expect(served(w).dataSigners).toHaveLength(2);
    expect(w.metadata.filter((k) => k.state === 'retired')).toEqual([]);
    expect(w.statusLog.filter((s) => s.keyId !== k1!.id)).toEqual([]);
  });

  it('a parent that adds the new DS but keeps the old algorithm’s: still waiting, naming what it saw; a manual step moves on', () => {
    const { w, start } = rsaZone({ parent: { kind: 'add-only', every: 6 * HOUR } });
    const [k1] = w.keysIn('ksk', 'active');
    w.sign({ algorithm: ECDSA });
    w.runUntil(start + 5 * DAY);
    expect(statusOf(w, k1!.id)).toBe('KskWaitingForDSUpdate');
    expect(w.dsVersions.at(-1)!.ds).toHaveLength(2);
    const last = w.events.filter((e) => e.name === 'key.rollover-waiting-for-ds').at(-1)!;
    expect(String(last.fields['reason'])).toMatch(new RegExp(`still names key tags ${k1!.keyTag} of the old algorithm 8 beside \\d+`));
    w.stepManually(k1!.id);
    expect(statusOf(w, k1!.id)).toBe('KskWaitingForDSTtl');
    w.runUntil(w.now + 4 * HOUR);
    expect(w.key(k1!.id).state).toBe('retired');
  });

  it('the policy changed back before the new keys were published: the rollover is called off, the new keys retired', () => {
    const { w } = rsaZone();
    const [k1] = w.keysIn('ksk', 'active');
    w.sign({ algorithm: ECDSA });
    const presigning = w.keysIn('ksk', 'presigning').concat(w.keysIn('zsk', 'presigning'));
    expect(presigning).toHaveLength(2);
    w.now += 30 * MIN;
    w.sign({ algorithm: RSA });
    expect(w.key(k1!.id).rollover).toMatchObject({ status: 'NotRolling' });
    expect(presigning.map((k) => w.key(k.id).state)).toEqual(['retired', 'retired']);
    expect(served(w).dataSigners).toHaveLength(1);
    expect(w.events.at(-1)).toMatchObject({ name: 'key.ksk-rollover-stage', fields: { status: 'NotRolling', cancelled: true } });
    expect(algorithmRolloverOf(w.metadata)).toBeUndefined();
  });

  it('the policy changed back after the new keys were published: the rollover completes, then rolls back', () => {
    const { w } = rsaZone();
    const [k1] = w.keysIn('ksk', 'active');
    w.sign({ algorithm: ECDSA });
    w.runUntil(w.now + 3 * HOUR);
    w.sign({ algorithm: RSA });
    expect(statusOf(w, k1!.id)).toBe('KskWaitingForDSUpdate');
    w.runUntil(w.now + 3 * DAY);
    expect(w.key(k1!.id).state).toBe('retired');
    const rsa = w.metadata.filter((k) => k.state === 'active');
    expect(rsa.map((k) => k.algorithm)).toEqual([RSA, RSA]);
    expect(w.metadata.filter((k) => k.algorithm === ECDSA).map((k) => k.state)).toEqual(['retired', 'retired']);
  });

  it('waits for an ordinary roll under way, takes over queued ones, and lets no other roll start meanwhile', () => {
    const { w } = rsaZone();
    const [z1] = w.keysIn('zsk', 'active');
    const [k1] = w.keysIn('ksk', 'active');
    w.roll(z1!.id); // ZSK pre-publish under way
    expect(statusOf(w, z1!.id)).toBe('ZskWaitingForDnsKeyTtl');
    w.sign({ algorithm: ECDSA });
    expect(statusOf(w, k1!.id)).toBe('Queued');
    expect(w.keysIn('ksk', 'presigning')).toEqual([]);
    // The ZSK roll goes on with RSA keys (its successor was already made) and finishes; then the algorithm rolls.
    w.runUntil(w.now + 65 * MIN);
    expect(statusOf(w, z1!.id)).toBe('ZskWaitingForMaxZoneTtl');
    w.runUntil(w.now + 65 * MIN);
    expect(w.key(z1!.id).state).toBe('retired');
    expect(statusOf(w, k1!.id)).toBe('AlgorithmWaitingForMaxZoneTtl');
    // zone roll of any key is refused while the algorithm rolls: every key is being replaced.
    const [z2] = w.keysIn('zsk', 'active').filter((k) => k.algorithm === RSA);
    expect(() => queueRollover(w.metadata, z2!.id, w.policy, w.now)).toThrow(expect.objectContaining({ code: 'already-rolling', message: expect.stringMatching(/algorithm rollover/) }));
    w.runUntil(w.now + 3 * DAY);
    expect(w.metadata.filter((k) => k.state !== 'retired').every((k) => k.algorithm === ECDSA)).toBe(true);
  });

  it('zone roll: a KSK of another algorithm than the policy’s starts the algorithm rollover; a ZSK of it is refused', () => {
    const w = new RolloverWorld({ rfc5011: false, policy: { algorithm: RSA }, parent: { kind: 'never' } });
    w.policy = { ...w.policy, algorithm: ECDSA }; // the policy changed, the engine not yet run
    const [k1] = w.keysIn('ksk', 'active');
    const [z1] = w.keysIn('zsk', 'active');
    expect(view(w, k1!)).toMatchObject({ nextRolloverAction: 'StartAlgorithmRollover' });
    expect(view(w, z1!)).toMatchObject({ nextRolloverAction: null });
    expect(() => queueRollover(w.metadata, z1!.id, w.policy, w.now)).toThrow(RolloverRequestError);
    expect(queueRollover(w.metadata, k1!.id, w.policy, w.now).rollover).toMatchObject({ status: 'Queued', method: 'Algorithm', algorithm: ECDSA });
    // No ordinary roll is scheduled while the zone's keys are not of the policy's algorithm.
    const step = stepRollover({ zone: w.zone, keys: w.metadata, policy: w.policy, timers: w.timers, maxZoneTtl: w.maxZoneTtl, now: w.now + 40 * DAY });
    expect(step.writes.map((m) => [m.id, m.rollover?.method])).toEqual([[k1!.id, 'Algorithm']]);
  });

  it('a persisted algorithm rollover without its algorithm is refused, naming the key', () => {
    expect(() => checkRolloverRecord({ status: 'KskWaitingForDSTtl', since: '2026-01-01T00:00:00Z', method: 'Algorithm' }, 'keys/x/1.json')).toThrow(RolloverRecordError);
    expect(() => checkRolloverRecord({ status: 'Queued', since: '2026-01-01T00:00:00Z', method: 'Algorithm', algorithm: 'ecdsa' }, 'keys/x/1.json')).toThrow(/keys\/x\/1.json: rollover.algorithm/);
  });
});

describe('algorithm rollover: restarts and crashes', () => {
  const rolled = (options: Partial<WorldOptions>, onStep?: (w: RolloverWorld) => void) => {
    const { w } = rsaZone(options);
    w.sign({ algorithm: ECDSA });
    w.runUntil(w.now + (options.rfc5011 ? 35 : 3) * DAY, onStep);
    return w;
  };
  const timeline = (w: RolloverWorld) => ['ksk', 'zsk'].flatMap((role) => w.statusLog.filter((s) => s.role === role).map((s) => `${iso(s.at)} ${s.role} ${s.status}`));

  for (const rfc5011 of [false, true]) {
    it(`a restart after every step resumes exactly, in every state (${rfc5011 ? 'RFC 5011 keys' : 'double signature'})`, () => {
      const plain = rolled({ rfc5011 });
      const restarted = rolled({ rfc5011 }, (w) => w.restart());
      expect(restarted.restarts).toBeGreaterThan(10);
      expect(timeline(restarted)).toEqual(timeline(plain));
      const states = new Set(restarted.statusLog.map((s) => s.status));
      for (const s of ['Queued', 'RollStarted', 'AlgorithmWaitingForMaxZoneTtl', 'AlgorithmWaitingForNewDnsKeyTtl', 'KskWaitingForDSUpdate', 'KskWaitingForDSTtl', 'AlgorithmWaitingForOldDnsKeyTtl', 'NotRolling'])
        expect(states).toContain(s);
    });

    it(`a crash between the writes of a step leaves keys the next start carries on from (${rfc5011 ? 'RFC 5011 keys' : 'double signature'})`, () => {
      const plain = rolled({ rfc5011 });
      const crashed = rolled({ rfc5011, crashMidStep: true });
      expect(crashed.crashes).toBeGreaterThanOrEqual(3);
      const shape = (w: RolloverWorld) => [RSA, ECDSA].map((a) => w.metadata.filter((k) => k.algorithm === a).map((k) => `${k.role}:${k.state}`).sort().join(','));
      expect(shape(crashed)).toEqual(shape(plain));
      expect(timeline(crashed).filter((l) => l.endsWith('NotRolling'))).toEqual(timeline(plain).filter((l) => l.endsWith('NotRolling')));
    });
  }
});
