import { EdeCode } from '../wire/edns.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType, typeToString } from '../wire/rr-type.js';
import { type DenialKind, type DenialOutcome, paddedDenialOutcome } from './denial-proof.js';
import { proveNoDsWithNsec3 } from './nsec3-proof.js';
import type { ValidationBudget, ValidationLimits } from './validation-budget.js';
import { bogus, secure } from './validation-outcome.js';

/** One NSEC record of the zone, decoded (RFC 4034 §4). */
interface Nsec {
  readonly owner: Name;
  readonly next: Name;
  readonly types: ReadonlySet<number>;
}

const describe = (n: Nsec) => `NSEC ${n.owner} → ${n.next}`;

/** The zone's NSEC records, or the verdict when one of them breaks the chain. */
function readNsecs(zone: Name, records: readonly ResourceRecord[]): { nsecs: Nsec[] } | { fault: DenialOutcome } {
  const nsecs: Nsec[] = [];
  for (const rr of records) {
    if (rr.type !== RRType.NSEC || !rr.name.isSubdomainOf(zone)) continue;
    let fields;
    try {
      fields = decodeRdata(RRType.NSEC, rr.rdata);
    } catch {
      continue; // a record we cannot read proves nothing; the proof fails without it if it was needed
    }
    const next = fields['next'] as Name;
    // The chain never leaves the zone: the last NSEC points back to the apex (RFC 4034 §4.1.1).
    if (!next.isSubdomainOf(zone)) return { fault: bogus(`${zone}: NSEC ${rr.name} → ${next} leaves the zone`, EdeCode.DNSSEC_BOGUS) };
    nsecs.push({ owner: rr.name, next, types: new Set(fields['types'] as readonly number[]) });
  }
  return { nsecs };
}

/** NS without SOA: the parent's side of a zone cut (RFC 6840 §4.1). */
const isDelegationPoint = (n: Nsec) => n.types.has(RRType.NS) && !n.types.has(RRType.SOA);

/**
 * RFC 6840 §4.1: an NSEC at a zone cut (NS without SOA) or at a DNAME says nothing about the
 * names below its owner — they belong to another zone or are redirected — so it must not be
 * used to deny them.
 */
function speaksFor(n: Nsec, name: Name): boolean {
  if (name.equals(n.owner) || !name.isSubdomainOf(n.owner)) return true;
  return !isDelegationPoint(n) && !n.types.has(RRType.DNAME);
}

/**
 * owner < name < next in canonical order (RFC 4034 §6.1). The last NSEC of the chain points back
 * to the apex, the smallest name of the zone, and so covers every name after its owner; that
 * includes an apex NSEC pointing to itself in a zone of one name.
 */
function covers(n: Nsec, name: Name, zone: Name): boolean {
  if (n.owner.compareCanonical(name) >= 0) return false;
  if (n.next.equals(zone)) return true;
  return name.compareCanonical(n.next) < 0;
}

/**
 * Whether `n` proves that `name` does not exist: it covers the name, may speak for it, and its
 * next name is not below the name (that would make the name an empty non-terminal, which exists).
 */
function provesAbsent(n: Nsec, name: Name, zone: Name): boolean {
  return covers(n, name, zone) && speaksFor(n, name) && !n.next.isSubdomainOf(name);
}

/** Why no NSEC proves `name` absent, as precisely as the records allow. */
function absenceFault(nsecs: readonly Nsec[], name: Name, zone: Name, what: string): DenialOutcome {
  const cover = nsecs.find((n) => covers(n, name, zone));
  if (cover && !speaksFor(cover, name))
    return bogus(`${zone}: ${describe(cover)} is at a ${cover.types.has(RRType.DNAME) ? 'DNAME' : 'delegation point'} and cannot deny ${what} ${name} below it (RFC 6840 §4.1)`, EdeCode.DNSSEC_BOGUS);
  if (cover) return bogus(`${zone}: ${describe(cover)} shows ${what} ${name} is an empty non-terminal, so it exists`, EdeCode.DNSSEC_BOGUS);
  return bogus(`${zone}: no NSEC proves ${what} ${name} does not exist`, EdeCode.NSEC_MISSING);
}

