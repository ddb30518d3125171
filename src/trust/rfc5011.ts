import { Name } from '../wire/name.js';
import {
  anchorTrustedAt,
  dsMatchesKey,
  isRevoked,
  isTrackedKey,
  keyIdentity,
  newAnchor,
  type Anchor,
  type AnchorState,
  type AnchorType,
  type TrustPoint,
} from './trust-point.js';

/**
 * RFC 5011 "Automated Updates of DNS Security (DNSSEC) Trust Anchors", as pure functions of a
 * trust point, what a validated active refresh saw, and the time. No I/O, no clock: the
 * refresher (trust-point-refresher.ts) feeds them and persists what they return.
 *
 * The state table (§4.2), which `applyValidatedKeys` and `applyTimers` implement:
 *
 *   Start   --NewKey-->  AddPend   new SEP key in a validated DNSKEY RRset; add hold-down starts
 *   AddPend --KeyRem-->  Start     withdrawn before the hold-down ended: forgotten
 *   AddPend --AddTime--> Valid     hold-down over and the key seen again in a validated RRset
 *   Valid   --KeyRem-->  Missing   absent from the RRset (still trusted)
 *   Missing --KeyPres--> Valid
 *   Valid/Missing --RevBit--> Revoked   the key with its REVOKE bit, signing the RRset itself
 *   Revoked --RemTime--> Removed   remove hold-down over
 */

export const DAY = 86_400;
export const HOUR = 3_600;

/** RFC 5011 timers in seconds. `minRefresh` is the "1 hour" floor of both refresh formulas. */
export interface Rfc5011Timers {
  readonly addHoldDown: number;
  readonly removeHoldDown: number;
  readonly minRefresh: number;
}

/** The RFC's values (§2.4.1, §2.4.2, §2.3). */
export const RFC5011_TIMERS: Rfc5011Timers = { addHoldDown: 30 * DAY, removeHoldDown: 30 * DAY, minRefresh: HOUR };

/** Names of the timers that are below the RFC's values (a lab setting that deserves a warning). */
export function loweredTimers(timers: Rfc5011Timers): (keyof Rfc5011Timers)[] {
  return (Object.keys(RFC5011_TIMERS) as (keyof Rfc5011Timers)[]).filter((k) => timers[k] < RFC5011_TIMERS[k]);
}

/**
 * §2.4.1: "The add hold-down time is 30 days or the expiration time of the original TTL of the
 * first trust point DNSKEY RRSet that contained the new key, whichever is greater."
 */
export function addHoldDownSeconds(timers: Rfc5011Timers, originalTtl: number): number {
  return Math.max(timers.addHoldDown, originalTtl);
}

/** What the last validated DNSKEY RRset said about timing: its original TTL and RRSIG expiration interval (seconds). */
export interface RefreshTiming {
  readonly originalTtl?: number | undefined;
  readonly expirationInterval?: number | undefined;
}

/** §2.3 active refresh: MAX(1 hr, MIN(15 days, 1/2*OrigTTL, 1/2*RRSigExpirationInterval)). */
export function activeRefreshSeconds(timing: RefreshTiming, timers: Rfc5011Timers): number {
  const terms = [15 * DAY];
  if (timing.originalTtl !== undefined) terms.push(timing.originalTtl / 2);
  if (timing.expirationInterval !== undefined) terms.push(timing.expirationInterval / 2);
  return Math.max(timers.minRefresh, Math.floor(Math.min(...terms)));
}

/**
 * §2.3 retry after a failed refresh: MAX(1 hour, MIN(1 day, .1*OrigTTL, .1*expireInterval)).
 * Before any refresh succeeded there is no TTL to go by: retry after the floor (1 hour), so a
 * freshly bootstrapped trust point does not wait a day for its first validated key set.
 */
export function retrySeconds(timing: RefreshTiming, timers: Rfc5011Timers): number {
  if (timing.originalTtl === undefined && timing.expirationInterval === undefined) return timers.minRefresh;
  const terms = [DAY];
  if (timing.originalTtl !== undefined) terms.push(timing.originalTtl / 10);
  if (timing.expirationInterval !== undefined) terms.push(timing.expirationInterval / 10);
  return Math.max(timers.minRefresh, Math.floor(Math.min(...terms)));
}

/**
 * "with a little jitter": up to 10 % earlier, never below the floor, so resolvers started
 * together do not refresh in lockstep. `random` returns [0, 1).
 */
export function withJitter(seconds: number, timers: Rfc5011Timers, random: () => number): number {
  return Math.max(Math.min(seconds, timers.minRefresh), Math.floor(seconds - seconds * 0.1 * random()));
}

/** One state change, for the log and the tests. */
export interface StateChange {
  readonly zone: string;
  readonly type: AnchorType;
  readonly keyTag: number;
  readonly algorithm: number;
  readonly from: AnchorState;
  /** `Start` for a key that was forgotten (AddPend withdrawn); `Removed` for a DS anchor replaced by its DNSKEY. */
  readonly to: AnchorState;
  readonly at: number;
  readonly why: string;
}

