import type { RolloverTimers } from './rollover-state.js';

/**
 * The intervals of RFC 7583 ("DNSSEC Key Rollover Timing Considerations") the engine waits, in
 * seconds, each no shorter than the minimum wait. Names follow the RFC: Dprp is the zone's
 * propagation delay, DprpP the parent's, TTLkey the DNSKEY TTL, TTLsig the largest TTL of a
 * signed RRset, TTLds the parent's DS TTL.
 */
export interface ZoneTiming {
  /** TTLkey. */
  readonly dnskeyTtl: number;
  /** TTLds as the policy sets it (a larger TTL seen at the parent wins). */
  readonly dsTtl: number;
  /** TTLsig: the largest TTL of any RRset of the signed zone (negative answers' TTL included). */
  readonly maxZoneTtl: number;
  /** Validity of the signatures over the DNSKEY RRset (RFC 5011 refresh interval). */
  readonly dnskeySignatureValidity: number;
}

const DAY = 86_400;

/** Milliseconds in a second: the timers and intervals are in seconds, the engine's times in milliseconds. */
export const S = 1000;

/** A time (ms) as the key metadata records it. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Ipub = Dprp + TTLkey (§3.2.1, §3.3.1): after a key is first published, every cached DNSKEY
 * RRset without it has expired. Used for a pre-published ZSK before it signs, and for a new KSK
 * before the old KSK (and the DS for it) may go.
 */
export function publishInterval(t: ZoneTiming, timers: RolloverTimers): number {
  return Math.max(timers.minimumWait, timers.propagationDelay + t.dnskeyTtl);
}

/**
 * Iret = Dsgn + Dprp + TTLsig (§3.2.1): after the old ZSK stops signing, every cached signature
 * it made has expired. Dsgn is 0: a key change re-signs the whole zone at once.
 */
export function zskRetireInterval(t: ZoneTiming, timers: RolloverTimers): number {
  return Math.max(timers.minimumWait, timers.propagationDelay + t.maxZoneTtl);
}

/**
 * DprpP + TTLds (§3.3.1): after the parent's new DS RRset was seen, every cached DS RRset of
 * before has expired. `observedTtl` is the TTL the parent's DS RRset was seen with.
 */
export function dsRetireInterval(t: ZoneTiming, timers: RolloverTimers, observedTtl = 0): number {
  return Math.max(timers.minimumWait, timers.parentPropagationDelay + Math.max(t.dsTtl, observedTtl));
}

/**
 * RFC 5011 §2.3 active refresh interval of a resolver tracking the zone:
 * MAX(1 hr, MIN(15 days, 1/2*OrigTTL, 1/2*RRSigExpirationInterval)).
 */
export function rfc5011RefreshInterval(t: ZoneTiming, timers: RolloverTimers): number {
  return Math.max(timers.minRefresh, Math.floor(Math.min(15 * DAY, t.dnskeyTtl / 2, t.dnskeySignatureValidity / 2)));
}

/**
 * How long a standby KSK must have been published before it may take over in an RFC 5011
 * rollover (RFC 7583 §3.3.4): until a resolver's refresh has seen it (Dprp + TTLkey + one refresh
 * interval), the add hold-down (§2.4.1: the larger of 30 days and the TTL), and one more
 * refresh that moves it from AddPend to Valid.
 */
export function standbyReadyInterval(t: ZoneTiming, timers: RolloverTimers): number {
  const refresh = rfc5011RefreshInterval(t, timers);
  return Math.max(timers.minimumWait, timers.propagationDelay + t.dnskeyTtl + 2 * refresh + Math.max(timers.addHoldDown, t.dnskeyTtl));
}

/**
 * How long a revoked KSK stays published: the remove hold-down, and never less than it takes
 * every tracking resolver to refresh once after the revocation (Dprp + TTLkey + refresh).
 */
export function revokedKeepInterval(t: ZoneTiming, timers: RolloverTimers): number {
  return Math.max(timers.minimumWait, timers.removeHoldDown, timers.propagationDelay + t.dnskeyTtl + rfc5011RefreshInterval(t, timers));
}
