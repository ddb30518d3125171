import { createHash, privateEncrypt, publicDecrypt, type KeyObject } from 'node:crypto';
import { bufferView, plainBytes } from './byte-conversion.js';

/**
 * RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) built from a hash, the DigestInfo prefix and a raw
 * PKCS#1 type 1 RSA operation. The result is byte-identical to crypto.sign/verify, but it
 * still works where an OpenSSL security policy refuses SHA-1 *signatures* (RHEL-style
 * crypto policies, some hardened builds) while allowing SHA-1 hashing: DNSSEC algorithms
 * 5 and 7 remain in the root of many chains and must still verify.
 */
export type RsaDigest = 'sha1' | 'sha256' | 'sha512';

// RFC 8017 §9.2 note 1: DER of DigestInfo up to, not including, the hash value.
const DIGEST_INFO_PREFIX: Readonly<Record<RsaDigest, Buffer>> = {
  sha1: Buffer.from('3021300906052b0e03021a05000414', 'hex'),
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

function digestInfo(digest: RsaDigest, data: Uint8Array): Buffer {
  return Buffer.concat([DIGEST_INFO_PREFIX[digest], createHash(digest).update(data).digest()]);
}

export function signPkcs1DigestInfo(privateKey: KeyObject, digest: RsaDigest, data: Uint8Array): Uint8Array {
  // privateEncrypt's default padding is PKCS#1 v1.5 type 1, i.e. signature padding.
  return plainBytes(privateEncrypt(privateKey, digestInfo(digest, data)));
}

/** False for a wrong signature, including one whose PKCS#1 padding does not even decode. */
export function verifyPkcs1DigestInfo(
  publicKey: KeyObject,
  digest: RsaDigest,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  let decoded: Buffer;
  try {
    decoded = publicDecrypt(publicKey, bufferView(signature));
  } catch {
    return false;
  }
  return decoded.equals(digestInfo(digest, data));
}