/** The longest common ancestor of two names (at worst the root). */
function commonAncestor(a: Name, b: Name): Name {
  for (let count = Math.min(a.labelCount, b.labelCount); count > 0; count--) {
    const candidate = a.suffix(count);
    if (b.isSubdomainOf(candidate)) return candidate;
  }
  return a.suffix(0);
}

/**
 * The closest encloser of a name that `n` proves absent (RFC 4035 §5.4): the deepest of its
 * ancestors that exists. The existing names nearest the gap are the NSEC's owner and next name;
 * every existing ancestor of the name is an ancestor of one of them (a subtree is contiguous in
 * canonical order), so it is the deeper of the two common ancestors.
 */
function closestEncloserOf(n: Nsec, name: Name): Name {
  const viaOwner = commonAncestor(name, n.owner);
  const viaNext = commonAncestor(name, n.next);
  return viaOwner.labelCount >= viaNext.labelCount ? viaOwner : viaNext;
}

/**
 * Whether the NSEC at `name` (the queried name or the matching wildcard) denies `qtype`: the type
 * and CNAME are both absent (RFC 6840 §4.3); a zone cut's NSEC speaks only about DS, and a DS is
 * denied only by the parent, never by the child's apex NSEC (RFC 6840 §4.1, RFC 4035 §5.2).
 */
function typeAbsenceFault(n: Nsec, qtype: number, zone: Name): DenialOutcome | undefined {
  const at = `${zone}: NSEC at ${n.owner}`;
  if (n.types.has(qtype)) return bogus(`${at} lists ${typeToString(qtype)}`, EdeCode.DNSSEC_BOGUS);
  if (n.types.has(RRType.CNAME)) return bogus(`${at} lists CNAME, so the answer should have followed it`, EdeCode.DNSSEC_BOGUS);
  if (qtype === RRType.DS) {
    if (n.types.has(RRType.SOA) && !n.owner.isRoot)
      return bogus(`${at} is a zone apex: a DS is denied by the parent zone, not by the child`, EdeCode.DNSSEC_BOGUS);
  } else if (isDelegationPoint(n)) {
    return bogus(`${at} is a delegation point: it proves nothing about ${typeToString(qtype)} (RFC 6840 §4.1)`, EdeCode.DNSSEC_BOGUS);
  }
  return undefined;
}

/** An NSEC just before `qname` whose next name is below it: qname is an empty non-terminal. */
function emptyNonTerminalProof(nsecs: readonly Nsec[], qname: Name, zone: Name): Nsec | undefined {
  return nsecs.find((n) => covers(n, qname, zone) && speaksFor(n, qname) && n.next.isSubdomainOf(qname) && !n.next.equals(qname));
}

function proveNameError(qname: Name, zone: Name, nsecs: readonly Nsec[]): DenialOutcome {
  if (nsecs.some((n) => n.owner.equals(qname))) return bogus(`${zone}: NSEC at ${qname} shows the name exists`, EdeCode.DNSSEC_BOGUS);
  const cover = nsecs.find((n) => provesAbsent(n, qname, zone));
  if (!cover) return absenceFault(nsecs, qname, zone, 'the name');
  const encloser = closestEncloserOf(cover, qname);
  const wildcard = encloser.prepend('*');
  if (nsecs.some((n) => n.owner.equals(wildcard)))
    return bogus(`${zone}: NSEC at ${wildcard} shows the wildcard exists, so ${qname} should have been synthesised from it`, EdeCode.DNSSEC_BOGUS);
  const wildcardCover = nsecs.find((n) => provesAbsent(n, wildcard, zone));
  if (!wildcardCover) return absenceFault(nsecs, wildcard, zone, 'the wildcard');
  const wildcardPart = wildcardCover === cover ? ` and the wildcard ${wildcard}` : `; ${describe(wildcardCover)} covers the wildcard ${wildcard}`;
  return { ...secure(`${zone}: ${describe(cover)} covers ${qname}${wildcardPart}`), closestEncloser: encloser };
}

