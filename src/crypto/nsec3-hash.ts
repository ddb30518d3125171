import { createHash } from 'node:crypto';
import { plainBytes } from './byte-conversion.js';
import { CryptoError } from './crypto-error.js';
import { lowercaseNameWire } from '../wire/name.js';

/** NSEC3 hash algorithm 1, the only one defined (RFC 5155 §11). */
export const NSEC3_HASH_SHA1 = 1;

export function isSupportedNsec3HashAlgorithm(hashAlgorithm: number): boolean {
  return hashAlgorithm === NSEC3_HASH_SHA1;
}

/**
 * RFC 5155 §5: IH(salt, x, 0) = H(x ‖ salt), IH(salt, x, k) = H(IH(salt, x, k-1) ‖ salt),
 * with x the owner name in canonical wire form (lowercased again here in case it was not).
 * Limits on iterations that make a zone insecure (RFC 9276) are validator policy, not
 * checked here beyond the field's 16-bit range.
 *
 * @throws CryptoError `invalid-argument` when salt or iterations do not fit their fields
 */
export function nsec3Hash(ownerWire: Uint8Array, salt: Uint8Array, iterations: number): Uint8Array {
  if (!Number.isInteger(iterations) || iterations < 0 || iterations > 0xffff) {
    throw new CryptoError('invalid-argument', `NSEC3 iterations ${iterations} is not a 16-bit unsigned integer`);
  }
  if (salt.length > 255) throw new CryptoError('invalid-argument', `NSEC3 salt of ${salt.length} octets exceeds 255`);
  let digest = createHash('sha1').update(lowercaseNameWire(ownerWire)).update(salt).digest();
  for (let i = 0; i < iterations; i++) digest = createHash('sha1').update(digest).update(salt).digest();
  return plainBytes(digest);
}
