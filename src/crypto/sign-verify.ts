import { sign, verify, type KeyObject } from 'node:crypto';
import { algorithmProfile, keyMatchesAlgorithm, type AlgorithmProfile } from './algorithm-profile.js';
import { plainBytes } from './byte-conversion.js';
import { CryptoError } from './crypto-error.js';
import { publicKeyFromDnskey } from './dnskey-public-key.js';
import { signPkcs1DigestInfo, verifyPkcs1DigestInfo } from './rsa-pkcs1-digest-info.js';

/**
 * Signs `data` (for an RRSIG: RRSIG RDATA without the signature, then the canonical RRset)
 * in DNSSEC's signature format: PKCS#1 v1.5 for RSA (RFC 3110/5702), raw r‖s for ECDSA
 * (RFC 6605), raw EdDSA (RFC 8080).
 *
 * @throws CryptoError `unsupported-algorithm`, or `key-mismatch` when `privateKey` is not a
 *   private key of the type and curve the algorithm needs
 */
export function signData(algorithm: number, privateKey: KeyObject, data: Uint8Array): Uint8Array {
  const profile = algorithmProfile(algorithm);
  if (privateKey.type !== 'private' || !keyMatchesAlgorithm(algorithm, privateKey)) {
    throw new CryptoError('key-mismatch', `key is not a ${profile.keyType} private key for algorithm ${algorithm}`);
  }
  switch (profile.keyType) {
    case 'rsa':
      if (profile.digest !== 'sha1') return plainBytes(sign(profile.digest, data, privateKey));
      try {
        return plainBytes(sign('sha1', data, privateKey));
      } catch {
        return signPkcs1DigestInfo(privateKey, 'sha1', data);
      }
    case 'ec':
      return plainBytes(sign(profile.digest, data, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
    default:
      return plainBytes(sign(null, data, privateKey));
  }
}

/**
 * Whether `signature` over `data` verifies with the DNSKEY public key field.
 *
 * Returns false, never throws, for a wrong signature, a signature of the wrong length or a
 * malformed or out-of-bounds key: to a validator all of these make the RRSIG unusable.
 * An unsupported algorithm is different (RFC 4035 §5.2: such a zone is insecure, not bogus),
 * so it throws; callers that want no exception check `isSupportedAlgorithm` first.
 *
 * @throws CryptoError `unsupported-algorithm` only
 */
export function verifySignature(
  algorithm: number,
  publicKeyField: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  const profile = algorithmProfile(algorithm);
  let key: KeyObject;
  try {
    key = publicKeyFromDnskey(algorithm, publicKeyField);
  } catch {
    return false;
  }
  try {
    return verifyWithKey(profile, key, data, signature);
  } catch {
    return false;
  }
}

function verifyWithKey(profile: AlgorithmProfile, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  switch (profile.keyType) {
    case 'rsa':
      if (profile.digest !== 'sha1') return verify(profile.digest, data, key, signature);
      try {
        return verify('sha1', data, key, signature);
      } catch {
        // A refused digest throws; a wrong signature returns false and never gets here.
        return verifyPkcs1DigestInfo(key, 'sha1', data, signature);
      }
    case 'ec':
      return (
        signature.length === 2 * profile.size &&
        verify(profile.digest, data, { key, dsaEncoding: 'ieee-p1363' }, signature)
      );
    default:
      return signature.length === profile.signatureLength && verify(null, data, key, signature);
  }
}
