import { describe, expect, it } from 'vitest';
import { queueRollover, RolloverRequestError, rolloverView, stepRollover, stepRolloverManually } from '../../src/authority/rollover/rollover-engine.js';
import { checkRolloverRecord, DEFAULT_ROLLOVER_TIMERS, loweredRolloverTimers, RolloverRecordError, rolloverTimers } from '../../src/authority/rollover/rollover-state.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { decodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import { DAY, HOUR, RolloverWorld } from '../support/rollover-world.js';

const MIN = 60_000;

/** What the zone serves now: DNSKEY tags (flags), who signs the DNSKEY RRset and www/A, the CDS tags. */
function served(w: RolloverWorld) {
  const records = w.versions.at(-1)!.records;
  const sigTags = (type: number, owner: string) =>
    records
      .filter((r) => r.type === RRType.RRSIG && r.name.toString() === owner)
      .map((r) => decodeRrsig(r.rdata))
      .filter((s) => s.typeCovered === type)
      .map((s) => s.keyTag)
      .sort((a, b) => a - b);
  return {
    dnskeys: records
      .filter((r) => r.type === RRType.DNSKEY)
      .map((r) => ({ tag: keyTag(r.rdata), flags: (decodeRdata(RRType.DNSKEY, r.rdata) as { flags: number }).flags }))
      .sort((a, b) => a.tag - b.tag),
    dnskeySigners: sigTags(RRType.DNSKEY, 'child.example.'),
    dataSigners: sigTags(RRType.A, 'www.child.example.'),
    cds: records.filter((r) => r.type === RRType.CDS).map((r) => (decodeRdata(RRType.CDS, r.rdata) as { keyTag: number }).keyTag).sort((a, b) => a - b),
    cdnskeys: records.filter((r) => r.type === RRType.CDNSKEY).length,
  };
}

const eventsOf = (w: RolloverWorld, keyId: string) => w.events.filter((e) => e.keyId === keyId).map((e) => `${e.name}${e.fields['status'] ? `:${e.fields['status']}` : ''}`);
const sorted = (tags: number[]) => [...tags].sort((a, b) => a - b);
const iso = (ms: number) => new Date(ms).toISOString();

