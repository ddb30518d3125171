import { keyTag } from '../crypto/key-tag.js';
import { absoluteSignatureTime } from '../dnssec/rrset-verification.js';
import { rrsigSignatureVerifies } from '../dnssec/rrsig-signature.js';
import type { ValidationLimits } from '../dnssec/validation-budget.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import { decodeRrsig, type RrsigFields } from '../wire/signed-data.js';
import { isRevoked, isTrackedKey, keyIdentity } from './trust-point.js';

/**
 * RFC 5011 §2.1: "Once the resolver sees the REVOKE bit, it MUST NOT use this key as a trust
 * anchor or for any other purpose except to validate the RRSIG it signed over the DNSKEY RRset
 * specifically for the purpose of validating the revocation." A revocation counts only when the
 * revoked key (its key tag computed with the REVOKE bit set: 20326 → 20454) signs the DNSKEY
 * RRset itself, within the signature's validity window. Anyone can publish a key with the bit
 * set; only the key's holder can sign with it.
 *
 * Returns the identities (keyIdentity) of the revoked SEP keys of `dnskeys` that prove their own revocation.
 */
export function selfSignedRevocations(
  zone: Name,
  dnskeys: readonly ResourceRecord[],
  rrsigs: readonly ResourceRecord[],
  now: number,
  limits: Pick<ValidationLimits, 'clockSkew'>,
): Set<string> {
  const proven = new Set<string>();
  const rrset = dnskeys.filter((r) => r.type === RRType.DNSKEY && r.name.equals(zone));
  if (rrset.length === 0) return proven;
  const sigs: RrsigFields[] = [];
  for (const r of rrsigs) {
    if (r.type !== RRType.RRSIG || !r.name.equals(zone)) continue;
    try {
      const sig = decodeRrsig(r.rdata);
      if (sig.typeCovered === RRType.DNSKEY && sig.signerName.equals(zone)) sigs.push(sig);
    } catch {
      // A malformed RRSIG proves nothing.
    }
  }
  for (const { rdata } of rrset) {
    if (!isRevoked(rdata) || !isTrackedKey(rdata)) continue;
    const tag = keyTag(rdata);
    const signed = sigs.some((sig) => {
      if (sig.keyTag !== tag || sig.algorithm !== rdata[3]) return false;
      const inception = absoluteSignatureTime(sig.inception, now);
      const expiration = absoluteSignatureTime(sig.expiration, now);
      if (expiration < inception || expiration + limits.clockSkew < now || inception - limits.clockSkew > now) return false;
      return rrsigSignatureVerifies(rrset, sig, rdata);
    });
    if (signed) proven.add(keyIdentity(rdata));
  }
  return proven;
}
