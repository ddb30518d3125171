import { dsDigest, isSupportedDigestType } from '../crypto/ds-digest.js';
import { keyTag } from '../crypto/key-tag.js';
import { Name } from '../wire/name.js';
import type { AnchorSource } from './anchor-source.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';

/**
 * The trust-point model: what the TrustAnchors store persists and the RFC 5011 state machine
 * transforms. Plain immutable data (times in milliseconds since the epoch) so that a state is
 * easy to serialise, compare and replay.
 */

/** RFC 5011 §4.2 states. Only Valid and Missing DNSKEY anchors are trusted (and DS anchors in their validity window). */
export const ANCHOR_STATES = ['Start', 'AddPend', 'Valid', 'Missing', 'Revoked', 'Removed'] as const;
export type AnchorState = (typeof ANCHOR_STATES)[number];

export type AnchorType = 'DS' | 'DNSKEY';

/**
 * Where an anchor came from: IANA's root-anchors.xml, an imported dsset-/keyset- file, an
 * operator's `trust-anchor add`, a DNSKEY that matched a DS anchor at a validated refresh
 * (`ds-match`), or a new key learned by RFC 5011 active refresh (`rfc5011`).
 */
export const ANCHOR_ORIGINS = ['root-anchors.xml', 'dsset', 'keyset', 'manual', 'ds-match', 'rfc5011'] as const;
export type AnchorOrigin = (typeof ANCHOR_ORIGINS)[number];

export interface Anchor {
  readonly type: AnchorType;
  /** DS or DNSKEY RDATA in wire form; a revoked DNSKEY is kept as last seen (REVOKE bit set). */
  readonly rdata: Uint8Array;
  /** DS: its key tag field. DNSKEY: the tag with the REVOKE bit clear (as Microsoft shows it). */
  readonly keyTag: number;
  readonly algorithm: number;
  readonly state: AnchorState;
  /** When the anchor entered `state`. */
  readonly since: number;
  /** AddPend: when it may become Valid. Revoked: when it becomes Removed. */
  readonly next?: number;
  /** The last validated refresh that contained this key. */
  readonly lastSeen?: number;
  readonly origin: AnchorOrigin;
  /** DS anchors from root-anchors.xml are trusted only inside [validFrom, validUntil). */
  readonly validFrom?: number;
  readonly validUntil?: number;
  /** root-anchors.xml KeyDigest id (e.g. "Klajeyz"), for people. */
  readonly label?: string;
  /** Which file, URL or command gave it (absent in stores written before sources were recorded). */
  readonly source?: AnchorSource;
}

export interface TrustPoint {
  /** Lowercase, absolute (`.`, `example.com.`). */
  readonly zone: string;
  readonly anchors: readonly Anchor[];
  readonly createdAt: number;
  /** Last active refresh attempt, last successful (validated) one, and the next scheduled. */
  readonly lastRefresh?: number;
  readonly lastSuccess?: number;
  readonly nextRefresh?: number;
  /** One line: "ok: 2 keys, TTL 172800" or why the refresh failed. */
  readonly lastResult?: string;
  /** Original TTL of the DNSKEY RRset at the last validated refresh (seconds). */
  readonly originalTtl?: number;
  /** RRSIG expiration interval (seconds from the refresh to the earliest validating RRSIG's expiration). */
  readonly expirationInterval?: number;
  /** Refresh failures since the last success. */
  readonly failures: number;
}

/** DNSKEY flag bits (RFC 4034 §2.1.1, RFC 5011 §3). */
export const DNSKEY_FLAG_ZONE = 0x0100;
export const DNSKEY_FLAG_REVOKE = 0x0080;
export const DNSKEY_FLAG_SEP = 0x0001;

export function dnskeyFlags(rdata: Uint8Array): number {
  return ((rdata[0] ?? 0) << 8) | (rdata[1] ?? 0);
}

export function isRevoked(dnskey: Uint8Array): boolean {
  return (dnskeyFlags(dnskey) & DNSKEY_FLAG_REVOKE) !== 0;
}

/** A key RFC 5011 tracks: a zone key with the SEP bit (a KSK), as Unbound and BIND track them. */
export function isTrackedKey(dnskey: Uint8Array): boolean {
  const flags = dnskeyFlags(dnskey);
  return (flags & DNSKEY_FLAG_ZONE) !== 0 && (flags & DNSKEY_FLAG_SEP) !== 0;
}

/** The DNSKEY RDATA with the REVOKE bit cleared: the key's identity (RFC 5011 §2.1 matching). */
export function withoutRevokeBit(dnskey: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(dnskey);
  if (copy.length >= 2) copy[1] = copy[1]! & ~DNSKEY_FLAG_REVOKE;
  return copy;
}

