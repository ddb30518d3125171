import type { ResourceRecord } from '../../wire/message.js';
import type { Name } from '../../wire/name.js';
import { encodeRdata } from '../../wire/rdata-codec.js';
import { RRType } from '../../wire/rr-type.js';
import type { RolloverTimers } from './rollover-state.js';
import type { DsAtParent } from './zone-rollover.js';

/**
 * Going insecure in RFC 6781 §4.3.5's order (issue 14, Deliver 6). A validator that cached the
 * parent's DS for a zone expects that zone to be signed for as long as the DS lives in its cache;
 * removing the DNSKEYs and signatures at the same moment as the DS turns every answer into
 * SERVFAIL for up to the DS TTL. So:
 *
 * 1. `withdrawing-ds`: the DS goes first. A parent hosted here has it removed at once (its TTL
 *    noted); a parent elsewhere is asked by the delete signal of RFC 8078 §4 (CDS `0 0 0 00`,
 *    CDNSKEY `0 3 0 AA==`, signed, published by the still signed zone) and its DS RRset is
 *    polled (validated answers only) every DS polling period until it is gone;
 * 2. `waiting-for-caches`: the DS TTL (as last seen) plus the parent's propagation delay is
 *    waited out on the clock, the zone still fully signed;
 * 3. then the DNSSEC records go, and with them the distributed trust anchor and the
 *    dsset-/keyset- files (the caller's `finish`).
 *
 * The state is persisted by the caller after every step, so a restart resumes where it was.
 */

export type UnsignStage = 'withdrawing-ds' | 'waiting-for-caches';

export interface UnsignState {
  readonly stage: UnsignStage;
  /** ISO times. */
  readonly startedAt: string;
  /** Where the DS was withdrawn from: a parent hosted here, or one elsewhere (by the delete signal). */
  readonly parent: 'local' | 'remote';
  /** The DS TTL last seen at the parent, seconds (the wait after it is gone). */
  readonly dsTtl: number;
  /** When the DS was seen gone (or removed here). */
  readonly dsGoneAt?: string;
  /** When the DNSSEC records may go. */
  readonly removeAt?: string;
  /** When the remote parent is polled next. */
  readonly nextPollAt?: string;
}

/** The RFC 8078 §4 delete signal: one CDS and one CDNSKEY that ask the parent to remove the DS. */
export function deleteSignalRecords(zone: Name, ttl: number, cls = 1): ResourceRecord[] {
  return [
    { name: zone, type: RRType.CDS, class: cls, ttl, rdata: Uint8Array.of(0, 0, 0, 0, 0) },
    { name: zone, type: RRType.CDNSKEY, class: cls, ttl, rdata: encodeRdata(RRType.CDNSKEY, { flags: 0, protocol: 3, algorithm: 0, publicKey: Uint8Array.of(0) }) },
  ];
}

/** The state a `zone unsign` starts: with a parent hosted here, its DS (TTL `localDsTtl`, undefined when it had none) is already removed. */
export function startUnsign(now: number, timers: RolloverTimers, policyDsTtl: number, local: { readonly dsTtl: number | undefined } | undefined): UnsignState {
  const startedAt = new Date(now).toISOString();
  if (!local) return { stage: 'withdrawing-ds', startedAt, parent: 'remote', dsTtl: policyDsTtl, nextPollAt: startedAt };
  // No DS at the local parent: no validator can hold one newer than the parent's propagation delay.
  const dsTtl = local.dsTtl ?? 0;
  return { stage: 'waiting-for-caches', startedAt, parent: 'local', dsTtl, dsGoneAt: startedAt, removeAt: new Date(now + (dsTtl + timers.parentPropagationDelay) * 1000).toISOString() };
}

export type UnsignStep = { readonly state: UnsignState; readonly wakeAt: number; readonly changed: boolean } | { readonly finish: true };

/** One look at an unsigning zone at `now`: what the state becomes, or that the records may go. */
export async function stepUnsign(zone: Name, state: UnsignState, now: number, timers: RolloverTimers, dsAtParent: DsAtParent | undefined): Promise<UnsignStep> {
  if (state.stage === 'waiting-for-caches') {
    const at = Date.parse(state.removeAt!);
    return now >= at ? { finish: true } : { state, wakeAt: at, changed: false };
  }
  const pollAt = Date.parse(state.nextPollAt ?? state.startedAt);
  if (now < pollAt) return { state, wakeAt: pollAt, changed: false };
  const answer = dsAtParent ? await dsAtParent(zone).catch(() => undefined) : undefined;
  const nextPoll = now + timers.dsPollingPeriod * 1000;
  if (answer === undefined) return { state: { ...state, nextPollAt: new Date(nextPoll).toISOString() }, wakeAt: nextPoll, changed: true };
  const ds = Array.isArray(answer) ? answer : (answer as { ds: readonly Uint8Array[] }).ds;
  const ttl = Array.isArray(answer) ? undefined : (answer as { ttl?: number }).ttl;
  if (ds.length > 0) return { state: { ...state, dsTtl: ttl ?? state.dsTtl, nextPollAt: new Date(nextPoll).toISOString() }, wakeAt: nextPoll, changed: true };
  const removeAt = now + (state.dsTtl + timers.parentPropagationDelay) * 1000;
  const { nextPollAt: _done, ...rest } = state;
  return { state: { ...rest, stage: 'waiting-for-caches', dsGoneAt: new Date(now).toISOString(), removeAt: new Date(removeAt).toISOString() }, wakeAt: removeAt, changed: true };
}