describe('ZSK pre-publish rollover', () => {
  it('publishes the next key, waits Dprp + DNSKEY TTL, swaps, waits Dprp + max zone TTL, removes the old key', () => {
    const w = new RolloverWorld({ rfc5011: false, parent: { kind: 'never' } });
    const start = w.now;
    const z1 = w.keysIn('zsk', 'active')[0]!;
    const k1 = w.keysIn('ksk', 'active')[0]!;
    expect(z1.nextRollover).toBe(iso(start + 30 * DAY));

    // 7667 a day ahead, nothing else.
    w.runUntil(start + 29 * DAY);
    expect(eventsOf(w, z1.id)).toEqual(['key.rollover-due']);
    expect(w.events[0]!.fields).toMatchObject({ zone: 'child.example.', nextRollover: z1.nextRollover });

    // Due: Queued → RollStarted → the next key is made and published, signing nothing yet.
    w.runUntil(start + 30 * DAY);
    expect(w.statusesOf(z1.id)).toEqual(['Queued', 'RollStarted', 'ZskWaitingForDnsKeyTtl']);
    const z2 = w.keysIn('zsk', 'next')[0]!;
    expect(w.key(z1.id).rollover).toMatchObject({ status: 'ZskWaitingForDnsKeyTtl', method: 'PrePublish', successor: z2.id, since: iso(start + 30 * DAY) });
    expect(served(w)).toMatchObject({ dnskeys: [{ tag: k1.keyTag, flags: 257 }, { tag: z1.keyTag, flags: 256 }, { tag: z2.keyTag, flags: 256 }].sort((a, b) => a.tag - b.tag), dataSigners: [z1.keyTag] });
    expect(rolloverView(w.key(z1.id), w.metadata, { policy: w.policy, timers: w.timers, maxZoneTtl: 3600 })).toMatchObject({
      currentRolloverStatus: 'ZskWaitingForDnsKeyTtl',
      nextRolloverAction: 'ActivateSuccessor',
      nextRolloverActionTime: iso(start + 30 * DAY + 65 * MIN),
      rolloverMethod: 'PrePublish',
    });

    // Ipub = Dprp (5 min) + DNSKEY TTL (1 h): one second early nothing moves, then the swap.
    w.runUntil(start + 30 * DAY + 65 * MIN - 1000);
    expect(w.key(z1.id).rollover!.status).toBe('ZskWaitingForDnsKeyTtl');
    w.runUntil(start + 30 * DAY + 65 * MIN);
    expect(w.key(z1.id)).toMatchObject({ state: 'inactive', rollover: { status: 'ZskWaitingForMaxZoneTtl' } });
    expect(w.key(z2.id)).toMatchObject({ state: 'active', activated: iso(start + 30 * DAY + 65 * MIN) });
    expect(served(w)).toMatchObject({ dataSigners: [z2.keyTag], dnskeySigners: [k1.keyTag] });
    expect(served(w).dnskeys.map((k) => k.tag)).toContain(z1.keyTag);

    // Iret = Dprp + TTLsig (the DNSKEY TTL, 1 h, is the zone's largest): then the old key goes.
    w.runUntil(start + 30 * DAY + 130 * MIN - 1000);
    expect(w.key(z1.id).state).toBe('inactive');
    w.runUntil(start + 30 * DAY + 130 * MIN);
    expect(w.key(z1.id)).toMatchObject({ state: 'retired', retired: iso(start + 30 * DAY + 130 * MIN), rollover: { status: 'NotRolling', lastRollover: iso(start + 30 * DAY + 130 * MIN) } });
    expect(w.key(z2.id)).toMatchObject({ state: 'active', nextRollover: iso(start + 60 * DAY + 65 * MIN), rollover: { status: 'NotRolling', lastRollover: iso(start + 30 * DAY + 130 * MIN) } });
    expect(served(w).dnskeys.map((k) => k.tag)).toEqual(sorted([k1.keyTag, z2.keyTag]));
    expect(w.statusesOf(z1.id)).toEqual(['Queued', 'RollStarted', 'ZskWaitingForDnsKeyTtl', 'ZskWaitingForMaxZoneTtl', 'NotRolling']);
    expect(eventsOf(w, z1.id)).toEqual([
      'key.rollover-due',
      'key.zsk-rollover-stage:Queued',
      'key.zsk-rollover-stage:RollStarted',
      'key.rollover-started',
      'key.zsk-rollover-stage:ZskWaitingForDnsKeyTtl',
      'key.zsk-rollover-stage:ZskWaitingForMaxZoneTtl',
      'key.zsk-rollover-stage:NotRolling',
      'key.rollover-completed',
    ]);
  });

  it('with RFC 5011 keys, the pre-published next ZSK takes over at once and a new next key is published', () => {
    const w = new RolloverWorld({ rfc5011: true, parent: { kind: 'never' } });
    const start = w.now;
    const [z1] = w.keysIn('zsk', 'active');
    const [z2] = w.keysIn('zsk', 'next');
    w.runUntil(start + 30 * DAY);
    expect(w.statusesOf(z1!.id)).toEqual(['Queued', 'RollStarted', 'ZskWaitingForDnsKeyTtl', 'ZskWaitingForMaxZoneTtl']);
    expect(w.key(z2!.id).state).toBe('active');
    const [z3] = w.keysIn('zsk', 'next');
    expect(z3!.created).toBe(iso(start + 30 * DAY));
    expect(served(w).dataSigners).toEqual([z2!.keyTag]);
    expect(served(w).dnskeys).toHaveLength(5); // 2 KSKs, old, new and next ZSK
    w.runUntil(start + 30 * DAY + 65 * MIN);
    expect(w.key(z1!.id).state).toBe('retired');
    expect(served(w).dnskeys).toHaveLength(4);
  });
});

