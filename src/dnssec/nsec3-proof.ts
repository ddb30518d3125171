import { isSupportedNsec3HashAlgorithm, nsec3Hash } from '../crypto/nsec3-hash.js';
import { EdeCode } from '../wire/edns.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType, typeToString } from '../wire/rr-type.js';
import { fromBase32Hex, toBase32Hex } from '../wire/text-encoding.js';
import { type DenialKind, type DenialOutcome, paddedDenialOutcome } from './denial-proof.js';
import type { ValidationBudget } from './validation-budget.js';
import { bogus, insecure, secure } from './validation-outcome.js';

const FLAG_OPT_OUT = 0x01;
/** SHA-1, the only NSEC3 hash (RFC 5155 §11): both hashed names are 20 octets. */
const SHA1_LENGTH = 20;

/** One NSEC3 record of the zone, decoded (RFC 5155 §3). */
interface Nsec3 {
  readonly owner: Name;
  readonly ownerHash: Uint8Array;
  readonly nextHash: Uint8Array;
  readonly hashAlgorithm: number;
  readonly optOut: boolean;
  readonly iterations: number;
  readonly salt: Uint8Array;
  readonly types: ReadonlySet<number>;
}

const b32 = (hash: Uint8Array) => toBase32Hex(hash).toLowerCase();
const describe = (n: Nsec3) => `NSEC3 ${b32(n.ownerHash)} → ${b32(n.nextHash)}${n.optOut ? ' (opt-out)' : ''}`;
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

/**
 * The zone's usable NSEC3 records (RFC 5155 §8.2): owned by a hash label directly below the
 * zone, with a supported hash algorithm and flags 0 or 1; all others are ignored.
 */
function readNsec3s(zone: Name, records: readonly ResourceRecord[]): { usable: Nsec3[]; seen: number; supported: number } {
  const usable: Nsec3[] = [];
  let seen = 0;
  let supported = 0;
  for (const rr of records) {
    if (rr.type !== RRType.NSEC3 || rr.name.labelCount !== zone.labelCount + 1 || !rr.name.parent(1).equals(zone)) continue;
    seen++;
    let fields;
    let ownerHash: Uint8Array;
    try {
      fields = decodeRdata(RRType.NSEC3, rr.rdata);
      ownerHash = fromBase32Hex(Buffer.from(rr.name.label(0)).toString('latin1'));
    } catch {
      continue; // unreadable RDATA or an owner label that is no base32hex hash proves nothing
    }
    const hashAlgorithm = fields['hashAlgorithm'] as number;
    if (!isSupportedNsec3HashAlgorithm(hashAlgorithm)) continue;
    supported++;
    const flags = fields['flags'] as number;
    const nextHash = fields['nextHashed'] as Uint8Array;
    if ((flags & ~FLAG_OPT_OUT) !== 0 || ownerHash.length !== SHA1_LENGTH || nextHash.length !== SHA1_LENGTH) continue;
    usable.push({
      owner: rr.name,
      ownerHash,
      nextHash,
      hashAlgorithm,
      optOut: (flags & FLAG_OPT_OUT) !== 0,
      iterations: fields['iterations'] as number,
      salt: fields['salt'] as Uint8Array,
      types: new Set(fields['types'] as readonly number[]),
    });
  }
  return { usable, seen, supported };
}

/**
 * Hashes names with the proof's parameters, each name at most once per proof, every hash paid
 * from the query's budget first (CVE-2023-50868): the budget throws ValidationLimitError when
 * the query has hashed enough, and that error is meant to reach the caller.
 */
class Nsec3Hasher {
  private readonly cache = new Map<string, Uint8Array>();

  constructor(
    private readonly iterations: number,
    private readonly salt: Uint8Array,
    private readonly budget: ValidationBudget,
  ) {}

  hash(name: Name): Uint8Array {
    const cached = this.cache.get(name.key);
    if (cached) return cached;
    this.budget.spendNsec3Hash();
    const hash = nsec3Hash(name.wire, this.salt, this.iterations);
    this.cache.set(name.key, hash);
    return hash;
  }
}