function proveNoData(qname: Name, qtype: number, zone: Name, nsecs: readonly Nsec[]): DenialOutcome {
  const type = typeToString(qtype);
  const match = nsecs.find((n) => n.owner.equals(qname));
  if (match) {
    const fault = typeAbsenceFault(match, qtype, zone);
    if (fault) return fault;
    const outcome = secure(`${zone}: NSEC at ${qname} lists neither ${type} nor CNAME`);
    return qtype === RRType.DS ? { ...outcome, delegation: match.types.has(RRType.NS) } : outcome;
  }
  const ent = emptyNonTerminalProof(nsecs, qname, zone);
  if (ent) {
    const outcome = secure(`${zone}: ${describe(ent)} shows ${qname} is an empty non-terminal`);
    return qtype === RRType.DS ? { ...outcome, delegation: false } : outcome;
  }
  // Wildcard NODATA (RFC 4035 §3.1.3.4): qname does not exist, the wildcard at its closest
  // encloser does, and the wildcard has no RRset of the type.
  const cover = nsecs.find((n) => provesAbsent(n, qname, zone));
  if (!cover) {
    const fault = absenceFault(nsecs, qname, zone, 'the name');
    return fault.ede === EdeCode.NSEC_MISSING ? bogus(`${zone}: no NSEC matches ${qname} or proves it absent`, EdeCode.NSEC_MISSING) : fault;
  }
  const encloser = closestEncloserOf(cover, qname);
  const wildcard = encloser.prepend('*');
  const wildcardNsec = nsecs.find((n) => n.owner.equals(wildcard));
  if (!wildcardNsec)
    return bogus(`${zone}: ${describe(cover)} shows ${qname} does not exist and no NSEC shows a wildcard ${wildcard}`, EdeCode.NSEC_MISSING);
  const fault = typeAbsenceFault(wildcardNsec, qtype, zone);
  if (fault) return fault;
  return {
    ...secure(`${zone}: ${describe(cover)} covers ${qname}; NSEC at wildcard ${wildcard} lists neither ${type} nor CNAME`),
    closestEncloser: encloser,
    wildcard,
  };
}

function proveWildcardAnswer(qname: Name, zone: Name, nsecs: readonly Nsec[], encloser: Name): DenialOutcome {
  if (!qname.isSubdomainOf(encloser) || qname.equals(encloser) || !encloser.isSubdomainOf(zone))
    return bogus(`${zone}: ${qname} cannot be synthesised from a wildcard at *.${encloser}`, EdeCode.DNSSEC_BOGUS);
  // The wildcard's own name answered literally is not an expansion: nothing to prove.
  if (qname.isWildcard && qname.parent(1).equals(encloser)) return { ...secure(`${zone}: ${qname} is the wildcard itself`), closestEncloser: encloser };
  if (nsecs.some((n) => n.owner.equals(qname)))
    return bogus(`${zone}: NSEC at ${qname} shows the name exists, so the answer cannot come from a wildcard`, EdeCode.DNSSEC_BOGUS);
  const cover = nsecs.find((n) => provesAbsent(n, qname, zone));
  if (!cover) return absenceFault(nsecs, qname, zone, 'the name');
  // RFC 4035 §5.3.4: the NSEC must also show that no name closer to qname than the wildcard's
  // encloser exists; the closest encloser it proves has to be exactly that encloser.
  const proven = closestEncloserOf(cover, qname);
  if (!proven.equals(encloser))
    return bogus(`${zone}: ${describe(cover)} puts the closest encloser of ${qname} at ${proven}, not at the wildcard's ${encloser}`, EdeCode.DNSSEC_BOGUS);
  return { ...secure(`${zone}: ${describe(cover)} covers ${qname}, so the wildcard ${encloser.prepend('*')} applies`), closestEncloser: encloser };
}

/**
 * Proves a negative answer, or the non-existence behind a wildcard answer, from NSEC records
 * (RFC 4035 §5.4, §3.1.3; RFC 6840 §4.1, §4.3). `nsecs` are records whose signatures the
 * caller verified as made by `zone`; only those owned in `zone` are considered. For
 * `wildcard-answer`, `wildcardInfo.closestEncloser` is the answer's owner cut down to the
 * RRSIG's label count.
 */