describe('KSK double-signature rollover', () => {
  it('signs the DNSKEY RRset with both KSKs, asks the parent for the new DS (CDS), waits for it and its TTL, then removes the old KSK', () => {
    const w = new RolloverWorld({ rfc5011: false, parent: { kind: 'cds-scan', every: 6 * HOUR } });
    const start = w.now;
    const [k1] = w.keysIn('ksk', 'active');
    expect(served(w).cds).toEqual([k1!.keyTag]);
    w.runUntil(start + 60 * DAY);
    expect(w.statusesOf(k1!.id)).toEqual(['Queued', 'RollStarted', 'KskWaitingForDSUpdate']);
    const k2 = w.keysIn('ksk', 'active').find((k) => k.id !== k1!.id)!;
    expect(served(w)).toMatchObject({ dnskeySigners: sorted([k1!.keyTag, k2.keyTag]), cds: sorted([k1!.keyTag, k2.keyTag]), cdnskeys: 2 });
    // The first check right away finds the old DS set; the parent scans the CDS at +6 h; the next check (+12 h) sees it.
    expect(w.key(k1!.id).rollover).toMatchObject({ lastDsCheck: iso(start + 60 * DAY), dsMisses: 1 });
    expect(w.events.filter((e) => e.name === 'key.rollover-waiting-for-ds')).toHaveLength(1);
    w.runUntil(start + 60 * DAY + 12 * HOUR);
    expect(w.key(k1!.id).rollover).toMatchObject({ status: 'KskWaitingForDSTtl', dsSeen: iso(start + 60 * DAY + 12 * HOUR), dsTtl: 3600 });
    // DprpP (1 h) + DS TTL (1 h) later the old KSK goes (its DNSKEY TTL wait is long over).
    w.runUntil(start + 60 * DAY + 14 * HOUR - 1000);
    expect(w.key(k1!.id).state).toBe('active');
    w.runUntil(start + 60 * DAY + 14 * HOUR);
    expect(w.key(k1!.id).state).toBe('retired');
    expect(served(w)).toMatchObject({ dnskeySigners: [k2.keyTag], cds: [k2.keyTag] });
    expect(w.statusesOf(k1!.id)).toEqual(['Queued', 'RollStarted', 'KskWaitingForDSUpdate', 'KskWaitingForDSTtl', 'NotRolling']);
    expect(eventsOf(w, k1!.id).filter((e) => e.startsWith('key.ksk'))).toEqual([
      'key.ksk-rollover-stage:Queued',
      'key.ksk-rollover-stage:RollStarted',
      'key.ksk-rollover-stage:KskWaitingForDSUpdate',
      'key.ksk-rollover-stage:KskWaitingForDSTtl',
      'key.ksk-rollover-stage:NotRolling',
    ]);
    // The parent followed the CDS: DS old → old+new → new.
    w.runUntil(start + 61 * DAY);
    expect(w.dsVersions.map((d) => d.ds.length)).toEqual([1, 2, 1]);
  });

  it('waits in KskWaitingForDnsKeyTtl when the parent is faster than the DNSKEY TTL', () => {
    const w = new RolloverWorld({ rfc5011: false, policy: { dnskeyTtl: 2 * 86400 }, timers: { dsPollingPeriod: 3600 }, parent: { kind: 'cds-scan', every: HOUR } });
    const start = w.now;
    const [k1] = w.keysIn('ksk', 'active');
    w.roll(k1!.id);
    w.runUntil(start + 3 * DAY);
    expect(w.statusesOf(k1!.id)).toEqual(['Queued', 'RollStarted', 'KskWaitingForDSUpdate', 'KskWaitingForDSTtl', 'KskWaitingForDnsKeyTtl', 'NotRolling']);
    const done = w.statusLog.find((s) => s.keyId === k1!.id && s.status === 'NotRolling')!.at;
    expect(done).toBe(start + 2 * DAY + 5 * MIN); // new KSK published at start: Dprp + 2-day DNSKEY TTL
  });

  it('never removes the old KSK while the parent DS does not appear, and warns at every check', () => {
    const w = new RolloverWorld({ rfc5011: false, parent: { kind: 'never' } });
    const start = w.now;
    const [k1] = w.keysIn('ksk', 'active');
    w.runUntil(start + 150 * DAY);
    expect(w.key(k1!.id)).toMatchObject({ state: 'active', rollover: { status: 'KskWaitingForDSUpdate' } });
    const waits = w.events.filter((e) => e.name === 'key.rollover-waiting-for-ds');
    // From day 60, every 12 h: 181 checks up to day 150.
    expect(waits).toHaveLength(181);
    expect(w.key(k1!.id).rollover!.dsMisses).toBe(181);
    expect(waits[0]!.fields).toMatchObject({ reason: expect.stringContaining(`names key tags ${k1!.keyTag}, not`) });
    expect(served(w).dnskeySigners).toHaveLength(2); // both KSKs sign, all along
    // ZSK rollovers went on meanwhile.
    expect(w.keysIn('zsk', 'retired').length).toBeGreaterThanOrEqual(4);
  });

  it('keeps waiting when the parent publishes a DS for another key, naming the tags it saw', () => {
    const w = new RolloverWorld({ rfc5011: false, parent: { kind: 'wrong-key', every: 6 * HOUR } });
    const start = w.now;
    const [k1] = w.keysIn('ksk', 'active');
    w.runUntil(start + 62 * DAY);
    expect(w.key(k1!.id).rollover!.status).toBe('KskWaitingForDSUpdate');
    expect(w.dsVersions.at(-1)!.ds).toHaveLength(2);
    const last = w.events.filter((e) => e.name === 'key.rollover-waiting-for-ds').at(-1)!;
    expect(String(last.fields['reason'])).toMatch(new RegExp(`names key tags ${k1!.keyTag}, \\d+, not \\d+`));
    expect(w.key(k1!.id).state).toBe('active');
  });

  it('moves on when the operator steps the rollover (the DS is there but Keymaster cannot see it), still waiting out the DS TTL', () => {
    const w = new RolloverWorld({ rfc5011: false, parent: { kind: 'invisible', every: 6 * HOUR } });
    const start = w.now;
    const [k1] = w.keysIn('ksk', 'active');
    w.runUntil(start + 61 * DAY);
    expect(w.key(k1!.id).rollover!.status).toBe('KskWaitingForDSUpdate');
    expect(w.events.at(-1)!.fields['reason']).toMatch(/could not be looked up/);
    expect(() => stepRolloverManually(w.metadata, w.keysIn('zsk', 'active')[0]!.id, w.policy, w.now)).toThrow(RolloverRequestError);
    w.stepManually(k1!.id);
    expect(w.key(k1!.id).rollover).toMatchObject({ status: 'KskWaitingForDSTtl', dsStepped: true, dsSeen: iso(w.now) });
    const stepped = w.now;
    w.runUntil(stepped + 2 * HOUR - 1000);
    expect(w.key(k1!.id).state).toBe('active');
    w.runUntil(stepped + 2 * HOUR);
    expect(w.key(k1!.id).state).toBe('retired');
  });
});