/** The records of one proof (one parameter set) and the hasher for it. */
class Nsec3Chain {
  constructor(
    readonly zone: Name,
    private readonly records: readonly Nsec3[],
    private readonly hasher: Nsec3Hasher,
  ) {}

  /** The NSEC3 whose owner is the hash of `name`: the name exists (RFC 5155 §8.3 "matches"). */
  matching(name: Name): Nsec3 | undefined {
    const hash = this.hasher.hash(name);
    return this.records.find((n) => sameBytes(n.ownerHash, hash));
  }

  /**
   * The NSEC3 whose span holds the hash of `name` strictly between owner and next hashed owner;
   * the last record of the chain wraps around past the largest hash (RFC 5155 §8.3 "covers").
   */
  covering(name: Name): Nsec3 | undefined {
    const hash = this.hasher.hash(name);
    return this.records.find((n) => {
      const afterOwner = Buffer.compare(n.ownerHash, hash) < 0;
      const beforeNext = Buffer.compare(hash, n.nextHash) < 0;
      return Buffer.compare(n.ownerHash, n.nextHash) < 0 ? afterOwner && beforeNext : afterOwner || beforeNext;
    });
  }
}

/** What a closest encloser proof (RFC 5155 §8.3) established. */
interface EncloserProof {
  readonly closestEncloser: Name;
  readonly nextCloser: Name;
  readonly nextCloserCover: Nsec3;
}

/** The ancestor of `qname` one label longer than `encloser` (RFC 5155 §1.3 "next closer name"). */
const nextCloserName = (qname: Name, encloser: Name) => qname.parent(qname.labelCount - encloser.labelCount - 1);

/**
 * RFC 5155 §8.3: the deepest proper ancestor of `qname` with a matching NSEC3 is the closest
 * encloser, and the next closer name must be covered. The encloser's record must be of this
 * zone and must not be a zone cut or a DNAME (its descendants are not in this zone). Walks up
 * from qname's parent, so qname itself is hashed only when it is the next closer name.
 */
function proveClosestEncloser(qname: Name, chain: Nsec3Chain): { proof: EncloserProof } | { fault: DenialOutcome } {
  const zone = chain.zone;
  if (qname.equals(zone)) return { fault: bogus(`${zone}: the apex has no closest encloser in the zone`, EdeCode.NSEC_MISSING) };
  for (let candidate = qname.parent(1); candidate.isSubdomainOf(zone); candidate = candidate.parent(1)) {
    const match = chain.matching(candidate);
    if (match) {
      const kindOfCut = match.types.has(RRType.DNAME) ? 'a DNAME' : match.types.has(RRType.NS) && !match.types.has(RRType.SOA) ? 'a delegation point' : undefined;
      if (kindOfCut) return { fault: bogus(`${zone}: the closest encloser ${candidate} of ${qname} is ${kindOfCut}, so the names below it are not in this zone (RFC 5155 §8.3)`, EdeCode.DNSSEC_BOGUS) };
      const nextCloser = nextCloserName(qname, candidate);
      const nextCloserCover = chain.covering(nextCloser);
      if (!nextCloserCover) return { fault: bogus(`${zone}: no NSEC3 covers the next closer name ${nextCloser}`, EdeCode.NSEC_MISSING) };
      return { proof: { closestEncloser: candidate, nextCloser, nextCloserCover } };
    }
    if (candidate.isRoot) break;
  }
  return { fault: bogus(`${zone}: no NSEC3 matches an ancestor of ${qname} (closest encloser proof)`, EdeCode.NSEC_MISSING) };
}

/** The proof holds but rests on an opt-out span, which may hide an unsigned delegation. */
function optOutOutcome(zone: Name, proof: EncloserProof, claim: string): DenialOutcome {
  return {
    ...insecure(`${zone}: ${describe(proof.nextCloserCover)} covering the next closer name ${proof.nextCloser} is opt-out: ${claim} is not provable, an unsigned delegation may exist`),
    closestEncloser: proof.closestEncloser,
    optOut: true,
  };
}

