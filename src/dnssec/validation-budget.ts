/**
 * Bounds on the validation work one client query may cause (KeyTrap, CVE-2023-50387; NSEC3
 * hash exhaustion, CVE-2023-50868). Defaults sit among what the others ship: Unbound tries 8
 * RRSIGs per RRset, Knot allows 32 checks per query, PowerDNS 2 DNSKEYs per key tag, 30
 * signatures and 600 NSEC3 hashes per query.
 */
export interface ValidationLimits {
  /** DNSKEYs with the RRSIG's key tag (and algorithm) tried for one signature. */
  readonly maxKeysPerKeyTag: number;
  /** RRSIGs tried for one RRset before it is declared bogus. */
  readonly maxSignaturesPerRrset: number;
  /** Signature verifications for one client query, all RRsets and zone cuts together. */
  readonly maxSignatureChecks: number;
  /**
   * NSEC3 hash computations for one client query: one per name hashed, whatever its iteration
   * count (as PowerDNS counts them). One proof hashes at most the ancestors of its name up to
   * the apex, the next closer name and the wildcard: 128 for the longest name (127 labels), so
   * the default (150) fits every denial at or below `maxNsec3Iterations`. The cost of each hash
   * is bounded by `maxNsec3Iterations`: at most 150 × 151 SHA-1 per query by default, about
   * PowerDNS's 600 hashes at its 50 iterations.
   */
  readonly maxNsec3Hashes: number;
  /** NSEC3 iterations above this make the answer insecure (RFC 9276 §3.2, EDE 27). */
  readonly maxNsec3Iterations: number;
  /** NSEC/NSEC3 records looked at for one denial proof (negative answers padded with proofs). */
  readonly maxDenialRecords: number;
  /** Seconds of clock skew allowed on both ends of a signature's validity window. */
  readonly clockSkew: number;
}

export const DEFAULT_VALIDATION_LIMITS: ValidationLimits = {
  maxKeysPerKeyTag: 4,
  maxSignaturesPerRrset: 8,
  maxSignatureChecks: 64,
  maxNsec3Hashes: 150,
  maxNsec3Iterations: 150,
  maxDenialRecords: 32,
  clockSkew: 300,
};

export type ValidationLimitName = 'signature-checks' | 'nsec3-hashes';

export class ValidationLimitError extends Error {
  override readonly name = 'ValidationLimitError';
  constructor(readonly limit: ValidationLimitName, message: string) {
    super(message);
  }
}

/** The running count of one client query's validation work, shared by everything it validates. */
export class ValidationBudget {
  signatureChecks = 0;
  nsec3Hashes = 0;

  constructor(readonly limits: ValidationLimits = DEFAULT_VALIDATION_LIMITS) {}

  /** Spent: any further check or hash throws, so asking again elsewhere is pointless. */
  get exhausted(): boolean {
    return this.signatureChecks >= this.limits.maxSignatureChecks || this.nsec3Hashes >= this.limits.maxNsec3Hashes;
  }

  spendSignatureCheck(): void {
    if (++this.signatureChecks > this.limits.maxSignatureChecks)
      throw new ValidationLimitError('signature-checks', `more than ${this.limits.maxSignatureChecks} signature checks for one query`);
  }

  /**
   * One NSEC3 hash of a name. Counting iterations instead (600 meant four hashes at 150) made a
   * legitimate NXDOMAIN three labels below the apex fail; the iteration count is bounded apart,
   * by `maxNsec3Iterations`, before any hashing.
   */
  spendNsec3Hash(): void {
    if (++this.nsec3Hashes > this.limits.maxNsec3Hashes)
      throw new ValidationLimitError('nsec3-hashes', `more than ${this.limits.maxNsec3Hashes} NSEC3 hashes for one query`);
  }
}
