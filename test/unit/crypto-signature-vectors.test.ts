import { createPrivateKey, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ed448 } from '@noble/curves/ed448.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { dnskeyPublicKeyField, keyTag, signData, verifySignature } from '../../src/crypto/index.js';
import {
  b64,
  dnskeyRdata,
  SIGNATURE_VECTORS,
  signedData,
  toB64,
  type RfcPrivateKey,
  type SignatureVector,
} from '../fixtures/crypto/rfc-vectors.js';

const base64url = (text: string): string => Buffer.from(b64(text)).toString('base64url');

// PKCS#8 wrappers for raw EdDSA seeds (RFC 8410 §7): the DER up to the seed octets.
const EDDSA_PKCS8_PREFIX: Record<number, string> = {
  15: '302e020100300506032b657004220420',
  16: '3047020100300506032b6571043b0439',
};

function privateKeyOf(vector: SignatureVector, rfcKey: RfcPrivateKey): KeyObject {
  switch (rfcKey.kind) {
    case 'rsa':
      return createPrivateKey({
        format: 'jwk',
        key: {
          kty: 'RSA',
          n: base64url(rfcKey.modulus),
          e: base64url(rfcKey.publicExponent),
          d: base64url(rfcKey.privateExponent),
          p: base64url(rfcKey.prime1),
          q: base64url(rfcKey.prime2),
          dp: base64url(rfcKey.exponent1),
          dq: base64url(rfcKey.exponent2),
          qi: base64url(rfcKey.coefficient),
        },
      });
    case 'ec': {
      const point = b64(vector.publicKey);
      const half = point.length / 2;
      return createPrivateKey({
        format: 'jwk',
        key: {
          kty: 'EC',
          crv: vector.algorithm === 13 ? 'P-256' : 'P-384',
          x: Buffer.from(point.subarray(0, half)).toString('base64url'),
          y: Buffer.from(point.subarray(half)).toString('base64url'),
          d: base64url(rfcKey.privateKey),
        },
      });
    }
    case 'eddsa':
      return createPrivateKey({
        format: 'der',
        type: 'pkcs8',
        key: Buffer.concat([Buffer.from(EDDSA_PKCS8_PREFIX[vector.algorithm]!, 'hex'), b64(rfcKey.privateKey)]),
      });
  }
}

function nobleVerify(algorithm: number, signature: Uint8Array, data: Uint8Array, publicKey: Uint8Array): boolean {
  switch (algorithm) {
    case 13:
      return p256.verify(signature, data, Uint8Array.of(4, ...publicKey), { lowS: false });
    case 14:
      return p384.verify(signature, data, Uint8Array.of(4, ...publicKey), { lowS: false });
    case 15:
      return ed25519.verify(signature, data, publicKey);
    case 16:
      return ed448.verify(signature, data, publicKey);
    default:
      throw new Error(`no noble oracle for algorithm ${algorithm}`);
  }
}

describe.each(SIGNATURE_VECTORS.map((vector) => [vector.source, vector] as const))('%s', (_source, vector) => {
  const publicKey = b64(vector.publicKey);
  const data = signedData(vector.rrsig, vector.owner, vector.rdatas);
  const signature = b64(vector.signature);

  it('has the key tag the RFC prints', () => {
    expect(keyTag(dnskeyRdata(vector.flags, vector.algorithm, publicKey))).toBe(vector.keyTag);
  });

  it('verifies the RFC signature', () => {
    expect(verifySignature(vector.algorithm, publicKey, data, signature)).toBe(true);
  });

  it('rejects the RFC signature over altered data, or altered', () => {
    const alteredData = data.slice();
    alteredData[alteredData.length - 1]! ^= 1;
    expect(verifySignature(vector.algorithm, publicKey, alteredData, signature)).toBe(false);
    const alteredSignature = signature.slice();
    alteredSignature[signature.length >> 1]! ^= 0x10;
    expect(verifySignature(vector.algorithm, publicKey, data, alteredSignature)).toBe(false);
  });

  if (vector.algorithm >= 13) {
    it('the RFC signature also verifies with @noble/curves', () => {
      expect(nobleVerify(vector.algorithm, signature, data, publicKey)).toBe(true);
    });
  }

  const rfcKey = vector.privateKey;
  if (rfcKey !== undefined) {
    const privateKey = privateKeyOf(vector, rfcKey);

    it('the RFC private key belongs to the RFC DNSKEY', () => {
      expect(toB64(dnskeyPublicKeyField(vector.algorithm, privateKey))).toBe(toB64(publicKey));
    });

    if (vector.deterministic) {
      it('signing with the RFC private key reproduces the RFC signature exactly', () => {
        expect(toB64(signData(vector.algorithm, privateKey, data))).toBe(vector.signature);
      });
    } else {
      it('signing with the RFC private key gives a signature we and @noble/curves verify', () => {
        const ours = signData(vector.algorithm, privateKey, data);
        expect(ours.length).toBe(signature.length);
        expect(verifySignature(vector.algorithm, publicKey, data, ours)).toBe(true);
        expect(nobleVerify(vector.algorithm, ours, data, publicKey)).toBe(true);
      });
    }
  }
});

describe('RFC 5702 §6.1 key under algorithm 10', () => {
  it('is refused: RSA/SHA-512 keys must have at least 1024 bits', () => {
    const vector = SIGNATURE_VECTORS.find((v) => v.keyTag === 9033)!;
    const data = signedData({ ...vector.rrsig, algorithm: 10 }, vector.owner, vector.rdatas);
    expect(verifySignature(10, b64(vector.publicKey), data, b64(vector.signature))).toBe(false);
  });
});