describe('RFC 5011 KSK rollover', () => {
  it('makes the standby active, revokes the old KSK (flags 385, self-signed) through the remove hold-down, keeps a new standby', () => {
    const w = new RolloverWorld({ rfc5011: true, parent: { kind: 'cds-scan', every: 6 * HOUR } });
    const start = w.now;
    const [k1] = w.keysIn('ksk', 'active');
    const [k2] = w.keysIn('ksk', 'standby');
    expect(served(w)).toMatchObject({ dnskeySigners: [k1!.keyTag], cds: sorted([k1!.keyTag, k2!.keyTag]) });
    w.runUntil(start + 60 * DAY);
    // The parent already has the standby's DS (the dsset- file listed it): no wait for an update.
    expect(w.statusesOf(k1!.id)).toEqual(['Queued', 'RollStarted', 'KskWaitingForDSUpdate', 'KskWaitingForDSTtl']);
    const k3 = w.keysIn('ksk', 'standby').find((k) => k.id !== k2!.id)!;
    expect(k3.created).toBe(iso(start + 60 * DAY));
    // DS TTL over: the standby signs beside the old key until every secondary has that (1 h, the minimum wait)...
    w.runUntil(start + 60 * DAY + 2 * HOUR);
    expect(w.key(k1!.id)).toMatchObject({ state: 'active', flags: 257, rollover: { status: 'WaitingForRFC5011RemoveHoldDown' } });
    expect(w.key(k2!.id).state).toBe('active');
    expect(served(w).dnskeySigners).toEqual(sorted([k1!.keyTag, k2!.keyTag]));
    // ... then the old key is revoked, and signs the DNSKEY RRset with its new tag.
    w.runUntil(start + 60 * DAY + 3 * HOUR);
    const revoked = w.key(k1!.id);
    expect(revoked).toMatchObject({ state: 'revoked', flags: 385, rollover: { status: 'WaitingForRFC5011RemoveHoldDown', revoked: iso(start + 60 * DAY + 3 * HOUR) } });
    expect(revoked.keyTag).not.toBe(k1!.keyTag);
    expect(w.key(k2!.id)).toMatchObject({ state: 'active' });
    expect(served(w)).toMatchObject({
      dnskeySigners: sorted([revoked.keyTag, k2!.keyTag]),
      cds: sorted([k2!.keyTag, k3.keyTag]),
      dataSigners: [w.keysIn('zsk', 'active')[0]!.keyTag],
    });
    expect(served(w).dnskeys.find((k) => k.tag === revoked.keyTag)!.flags).toBe(385);
    // 30 days later the revoked key goes; the standby made at RollStarted is the standby now.
    w.runUntil(start + 90 * DAY + 3 * HOUR - 1000);
    expect(w.key(k1!.id).state).toBe('revoked');
    w.runUntil(start + 90 * DAY + 3 * HOUR);
    expect(w.key(k1!.id).state).toBe('retired');
    expect(w.key(k2!.id)).toMatchObject({ state: 'active', nextRollover: iso(start + 120 * DAY + 2 * HOUR) });
    expect(w.keysIn('ksk', 'standby').map((k) => k.id)).toEqual([k3.id]);
    expect(served(w).dnskeys.filter((k) => k.flags !== 256).map((k) => k.tag)).toEqual(sorted([k2!.keyTag, k3.keyTag]));
    expect(w.statusesOf(k1!.id)).toEqual(['Queued', 'RollStarted', 'KskWaitingForDSUpdate', 'KskWaitingForDSTtl', 'WaitingForRFC5011RemoveHoldDown', 'NotRolling']);
  });

  it('holds a rollover asked for early in Queued until the standby has been published through the add hold-down', () => {
    const w = new RolloverWorld({ rfc5011: true, parent: { kind: 'cds-scan', every: 6 * HOUR } });
    const start = w.now;
    const [k1] = w.keysIn('ksk', 'active');
    w.roll(k1!.id);
    expect(w.key(k1!.id).rollover).toMatchObject({ status: 'Queued', method: 'RFC5011' });
    const view = rolloverView(w.key(k1!.id), w.metadata, { policy: w.policy, timers: w.timers, maxZoneTtl: 3600 });
    // Dprp 5 min + TTL 1 h + 2 refreshes (1 h each: half the TTL, floored at 1 h) + 30 days.
    const ready = start + 30 * DAY + 3 * HOUR + 5 * MIN;
    expect(view).toMatchObject({ nextRolloverAction: 'StartRollover', nextRolloverActionTime: iso(ready) });
    w.runUntil(ready - 1000);
    expect(w.key(k1!.id).rollover!.status).toBe('Queued');
    w.runUntil(ready);
    expect(w.key(k1!.id).rollover!.status).not.toBe('Queued');
  });
});

