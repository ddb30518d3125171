import { nsec3Hash } from '../crypto/nsec3-hash.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { toBase32Hex } from '../wire/text-encoding.js';
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
    // A bitmap lists RR types, never a meta type (ANY, AXFR…, RFC 6895 §3.1): its absence says nothing.
    if (kind === 'nodata' && isMetaType(qtype)) break;
    const outcome = nsec3 ? proveWithNsec3(kind, qname, qtype, zone, records, budget) : proveWithNsec(kind, qname, qtype, zone, records, budget.limits);
    if (outcome.state === 'secure' && !outcome.optOut) return { kind, outcome };
  }
  return undefined;
}

const isMetaType = (type: number) => type >= 128 && type <= 255;

/**
 * RFC 8198 §5.3: whether cached NSEC/NSEC3 records prove that `qname` does not exist and that no
 * name between it and `encloser` does, so that the wildcard at `encloser`, whose data the cache
 * holds validated, answers it. The proof that validates wildcard answers from upstream decides.
 */
export function proveWildcardFromCache(qname: Name, qtype: number, zone: Name, encloser: Name, records: readonly ResourceRecord[], budget: ValidationBudget): DenialOutcome | undefined {
  if (records.length === 0 || !qname.isSubdomainOf(zone)) return undefined;
  const info = { closestEncloser: encloser };
  const outcome = records.some((r) => r.type === RRType.NSEC3)
    ? proveWithNsec3('wildcard-answer', qname, qtype, zone, records, budget, info)
    : proveWithNsec('wildcard-answer', qname, qtype, zone, records, budget.limits, info);
  return outcome.state === 'secure' && !outcome.optOut ? outcome : undefined;
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

/**
 * The NSEC3 records that may prove a denial for `qname` in `zone`, hashed with `params` (those of
 * a record of the chain): walking up from qname, the record matching or covering the hash of each
 * ancestor until one matches (the closest encloser, RFC 5155 §8.3), and the one matching or
 * covering the wildcard at that encloser. Each hash is paid from `budget`.
 */
export function nsec3Candidates(qname: Name, zone: Name, params: ResourceRecord, atOrBefore: (owner: Name) => ResourceRecord | undefined, budget: ValidationBudget): ResourceRecord[] {
  let fields;
  try {
    fields = decodeRdata(RRType.NSEC3, params.rdata);
  } catch {
    return [];
  }
  const salt = fields['salt'] as Uint8Array;
  const iterations = fields['iterations'] as number;
  if (iterations > budget.limits.maxNsec3Iterations) return [];
  const ownerOf = (name: Name) => {
    budget.spendNsec3Hash();
    return zone.prepend(toBase32Hex(nsec3Hash(name.wire, salt, iterations)).toLowerCase());
  };
  const out: ResourceRecord[] = [];
  for (let n = qname; ; n = n.parent(1)) {
    const owner = ownerOf(n);
    const found = atOrBefore(owner);
    if (found && !out.includes(found)) out.push(found);
    if (found?.name.equals(owner)) {
      if (!n.equals(qname)) {
        const wildcard = atOrBefore(ownerOf(n.prepend('*')));
        if (wildcard && !out.includes(wildcard)) out.push(wildcard);
      }
      break;
    }
    if (n.labelCount <= zone.labelCount) break; // the apex has no matching record: no proof
  }
  return out;
}
