import type { Name } from '../wire/name.js';

/**
 * What the validator trusts for one zone: DS and/or DNSKEY RDATA (wire form). A DNSKEY RRset
 * of `zone` is secure when one of its keys matches a DNSKEY here (REVOKE bit ignored for the
 * match, RFC 5011 §2.1, but a revoked key never authenticates) or the digest of a DS here, and
 * that key signs the RRset. Anchors come from the TrustAnchors store (only those in a state
 * that trusts them: Valid, Missing). A trust point with no trusted key at all is still given,
 * with both lists empty: everything under it is bogus until a key becomes trusted.
 */
export interface TrustAnchor {
  readonly zone: Name;
  readonly ds: readonly Uint8Array[];
  readonly dnskey: readonly Uint8Array[];
}

/** The anchors the validator walks from, read on every validation so changes apply at once. */
export interface TrustAnchorSource {
  anchors(): readonly TrustAnchor[];
}
