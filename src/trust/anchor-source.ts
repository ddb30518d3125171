import type { AnchorOrigin } from './trust-point.js';

/**
 * Where an anchor came from, as `trust-point list/show` and `trust-anchor list` show it: which
 * file, URL or command put it in the store. `origin` (trust-point.ts) says what the anchor was
 * made from; this says who gave it. A DNSKEY that replaced a DS anchor at a validated refresh
 * keeps the DS anchor's source: that is where the trust in it comes from.
 */
export const ANCHOR_SOURCE_KINDS = [
  /** trustAnchors.rootAnchors, read once at the first start (location: the URL or file actually read). */
  'config-root-anchors',
  /** `trust-point add-root` (location: the URL or file read). */
  'add-root',
  /** trustAnchors.import (location: the keyset-/dsset- file). */
  'config-import',
  /** `trust-anchor add`. */
  'add',
  /** `trust-anchor import` (location: the file name the client gave). */
  'import',
  /** A local zone signed with distributeTrustAnchor (location: its keyset- file). */
  'zone-signing',
  /** A new key learned by RFC 5011 active refresh. */
  'rfc5011',
] as const;
export type AnchorSourceKind = (typeof ANCHOR_SOURCE_KINDS)[number];

export interface AnchorSource {
  readonly kind: AnchorSourceKind;
  readonly location?: string;
}

const LABELS: Record<AnchorSourceKind, string> = {
  'config-root-anchors': 'config rootAnchors',
  'add-root': 'trust-point add-root',
  'config-import': 'config import',
  add: 'trust-anchor add',
  import: 'trust-anchor import',
  'zone-signing': 'zone signing',
  rfc5011: 'RFC 5011',
};

/** One line for people: "config import /etc/keymaster/dsset-corp.example.", "RFC 5011". */
export function describeSource(source: AnchorSource | undefined, origin: AnchorOrigin): string {
  if (source === undefined) return `${origin} (source not recorded)`;
  return source.location === undefined ? LABELS[source.kind] : `${LABELS[source.kind]} ${source.location}`;
}

export function sourceOf(kind: AnchorSourceKind, location?: string): AnchorSource {
  return location === undefined ? { kind } : { kind, location };
}
