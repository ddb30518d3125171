import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import type { DenialKind, DenialOutcome } from './denial-proof.js';
import { proveWithNsec } from './nsec-proof.js';
import { proveWithNsec3 } from './nsec3-proof.js';
import type { ValidationBudget } from './validation-budget.js';

/** A denial the cache can give without asking upstream (RFC 8198 §5.1, §5.2). */
export interface AggressiveDenial {
  readonly kind: Exclude<DenialKind, 'wildcard-answer'>;
  readonly outcome: DenialOutcome;
}

/**
 * RFC 8198: whether cached, already validated NSEC or NSEC3 records of `zone` prove that `qname`
 * does not exist (NXDOMAIN) or has no `qtype` (NODATA). The same proofs that validate answers
 * from upstream decide, so the cache never concludes more than a response carrying these very
 * records would prove. Only a `secure` proof answers: an opt-out span (insecure, RFC 8198 §6:
 * names in it may be unsigned delegations) or a proof that fails sends the question upstream.
 * NSEC3 hashes are paid from `budget` (its ValidationLimitError reaches the caller).
 */
export function proveFromCache(qname: Name, qtype: number, zone: Name, records: readonly ResourceRecord[], budget: ValidationBudget): AggressiveDenial | undefined {
  if (records.length === 0 || !qname.isSubdomainOf(zone)) return undefined;
  const nsec3 = records.some((r) => r.type === RRType.NSEC3);
  for (const kind of ['nxdomain', 'nodata'] as const) {
    const outcome = nsec3 ? proveWithNsec3(kind, qname, qtype, zone, records, budget) : proveWithNsec(kind, qname, qtype, zone, records, budget.limits);
    if (outcome.state === 'secure' && !outcome.optOut) return { kind, outcome };
  }
  return undefined;
}

/**
 * The NSEC records that may prove a denial for `qname` in `zone`: the one at or before qname in
 * canonical order (it matches qname, shows it an empty non-terminal, or covers it), and the one at
 * or before the wildcard at each ancestor of qname up to the apex (one of them is the closest
 * encloser's). `atOrBefore` answers from the cache's ordered index.
 */
export function nsecCandidates(qname: Name, zone: Name, atOrBefore: (name: Name) => ResourceRecord | undefined): ResourceRecord[] {
  const out: ResourceRecord[] = [];
  const add = (r: ResourceRecord | undefined) => {
    if (r && !out.includes(r)) out.push(r);
  };
  add(atOrBefore(qname));
  for (let n = qname; n.labelCount > zone.labelCount; ) {
    n = n.parent(1);
    add(atOrBefore(n.prepend('*')));
  }
  return out;
}
