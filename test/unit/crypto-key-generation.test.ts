import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  dnskeyPublicKeyField,
  exportPrivateKeyDer,
  exportPrivateKeyPem,
  generateKeyPair,
  generateKeyPairAsync,
  importPrivateKey,
  keyMatchesAlgorithm,
  publicKeyFromDnskey,
  RSA_DEFAULT_BITS,
  signData,
  verifySignature,
} from '../../src/crypto/index.js';

const data = new TextEncoder().encode('keymaster');

describe('generateKeyPair', () => {
  it.each([
    [13, 64, 'ec'],
    [14, 96, 'ec'],
    [15, 32, 'ed25519'],
    [16, 57, 'ed448'],
  ] as const)('algorithm %i: a %i-octet DNSKEY field and a %s private key', (algorithm, length, type) => {
    const { privateKey, publicKeyField } = generateKeyPair(algorithm);
    expect(privateKey.type).toBe('private');
    expect(privateKey.asymmetricKeyType).toBe(type);
    expect(publicKeyField).toBeInstanceOf(Uint8Array);
    expect(publicKeyField.length).toBe(length);
    expect(keyMatchesAlgorithm(algorithm, privateKey)).toBe(true);
  });

  it('RSA: 2048 bits and exponent 65537 by default, in RFC 3110 form', () => {
    expect(RSA_DEFAULT_BITS).toBe(2048);
    const { privateKey, publicKeyField } = generateKeyPair(8);
    expect(privateKey.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n });
    expect([...publicKeyField.subarray(0, 4)]).toEqual([3, 1, 0, 1]);
    expect(publicKeyField.length).toBe(4 + 256);
    expect(publicKeyFromDnskey(8, publicKeyField).asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it.each([5, 7, 10])('RSA algorithm %i: sizes from 1024 bits are accepted', (algorithm) => {
    const { privateKey, publicKeyField } = generateKeyPair(algorithm, 1024);
    expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(1024);
    expect(verifySignature(algorithm, publicKeyField, data, signData(algorithm, privateKey, data))).toBe(true);
  });

  it('RSA: 4096 bits, the maximum, off the event loop', async () => {
    const { privateKey, publicKeyField } = await generateKeyPairAsync(8, 4096);
    expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(4096);
    expect(publicKeyField.length).toBe(4 + 512);
    expect(verifySignature(8, publicKeyField, data, signData(8, privateKey, data))).toBe(true);
  });

  it('the async form works for fixed-size algorithms too', async () => {
    const { privateKey, publicKeyField } = await generateKeyPairAsync(15);
    expect(verifySignature(15, publicKeyField, data, signData(15, privateKey, data))).toBe(true);
  });

  it.each([
    [8, 1023],
    [8, 4097],
    [8, 2048.5],
    [8, Number.NaN],
    [13, 384],
    [15, 255],
    [16, 448],
  ])('algorithm %i refuses %d bits', (algorithm, bits) => {
    expect(() => generateKeyPair(algorithm, bits)).toThrowError(expect.objectContaining({ code: 'invalid-key-size' }));
  });

  it('rejects oversize RSA asynchronously too', async () => {
    await expect(generateKeyPairAsync(8, 8192)).rejects.toMatchObject({ code: 'invalid-key-size' });
  });

  it.each([
    [13, 256],
    [14, 384],
    [15, 256],
    [16, 456],
  ])('algorithm %i accepts its own fixed size, %i bits', (algorithm, bits) => {
    expect(generateKeyPair(algorithm, bits).privateKey.type).toBe('private');
  });

  it.each([1, 3, 6, 12, 0])('refuses unsupported algorithm %i', (algorithm) => {
    expect(() => generateKeyPair(algorithm)).toThrowError(expect.objectContaining({ code: 'unsupported-algorithm' }));
  });
});

describe('PKCS#8 private key encoding', () => {
  it.each([8, 13, 14, 15, 16])('algorithm %i: PEM and DER round-trip to a key that signs the same', (algorithm) => {
    const { privateKey, publicKeyField } = generateKeyPair(algorithm, algorithm === 8 ? 1024 : undefined);
    const pem = exportPrivateKeyPem(privateKey);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    const der = exportPrivateKeyDer(privateKey);
    expect(der).toBeInstanceOf(Uint8Array);
    for (const restored of [importPrivateKey(pem), importPrivateKey(der)]) {
      expect(restored.type).toBe('private');
      expect(dnskeyPublicKeyField(algorithm, restored)).toEqual(publicKeyField);
      expect(verifySignature(algorithm, publicKeyField, data, signData(algorithm, restored, data))).toBe(true);
    }
    expect(exportPrivateKeyDer(importPrivateKey(pem))).toEqual(der);
  });

  it('refuses to export a public key as a private one', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    expect(() => exportPrivateKeyPem(publicKey)).toThrowError(expect.objectContaining({ code: 'invalid-argument' }));
    expect(() => exportPrivateKeyDer(publicKey)).toThrowError(CryptoError);
  });

  it('reports garbage and encrypted keys without quoting them', () => {
    const secretLooking = '-----BEGIN PRIVATE KEY-----\nTOP-SECRET-MATERIAL\n-----END PRIVATE KEY-----\n';
    const { privateKey } = generateKeyPairSync('ed25519');
    const encrypted = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }) as string;
    const publicPem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
    for (const input of [secretLooking, encrypted, publicPem, new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]), '']) {
      let error: unknown;
      try {
        importPrivateKey(input);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(CryptoError);
      expect((error as CryptoError).code).toBe('malformed-key');
      expect((error as CryptoError).message).not.toContain('TOP-SECRET');
    }
  });
});
