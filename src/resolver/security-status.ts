/**
 * The DNSSEC state of data (RFC 4033 §5, RFC 4035 §4.3). `unchecked` is data no validator
 * has looked at yet (validation off, or not yet run); it is never reported as secure.
 */
export type SecurityStatus = 'unchecked' | 'secure' | 'insecure' | 'bogus' | 'indeterminate';

/**
 * RFC 2181 §5.4.1 credibility: data from an authoritative answer outranks data from an
 * authority section, which outranks glue; lower-ranked data never replaces higher.
 */
export const Credibility = {
  glue: 1,
  authority: 2,
  answer: 3,
} as const;
export type Credibility = (typeof Credibility)[keyof typeof Credibility];
