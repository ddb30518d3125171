import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  dnskeyPublicKeyField,
  generateKeyPair,
  keyMatchesAlgorithm,
  publicKeyFromDnskey,
  verifySignature,
} from '../../src/crypto/index.js';
import { b64, concatBytes, SIGNATURE_VECTORS, toB64 } from '../fixtures/crypto/rfc-vectors.js';

const rfc5702 = SIGNATURE_VECTORS.find((v) => v.keyTag === 9033)!;

function expectCode(fn: () => unknown, code: string): void {
  expect(fn).toThrowError(CryptoError);
  expect(fn).toThrowError(expect.objectContaining({ code }));
}

/** An RFC 3110 key field from exponent and modulus, with the long length form on demand. */
function rsaField(exponent: Uint8Array, modulus: Uint8Array, longForm = false): Uint8Array {
  const prefix = longForm ? Uint8Array.of(0, exponent.length >> 8, exponent.length & 0xff) : Uint8Array.of(exponent.length);
  return concatBytes(prefix, exponent, modulus);
}

describe('DNSKEY public key field ⇄ KeyObject', () => {
  it.each(SIGNATURE_VECTORS.map((v) => [v.source, v] as const))('%s: round-trips byte for byte', (_source, vector) => {
    const field = b64(vector.publicKey);
    const key = publicKeyFromDnskey(vector.algorithm, field);
    expect(key.type).toBe('public');
    expect(keyMatchesAlgorithm(vector.algorithm, key)).toBe(true);
    expect(toB64(dnskeyPublicKeyField(vector.algorithm, key))).toBe(vector.publicKey);
  });

  it('RSA: reads the exponent length from one octet, or from two after a zero', () => {
    const field = b64(rfc5702.publicKey);
    expect(field[0]).toBe(3);
    const exponent = field.subarray(1, 4);
    const modulus = field.subarray(4);
    const short = publicKeyFromDnskey(8, field).export({ format: 'jwk' });
    const long = publicKeyFromDnskey(8, rsaField(exponent, modulus, true)).export({ format: 'jwk' });
    expect(long).toEqual(short);
    expect(short.e).toBe('AQAB');
  });

  it('RSA: writes the long length form for an exponent of 256 octets or more', () => {
    const exponent = new Uint8Array(256).fill(0x11);
    const modulus = new Uint8Array(512).fill(0xff);
    const jwk = { kty: 'RSA', n: Buffer.from(modulus).toString('base64url'), e: Buffer.from(exponent).toString('base64url') };
    const field = dnskeyPublicKeyField(8, createPublicKey({ key: jwk, format: 'jwk' }));
    expect(field).toEqual(rsaField(exponent, modulus, true));
    expect(publicKeyFromDnskey(8, field).export({ format: 'jwk' })).toEqual(jwk);
  });

  it.each([
    ['an empty field', new Uint8Array()],
    ['a long form cut short', Uint8Array.of(0, 1)],
    ['an exponent running past the end', Uint8Array.of(5, 1, 0, 1)],
    ['no modulus', Uint8Array.of(3, 1, 0, 1)],
    ['a zero exponent', concatBytes(Uint8Array.of(1, 0), new Uint8Array(64).fill(0xff))],
    ['an exponent length of zero in long form', concatBytes(Uint8Array.of(0, 0, 0), new Uint8Array(64).fill(0xff))],
  ])('RSA: %s is malformed', (_why, field) => {
    expectCode(() => publicKeyFromDnskey(8, field), 'malformed-key');
  });

  it('RSA: moduli outside the RFC 3110 / RFC 5702 bounds are refused', () => {
    const e = Uint8Array.of(1, 0, 1);
    const bits = (n: number) => new Uint8Array(n / 8).fill(0xff);
    expectCode(() => publicKeyFromDnskey(8, rsaField(e, bits(504))), 'invalid-key-size');
    expectCode(() => publicKeyFromDnskey(8, rsaField(e, concatBytes(Uint8Array.of(1), bits(4096)))), 'invalid-key-size');
    expectCode(() => publicKeyFromDnskey(10, b64(rfc5702.publicKey)), 'invalid-key-size');
    expect(publicKeyFromDnskey(8, rsaField(e, bits(4096))).asymmetricKeyDetails?.modulusLength).toBe(4096);
    // Leading zero octets do not count towards the size.
    const padded = rsaField(e, concatBytes(new Uint8Array(8), bits(512)));
    expect(publicKeyFromDnskey(8, padded).asymmetricKeyDetails?.modulusLength).toBe(512);
  });

  it('ECDSA: the field is exactly x‖y, and the point must be on the curve', () => {
    const p256 = SIGNATURE_VECTORS.find((v) => v.algorithm === 13)!;
    const field = b64(p256.publicKey);
    expectCode(() => publicKeyFromDnskey(13, field.subarray(1)), 'malformed-key');
    expectCode(() => publicKeyFromDnskey(13, concatBytes(Uint8Array.of(4), field)), 'malformed-key');
    expectCode(() => publicKeyFromDnskey(14, field), 'malformed-key');
    const offCurve = field.slice();
    offCurve[63]! ^= 1;
    expectCode(() => publicKeyFromDnskey(13, offCurve), 'malformed-key');
  });

  it('EdDSA: the field is exactly 32 (Ed25519) or 57 (Ed448) octets', () => {
    expect(publicKeyFromDnskey(15, new Uint8Array(32).fill(7)).asymmetricKeyType).toBe('ed25519');
    expectCode(() => publicKeyFromDnskey(15, new Uint8Array(31)), 'malformed-key');
    expectCode(() => publicKeyFromDnskey(16, new Uint8Array(56)), 'malformed-key');
  });

  it('unsupported algorithms are reported as such, not as malformed keys', () => {
    for (const algorithm of [0, 1, 3, 6, 12, 253]) {
      expectCode(() => publicKeyFromDnskey(algorithm, b64(rfc5702.publicKey)), 'unsupported-algorithm');
    }
  });

  it('caches: the same bytes give the same KeyObject, another algorithm another one', () => {
    const field = b64(rfc5702.publicKey);
    const first = publicKeyFromDnskey(8, field);
    expect(publicKeyFromDnskey(8, field.slice())).toBe(first);
    expect(publicKeyFromDnskey(5, field)).not.toBe(first);
  });

  it('a cached key is not disturbed when the caller reuses its buffer', () => {
    const field = b64(rfc5702.publicKey);
    const key = publicKeyFromDnskey(8, field);
    field.fill(0);
    expect(toB64(dnskeyPublicKeyField(8, key))).toBe(rfc5702.publicKey);
    expect(publicKeyFromDnskey(8, b64(rfc5702.publicKey))).toBe(key);
  });

  it('encoding refuses keys that do not fit the algorithm', () => {
    const { privateKey: ec } = generateKeyPair(13);
    expectCode(() => dnskeyPublicKeyField(14, ec), 'key-mismatch');
    expectCode(() => dnskeyPublicKeyField(8, ec), 'key-mismatch');
    const { publicKey: pss } = generateKeyPairSync('rsa-pss', { modulusLength: 1024 });
    expectCode(() => dnskeyPublicKeyField(8, pss), 'key-mismatch');
    expect(keyMatchesAlgorithm(13, ec)).toBe(true);
    expect(keyMatchesAlgorithm(15, ec)).toBe(false);
  });

  it('a malformed key makes verification false, not an exception', () => {
    expect(verifySignature(13, new Uint8Array(63), new Uint8Array(8), new Uint8Array(64))).toBe(false);
    expect(verifySignature(8, Uint8Array.of(3, 1, 0, 1), new Uint8Array(8), new Uint8Array(64))).toBe(false);
  });
});
