import { RRType } from '../wire/rr-type.js';
import { rdataToText } from '../wire/rdata-text.js';
import { describeSource, type AnchorSourceKind } from './anchor-source.js';
import { anchorTrustedAt, currentKeyTag, trustPointState, type Anchor, type AnchorState, type TrustPoint, type TrustPointState } from './trust-point.js';

/**
 * The JSON the control API returns for trust points and anchors (and the CLI prints): what
 * Get-DnsServerTrustPoint and Get-DnsServerTrustAnchor show, and more. Times are ISO 8601 UTC.
 */

export interface AnchorView {
  readonly zone: string;
  readonly type: 'DS' | 'DNSKEY';
  /** DS: its key tag; DNSKEY: with the REVOKE bit clear. */
  readonly keyTag: number;
  /** The tag the key has now (differs once revoked: 20326 → 20454). */
  readonly currentKeyTag: number;
  readonly algorithm: number;
  readonly state: AnchorState;
  /** Trusted by the validator now. */
  readonly trusted: boolean;
  readonly enteredState: string;
  /** The state it moves to next and when (AddPend → Valid, Revoked → Removed). */
  readonly nextState?: AnchorState;
  readonly nextStateTime?: string;
  readonly lastSeen?: string;
  readonly origin: string;
  readonly validFrom?: string;
  readonly validUntil?: string;
  readonly label?: string;
  /** Where it came from, for people: "config import /etc/keymaster/dsset-corp.example.", "trust-anchor add", "RFC 5011". */
  readonly source: string;
  /** The same for scripts (absent for anchors stored before sources were recorded). */
  readonly sourceKind?: AnchorSourceKind;
  readonly sourceLocation?: string;
  /** Presentation form of the DS or DNSKEY RDATA. */
  readonly rdata: string;
}

export interface TrustPointView {
  readonly zone: string;
  readonly state: TrustPointState;
  /** e.g. { "Valid": 2, "AddPend": 1 } (DS anchors counted as "DS"). */
  readonly anchorCounts: Readonly<Record<string, number>>;
  readonly createdAt: string;
  readonly lastRefresh?: string;
  readonly lastSuccess?: string;
  readonly nextRefresh?: string;
  readonly lastResult?: string;
  readonly originalTtl?: number;
  readonly failures: number;
  /** Where its anchors came from (each distinct source once, as AnchorView.source). */
  readonly sources: readonly string[];
}

export interface TrustPointDetail extends TrustPointView {
  readonly anchors: readonly AnchorView[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export function anchorView(zone: string, a: Anchor, now: number): AnchorView {
  const next: AnchorState | undefined = a.state === 'AddPend' ? 'Valid' : a.state === 'Revoked' ? 'Removed' : undefined;
  return {
    zone,
    type: a.type,
    keyTag: a.keyTag,
    currentKeyTag: currentKeyTag(a),
    algorithm: a.algorithm,
    state: a.state,
    trusted: anchorTrustedAt(a, now),
    enteredState: iso(a.since),
    ...(next && a.next !== undefined ? { nextState: next, nextStateTime: iso(a.next) } : {}),
    ...(a.lastSeen === undefined ? {} : { lastSeen: iso(a.lastSeen) }),
    origin: a.origin,
    ...(a.validFrom === undefined ? {} : { validFrom: iso(a.validFrom) }),
    ...(a.validUntil === undefined ? {} : { validUntil: iso(a.validUntil) }),
    ...(a.label === undefined ? {} : { label: a.label }),
    source: describeSource(a.source, a.origin),
    ...(a.source === undefined ? {} : { sourceKind: a.source.kind }),
    ...(a.source?.location === undefined ? {} : { sourceLocation: a.source.location }),
    rdata: rdataToText(a.type === 'DS' ? RRType.DS : RRType.DNSKEY, a.rdata),
  };
}

export function trustPointView(tp: TrustPoint, now: number): TrustPointView {
  const counts: Record<string, number> = {};
  for (const a of tp.anchors) {
    const k = a.type === 'DS' ? 'DS' : a.state;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return {
    zone: tp.zone,
    state: trustPointState(tp, now),
    anchorCounts: counts,
    createdAt: iso(tp.createdAt),
    ...(tp.lastRefresh === undefined ? {} : { lastRefresh: iso(tp.lastRefresh) }),
    ...(tp.lastSuccess === undefined ? {} : { lastSuccess: iso(tp.lastSuccess) }),
    ...(tp.nextRefresh === undefined ? {} : { nextRefresh: iso(tp.nextRefresh) }),
    ...(tp.lastResult === undefined ? {} : { lastResult: tp.lastResult }),
    ...(tp.originalTtl === undefined ? {} : { originalTtl: tp.originalTtl }),
    failures: tp.failures,
    sources: [...new Set(tp.anchors.map((a) => describeSource(a.source, a.origin)))],
  };
}

export function trustPointDetail(tp: TrustPoint, now: number): TrustPointDetail {
  return { ...trustPointView(tp, now), anchors: tp.anchors.map((a) => anchorView(tp.zone, a, now)) };
}
