import { describe, expect, it } from 'vitest';
import { selectKey } from '../../src/cli/key-selector.js';
import { formatKeyTable, relativeTime } from '../../src/cli/key-table.js';
import { formatTrustPointTable } from '../../src/cli/trust-point-table.js';
import { signBody } from '../../src/cli/zone-command.js';
import type { ZoneKeyView } from '../../src/authority/zone-key-view.js';
import type { TrustPointView } from '../../src/trust/trust-views.js';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const iso = (offsetSeconds: number) => new Date(NOW + offsetSeconds * 1000).toISOString();

function key(keyId: string, keyTag: number, role: 'ksk' | 'zsk', state: string, status = 'NotRolling', action: string | null = 'StartRollover'): ZoneKeyView {
  return {
    keyId, keyType: role === 'ksk' ? 'KeySigningKey' : 'ZoneSigningKey', role, keyTag, algorithm: 13, keyLength: 256, state,
    created: iso(-86400), activated: iso(-86400), retired: null, nextRolloverTime: iso(90 * 86400), rolloverType: role === 'ksk' ? 'DoubleSignature' : 'PrePublish',
    rollover: { currentRolloverStatus: status as never, rolloverMethod: 'PrePublish' as never, nextRolloverAction: action, nextRolloverActionTime: iso(89 * 86400 + 3600 * 23), lastRolloverTime: null, successor: null, rolloverError: null },
  };
}

// The widest values there are: the longest status and action names, a retired key, a full UUID.
const KEYS = [
  key('3f2a9c1e-7b44-4d0e-9a51-0c7f3e2b8d19', 20326, 'ksk', 'Active', 'AlgorithmWaitingForOldDnsKeyTtl', 'WaitForOldAlgorithmDnskeyTtl'),
  key('3f2b0000-1111-4222-8333-444455556666', 38696, 'ksk', 'Standby'),
  key('9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a', 11111, 'zsk', 'Active', 'KskWaitingForDSUpdate'),
  key('0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d', 11111, 'zsk', 'Retired', 'NotRolling', null),
];

const widest = (text: string) => Math.max(...text.split('\n').map((l) => l.length));

describe('zone keys for a screen', () => {
  it('fits 120 columns by default, with the key tag and the first 8 characters of the KeyId', () => {
    const text = formatKeyTable(KEYS, { now: NOW });
    expect(widest(text)).toBeLessThanOrEqual(120);
    expect(text.split('\n')[0]).toMatch(/^KeyTag\s+KeyId\s+Type\s+State\s+Alg\s+RolloverStatus\s+NextAction\s+Next$/);
    expect(text).toContain('20326  3f2a9c1e  KSK   Active');
    expect(text).toContain('in 89d23h');
    expect(text).not.toContain('3f2a9c1e-7b44');
  });

  it('--wide shows every column in full; --output picks columns; an unknown one is refused with the list', () => {
    const wide = formatKeyTable(KEYS, { wide: true, now: NOW });
    expect(wide).toContain('3f2a9c1e-7b44-4d0e-9a51-0c7f3e2b8d19');
    expect(wide).toContain('KeySigningKey');
    expect(wide).toContain('ECDSAP256SHA256(13)');
    const picked = formatKeyTable(KEYS, { output: 'tag, state ,next', now: NOW });
    expect(picked.split('\n')[0]).toMatch(/^KeyTag\s+State\s+Next$/);
    expect(() => formatKeyTable(KEYS, { output: 'tag,colour' })).toThrow(/unknown column colour; choose from keyid, id, tag/);
  });

  it('times relative to now, in two units', () => {
    expect(relativeTime(iso(90 * 86400 + 5), NOW)).toBe('in 90d5s');
    expect(relativeTime(iso(-125), NOW)).toBe('2m5s ago');
    expect(relativeTime(null, NOW)).toBe('-');
  });
});

describe('keys addressed by key tag or KeyId prefix', () => {
  it('takes a whole KeyId, a key tag, or a unique prefix, in any case', () => {
    expect(selectKey(KEYS, '3F2A9C1E-7B44-4D0E-9A51-0C7F3E2B8D19', 'z.').keyTag).toBe(20326);
    expect(selectKey(KEYS, '38696', 'z.').keyId).toBe('3f2b0000-1111-4222-8333-444455556666');
    expect(selectKey(KEYS, '3f2a', 'z.').keyTag).toBe(20326);
    expect(selectKey(KEYS, '9e8d7c', 'z.').role).toBe('zsk');
  });

  it('prefers a live key over a retired one with the same tag; refuses an ambiguous prefix or tag, naming the candidates', () => {
    expect(selectKey(KEYS, '11111', 'z.').state).toBe('Active');
    expect(() => selectKey(KEYS, '3f2', 'z.')).toThrow(/KeyId prefix "3f2" matches 2 keys of z\.: 3f2a9c1e \(KSK 20326, Active\), 3f2b0000 \(KSK 38696, Standby\)/);
    const clash = [...KEYS, key('aaaaaaaa-0000-4000-8000-000000000000', 20326, 'zsk', 'Next')];
    expect(() => selectKey(clash, '20326', 'z.')).toThrow(/key tag "20326" matches 2 keys/);
    expect(() => selectKey(KEYS, 'zzz', 'z.')).toThrow(/z\. has no key "zzz"/);
    expect(() => selectKey(KEYS, '4242', 'z.')).toThrow(/has no key "4242"/);
  });
});

describe('trust-point list for a screen', () => {
  const point = (zone: string, lastResult: string): TrustPointView => ({
    zone, state: 'Active', anchorCounts: { Valid: 2, AddPend: 1, Revoked: 1 }, createdAt: iso(-86400),
    lastRefresh: iso(-180), lastSuccess: iso(-180), nextRefresh: iso(3540), lastResult, failures: 0, sources: ['config rootAnchors trust-anchors/root-anchors.xml'],
  });
  const points = [point('.', 'ok: DNSKEY RRset of 3 keys validated by 20326; 1 new key in AddPend until 2027-01-06'), point('branch-office.corp.example.', 'ok')];

  it('fits 120 columns by default, times relative and the last result cut to fit', () => {
    const text = formatTrustPointTable(points, { now: NOW });
    expect(widest(text)).toBeLessThanOrEqual(120);
    expect(text).toMatch(/^TrustPoint\s+State\s+Anchors\s+NextActiveRefresh\s+LastResult\s+Source$/m);
    expect(text).toContain('in 59m');
    expect(text).toContain('config rootAnc…');
    expect(text).toContain('…');
  });

  it('--wide has full times and the whole result; --output picks columns', () => {
    const wide = formatTrustPointTable(points, { wide: true, now: NOW });
    expect(wide).toContain('2026-12-07 11:57:00Z');
    expect(wide).toContain('until 2027-01-06');
    expect(wide).toContain('config rootAnchors trust-anchors/root-anchors.xml');
    expect(formatTrustPointTable(points, { output: 'zone,next', now: NOW }).split('\n')[0]).toMatch(/^TrustPoint\s+NextActiveRefresh$/);
  });
});

describe('durations in errors', () => {
  it('zone sign refuses a rollover or validity under the floor, saying it as durations', () => {
    expect(() => signBody({ 'ksk-rollover': '30m' })).toThrow('--ksk-rollover (kskRollover): must be at least 1h, got 30m');
    expect(() => signBody({ 'signature-validity': '1800' })).toThrow('--signature-validity (signatureValidity): must be at least 1h, got 30m');
    expect(signBody({ 'zsk-rollover': '30d' })).toEqual({ options: { zskRollover: 30 * 86400 } });
  });
});
