import type { KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ed448 } from '@noble/curves/ed448.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  generateKeyPair,
  isSupportedAlgorithm,
  signData,
  verifySignature,
} from '../../src/crypto/index.js';
import { concatBytes, hex, toHex } from '../fixtures/crypto/rfc-vectors.js';

// Deterministic inputs (mulberry32), so a failure names data that can be replayed;
// the keys themselves come from OpenSSL's generator and differ run to run.
function prng(seed: number): (length: number) => Uint8Array {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return (length) => Uint8Array.from({ length }, () => Math.floor(next() * 256));
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[(bit >> 3) % out.length]! ^= 1 << (bit & 7);
  return out;
}

// ── independent oracles ───────────────────────────────────────────────────────

/** @noble/curves over the DNSKEY field and the raw DNSSEC signature formats. */
const NOBLE = {
  13: { curve: p256, prefix: true },
  14: { curve: p384, prefix: true },
  15: { curve: ed25519, prefix: false },
  16: { curve: ed448, prefix: false },
} as const;

type NobleAlgorithm = keyof typeof NOBLE;

function nobleVerify(algorithm: NobleAlgorithm, signature: Uint8Array, data: Uint8Array, field: Uint8Array): boolean {
  const { curve, prefix } = NOBLE[algorithm];
  if (prefix) return (curve as typeof p256).verify(signature, data, concatBytes(Uint8Array.of(4), field), { lowS: false });
  return (curve as typeof ed25519).verify(signature, data, field);
}

function nobleKeyPair(algorithm: NobleAlgorithm): { secret: Uint8Array; field: Uint8Array } {
  const { curve, prefix } = NOBLE[algorithm];
  const secret = curve.utils.randomSecretKey();
  const field = prefix ? (curve as typeof p256).getPublicKey(secret, false).subarray(1) : curve.getPublicKey(secret);
  return { secret, field };
}

function nobleSign(algorithm: NobleAlgorithm, data: Uint8Array, secret: Uint8Array): Uint8Array {
  return NOBLE[algorithm].curve.sign(data, secret);
}

/** Our private key's scalar or seed, as noble takes it. */
function secretOf(privateKey: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'));
}

/** RSASSA-PKCS1-v1_5 in BigInt arithmetic with @noble/hashes (RFC 8017 §8.2, §9.2). */
const RSA_ORACLE = {
  5: { hash: sha1, prefix: '3021300906052b0e03021a05000414' },
  7: { hash: sha1, prefix: '3021300906052b0e03021a05000414' },
  8: { hash: sha256, prefix: '3031300d060960864801650304020105000420' },
  10: { hash: sha512, prefix: '3051300d060960864801650304020305000440' },
} as const;

type RsaAlgorithm = keyof typeof RSA_ORACLE;

const toBig = (bytes: Uint8Array): bigint => BigInt(`0x${toHex(bytes) || '0'}`);
const fromBig = (value: bigint, length: number): Uint8Array => hex(value.toString(16).padStart(length * 2, '0'));

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  base %= modulus;
  for (; exponent > 0n; exponent >>= 1n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
  }
  return result;
}

function encodedMessage(algorithm: RsaAlgorithm, data: Uint8Array, length: number): bigint {
  const { hash, prefix } = RSA_ORACLE[algorithm];
  const t = concatBytes(hex(prefix), hash(data));
  return toBig(concatBytes(Uint8Array.of(0, 1), new Uint8Array(length - t.length - 3).fill(0xff), Uint8Array.of(0), t));
}

function rsaParts(privateKey: KeyObject) {
  const jwk = privateKey.export({ format: 'jwk' });
  const n = new Uint8Array(Buffer.from(jwk.n!, 'base64url'));
  const big = (v: string | undefined) => toBig(new Uint8Array(Buffer.from(v!, 'base64url')));
  return { n: toBig(n), length: n.length, e: big(jwk.e), d: big(jwk.d) };
}

// ── properties ────────────────────────────────────────────────────────────────

const ALGORITHMS = [5, 7, 8, 10, 13, 14, 15, 16] as const;
const KEYS_PER_ALGORITHM = (algorithm: number) => (algorithm <= 10 ? 3 : 10);

