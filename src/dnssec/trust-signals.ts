import { keyTag } from '../crypto/key-tag.js';
import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import type { TrustAnchor } from './trust-anchor.js';

/** The key tags a trust anchor names: its DNSKEYs' tags and its DS records' key tag fields. */
export function anchorKeyTags(anchor: TrustAnchor | undefined): Set<number> {
  const tags = new Set<number>();
  if (!anchor) return tags;
  for (const k of anchor.dnskey) tags.add(keyTag(k));
  for (const d of anchor.ds) {
    try {
      tags.add(decodeRdata(RRType.DS, d)['keyTag'] as number);
    } catch {
      // an anchor the store accepted always decodes; nothing to signal otherwise
    }
  }
  return tags;
}

/**
 * RFC 8145 §5.1: the key tag query that tells a trust point's servers which keys this resolver
 * trusts: `_ta-` and the tags as four lowercase hex digits, ascending, joined by `-`, under the
 * trust point's zone (type NULL).
 */
export function keyTagQueryName(zone: Name, tags: Iterable<number>): Name | undefined {
  const sorted = [...new Set(tags)].sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const label = `_ta-${sorted.map((t) => t.toString(16).padStart(4, '0')).join('-')}`;
  if (label.length > 63) return undefined;
  return zone.prepend(label);
}

export interface SentinelLabel {
  readonly kind: 'is-ta' | 'not-ta';
  readonly keyTag: number;
}

const SENTINEL = /^root-key-sentinel-(is|not)-ta-(\d{5})$/i;

/** RFC 8509 §2: the sentinel a query name's leftmost label carries, if any. */
export function sentinelLabel(name: Name): SentinelLabel | undefined {
  if (name.labelCount === 0) return undefined;
  const match = SENTINEL.exec(Buffer.from(name.label(0)).toString('latin1'));
  if (!match) return undefined;
  const tag = Number(match[2]);
  if (tag > 0xffff) return undefined;
  return { kind: match[1]!.toLowerCase() === 'is' ? 'is-ta' : 'not-ta', keyTag: tag };
}

/**
 * RFC 8509 §3.2: whether a secure answer to a sentinel query must become SERVFAIL: is-ta names a
 * key that is not a root trust anchor, or not-ta names one that is.
 */
export function sentinelRefuses(sentinel: SentinelLabel, rootTags: ReadonlySet<number>): boolean {
  const trusted = rootTags.has(sentinel.keyTag);
  return sentinel.kind === 'is-ta' ? !trusted : trusted;
}
