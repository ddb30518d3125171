import { EdeCode } from '../wire/edns.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import type { ValidationLimits } from './validation-budget.js';
import { type ValidationOutcome, bogus } from './validation-outcome.js';

/**
 * What a denial proof must show (RFC 4035 §5.4, RFC 5155 §8):
 * - `nxdomain`: qname does not exist and no wildcard could have produced it;
 * - `nodata`: qname (or the wildcard that would match it, or qname as an empty non-terminal)
 *   exists but has no RRset of qtype and no CNAME;
 * - `wildcard-answer`: a positive answer was synthesised from a wildcard, so qname itself must
 *   be proven not to exist (otherwise the wildcard could not apply).
 */
export type DenialKind = 'nxdomain' | 'nodata' | 'wildcard-answer';

/** The verdict of one denial proof, with what the proof established on the way. */
export interface DenialOutcome extends ValidationOutcome {
  /** The closest encloser of qname the proof established (NXDOMAIN, wildcard NODATA, wildcard answer). */
  readonly closestEncloser?: Name;
  /** For NODATA: the wildcard whose record proved the type absent (wildcard NODATA). */
  readonly wildcard?: Name;
  /**
   * The proof rests on an NSEC3 opt-out span (RFC 5155 §6): names in it may be unsigned
   * delegations, so the answer is at best insecure. For `proveNoDs` this is the proven
   * insecure delegation of RFC 5155 §8.6/§8.9.
   */
  readonly optOut?: boolean;
  /**
   * For a DS denial: whether the parent's record shows a zone cut at the name (NS bit). `false`
   * means the name has no DS because it is not a delegation at all (an ordinary name or an
   * empty non-terminal), so the chain of trust continues in the same zone below it.
   */
  readonly delegation?: boolean;
}

/**
 * A response may carry only so many NSEC/NSEC3 records for one proof: past that it is padded to
 * make the validator work (CVE-2023-50868), and refused before any record is examined.
 */
export function paddedDenialOutcome(zone: Name, records: readonly ResourceRecord[], limits: ValidationLimits): DenialOutcome | undefined {
  const count = records.reduce((n, r) => (r.type === RRType.NSEC || r.type === RRType.NSEC3 ? n + 1 : n), 0);
  if (count <= limits.maxDenialRecords) return undefined;
  return bogus(`${zone}: negative answer padded with ${count} proofs (limit ${limits.maxDenialRecords})`, EdeCode.DNSSEC_BOGUS);
}