describe.each(ALGORITHMS)('algorithm %i', (algorithm) => {
  const random = prng(algorithm * 7919);
  const keys = Array.from({ length: KEYS_PER_ALGORITHM(algorithm) }, () =>
    generateKeyPair(algorithm, algorithm <= 10 ? 1024 : undefined),
  );
  const messages = [new Uint8Array(0), ...[1, 17, 64, 300, 1500].map((length) => random(length))];

  it('signatures verify; any flipped bit in data or signature, or another key, fails', () => {
    keys.forEach(({ privateKey, publicKeyField }, k) => {
      const otherKey = keys[(k + 1) % keys.length]!.publicKeyField;
      for (const data of messages) {
        const signature = signData(algorithm, privateKey, data);
        expect(verifySignature(algorithm, publicKeyField, data, signature)).toBe(true);
        expect(verifySignature(algorithm, otherKey, data, signature)).toBe(false);
        const [dataBit, signatureBit] = random(2);
        if (data.length > 0) {
          expect(verifySignature(algorithm, publicKeyField, flipBit(data, dataBit! * 13), signature)).toBe(false);
        }
        expect(verifySignature(algorithm, publicKeyField, data, flipBit(signature, signatureBit! * 7))).toBe(false);
        expect(verifySignature(algorithm, publicKeyField, data, signature.subarray(1))).toBe(false);
        expect(verifySignature(algorithm, publicKeyField, data, concatBytes(signature, Uint8Array.of(0)))).toBe(false);
      }
    });
  });

  if (algorithm in RSA_ORACLE) {
    const rsa = algorithm as RsaAlgorithm;

    it('BigInt PKCS#1 v1.5 (with @noble/hashes) verifies our signatures, and we verify its', () => {
      for (const { privateKey, publicKeyField } of keys) {
        const { n, length, e, d } = rsaParts(privateKey);
        for (const data of messages) {
          const ours = signData(rsa, privateKey, data);
          expect(ours.length).toBe(length);
          expect(modPow(toBig(ours), e, n)).toBe(encodedMessage(rsa, data, length));
          const theirs = fromBig(modPow(encodedMessage(rsa, data, length), d, n), length);
          expect(verifySignature(rsa, publicKeyField, data, theirs)).toBe(true);
        }
      }
    });
  } else {
    const noble = algorithm as NobleAlgorithm;

    it('@noble/curves verifies our signatures, and signs ones we verify with our keys', () => {
      for (const { privateKey, publicKeyField } of keys) {
        for (const data of messages) {
          expect(nobleVerify(noble, signData(noble, privateKey, data), data, publicKeyField)).toBe(true);
          const theirs = nobleSign(noble, data, secretOf(privateKey));
          expect(verifySignature(noble, publicKeyField, data, theirs)).toBe(true);
        }
      }
    });

    it('we verify signatures from keys @noble/curves generated', () => {
      for (let i = 0; i < 5; i++) {
        const { secret, field } = nobleKeyPair(noble);
        for (const data of messages) {
          const signature = nobleSign(noble, data, secret);
          expect(verifySignature(noble, field, data, signature)).toBe(true);
          if (data.length > 0) expect(verifySignature(noble, field, flipBit(data, 3), signature)).toBe(false);
        }
      }
    });
  }

  it('never throws on garbage keys or signatures', () => {
    const data = random(100);
    for (let i = 0; i < 200; i++) {
      const [keyLength, signatureLength] = random(2).map((b) => b! * 3);
      let field = random(keyLength!);
      // Give RSA structured keys too, so the RSA operation itself meets junk.
      if (algorithm <= 10 && i % 2 === 0) field = concatBytes(Uint8Array.of(3, 1, 0, 1), Uint8Array.of(0xc0), random(127));
      expect(verifySignature(algorithm, field, data, random(signatureLength!))).toBe(false);
    }
  });
});

describe('algorithm and key checks', () => {
  const data = new Uint8Array(32);

  it('unsupported algorithms throw, distinguishable from a bad signature', () => {
    const { privateKey, publicKeyField } = generateKeyPair(13);
    for (const algorithm of [0, 1, 2, 3, 4, 6, 9, 11, 12, 17, 252, 253, 254, 255]) {
      expect(isSupportedAlgorithm(algorithm)).toBe(false);
      expect(() => verifySignature(algorithm, publicKeyField, data, new Uint8Array(64))).toThrowError(
        expect.objectContaining({ name: 'CryptoError', code: 'unsupported-algorithm' }),
      );
      expect(() => signData(algorithm, privateKey, data)).toThrowError(CryptoError);
    }
  });

  it('signing refuses a key of the wrong type, curve or kind', () => {
    const ec256 = generateKeyPair(13);
    const ed = generateKeyPair(15);
    for (const [algorithm, key] of [
      [14, ec256.privateKey],
      [8, ec256.privateKey],
      [16, ed.privateKey],
      [13, ed.privateKey],
    ] as const) {
      expect(() => signData(algorithm, key, data)).toThrowError(expect.objectContaining({ code: 'key-mismatch' }));
    }
  });

  it('a signature for one algorithm does not verify as another on the same key', () => {
    const { privateKey, publicKeyField } = generateKeyPair(8, 1024);
    const signature = signData(8, privateKey, data);
    expect(verifySignature(8, publicKeyField, data, signature)).toBe(true);
    expect(verifySignature(10, publicKeyField, data, signature)).toBe(false);
    expect(verifySignature(5, publicKeyField, data, signature)).toBe(false);
  });
});