/** What a validated active refresh saw. */
export interface ValidatedKeys {
  /** The DNSKEY RDATAs of the RRset, which authenticated against the trust point's anchors. */
  readonly dnskeys: readonly Uint8Array[];
  /** Identities (keyIdentity) of revoked keys whose own RRSIG over the RRset verifies (§2.1). */
  readonly selfSignedRevocations: ReadonlySet<string>;
  readonly originalTtl: number;
  /** Milliseconds. */
  readonly at: number;
}

export interface Rfc5011Result {
  /** The updated trust point, or undefined when §5 deletes it (every anchor revoked). */
  readonly trustPoint: TrustPoint | undefined;
  readonly changes: readonly StateChange[];
}

function change(zone: string, a: Anchor, to: AnchorState, at: number, why: string): StateChange {
  return { zone, type: a.type, keyTag: a.keyTag, algorithm: a.algorithm, from: a.state, to, at, why };
}

function moved(a: Anchor, state: AnchorState, at: number, next?: number): Anchor {
  const { next: _old, ...rest } = a;
  return next === undefined ? { ...rest, state, since: at } : { ...rest, state, since: at, next };
}

/**
 * Applies one validated DNSKEY RRset to a trust point. Keys are matched ignoring the REVOKE
 * bit. A revoked key counts only with its self-signature (a forged revocation is ignored, and
 * the key is then treated as present). DS anchors trusted now are replaced by the DNSKEY they
 * match (Microsoft's DsPending → DNSKEY anchor): that key was already trusted through the DS,
 * so it enters Valid without a hold-down.
 */
export function applyValidatedKeys(tp: TrustPoint, seen: ValidatedKeys, timers: Rfc5011Timers): Rfc5011Result {
  const now = seen.at;
  const zoneName = Name.parse(tp.zone);
  const changes: StateChange[] = [];
  const present = new Map<string, Uint8Array>(); // identity → key as published, non-revoked SEP keys
  const revoked = new Map<string, Uint8Array>(); // identity → revoked key with a valid self-signature
  for (const key of seen.dnskeys) {
    if (!isTrackedKey(key)) continue;
    const id = keyIdentity(key);
    if (isRevoked(key)) {
      if (seen.selfSignedRevocations.has(id)) revoked.set(id, key);
      // A revocation not signed by the key itself proves nothing; the key is simply not revoked (§2.1).
      else if (!present.has(id)) present.set(id, key);
    } else present.set(id, key);
  }
  for (const id of revoked.keys()) present.delete(id);

  let anchors: Anchor[] = [];
  const known = new Set<string>();
  // DS anchors first: the keys they vouch for become DNSKEY anchors in Valid.
  const replacedDs = new Set<Anchor>();
  const fromDs: Anchor[] = [];
  for (const ds of tp.anchors.filter((a) => a.type === 'DS' && anchorTrustedAt(a, now))) {
    for (const [id, key] of present) {
      if (!dsMatchesKey(ds.rdata, zoneName, key)) continue;
      if (tp.anchors.some((a) => a.type === 'DNSKEY' && keyIdentity(a.rdata) === id) || fromDs.some((a) => keyIdentity(a.rdata) === id)) {
        replacedDs.add(ds);
        continue;
      }
      const anchor = newAnchor('DNSKEY', key, { state: 'Valid', since: now, origin: 'ds-match', lastSeen: now, ...(ds.source ? { source: ds.source } : {}) });
      fromDs.push(anchor);
      changes.push({ zone: tp.zone, type: 'DNSKEY', keyTag: anchor.keyTag, algorithm: anchor.algorithm, from: 'Start', to: 'Valid', at: now, why: `matches trusted DS ${ds.keyTag}` });
      replacedDs.add(ds);
    }
  }
  for (const ds of replacedDs) changes.push(change(tp.zone, ds, 'Removed', now, 'replaced by the DNSKEY it matches'));

  for (const a of tp.anchors) {
    if (replacedDs.has(a)) continue;
    if (a.type === 'DS') {
      anchors.push(a);
      continue;
    }
    const id = keyIdentity(a.rdata);
    known.add(id);
    const isPresent = present.has(id);
    const isRevokedNow = revoked.has(id);
    const seenNow = isPresent || isRevokedNow ? { lastSeen: now } : {};
    switch (a.state) {
      case 'Start':
      case 'AddPend':
        if (isPresent && a.state === 'AddPend' && a.next !== undefined && now >= a.next) {
          changes.push(change(tp.zone, a, 'Valid', now, 'add hold-down over and seen in a validated RRset'));
          anchors.push({ ...moved(a, 'Valid', now), ...seenNow });
        } else if (isPresent) anchors.push({ ...a, ...seenNow });
        else {
          // KeyRem (and a revocation of a key never trusted): forgotten, back to Start.
          changes.push(change(tp.zone, a, 'Start', now, isRevokedNow ? 'revoked before its add hold-down ended' : 'withdrawn before its add hold-down ended'));
        }
        break;
      case 'Valid':
      case 'Missing':
        if (isRevokedNow) {
          changes.push(change(tp.zone, a, 'Revoked', now, 'REVOKE bit set and the key signs the RRset'));
          anchors.push({ ...moved(a, 'Revoked', now, now + timers.removeHoldDown * 1000), rdata: revoked.get(id)!, ...seenNow });
        } else if (isPresent && a.state === 'Missing') {
          changes.push(change(tp.zone, a, 'Valid', now, 'back in the DNSKEY RRset'));
          anchors.push({ ...moved(a, 'Valid', now), ...seenNow });
        } else if (!isPresent && a.state === 'Valid') {
          changes.push(change(tp.zone, a, 'Missing', now, 'absent from the DNSKEY RRset'));
          anchors.push(moved(a, 'Missing', now));
        } else anchors.push({ ...a, ...seenNow });
        break;
      case 'Revoked':
      case 'Removed':
        // A revoked key never comes back, whatever is published later (§2.1).
        anchors.push({ ...a, ...seenNow });
        break;
    }
  }
  for (const a of fromDs) {
    known.add(keyIdentity(a.rdata));
    anchors.push(a);
  }
  // NewKey: a SEP key the trust point has never seen enters AddPend.
  const holdDown = addHoldDownSeconds(timers, seen.originalTtl);
  for (const [id, key] of present) {
    if (known.has(id)) continue;
    const anchor = newAnchor('DNSKEY', key, { state: 'AddPend', since: now, next: now + holdDown * 1000, origin: 'rfc5011', lastSeen: now, source: { kind: 'rfc5011' } });
    changes.push(change(tp.zone, { ...anchor, state: 'Start' }, 'AddPend', now, `new key; add hold-down ${holdDown}s`));
    anchors.push(anchor);
  }
  anchors = applyRemoveTimes(tp.zone, anchors, now, changes);
  return finish({ ...tp, anchors }, changes);
}

