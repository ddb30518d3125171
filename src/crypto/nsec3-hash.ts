import { hash } from 'node:crypto';
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
  // One buffer of digest ‖ salt hashed in place with the one-shot hash: the validator pays up to
  // 151 of these per name, and a Hash object per iteration cost three times as much.
  let digest = hash('sha1', Buffer.concat([lowercaseNameWire(ownerWire), salt]), 'buffer');
  const block = Buffer.alloc(digest.length + salt.length);
  block.set(salt, digest.length);
  for (let i = 0; i < iterations; i++) {
    block.set(digest, 0);
    digest = hash('sha1', block, 'buffer');
  }
  return plainBytes(digest);
}
