import type { ResourceRecord } from '../wire/message.js';
import { RRType } from '../wire/rr-type.js';
import type { Resolution } from './iterator.js';
import { rrsetKey } from './link-origins.js';

const coveredType = (sig: ResourceRecord) => (sig.rdata[0]! << 8) | sig.rdata[1]!;

/**
 * RFC 4035 §5.3.3: a validated RRset is served and kept no longer than its RRSIG's original TTL
 * and the time left before that signature expires. `caps` (from `ValidationRun.ttlCaps`) gives
 * that bound per RRset; the RRSIGs over an RRset get the same bound as the RRset itself, so a
 * cache downstream cannot keep the signature past the data.
 */
export function capTtls<T extends Resolution>(resolution: T, caps: ReadonlyMap<string, number>): T {
  if (caps.size === 0) return resolution;
  const cap = (records: readonly ResourceRecord[]) =>
    records.map((r) => {
      const limit = caps.get(rrsetKey(r.name, r.type === RRType.RRSIG ? coveredType(r) : r.type));
      return limit !== undefined && r.ttl > limit ? { ...r, ttl: Math.max(0, Math.floor(limit)) } : r;
    });
  return { ...resolution, answer: cap(resolution.answer), authority: cap(resolution.authority) };
}