function applyRemoveTimes(zone: string, anchors: readonly Anchor[], now: number, changes: StateChange[]): Anchor[] {
  return anchors.map((a) => {
    if (a.state === 'Revoked' && a.next !== undefined && now >= a.next) {
      changes.push(change(zone, a, 'Removed', now, 'remove hold-down over'));
      return moved(a, 'Removed', now);
    }
    return a;
  });
}

/** RemTime without a refresh: Revoked keys whose remove hold-down is over become Removed. */
export function applyTimers(tp: TrustPoint, now: number): Rfc5011Result {
  const changes: StateChange[] = [];
  const anchors = applyRemoveTimes(tp.zone, tp.anchors, now, changes);
  return changes.length === 0 ? { trustPoint: tp, changes } : finish({ ...tp, anchors }, changes);
}

/**
 * §5: "A trust point that has all of its trust anchors revoked is considered deleted and is
 * treated as if the trust point was never configured."
 */
function finish(tp: TrustPoint, changes: StateChange[]): Rfc5011Result {
  const live = tp.anchors.some((a) => a.type === 'DS' || a.state === 'AddPend' || a.state === 'Valid' || a.state === 'Missing');
  const revoked = tp.anchors.some((a) => a.state === 'Revoked' || a.state === 'Removed');
  return { trustPoint: !live && revoked ? undefined : tp, changes };
}

/**
 * A revocation seen in a DNSKEY RRset that did not validate (the revoked key was the only
 * trusted one, so nothing else can sign for it): §2.1 lets the revoked key validate its own
 * RRSIG "for the purpose of validating the revocation". Only that is applied — Valid/Missing
 * anchors whose self-signed revocation is proven become Revoked; nothing is added — and §5
 * then deletes a trust point left with revoked keys only.
 */
export function applyRevocations(tp: TrustPoint, revoked: ReadonlyMap<string, Uint8Array>, now: number, timers: Rfc5011Timers): Rfc5011Result {
  const changes: StateChange[] = [];
  const anchors = tp.anchors.map((a) => {
    if (a.type !== 'DNSKEY' || (a.state !== 'Valid' && a.state !== 'Missing')) return a;
    const key = revoked.get(keyIdentity(a.rdata));
    if (!key) return a;
    changes.push(change(tp.zone, a, 'Revoked', now, 'REVOKE bit set and the key signs the RRset'));
    return { ...moved(a, 'Revoked', now, now + timers.removeHoldDown * 1000), rdata: key, lastSeen: now };
  });
  return changes.length === 0 ? { trustPoint: tp, changes } : finish({ ...tp, anchors }, changes);
}
