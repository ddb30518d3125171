import { afterAll, describe, expect, it } from 'vitest';
import { signPreview, signingChanges } from '../../src/authority/sign-preview.js';
import { formatSignPreview } from '../../src/cli/sign-preview-text.js';
import { DEFAULT_SIGNING_POLICY, normalizeSigningPolicy } from '../../src/authority/signing-policy.js';
import { removeDir } from '../support/external-servers.js';
import { oneZoneService } from '../support/one-zone-service.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
const DEFAULTS = normalizeSigningPolicy(DEFAULT_SIGNING_POLICY);

describe('signingChanges', () => {
  it('lists only the options that differ, periods as durations and algorithms by name', () => {
    const next = normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, algorithm: 15, denial: 'nsec', kskRollover: 365 * 86400, nsec3OptOut: true });
    // ECDSA P-256 and Ed25519 keys are both 256 bits: no key size line.
    expect(signingChanges(DEFAULTS, next)).toEqual([
      { field: 'algorithm', from: 'ECDSAP256SHA256(13)', to: 'ED25519(15)' },
      { field: 'denial', from: 'NSEC3', to: 'NSEC' },
      { field: 'nsec3OptOut', from: 'false', to: 'true' },
      { field: 'kskRollover', from: '755d', to: '365d' },
    ]);
    expect(signingChanges(DEFAULTS, normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, algorithm: 8, kskBits: 4096 }))).toEqual(expect.arrayContaining([
      { field: 'kskBits', from: '256', to: '4096' },
      { field: 'zskBits', from: '256', to: '2048' },
    ]));
    expect(signingChanges(DEFAULTS, DEFAULTS)).toEqual([]);
  });
});

describe('signPreview (pure)', () => {
  it('needs no confirmation for an unsigned zone, nor for a signed one signed again as it is', () => {
    expect(signPreview('a.', undefined, DEFAULTS, [], false)).toMatchObject({ signed: false, changes: [], needsConfirmation: false, algorithmRollover: null });
    expect(signPreview('a.', DEFAULTS, DEFAULTS, [], false).needsConfirmation).toBe(false);
    expect(signPreview('a.', DEFAULTS, DEFAULTS, [], true)).toMatchObject({ endsUnsign: true, needsConfirmation: true });
  });

  it('says the text a terminal shows: old → new, and the algorithm rollover', () => {
    const p = { zone: 'a.', signed: true, changes: [{ field: 'zskRollover' as const, from: '90d', to: '30d' }], algorithmRollover: { from: ['RSASHA256(8)'], to: 'ECDSAP256SHA256(13)' }, algorithmRolloverUnderway: null, keysRegenerated: false, endsUnsign: false, needsConfirmation: true };
    expect(formatSignPreview(p)).toBe('Zone a. is signed; signing it again changes:\n  zskRollover  90d → 30d\n  An algorithm rollover starts: RSASHA256(8) → ECDSAP256SHA256(13) (every key replaced, in stages).');
  });
});

describe('ZoneService.previewSign', () => {
  async function lab() {
    const { dir, service } = await oneZoneService('sign-preview');
    dirs.push(dir);
    return service;
  }

  it('computes the change on the server and changes nothing: policy, keys and serial stay', async () => {
    const service = await lab();
    expect(await service.previewSign('p.example', { mode: 'defaults' })).toMatchObject({ zone: 'p.example.', signed: false, needsConfirmation: false });
    await service.sign('p.example', { mode: 'defaults' });
    const before = { show: service.show('p.example'), keys: (await service.keys('p.example')).keys };

    const p = await service.previewSign('p.example', { mode: 'options', options: { algorithm: 15, zskRollover: 30 * 86400, denial: 'nsec' } });
    expect(p.signed).toBe(true);
    expect(p.needsConfirmation).toBe(true);
    expect(p.changes).toEqual(expect.arrayContaining([
      { field: 'algorithm', from: 'ECDSAP256SHA256(13)', to: 'ED25519(15)' },
      { field: 'denial', from: 'NSEC3', to: 'NSEC' },
      { field: 'zskRollover', from: '90d', to: '30d' },
    ]));
    expect(p.algorithmRollover).toEqual({ from: ['ECDSAP256SHA256(13)'], to: 'ED25519(15)' });
    expect(service.show('p.example')).toEqual(before.show);
    expect((await service.keys('p.example')).keys).toEqual(before.keys);

    // Same options again: no change, no confirmation; a bad option is the sign route's error.
    expect(await service.previewSign('p.example', { mode: 'defaults' })).toMatchObject({ changes: [], needsConfirmation: false, algorithmRollover: null });
    await expect(service.previewSign('p.example', { mode: 'options', options: { kskRollover: 1800 } })).rejects.toThrow('kskRollover: must be at least 1h, got 30m');
  });
});
