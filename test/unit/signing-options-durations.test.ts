import { describe, expect, it } from 'vitest';
import { DEFAULT_SIGNING_POLICY, SigningPolicyError, normalizeSigningPolicy } from '../../src/authority/signing-policy.js';

describe('signing option errors speak in durations', () => {
  it('names the field, the floor and the value as durations', () => {
    expect(() => normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, kskRollover: 1800 })).toThrow('kskRollover: must be at least 1h, got 30m');
    expect(() => normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, signatureValidity: 1860 })).toThrow('signatureValidity: must be at least 1h, got 31m');
    expect(() => normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, zskRollover: 0 })).toThrow('zskRollover: must be at least 1h, got 0s');
  });

  it('says what a negative or non-integer value is without formatting it as a duration', () => {
    expect(() => normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, dnskeyTtl: -5 })).toThrow('dnskeyTtl: must be at least 0s, got -5 seconds');
    const error = (() => {
      try {
        normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, dsTtl: '1h' as unknown as number });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SigningPolicyError);
    expect((error as SigningPolicyError).field).toBe('dsTtl');
    expect((error as Error).message).toBe('dsTtl: must be a duration (whole seconds) of at least 0s, got "1h"');
  });

  it('keeps messages free of the old "integer of at least <seconds>" form', () => {
    for (const field of ['dnskeySignatureValidity', 'dsSignatureValidity', 'kskRollover'] as const)
      expect(() => normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, [field]: 59 })).toThrow(new RegExp(`^${field}: must be at least 1h, got 59s$`));
  });
});
