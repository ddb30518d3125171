import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { encodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';


/**
 * The NSEC chain of a zone (RFC 4034 §4, RFC 4035 §2.3): one NSEC per owner in canonical
 * order, each naming the next and the types present (with RRSIG and NSEC), the last
 * pointing back to the apex. `owners` must exclude glue and occluded names.
 */
export function buildNsecChain(owners: ReadonlyArray<{ name: Name; types: ReadonlySet<number> }>, ttl: number, cls: number): ResourceRecord[] {
  const sorted = [...owners].sort((a, b) => a.name.compareCanonical(b.name));
  return sorted.map((o, i) => {
    const next = sorted[(i + 1) % sorted.length]!.name;
    const types = [...o.types, RRType.RRSIG, RRType.NSEC];
    return { name: o.name, type: RRType.NSEC, class: cls, ttl, rdata: encodeRdata(RRType.NSEC, { next, types }) };
  });
}