/** The matching record (of qname or of the wildcard) denies `qtype`: RFC 5155 §8.5–§8.7 with RFC 6840 §4.1/§4.3. */
function typeAbsenceFault(n: Nsec3, name: Name, qtype: number, zone: Name): DenialOutcome | undefined {
  const at = `${zone}: NSEC3 matching ${name}`;
  if (n.types.has(qtype)) return bogus(`${at} lists ${typeToString(qtype)}`, EdeCode.DNSSEC_BOGUS);
  if (n.types.has(RRType.CNAME)) return bogus(`${at} lists CNAME, so the answer should have followed it`, EdeCode.DNSSEC_BOGUS);
  if (qtype === RRType.DS) {
    if (n.types.has(RRType.SOA) && !name.isRoot) return bogus(`${at} is a zone apex: a DS is denied by the parent zone, not by the child`, EdeCode.DNSSEC_BOGUS);
  } else if (n.types.has(RRType.NS) && !n.types.has(RRType.SOA)) {
    return bogus(`${at} is a delegation point: it proves nothing about ${typeToString(qtype)} (RFC 6840 §4.1)`, EdeCode.DNSSEC_BOGUS);
  }
  return undefined;
}

function proveNameError(qname: Name, chain: Nsec3Chain): DenialOutcome {
  const zone = chain.zone;
  const ce = proveClosestEncloser(qname, chain);
  if ('fault' in ce) return ce.fault;
  const { closestEncloser, nextCloser, nextCloserCover } = ce.proof;
  // RFC 5155 §8.4: and the wildcard at the closest encloser must not exist.
  const wildcard = closestEncloser.prepend('*');
  if (chain.matching(wildcard))
    return bogus(`${zone}: an NSEC3 matches the wildcard ${wildcard}, so ${qname} should have been synthesised from it`, EdeCode.DNSSEC_BOGUS);
  const wildcardCover = chain.covering(wildcard);
  if (!wildcardCover) return bogus(`${zone}: no NSEC3 covers the wildcard ${wildcard}`, EdeCode.NSEC_MISSING);
  if (nextCloserCover.optOut) return optOutOutcome(zone, ce.proof, `the non-existence of ${qname}`);
  return {
    ...secure(`${zone}: closest encloser ${closestEncloser}, ${describe(nextCloserCover)} covers the next closer name ${nextCloser}, ${describe(wildcardCover)} covers the wildcard ${wildcard}`),
    closestEncloser,
  };
}

function proveNoData(qname: Name, qtype: number, chain: Nsec3Chain): DenialOutcome {
  const zone = chain.zone;
  const type = typeToString(qtype);
  // RFC 5155 §8.5/§8.6 (with erratum 3441): a record matching qname (an empty non-terminal's has
  // an empty bitmap) denies the type directly.
  const match = chain.matching(qname);
  if (match) {
    const fault = typeAbsenceFault(match, qname, qtype, zone);
    if (fault) return fault;
    const outcome = secure(`${zone}: ${describe(match)} matches ${qname} and lists neither ${type} nor CNAME`);
    return qtype === RRType.DS ? { ...outcome, delegation: match.types.has(RRType.NS) } : outcome;
  }
  const ce = proveClosestEncloser(qname, chain);
  if ('fault' in ce) return ce.fault;
  const { closestEncloser, nextCloser, nextCloserCover } = ce.proof;
  // RFC 5155 §8.7: wildcard NODATA — the wildcard at the closest encloser exists without the type.
  const wildcard = closestEncloser.prepend('*');
  const wildcardMatch = chain.matching(wildcard);
  if (wildcardMatch) {
    const fault = typeAbsenceFault(wildcardMatch, wildcard, qtype, zone);
    if (fault) return fault;
    if (nextCloserCover.optOut) return { ...optOutOutcome(zone, ce.proof, `the wildcard NODATA for ${qname}`), wildcard };
    return {
      ...secure(`${zone}: closest encloser ${closestEncloser}, ${describe(nextCloserCover)} covers the next closer name ${nextCloser}, ${describe(wildcardMatch)} matches the wildcard ${wildcard} and lists neither ${type} nor CNAME`),
      closestEncloser,
      wildcard,
    };
  }
  // RFC 5155 §8.6 (DS) and erratum 3441 to §8.5 (an empty non-terminal made by an unsigned
  // delegation): no record matches, so the next closer name must lie in an opt-out span.
  if (nextCloserCover.optOut) return optOutOutcome(zone, ce.proof, `the NODATA for ${qname}/${type}`);
  return bogus(`${zone}: no NSEC3 matches ${qname} or the wildcard ${wildcard}, and ${describe(nextCloserCover)} covering the next closer name ${nextCloser} is not opt-out`, EdeCode.NSEC_MISSING);
}

