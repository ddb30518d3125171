import type { ResourceRecord } from './message.js';
import { RRType } from './rr-type.js';

/** Records grouped into RRsets by owner (case-folded), class and type, in first-seen order. */
export function groupRrsets(records: readonly ResourceRecord[]): ResourceRecord[][] {
  const sets = new Map<string, ResourceRecord[]>();
  for (const rr of records) {
    const key = `${rr.name.key}/${rr.class}/${rr.type}`;
    const set = sets.get(key);
    if (set) set.push(rr);
    else sets.set(key, [rr]);
  }
  return [...sets.values()];
}

/**
 * The smallest TTL among the records of the sections, 0 when there are none: how long an answer
 * made of them stays fresh (RFC 2181 §5.2, RFC 8484 §5.1). OPT is passed over: its TTL field holds
 * the extended RCODE and flags (RFC 6891 §6.1.3), not a time.
 */
export function minimumTtl(...sections: readonly (readonly ResourceRecord[])[]): number {
  let ttl = Infinity;
  for (const section of sections) for (const r of section) if (r.type !== RRType.OPT && r.ttl < ttl) ttl = r.ttl;
  return Number.isFinite(ttl) ? ttl : 0;
}