/** The string that identifies a key whatever its REVOKE bit. */
export function keyIdentity(dnskey: Uint8Array): string {
  return Buffer.from(withoutRevokeBit(dnskey)).toString('hex');
}

export function dnskeyTagWithoutRevoke(dnskey: Uint8Array): number {
  return keyTag(withoutRevokeBit(dnskey));
}

/** The key tag a DNSKEY anchor carries now: with the REVOKE bit once revoked (20326 → 20454). */
export function currentKeyTag(anchor: Anchor): number {
  return anchor.type === 'DNSKEY' ? keyTag(anchor.rdata) : anchor.keyTag;
}

export function dsFields(rdata: Uint8Array): { keyTag: number; algorithm: number; digestType: number; digest: Uint8Array } {
  return decodeRdata(RRType.DS, rdata) as unknown as { keyTag: number; algorithm: number; digestType: number; digest: Uint8Array };
}

/** A new anchor from DS or DNSKEY RDATA, with its key tag and algorithm read from it. */
export function newAnchor(
  type: AnchorType,
  rdata: Uint8Array,
  fields: {
    state: AnchorState;
    since: number;
    origin: AnchorOrigin;
    next?: number;
    lastSeen?: number;
    validFrom?: number;
    validUntil?: number;
    label?: string;
    source?: AnchorSource;
  },
): Anchor {
  if (type === 'DS') {
    const ds = dsFields(rdata);
    return { type, rdata, keyTag: ds.keyTag, algorithm: ds.algorithm, ...fields };
  }
  decodeRdata(RRType.DNSKEY, rdata); // throws on malformed RDATA
  return { type, rdata, keyTag: dnskeyTagWithoutRevoke(rdata), algorithm: rdata[3]!, ...fields };
}

/** Whether a DS anchor's digest is of this DNSKEY (the non-revoked form) at `zone`. */
export function dsMatchesKey(ds: Uint8Array, zone: Name, dnskey: Uint8Array): boolean {
  const f = dsFields(ds);
  const key = withoutRevokeBit(dnskey);
  if (f.algorithm !== key[3] || f.keyTag !== keyTag(key) || !isSupportedDigestType(f.digestType)) return false;
  return Buffer.from(dsDigest(f.digestType, zone.lowercase().wire, key)).equals(Buffer.from(f.digest));
}

/** Is this anchor something the validator may trust at `now` (ms)? */
export function anchorTrustedAt(anchor: Anchor, now: number): boolean {
  if (anchor.type === 'DS') {
    if (anchor.state !== 'Valid') return false;
    if (anchor.validFrom !== undefined && now < anchor.validFrom) return false;
    if (anchor.validUntil !== undefined && now >= anchor.validUntil) return false;
    return true;
  }
  return (anchor.state === 'Valid' || anchor.state === 'Missing') && !isRevoked(anchor.rdata);
}

/**
 * Microsoft's TRUSTPOINT_STATE: DsPending (only DS anchors: the DNSKEY that matches replaces
 * it at the next refresh), Active (DNSKEY anchors trusted), DeletePending (only revoked keys
 * left), Inactive (nothing trusted now, e.g. a DS whose validFrom is ahead).
 */
export type TrustPointState = 'Active' | 'DsPending' | 'DeletePending' | 'Inactive';

export function trustPointState(tp: TrustPoint, now: number): TrustPointState {
  const trusted = tp.anchors.filter((a) => anchorTrustedAt(a, now));
  if (trusted.some((a) => a.type === 'DNSKEY')) return 'Active';
  if (trusted.length > 0) return 'DsPending';
  if (tp.anchors.some((a) => a.state === 'Revoked') && !tp.anchors.some((a) => a.state === 'AddPend' || a.type === 'DS')) return 'DeletePending';
  return 'Inactive';
}

/** `example.com` or `example.com.` → `example.com.` lowercase; throws on a bad name. */
export function zoneKey(zone: Name | string): string {
  return (typeof zone === 'string' ? Name.parse(zone) : zone).lowercase().toString();
}

/** Same anchor (type and RDATA, DNSKEYs compared without their REVOKE bit). */
export function sameAnchor(a: { type: AnchorType; rdata: Uint8Array }, b: { type: AnchorType; rdata: Uint8Array }): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'DNSKEY') return keyIdentity(a.rdata) === keyIdentity(b.rdata);
  return Buffer.from(a.rdata).equals(Buffer.from(b.rdata));
}
