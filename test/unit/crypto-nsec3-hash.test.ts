import { randomBytes } from 'node:crypto';
import { sha1 } from '@noble/hashes/legacy.js';
import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  isSupportedNsec3HashAlgorithm,
  NSEC3_HASH_SHA1,
  nsec3Hash,
} from '../../src/crypto/index.js';
import { fromBase32Hex, toBase32Hex as upperBase32Hex } from '../../src/wire/text-encoding.js';

const toBase32Hex = (b: Uint8Array) => upperBase32Hex(b).toLowerCase();
import {
  concatBytes,
  hex,
  nameWire,
  RFC5155_HASHES,
  RFC5155_ITERATIONS,
  RFC5155_SALT,
  toHex,
} from '../fixtures/crypto/rfc-vectors.js';

function nobleNsec3(owner: Uint8Array, salt: Uint8Array, iterations: number): Uint8Array {
  let digest = sha1(concatBytes(owner, salt));
  for (let i = 0; i < iterations; i++) digest = sha1(concatBytes(digest, salt));
  return digest;
}

describe('NSEC3 hash', () => {
  it.each(RFC5155_HASHES)('RFC 5155 Appendix A: H(%s) = %s', (name, expected) => {
    const hash = nsec3Hash(nameWire(name), hex(RFC5155_SALT), RFC5155_ITERATIONS);
    expect(hash.length).toBe(20);
    expect(toBase32Hex(hash)).toBe(expected);
  });

  it('hashes the canonical (lowercase) name whatever the case of the input', () => {
    const upper = new Uint8Array(Buffer.from('\x01A\x07EXAMPLE\x00', 'latin1'));
    expect(toBase32Hex(nsec3Hash(upper, hex(RFC5155_SALT), 12))).toBe('35mthgpgcu1qg68fab165klnsnk3dpvl');
  });

  it('agrees with @noble/hashes for random names, salts and iteration counts', () => {
    for (let i = 0; i < 40; i++) {
      const owner = nameWire(`${randomBytes(1 + (i % 20)).toString('hex')}.example.`);
      const salt = randomBytes(i % 9);
      const iterations = (i * 37) % 160;
      expect(toHex(nsec3Hash(owner, salt, iterations))).toBe(toHex(nobleNsec3(owner, salt, iterations)));
    }
  });

  it('rejects iterations and salts that do not fit their fields', () => {
    const owner = nameWire('example.');
    for (const iterations of [-1, 1.5, 65536, Number.NaN]) {
      expect(() => nsec3Hash(owner, new Uint8Array(), iterations)).toThrowError(
        expect.objectContaining({ code: 'invalid-argument' }),
      );
    }
    expect(() => nsec3Hash(owner, new Uint8Array(256), 0)).toThrowError(CryptoError);
    expect(nsec3Hash(owner, new Uint8Array(255), 0).length).toBe(20);
  });

  it('knows hash algorithm 1 only', () => {
    expect(NSEC3_HASH_SHA1).toBe(1);
    expect([0, 1, 2].map(isSupportedNsec3HashAlgorithm)).toEqual([false, true, false]);
  });
});

describe('base32hex', () => {
  // RFC 4648 §10 BASE32-HEX test vectors, without their padding.
  it.each([
    ['', ''],
    ['f', 'co'],
    ['fo', 'cpng'],
    ['foo', 'cpnmu'],
    ['foob', 'cpnmuog'],
    ['fooba', 'cpnmuoj1'],
    ['foobar', 'cpnmuoj1e8'],
  ])('RFC 4648 §10: %j ⇄ %s', (text, encoded) => {
    expect(toBase32Hex(Buffer.from(text))).toBe(encoded);
    expect(Buffer.from(fromBase32Hex(encoded)).toString()).toBe(text);
    expect(Buffer.from(fromBase32Hex(encoded.toUpperCase())).toString()).toBe(text);
  });

  it('round-trips random bytes of every length', () => {
    for (let length = 0; length < 70; length++) {
      const bytes = new Uint8Array(randomBytes(length));
      const encoded = toBase32Hex(bytes);
      expect(encoded).toMatch(/^[0-9a-v]*$/);
      expect(fromBase32Hex(encoded)).toEqual(bytes);
    }
  });

  it.each([
    ['padding', 'co======'],
    ['a letter past v', 'cw'],
    ['a non-ASCII character', 'cé'],
    ['an impossible length', 'cpn'],
    ['non-zero trailing bits', 'cp'],
  ])('rejects %s', (_why, text) => {
    expect(() => fromBase32Hex(text)).toThrowError(expect.objectContaining({ code: 'bad-text' }));
  });
});
