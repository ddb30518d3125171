import type { SignatureCheck } from '../dnssec/rrset-verification.js';
import type { SecurityState } from '../dnssec/validation-outcome.js';

/**
 * One step of a validation as the server walked it, for `keymaster explain`: an anchor, a DS
 * or DNSKEY link at a zone cut, an RRset, a denial proof, and the signatures judged on the way.
 */
export interface TraceStep {
  readonly zone: string;
  /** `retry`: the data was bogus and is asked again of the zone's other servers. */
  readonly kind: 'anchor' | 'ds' | 'no-ds' | 'dnskey' | 'rrset' | 'denial' | 'wildcard' | 'policy' | 'cached' | 'retry';
  /** What was looked at: "example.com./DS", "www.example.com./A", "NSEC3 proof of NXDOMAIN". */
  readonly subject: string;
  readonly state: SecurityState;
  readonly detail: string;
  readonly signatures?: readonly {
    readonly keyTag: number;
    readonly algorithm: number;
    readonly signer: string;
    readonly inception: string;
    readonly expiration: string;
    readonly result: SignatureCheck['result'];
  }[];
}

export function traceSignatures(checks: readonly SignatureCheck[]): TraceStep['signatures'] {
  const iso = (t: number) => new Date(t * 1000).toISOString();
  return checks.map((c) => ({ keyTag: c.keyTag, algorithm: c.algorithm, signer: c.signer, inception: iso(c.inception), expiration: iso(c.expiration), result: c.result }));
}
