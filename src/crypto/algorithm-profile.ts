import type { KeyObject } from 'node:crypto';
import { CryptoError } from './crypto-error.js';

/**
 * How each supported algorithm maps onto node:crypto: one table, so parsing, signing and
 * key generation cannot disagree about which hash or curve an algorithm number means.
 */
export type AlgorithmProfile =
  | {
      readonly keyType: 'rsa';
      readonly digest: 'sha1' | 'sha256' | 'sha512';
      /** RFC 3110 / RFC 5702 modulus bounds for DNSKEYs of this algorithm. */
      readonly minBits: number;
      readonly maxBits: number;
    }
  | {
      readonly keyType: 'ec';
      readonly digest: 'sha256' | 'sha384';
      readonly jwkCurve: 'P-256' | 'P-384';
      readonly nodeCurve: 'prime256v1' | 'secp384r1';
      /** Bytes of one coordinate / of r or s (RFC 6605 §4). */
      readonly size: number;
    }
  | {
      readonly keyType: 'ed25519' | 'ed448';
      readonly jwkCurve: 'Ed25519' | 'Ed448';
      readonly publicKeyLength: number;
      readonly signatureLength: number;
    };

const PROFILES: ReadonlyMap<number, AlgorithmProfile> = new Map<number, AlgorithmProfile>([
  [5, { keyType: 'rsa', digest: 'sha1', minBits: 512, maxBits: 4096 }],
  [7, { keyType: 'rsa', digest: 'sha1', minBits: 512, maxBits: 4096 }],
  [8, { keyType: 'rsa', digest: 'sha256', minBits: 512, maxBits: 4096 }],
  [10, { keyType: 'rsa', digest: 'sha512', minBits: 1024, maxBits: 4096 }],
  [13, { keyType: 'ec', digest: 'sha256', jwkCurve: 'P-256', nodeCurve: 'prime256v1', size: 32 }],
  [14, { keyType: 'ec', digest: 'sha384', jwkCurve: 'P-384', nodeCurve: 'secp384r1', size: 48 }],
  [15, { keyType: 'ed25519', jwkCurve: 'Ed25519', publicKeyLength: 32, signatureLength: 64 }],
  [16, { keyType: 'ed448', jwkCurve: 'Ed448', publicKeyLength: 57, signatureLength: 114 }],
]);

export function algorithmProfile(algorithm: number): AlgorithmProfile {
  const profile = PROFILES.get(algorithm);
  if (profile === undefined) {
    throw new CryptoError('unsupported-algorithm', `DNSSEC algorithm ${algorithm} is not supported`);
  }
  return profile;
}

/**
 * Whether `key` (public or private) is of the type and curve `algorithm` needs. RSA-PSS
 * keys do not match RSA algorithms: DNSSEC RSA is PKCS#1 v1.5 only.
 */
export function keyMatchesAlgorithm(algorithm: number, key: KeyObject): boolean {
  const profile = algorithmProfile(algorithm);
  if (key.asymmetricKeyType !== profile.keyType) return false;
  return profile.keyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve === profile.nodeCurve;
}