describe('restarts and crashes', () => {
  const runs = (options: ConstructorParameters<typeof RolloverWorld>[0], days: number, onStep?: (w: RolloverWorld) => void) => {
    const w = new RolloverWorld(options);
    w.runUntil(w.now + days * DAY, onStep);
    return w;
  };
  // Per role: the order of two roles' changes at the same instant depends on the random key ids.
  const timeline = (w: RolloverWorld) => ['ksk', 'zsk'].flatMap((role) => w.statusLog.filter((s) => s.role === role).map((s) => `${iso(s.at)} ${s.role} ${s.status}`));

  for (const rfc5011 of [false, true]) {
    it(`a restart after every step resumes exactly (${rfc5011 ? 'RFC 5011' : 'double signature'}), through every state`, () => {
      const options = { rfc5011, parent: { kind: 'cds-scan', every: 6 * HOUR } } as const;
      const plain = runs(options, 130);
      const restarted = runs(options, 130, (w) => w.restart());
      expect(restarted.restarts).toBeGreaterThan(100);
      expect(timeline(restarted)).toEqual(timeline(plain));
      const states = new Set(restarted.statusLog.map((s) => s.status));
      const expected = rfc5011
        ? ['Queued', 'RollStarted', 'ZskWaitingForDnsKeyTtl', 'ZskWaitingForMaxZoneTtl', 'KskWaitingForDSUpdate', 'KskWaitingForDSTtl', 'WaitingForRFC5011RemoveHoldDown', 'NotRolling']
        : ['Queued', 'RollStarted', 'ZskWaitingForDnsKeyTtl', 'ZskWaitingForMaxZoneTtl', 'KskWaitingForDSUpdate', 'KskWaitingForDSTtl', 'NotRolling'];
      for (const s of expected) expect(states).toContain(s);
    });

    it(`a crash between the writes of a step leaves a zone the next start carries on from (${rfc5011 ? 'RFC 5011' : 'double signature'})`, () => {
      const options = { rfc5011, parent: { kind: 'cds-scan', every: 6 * HOUR } } as const;
      const plain = runs(options, 130);
      const crashed = runs({ ...options, crashMidStep: true }, 130);
      expect(crashed.crashes).toBeGreaterThan(3);
      const shape = (w: RolloverWorld) => ['ksk', 'zsk'].map((role) => ['active', 'standby', 'next', 'inactive', 'revoked', 'retired'].map((s) => w.keysIn(role as 'ksk', s as 'active').length).join('/'));
      expect(shape(crashed)).toEqual(shape(plain));
      expect(timeline(crashed).filter((l) => l.endsWith('NotRolling'))).toEqual(timeline(plain).filter((l) => l.endsWith('NotRolling')));
    });
  }
});

