import { isSupportedAlgorithm } from '../crypto/algorithms.js';
import { keyTag } from '../crypto/key-tag.js';
import { verifySignature } from '../crypto/sign-verify.js';
import type { ResourceRecord } from '../wire/message.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { type RrsigFields, rrsigSignedData } from '../wire/signed-data.js';

export interface DnskeyFields {
  readonly flags: number;
  readonly protocol: number;
  readonly algorithm: number;
  readonly publicKey: Uint8Array;
}

export function decodeDnskey(rdata: Uint8Array): DnskeyFields {
  return decodeRdata(RRType.DNSKEY, rdata) as unknown as DnskeyFields;
}

/**
 * Whether `rrsig` is a cryptographically good signature over `rrset` by `dnskeyRdata`:
 * the key's algorithm and tag match the RRSIG's, and the signature verifies over the
 * canonical signed data. Validity windows and signer-name rules are the caller's (RFC 4035 §5.3.1).
 */
export function rrsigSignatureVerifies(rrset: readonly ResourceRecord[], rrsig: RrsigFields, dnskeyRdata: Uint8Array): boolean {
  const key = decodeDnskey(dnskeyRdata);
  if (key.algorithm !== rrsig.algorithm || !isSupportedAlgorithm(key.algorithm)) return false;
  if (keyTag(dnskeyRdata) !== rrsig.keyTag) return false;
  let data: Uint8Array;
  try {
    data = rrsigSignedData(rrsig, rrset);
  } catch {
    return false;
  }
  return verifySignature(rrsig.algorithm, key.publicKey, data, rrsig.signature);
}
