import { createHash } from 'node:crypto';
import { plainBytes } from './byte-conversion.js';
import { CryptoError } from './crypto-error.js';
import { lowercaseNameWire } from '../wire/name.js';

/** DS digest type numbers (IANA "Delegation Signer (DS) Resource Record Digest Algorithms"). */
export const DsDigestType = {
  SHA1: 1,
  SHA256: 2,
  GOST: 3,
  SHA384: 4,
} as const;

export type SupportedDigestType = 1 | 2 | 4;

const DIGESTS: ReadonlyMap<number, { readonly hash: string; readonly length: number }> = new Map([
  [1, { hash: 'sha1', length: 20 }],
  [2, { hash: 'sha256', length: 32 }],
  [4, { hash: 'sha384', length: 48 }],
]);

export function isSupportedDigestType(digestType: number): digestType is SupportedDigestType {
  return DIGESTS.has(digestType);
}

/** Octets in a digest of this type; a DS whose digest has another length can never match. */
export function dsDigestLength(digestType: number): number {
  return digestFor(digestType).length;
}

/**
 * The DS digest (RFC 4034 §5.1.4, RFC 4509, RFC 6605): hash of the DNSKEY owner name in
 * canonical wire form followed by the DNSKEY RDATA. The owner should come lowercased and
 * uncompressed; it is lowercased again here in case it was not.
 *
 * @throws CryptoError `unsupported-digest-type`
 */
export function dsDigest(digestType: number, ownerWire: Uint8Array, dnskeyRdata: Uint8Array): Uint8Array {
  const { hash } = digestFor(digestType);
  return plainBytes(createHash(hash).update(lowercaseNameWire(ownerWire)).update(dnskeyRdata).digest());
}

function digestFor(digestType: number): { readonly hash: string; readonly length: number } {
  const digest = DIGESTS.get(digestType);
  if (digest === undefined) {
    throw new CryptoError('unsupported-digest-type', `DS digest type ${digestType} is not supported`);
  }
  return digest;
}