/** RFC 5155 §8.8: the next closer name of qname below the wildcard's encloser must be covered. */
function proveWildcardAnswer(qname: Name, chain: Nsec3Chain, encloser: Name): DenialOutcome {
  const zone = chain.zone;
  if (!qname.isSubdomainOf(encloser) || qname.equals(encloser) || !encloser.isSubdomainOf(zone))
    return bogus(`${zone}: ${qname} cannot be synthesised from a wildcard at *.${encloser}`, EdeCode.DNSSEC_BOGUS);
  // The wildcard's own name answered literally is not an expansion: nothing to prove.
  if (qname.isWildcard && qname.parent(1).equals(encloser)) return { ...secure(`${zone}: ${qname} is the wildcard itself`), closestEncloser: encloser };
  const nextCloser = nextCloserName(qname, encloser);
  const cover = chain.covering(nextCloser);
  if (!cover) return bogus(`${zone}: no NSEC3 covers the next closer name ${nextCloser}, so the wildcard answer for ${qname} is unproven`, EdeCode.NSEC_MISSING);
  if (cover.optOut) return optOutOutcome(zone, { closestEncloser: encloser, nextCloser, nextCloserCover: cover }, `the wildcard answer for ${qname}`);
  return { ...secure(`${zone}: ${describe(cover)} covers the next closer name ${nextCloser}, so the wildcard ${encloser.prepend('*')} applies`), closestEncloser: encloser };
}

/**
 * The records one proof may use, or the verdict before any hashing: too many records, none with
 * a supported hash algorithm (RFC 5155 §8.1: insecure), more iterations than the limit (RFC 9276
 * §3.2: insecure, EDE 27). Records whose parameters differ from the first usable one's are
 * ignored (RFC 5155 §8.2: one proof, one parameter set).
 */
function openChain(zone: Name, records: readonly ResourceRecord[], budget: ValidationBudget, subject: Name): { chain: Nsec3Chain } | { outcome: DenialOutcome } {
  const padded = paddedDenialOutcome(zone, records, budget.limits);
  if (padded) return { outcome: padded };
  if (!subject.isSubdomainOf(zone)) return { outcome: bogus(`${zone}: ${subject} is not in the zone`, EdeCode.DNSSEC_BOGUS) };
  const { usable, seen, supported } = readNsec3s(zone, records);
  if (seen > 0 && supported === 0) return { outcome: insecure(`${zone}: no NSEC3 record uses a supported hash algorithm (RFC 5155 §8.1)`) };
  const first = usable[0];
  if (!first) return { outcome: bogus(`${zone}: no usable NSEC3 records for ${subject}`, EdeCode.NSEC_MISSING) };
  const max = budget.limits.maxNsec3Iterations;
  const tooMany = usable.find((n) => n.iterations > max);
  if (tooMany)
    return { outcome: insecure(`${zone}: NSEC3 uses ${tooMany.iterations} iterations, above the limit of ${max} (RFC 9276 §3.2)`, EdeCode.UNSUPPORTED_NSEC3_ITERATIONS) };
  const sameParameters = usable.filter((n) => n.hashAlgorithm === first.hashAlgorithm && n.iterations === first.iterations && sameBytes(n.salt, first.salt));
  return { chain: new Nsec3Chain(zone, sameParameters, new Nsec3Hasher(first.iterations, first.salt, budget)) };
}