export function proveWithNsec(
  kind: DenialKind,
  qname: Name,
  qtype: number,
  zone: Name,
  nsecs: readonly ResourceRecord[],
  limits: ValidationLimits,
  wildcardInfo?: { closestEncloser: Name },
): DenialOutcome {
  const padded = paddedDenialOutcome(zone, nsecs, limits);
  if (padded) return padded;
  if (!qname.isSubdomainOf(zone)) return bogus(`${zone}: ${qname} is not in the zone`, EdeCode.DNSSEC_BOGUS);
  const read = readNsecs(zone, nsecs);
  if ('fault' in read) return read.fault;
  if (read.nsecs.length === 0) return bogus(`${zone}: no NSEC records for ${qname}`, EdeCode.NSEC_MISSING);
  switch (kind) {
    case 'nxdomain':
      return proveNameError(qname, zone, read.nsecs);
    case 'nodata':
      return proveNoData(qname, qtype, zone, read.nsecs);
    case 'wildcard-answer':
      if (!wildcardInfo) throw new RangeError('a wildcard answer proof needs the closest encloser from the RRSIG');
      return proveWildcardAnswer(qname, zone, read.nsecs, wildcardInfo.closestEncloser);
  }
}

/**
 * The insecure-delegation proof (RFC 4035 §5.2, RFC 6840 §4.4, RFC 5155 §8.6/§8.9): the DS query
 * for `child` at its parent `zone` was answered NODATA, and `denialRecords` (already verified as
 * signed by `zone`) must show that `child` is a delegation without DS.
 *
 * - secure, `delegation: true`: the record at `child` has NS but neither DS nor SOA — an
 *   unsigned delegation, the child zone is insecure;
 * - insecure, `optOut: true`: no NSEC3 matches `child` but an opt-out span covers its next
 *   closer name — RFC 5155 §8.6: the delegation, if there is one, is unsigned;
 * - bogus, `delegation: false`: the records show `child` is no zone cut at all (no NS bit, or an
 *   empty non-terminal). There is no DS, but nothing insecure either: prove `nodata` for DS and
 *   carry on in the same zone;
 * - bogus otherwise (EDE 12 when the proof is missing, 6 when the records contradict it).
 *
 * NSEC records are used when the zone's answer has any, NSEC3 otherwise.
 */
export function proveNoDs(child: Name, zone: Name, denialRecords: readonly ResourceRecord[], budget: ValidationBudget): DenialOutcome {
  const padded = paddedDenialOutcome(zone, denialRecords, budget.limits);
  if (padded) return padded;
  const hasNsec = denialRecords.some((r) => r.type === RRType.NSEC && r.name.isSubdomainOf(zone));
  if (hasNsec) return proveNoDsWithNsec(child, zone, denialRecords, budget.limits);
  return proveNoDsWithNsec3(child, zone, denialRecords, budget);
}

/** The NSEC half of `proveNoDs`: the NSEC at `child` in the parent `zone` has NS and neither DS nor SOA. */
export function proveNoDsWithNsec(child: Name, zone: Name, records: readonly ResourceRecord[], limits: ValidationLimits): DenialOutcome {
  const padded = paddedDenialOutcome(zone, records, limits);
  if (padded) return padded;
  if (!child.isSubdomainOf(zone) || child.equals(zone)) return bogus(`${zone}: ${child} is not below the zone, so the zone cannot deny its DS`, EdeCode.DNSSEC_BOGUS);
  const read = readNsecs(zone, records);
  if ('fault' in read) return read.fault;
  const match = read.nsecs.find((n) => n.owner.equals(child));
  if (match) {
    if (match.types.has(RRType.DS)) return bogus(`${zone}: NSEC at ${child} lists DS`, EdeCode.DNSSEC_BOGUS);
    if (match.types.has(RRType.SOA)) return bogus(`${zone}: NSEC at ${child} is the child zone's apex: a DS is denied by the parent`, EdeCode.DNSSEC_BOGUS);
    if (!match.types.has(RRType.NS)) return { ...bogus(`${zone}: NSEC at ${child} lists no NS: not a delegation`, EdeCode.DNSSEC_BOGUS), delegation: false };
    return { ...secure(`${zone}: NSEC at ${child} lists NS without DS: an unsigned delegation`), delegation: true };
  }
  const ent = emptyNonTerminalProof(read.nsecs, child, zone);
  if (ent) return { ...bogus(`${zone}: ${describe(ent)} shows ${child} is an empty non-terminal, not a delegation`, EdeCode.DNSSEC_BOGUS), delegation: false };
  return bogus(`${zone}: no NSEC at ${child} proves it is a delegation without DS`, EdeCode.NSEC_MISSING);
}
