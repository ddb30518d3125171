import { createHash } from 'node:crypto';

/**
 * A short fingerprint of one signature check (the key, the signed data and the signature), so a
 * validator can remember checks that succeeded: the same RRset under the same RRSIG and key
 * verifies the same way every time.
 */
export function signatureFingerprint(keyRdata: Uint8Array, signedData: Uint8Array, signature: Uint8Array): string {
  return createHash('sha256').update(keyRdata).update(signedData).update(signature).digest('base64');
}
