import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signPkcs1DigestInfo, verifyPkcs1DigestInfo } from '../../src/crypto/rsa-pkcs1-digest-info.js';
import { publicKeyFromDnskey } from '../../src/crypto/index.js';
import { b64, SIGNATURE_VECTORS, signedData } from '../fixtures/crypto/rfc-vectors.js';

// The fallback only runs where OpenSSL refuses SHA-1 signatures, which this machine's
// OpenSSL does not; so it is tested directly, against the native path and the RFC vectors.
describe('RSA PKCS#1 v1.5 from DigestInfo (the SHA-1 policy fallback)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const messages = [new Uint8Array(0), new Uint8Array(1000).fill(0x5a), new TextEncoder().encode('www.example.net')];

  it('this OpenSSL signs and verifies SHA-1 natively (if not, signData uses the fallback)', () => {
    const signature = sign('sha1', messages[2]!, privateKey);
    expect(verify('sha1', messages[2]!, publicKey, signature)).toBe(true);
  });

  it.each(['sha1', 'sha256', 'sha512'] as const)('%s: byte-identical to crypto.sign, and agrees with crypto.verify', (digest) => {
    for (const data of messages) {
      const native = sign(digest, data, privateKey);
      const fallback = signPkcs1DigestInfo(privateKey, digest, data);
      expect(Buffer.from(fallback).equals(native)).toBe(true);
      expect(verifyPkcs1DigestInfo(publicKey, digest, data, native)).toBe(true);
      const altered = Buffer.from(native);
      altered[5]! ^= 1;
      expect(verifyPkcs1DigestInfo(publicKey, digest, data, altered)).toBe(verify(digest, data, publicKey, altered));
    }
  });

  it('a signature made with another digest does not pass', () => {
    const signature = sign('sha256', messages[2]!, privateKey);
    expect(verifyPkcs1DigestInfo(createPublicKey(privateKey), 'sha1', messages[2]!, signature)).toBe(false);
  });

  it.each(SIGNATURE_VECTORS.filter((v) => v.algorithm === 5 || v.algorithm === 7).map((v) => [v.source, v] as const))(
    'verifies %s',
    (_source, vector) => {
      const key = publicKeyFromDnskey(vector.algorithm, b64(vector.publicKey));
      const data = signedData(vector.rrsig, vector.owner, vector.rdatas);
      expect(verifyPkcs1DigestInfo(key, 'sha1', data, b64(vector.signature))).toBe(true);
    },
  );
});
