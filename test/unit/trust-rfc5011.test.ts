import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import {
  activeRefreshSeconds,
  addHoldDownSeconds,
  applyRevocations,
  applyTimers,
  applyValidatedKeys,
  DAY,
  HOUR,
  retrySeconds,
  RFC5011_TIMERS,
  withJitter,
  type Rfc5011Timers,
} from '../../src/trust/rfc5011.js';
import { keyIdentity, newAnchor, trustPointState, type TrustPoint } from '../../src/trust/trust-point.js';
import { Name } from '../../src/wire/name.js';
import { dsOf, makeKey, revoked, type TestKey } from './trust-fixtures.js';

const zone = Name.parse('example.');
const T = RFC5011_TIMERS;
const MS = 1000;

function tpWith(...anchors: TrustPoint['anchors']): TrustPoint {
  return { zone: 'example.', anchors, createdAt: 0, failures: 0 };
}

function seen(keys: readonly TestKey[], at: number, options: { selfRevoked?: TestKey[]; ttl?: number } = {}) {
  return {
    dnskeys: keys.map((k) => k.rdata),
    selfSignedRevocations: new Set((options.selfRevoked ?? []).map((k) => keyIdentity(k.rdata))),
    originalTtl: options.ttl ?? 3600,
    at,
  };
}

describe('RFC 5011 timers (§2.3, §2.4.1)', () => {
  it('active refresh is MAX(1h, MIN(15d, TTL/2, expiration/2))', () => {
    expect(activeRefreshSeconds({ originalTtl: 172_800, expirationInterval: 21 * DAY }, T)).toBe(DAY);
    expect(activeRefreshSeconds({ originalTtl: 90 * DAY, expirationInterval: 60 * DAY }, T)).toBe(15 * DAY);
    expect(activeRefreshSeconds({ originalTtl: 172_800, expirationInterval: 10 * HOUR }, T)).toBe(5 * HOUR);
    expect(activeRefreshSeconds({ originalTtl: 600, expirationInterval: 21 * DAY }, T)).toBe(HOUR);
    expect(activeRefreshSeconds({}, T)).toBe(15 * DAY);
    // A lab may lower the 1-hour floor.
    expect(activeRefreshSeconds({ originalTtl: 600 }, { ...T, minRefresh: 60 })).toBe(300);
  });

  it('retry is MAX(1h, MIN(1d, TTL/10, expiration/10)), the floor before any success', () => {
    expect(retrySeconds({ originalTtl: 172_800, expirationInterval: 21 * DAY }, T)).toBe(17_280);
    expect(retrySeconds({ originalTtl: 30 * DAY, expirationInterval: 30 * DAY }, T)).toBe(DAY);
    expect(retrySeconds({ originalTtl: 3600 }, T)).toBe(HOUR);
    expect(retrySeconds({ originalTtl: 172_800, expirationInterval: 5 * HOUR }, T)).toBe(HOUR);
    expect(retrySeconds({}, T)).toBe(HOUR);
    expect(retrySeconds({ originalTtl: 600 }, { ...T, minRefresh: 30 })).toBe(60);
  });

  it('add hold-down is the greater of 30 days and the original TTL', () => {
    expect(addHoldDownSeconds(T, 172_800)).toBe(30 * DAY);
    expect(addHoldDownSeconds(T, 45 * DAY)).toBe(45 * DAY);
    expect(addHoldDownSeconds({ ...T, addHoldDown: 60 }, 3600)).toBe(3600);
    expect(addHoldDownSeconds({ ...T, addHoldDown: 60 }, 30)).toBe(60);
  });

  it('jitter makes a refresh up to 10 % earlier, never below the floor', () => {
    expect(withJitter(DAY, T, () => 0)).toBe(DAY);
    expect(withJitter(DAY, T, () => 0.5)).toBe(DAY - 4320);
    expect(withJitter(DAY, T, () => 0.999)).toBeGreaterThanOrEqual(0.9 * DAY);
    expect(withJitter(HOUR, T, () => 0.999)).toBe(HOUR);
  });
});

