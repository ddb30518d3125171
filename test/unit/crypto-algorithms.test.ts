import { describe, expect, it } from 'vitest';
import {
  algorithmFromMnemonic,
  algorithmMnemonic,
  DnssecAlgorithm,
  isSupportedAlgorithm,
} from '../../src/crypto/index.js';

describe('DNSSEC algorithm numbers', () => {
  it.each([
    ['RSAMD5', 1, false],
    ['DSA', 3, false],
    ['RSASHA1', 5, true],
    ['DSA-NSEC3-SHA1', 6, false],
    ['RSASHA1-NSEC3-SHA1', 7, true],
    ['RSASHA256', 8, true],
    ['RSASHA512', 10, true],
    ['ECC-GOST', 12, false],
    ['ECDSAP256SHA256', 13, true],
    ['ECDSAP384SHA384', 14, true],
    ['ED25519', 15, true],
    ['ED448', 16, true],
  ] as const)('%s is %i (supported: %s)', (mnemonic, number, supported) => {
    expect(algorithmFromMnemonic(mnemonic)).toBe(number);
    expect(algorithmFromMnemonic(mnemonic.toLowerCase())).toBe(number);
    expect(algorithmMnemonic(number)).toBe(mnemonic);
    expect(isSupportedAlgorithm(number)).toBe(supported);
  });

  it('the constants agree with the mnemonic table', () => {
    for (const [key, number] of Object.entries(DnssecAlgorithm)) {
      expect(algorithmMnemonic(number)?.replace(/-/g, '_')).toBe(key);
    }
  });

  it('numbers and names it does not know', () => {
    expect(algorithmMnemonic(0)).toBeUndefined();
    expect(algorithmMnemonic(253)).toBeUndefined();
    expect(algorithmFromMnemonic('RSASHA384')).toBeUndefined();
    expect(algorithmFromMnemonic('8')).toBeUndefined();
    expect([0, 2, 4, 9, 11, 17, 255, -1, 8.5].some(isSupportedAlgorithm)).toBe(false);
  });
});
