import { EdeCode } from '../wire/edns.js';
import { Rcode } from '../wire/message.js';
import type { Resolution } from './iterator.js';
import type { ValidationOutcome } from '../dnssec/validation-outcome.js';

/** RFC 8767 §4: a stale answer's records carry this TTL, so clients come back soon for fresh ones. */
export const STALE_TTL = 30;
/**
 * RFC 8767 §5's failure recheck: after a stale answer, the name's servers are left alone this long
 * and further questions are answered stale at once (BIND's stale-refresh-time, 30 s).
 */
export const STALE_RECHECK_MS = 30_000;

export interface ServeStaleOptions {
  readonly enable: boolean;
  /** How long past its expiry an answer may still be served (resolver.serveStale.maxStale). */
  readonly maxStaleMs: number;
  /** RFC 8767 §5's client response timer: a stale answer after this long, the resolution going on (0: wait for it). */
  readonly clientTimeoutMs?: number;
}

/** An answer kept with its verdict (resolver.ts's validated store). */
export interface KeptAnswer<A extends Resolution & { readonly outcome?: ValidationOutcome }> {
  readonly answer: A;
  readonly storedAt: number;
  readonly expiresAt: number;
  /** Until then, served stale without asking the servers again (set when a refresh failed). */
  recheckAt?: number;
}

/**
 * A fresh resolution that failed because the servers could not be reached or did not answer
 * usefully (timeouts, lame servers, limits, the deadline), not because the data failed validation.
 */
export function unreachable(fresh: Resolution & { readonly outcome?: ValidationOutcome }): boolean {
  return fresh.rcode === Rcode.SERVFAIL && (!fresh.outcome || fresh.outcome.ede === EdeCode.NO_REACHABLE_AUTHORITY);
}

/** Whether a kept answer may be served past its expiry: a real answer, never bogus or indeterminate data. */
export function servable(kept: KeptAnswer<Resolution & { readonly outcome?: ValidationOutcome }>): boolean {
  const a = kept.answer;
  if (a.rcode !== Rcode.NOERROR && a.rcode !== Rcode.NXDOMAIN) return false;
  if (a.failure || a.security === 'bogus' || a.security === 'indeterminate') return false;
  return !a.outcome || a.outcome.state === 'secure' || a.outcome.state === 'insecure';
}

/** Whether `now` is within `maxStaleMs` past the expiry of `kept`, and past it. */
export function withinStaleWindow(kept: KeptAnswer<Resolution>, now: number, options: ServeStaleOptions): boolean {
  return options.enable && kept.expiresAt <= now && now < kept.expiresAt + options.maxStaleMs;
}

/** Asked in the last tenth of its TTL: worth refreshing before it expires. */
export function dueForPrefetch(kept: KeptAnswer<Resolution>, now: number): boolean {
  return kept.expiresAt > now && (kept.expiresAt - now) * 10 <= kept.expiresAt - kept.storedAt;
}

/** The answer served stale: every TTL set to STALE_TTL, marked for EDE 3 (or 19 for NXDOMAIN, RFC 8914). */
export function staleAnswer<A extends Resolution>(answer: A): A & { readonly stale: number } {
  const ttl = (rs: Resolution['answer']) => rs.map((r) => ({ ...r, ttl: STALE_TTL }));
  return { ...answer, answer: ttl(answer.answer), authority: ttl(answer.authority), stale: answer.rcode === Rcode.NXDOMAIN ? EdeCode.STALE_NXDOMAIN_ANSWER : EdeCode.STALE_ANSWER };
}