describe('RFC 5011 state table (§4.2)', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const t0 = clock.now();
  const a = makeKey(zone);
  const b = makeKey(zone);
  const zsk = makeKey(zone, 256);
  const valid = (k: TestKey, since = t0) => newAnchor('DNSKEY', k.rdata, { state: 'Valid', since, origin: 'manual' });
  const stateOf = (tp: TrustPoint | undefined, k: TestKey) => tp?.anchors.find((x) => x.type === 'DNSKEY' && keyIdentity(x.rdata) === keyIdentity(k.rdata));

  it('Start → AddPend on a new SEP key; the add hold-down follows the TTL rule; ZSKs are not tracked', () => {
    const r = applyValidatedKeys(tpWith(valid(a)), seen([a, b, zsk], t0, { ttl: 45 * DAY }), T);
    expect(stateOf(r.trustPoint, b)).toMatchObject({ state: 'AddPend', since: t0, next: t0 + 45 * DAY * MS, origin: 'rfc5011' });
    expect(stateOf(r.trustPoint, zsk)).toBeUndefined();
    expect(r.changes).toEqual([expect.objectContaining({ from: 'Start', to: 'AddPend', keyTag: b.signer.keyTag })]);
  });

  it('AddPend stays inside the hold-down, → Valid once it is over and the key is seen again', () => {
    const pend = newAnchor('DNSKEY', b.rdata, { state: 'AddPend', since: t0, next: t0 + 30 * DAY * MS, origin: 'rfc5011' });
    const early = applyValidatedKeys(tpWith(valid(a), pend), seen([a, b], t0 + 29 * DAY * MS), T);
    expect(stateOf(early.trustPoint, b)?.state).toBe('AddPend');
    expect(early.changes).toEqual([]);
    const later = applyValidatedKeys(tpWith(valid(a), pend), seen([a, b], t0 + 30 * DAY * MS + 1), T);
    expect(stateOf(later.trustPoint, b)).toMatchObject({ state: 'Valid', since: t0 + 30 * DAY * MS + 1 });
    expect(stateOf(later.trustPoint, b)?.next).toBeUndefined();
  });

  it('AddPend → Start (forgotten) when the key is withdrawn before the hold-down ends', () => {
    const pend = newAnchor('DNSKEY', b.rdata, { state: 'AddPend', since: t0, next: t0 + 30 * DAY * MS, origin: 'rfc5011' });
    const r = applyValidatedKeys(tpWith(valid(a), pend), seen([a], t0 + 31 * DAY * MS), T);
    expect(stateOf(r.trustPoint, b)).toBeUndefined();
    expect(r.changes).toEqual([expect.objectContaining({ from: 'AddPend', to: 'Start' })]);
  });

  it('Valid → Missing when absent, Missing → Valid when back; Missing is still trusted', () => {
    const r1 = applyValidatedKeys(tpWith(valid(a), valid(b)), seen([a], t0), T);
    expect(stateOf(r1.trustPoint, b)?.state).toBe('Missing');
    expect(trustPointState(r1.trustPoint!, t0)).toBe('Active');
    const r2 = applyValidatedKeys(r1.trustPoint!, seen([a, b], t0 + DAY * MS), T);
    expect(stateOf(r2.trustPoint, b)?.state).toBe('Valid');
    expect(r2.changes.map((c) => `${c.from}→${c.to}`)).toEqual(['Missing→Valid']);
  });

  it('Valid → Revoked and Missing → Revoked on a self-signed revocation, with the remove hold-down', () => {
    const rb = revoked(b);
    const r = applyValidatedKeys(tpWith(valid(a), valid(b)), seen([a, rb], t0, { selfRevoked: [rb] }), T);
    expect(stateOf(r.trustPoint, b)).toMatchObject({ state: 'Revoked', next: t0 + 30 * DAY * MS });
    expect(stateOf(r.trustPoint, b)?.rdata).toEqual(rb.rdata);
    const missing = { ...valid(b), state: 'Missing' as const };
    const r2 = applyValidatedKeys(tpWith(valid(a), missing), seen([a, rb], t0, { selfRevoked: [rb] }), T);
    expect(stateOf(r2.trustPoint, b)?.state).toBe('Revoked');
  });

  it('a forged revocation (not signed by the key itself) is ignored: the key stays Valid', () => {
    const r = applyValidatedKeys(tpWith(valid(a), valid(b)), seen([a, revoked(b)], t0), T);
    expect(stateOf(r.trustPoint, b)?.state).toBe('Valid');
    expect(r.changes).toEqual([]);
  });

  it('Revoked → Removed when the remove hold-down is over (with or without a refresh); a revoked key never returns', () => {
    const rb = revoked(b);
    const r = applyValidatedKeys(tpWith(valid(a), valid(b)), seen([a, rb], t0, { selfRevoked: [rb] }), T);
    expect(applyTimers(r.trustPoint!, t0 + 30 * DAY * MS - 1).changes).toEqual([]);
    const timed = applyTimers(r.trustPoint!, t0 + 30 * DAY * MS);
    expect(stateOf(timed.trustPoint, b)?.state).toBe('Removed');
    // Published again without the REVOKE bit: stays Removed, no new AddPend.
    const back = applyValidatedKeys(timed.trustPoint!, seen([a, b], t0 + 40 * DAY * MS), T);
    expect(stateOf(back.trustPoint, b)?.state).toBe('Removed');
    expect(back.changes).toEqual([]);
  });

  it('a DS anchor is replaced by the DNSKEY it matches, which is Valid at once', () => {
    const ds = newAnchor('DS', dsOf(zone, a), { state: 'Valid', since: t0, origin: 'dsset' });
    const r = applyValidatedKeys(tpWith(ds), seen([a, b], t0), T);
    expect(r.trustPoint!.anchors.filter((x) => x.type === 'DS')).toEqual([]);
    expect(stateOf(r.trustPoint, a)).toMatchObject({ state: 'Valid', origin: 'ds-match' });
    expect(stateOf(r.trustPoint, b)?.state).toBe('AddPend');
  });

  it('a trust point whose anchors are all revoked is deleted (§5)', () => {
    const ra = revoked(a);
    const r = applyRevocations(tpWith(valid(a)), new Map([[keyIdentity(a.rdata), ra.rdata]]), t0, T);
    expect(r.trustPoint).toBeUndefined();
    expect(r.changes).toEqual([expect.objectContaining({ from: 'Valid', to: 'Revoked' })]);
  });

  it('lowered timers shorten the hold-downs (labs)', () => {
    const lab: Rfc5011Timers = { addHoldDown: 120, removeHoldDown: 60, minRefresh: 10 };
    const r = applyValidatedKeys(tpWith(valid(a)), seen([a, b], t0, { ttl: 30 }), lab);
    expect(stateOf(r.trustPoint, b)?.next).toBe(t0 + 120 * MS);
  });
});