describe('requests, errors and settings', () => {
  it('zone roll: only an active key that is not rolling', () => {
    const w = new RolloverWorld({ rfc5011: true, parent: { kind: 'never' } });
    const [standby] = w.keysIn('ksk', 'standby');
    const [zsk] = w.keysIn('zsk', 'active');
    expect(() => queueRollover(w.metadata, standby!.id, w.policy, w.now)).toThrow(/only an active key/);
    expect(() => queueRollover(w.metadata, 'nope', w.policy, w.now)).toThrow(expect.objectContaining({ code: 'no-such-key' }));
    w.runUntil(w.now + 2 * HOUR); // the next ZSK has been published long enough
    w.roll(zsk!.id);
    expect(w.key(zsk!.id).rollover!.status).toBe('ZskWaitingForMaxZoneTtl');
    expect(() => queueRollover(w.metadata, zsk!.id, w.policy, w.now)).toThrow(expect.objectContaining({ code: 'already-rolling' }));
    const successor = w.key(zsk!.id).rollover!.successor!;
    expect(() => queueRollover(w.metadata, successor, w.policy, w.now)).toThrow(/successor in a rollover under way/);
  });

  it('a rollover whose successor vanished stops in RollError with every key kept; zone roll starts it again', () => {
    const w = new RolloverWorld({ rfc5011: false, parent: { kind: 'never' } });
    const [z1] = w.keysIn('zsk', 'active');
    w.roll(z1!.id);
    const z2 = w.key(z1!.id).rollover!.successor!;
    w.keys.delete(z2);
    w.now += HOUR;
    w.step();
    expect(w.key(z1!.id)).toMatchObject({ state: 'active', rollover: { status: 'RollError', error: expect.stringContaining('missing from the key store') } });
    expect(w.events.at(-1)).toMatchObject({ name: 'key.rollover-error', keyId: z1!.id });
    w.now += HOUR;
    w.step();
    expect(w.key(z1!.id).rollover!.status).toBe('RollError'); // stays: nothing rolls it by itself
    w.roll(z1!.id);
    expect(w.key(z1!.id).rollover!.status).toBe('ZskWaitingForDnsKeyTtl');
  });

  it('asks for a DS check only when one is due, and wakes at the next one', () => {
    const w = new RolloverWorld({ rfc5011: false, parent: { kind: 'never' } });
    const [k1] = w.keysIn('ksk', 'active');
    w.roll(k1!.id);
    const input = { zone: w.zone, keys: w.metadata, policy: w.policy, timers: w.timers, maxZoneTtl: 3600, now: w.now + HOUR };
    expect(stepRollover(input)).toMatchObject({ dsCheckDue: false, writes: [], wakeAt: w.now + 12 * HOUR });
    expect(stepRollover({ ...input, now: w.now + 12 * HOUR })).toMatchObject({ dsCheckDue: true, writes: [] });
  });

  it('timers: RFC defaults, lowered ones named for the warning, bad ones refused; bad persisted records name the key', () => {
    expect(loweredRolloverTimers(DEFAULT_ROLLOVER_TIMERS)).toEqual([]);
    expect(loweredRolloverTimers(rolloverTimers({ minimumWait: 1, removeHoldDown: 60, propagationDelay: 0 }))).toEqual(['minimumWait', 'removeHoldDown']);
    expect(() => rolloverTimers({ minimumWait: -1 })).toThrow(/minimumWait/);
    expect(() => checkRolloverRecord({ status: 'Rolling', since: '2026-01-01T00:00:00Z' }, 'keys/x/1.json')).toThrow(RolloverRecordError);
    expect(() => checkRolloverRecord({ status: 'Queued', since: 'yesterday' }, 'keys/x/1.json')).toThrow(/keys\/x\/1.json: rollover.since "yesterday"/);
  });
});