/**
 * Proves a negative answer, or the non-existence behind a wildcard answer, from NSEC3 records
 * (RFC 5155 §8, RFC 6840 §4, RFC 9276). `nsec3s` are records whose signatures the caller
 * verified as made by `zone`. A proof that holds only through an opt-out span is `insecure`
 * with `optOut: true`. Hashes are paid from `budget`, whose ValidationLimitError propagates.
 * For `wildcard-answer`, `wildcardInfo.closestEncloser` is the answer's owner cut down to the
 * RRSIG's label count.
 */
export function proveWithNsec3(
  kind: DenialKind,
  qname: Name,
  qtype: number,
  zone: Name,
  nsec3s: readonly ResourceRecord[],
  budget: ValidationBudget,
  wildcardInfo?: { closestEncloser: Name },
): DenialOutcome {
  if (kind === 'wildcard-answer' && !wildcardInfo) throw new RangeError('a wildcard answer proof needs the closest encloser from the RRSIG');
  const opened = openChain(zone, nsec3s, budget, qname);
  if ('outcome' in opened) return opened.outcome;
  switch (kind) {
    case 'nxdomain':
      return proveNameError(qname, opened.chain);
    case 'nodata':
      return proveNoData(qname, qtype, opened.chain);
    case 'wildcard-answer':
      return proveWildcardAnswer(qname, opened.chain, wildcardInfo!.closestEncloser);
  }
}

/**
 * The NSEC3 half of `proveNoDs` (RFC 5155 §8.6, §8.9): the record matching `child` has NS and
 * neither DS nor SOA, or no record matches and the next closer name of `child` lies in an opt-out
 * span (insecure, `optOut: true`). A matching record without NS is no delegation: bogus with
 * `delegation: false`.
 */
export function proveNoDsWithNsec3(child: Name, zone: Name, records: readonly ResourceRecord[], budget: ValidationBudget): DenialOutcome {
  if (child.equals(zone)) return bogus(`${zone}: ${child} is the zone's own apex: its DS is denied by the parent`, EdeCode.DNSSEC_BOGUS);
  const opened = openChain(zone, records, budget, child);
  if ('outcome' in opened) return opened.outcome;
  const chain = opened.chain;
  const match = chain.matching(child);
  if (match) {
    if (match.types.has(RRType.DS)) return bogus(`${zone}: ${describe(match)} matching ${child} lists DS`, EdeCode.DNSSEC_BOGUS);
    if (match.types.has(RRType.SOA)) return bogus(`${zone}: ${describe(match)} matching ${child} is the child zone's apex: a DS is denied by the parent`, EdeCode.DNSSEC_BOGUS);
    if (!match.types.has(RRType.NS)) return { ...bogus(`${zone}: ${describe(match)} matching ${child} lists no NS: not a delegation`, EdeCode.DNSSEC_BOGUS), delegation: false };
    return { ...secure(`${zone}: ${describe(match)} matching ${child} lists NS without DS: an unsigned delegation`), delegation: true };
  }
  const ce = proveClosestEncloser(child, chain);
  if ('fault' in ce) return ce.fault;
  const { closestEncloser, nextCloser, nextCloserCover } = ce.proof;
  if (!nextCloserCover.optOut)
    return bogus(`${zone}: no NSEC3 matches ${child} and ${describe(nextCloserCover)} covering the next closer name ${nextCloser} is not opt-out`, EdeCode.NSEC_MISSING);
  return {
    ...insecure(`${zone}: closest encloser ${closestEncloser}, ${describe(nextCloserCover)} covers the next closer name ${nextCloser}: an unsigned delegation (RFC 5155 §8.6)`),
    closestEncloser,
    optOut: true,
  };
}
