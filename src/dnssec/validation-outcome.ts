/**
 * The verdict on one piece of data (RFC 4035 §4.3): secure, insecure, bogus or indeterminate,
 * always with a reason a person can read and, when it fails, the Extended DNS Error (RFC 8914)
 * that says so to the client.
 */
export type SecurityState = 'secure' | 'insecure' | 'bogus' | 'indeterminate';

export interface ValidationOutcome {
  readonly state: SecurityState;
  /** One line: the zone and the fault, e.g. "example.com.: RRSIG for www.example.com./A expired 2026-11-01T00:00:00Z". */
  readonly reason: string;
  /** RFC 8914 info code for a failure (bogus, indeterminate, insecure by policy/limit). */
  readonly ede?: number;
}

export const secure = (reason: string): ValidationOutcome => ({ state: 'secure', reason });
export const insecure = (reason: string, ede?: number): ValidationOutcome => (ede === undefined ? { state: 'insecure', reason } : { state: 'insecure', reason, ede });
export const bogus = (reason: string, ede: number): ValidationOutcome => ({ state: 'bogus', reason, ede });
export const indeterminate = (reason: string, ede: number): ValidationOutcome => ({ state: 'indeterminate', reason, ede });
