import type { ResourceRecord } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import type { RecordCache } from './record-cache.js';

/**
 * The answer to an RD=0 question the cache cannot answer: a referral to the closest zone cut the
 * cache knows, its NS RRset in the authority section and the cached addresses of those servers
 * as glue, with their remaining TTLs. It is what Unbound answers (with `access-control:
 * allow_snoop`) and what RFC 1034 §4.3.1 describes for a server not asked to recurse; it never
 * causes a query upstream.
 */
export function referralFromCache(cache: RecordCache, name: Name): { authority: ResourceRecord[]; additional: ResourceRecord[] } {
  for (let strip = 0; strip <= name.labelCount; strip++) {
    const zone = strip === name.labelCount ? Name.root : name.parent(strip);
    const ns = cache.rrset(zone, RRType.NS);
    if (!ns) continue;
    const additional: ResourceRecord[] = [];
    for (const r of ns.records) {
      const host = decodeRdata(RRType.NS, r.rdata)['nsdname'] as Name;
      for (const type of [RRType.A, RRType.AAAA]) {
        const glue = cache.rrset(host, type);
        if (glue) additional.push(...cache.withRemainingTtl(glue.records, glue));
      }
    }
    return { authority: cache.withRemainingTtl(ns.records, ns), additional };
  }
  return { authority: [], additional: [] };
}
