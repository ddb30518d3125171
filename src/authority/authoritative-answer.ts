import { nsec3Hash } from '../crypto/nsec3-hash.js';
import { Rcode, type ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import type { ZoneData, ZoneNode, ZoneRrset } from './zone-db.js';

/** The sections and flags of an authoritative response; the server fills in the header. */
export interface AuthoritativeAnswer {
  rcode: number;
  /** False only for a referral (RFC 1034 §4.3.2 step 3b). */
  aa: boolean;
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
  /** Set when a wildcard answered (RFC 4592): its owner, so rate limiting counts a random-name flood as one flow. */
  wildcard?: Name;
}

/** How many CNAMEs inside the zone are followed before the rest is left to the resolver. */
const MAX_CNAME_CHAIN = 8;

/**
 * Answers one question from one zone, as RFC 1034 §4.3.2 describes, with wildcards (RFC
 * 4592), and, when `dnssec` (DO set and DNSSEC enabled) and the zone is signed, the RRSIGs
 * and denial proofs of RFC 4035 §3.1 (NSEC) or RFC 5155 §7.2 (NSEC3):
 *
 * - a name at or below a delegation gets a referral: NS, with DS or a proof that there is
 *   none, and glue (AA clear). A DS question at the cut is answered from this side;
 * - data: the RRset and its RRSIGs; a CNAME is followed while it stays in the zone;
 * - no data at an existing name or an empty non-terminal: NODATA, the SOA, and the NSEC at
 *   (or covering) the name or the matching NSEC3;
 * - no such name: a wildcard at the closest encloser answers with owner rewritten (plus the
 *   proof that the name itself does not exist), else NXDOMAIN with the SOA and the proofs
 *   that neither the name nor the wildcard exist.
 */
export function answerFromZone(zone: ZoneData, qname: Name, qtype: number, dnssec: boolean, options: AnswerOptions = {}): AuthoritativeAnswer {
  const out = answerSections(zone, qname, qtype, dnssec, options);
  if (dnssec) for (const section of [out.answer, out.authority, out.additional]) matchSignatureTtls(section);
  return out;
}

export interface AnswerOptions {
  /**
   * RFC 8482 §4.1: answer ANY with one RRset (and its RRSIGs) instead of all of them, as BIND's
   * `minimal-any` does; the server asks for it over UDP, where ANY is an amplification tool.
   */
  readonly minimalAny?: boolean;
}

/**
 * RFC 4034 §3 / RFC 4035 §3.1.3: an RRSIG's TTL is its RRset's TTL as it is sent. The SOA of a
 * negative answer carries the negative TTL (RFC 2308 §3), so its RRSIG is lowered to match;
 * done once over the finished sections so that no path can leave a signature behind.
 */
function matchSignatureTtls(section: ResourceRecord[]): void {
  let ttls: Map<string, number> | undefined;
  for (let i = 0; i < section.length; i++) {
    const sig = section[i]!;
    if (sig.type !== RRType.RRSIG || sig.rdata.length < 2) continue;
    if (!ttls) {
      ttls = new Map();
      for (const r of section) if (r.type !== RRType.RRSIG) ttls.set(`${r.name.key}/${r.type}`, Math.min(r.ttl, ttls.get(`${r.name.key}/${r.type}`) ?? Infinity));
    }
    const ttl = ttls.get(`${sig.name.key}/${(sig.rdata[0]! << 8) | sig.rdata[1]!}`);
    if (ttl !== undefined && ttl !== sig.ttl) section[i] = { ...sig, ttl };
  }
}

function answerSections(zone: ZoneData, qname: Name, qtype: number, dnssec: boolean, options: AnswerOptions): AuthoritativeAnswer {
  const out: AuthoritativeAnswer = { rcode: Rcode.NOERROR, aa: true, answer: [], authority: [], additional: [] };
  const proofs = new DenialProofs(zone, dnssec && zone.isSigned, out);
  const addSet = (section: ResourceRecord[], set: ZoneRrset, owner?: Name) => {
    if (owner && !owner.equals(set.name)) {
      for (const r of set.records) section.push({ ...r, name: owner });
      if (proofs.enabled) for (const s of set.sigs) section.push({ ...s, name: owner });
      return;
    }
    section.push(...set.records);
    if (proofs.enabled) section.push(...set.sigs);
  };

  let name = qname;
  for (let links = 0; ; links++) {
    const cut = zone.findCut(name);
    if (cut && !(cut.name.equals(name) && qtype === RRType.DS)) {
      if (out.answer.length === 0) referral(zone, cut, out, proofs);
      return out;
    }
    const node = zone.node(name);
    if (node) {
      if (qtype === RRType.ANY) {
        for (const set of anySets(node.rrsets.values(), options)) addSet(out.answer, set);
        if (out.answer.length === 0) proofs.noData(name, node);
        return out;
      }
      const set = node.rrsets.get(qtype);
      if (set) {
        addSet(out.answer, set);
        addAdditional(zone, set, out, proofs.enabled);
        return out;
      }
      const cname = node.rrsets.get(RRType.CNAME);
      if (cname && qtype !== RRType.CNAME) {
        addSet(out.answer, cname);
        const target = decodeRdata(RRType.CNAME, cname.records[0]!.rdata)['target'] as Name;
        if (!target.isSubdomainOf(zone.origin) || links >= MAX_CNAME_CHAIN) return out;
        name = target;
        continue;
      }
      proofs.noData(name, node);
      return out;
    }
    if (zone.exists(name)) {
      proofs.noData(name, undefined);
      return out;
    }
    // The name does not exist: find its closest encloser and the wildcard below it.
    let encloser = name.parent();
    while (!zone.exists(encloser)) encloser = encloser.parent();
    const wildcardName = encloser.prepend('*');
    const wildcard = zone.node(wildcardName);
    if (wildcard) {
      out.wildcard = wildcardName;
      const set = qtype === RRType.ANY ? undefined : wildcard.rrsets.get(qtype);
      if (qtype === RRType.ANY) for (const s of anySets(wildcard.rrsets.values(), options)) addSet(out.answer, s, name);
      if (set) {
        addSet(out.answer, set, name);
        addAdditional(zone, set, out, proofs.enabled);
      }
      if (set || qtype === RRType.ANY) {
        proofs.wildcardAnswer(name, encloser);
        return out;
      }
      const cname = wildcard.rrsets.get(RRType.CNAME);
      if (cname) {
        addSet(out.answer, cname, name);
        proofs.wildcardAnswer(name, encloser);
        const target = decodeRdata(RRType.CNAME, cname.records[0]!.rdata)['target'] as Name;
        if (!target.isSubdomainOf(zone.origin) || links >= MAX_CNAME_CHAIN) return out;
        name = target;
        continue;
      }
      proofs.wildcardNoData(name, encloser, wildcard);
      return out;
    }
    if (zone.exists(wildcardName)) {
      proofs.wildcardNoData(name, encloser, undefined);
      return out;
    }
    out.rcode = Rcode.NXDOMAIN;
    proofs.nameError(name, encloser);
    return out;
  }
}

/**
 * The RRsets an ANY question gets: all, or under `minimalAny` one of them. The one chosen is the
 * first in type order that is not DNSSEC machinery (NSEC/NSEC3 are proofs, not data), so the
 * same question always gets the same, small answer.
 */
function anySets(sets: Iterable<ZoneRrset>, options: AnswerOptions): ZoneRrset[] {
  const all = [...sets];
  if (!options.minimalAny) return all;
  const data = all.filter((s) => s.type !== RRType.NSEC && s.type !== RRType.NSEC3).sort((a, b) => a.type - b.type);
  return data.slice(0, 1);
}

function referral(zone: ZoneData, cut: ZoneNode, out: AuthoritativeAnswer, proofs: DenialProofs): void {
  out.aa = false;
  const ns = cut.rrsets.get(RRType.NS)!;
  out.authority.push(...ns.records);
  const ds = cut.rrsets.get(RRType.DS);
  if (proofs.enabled) {
    if (ds) out.authority.push(...ds.records, ...ds.sigs);
    else proofs.noDs(cut);
  }
  addAdditional(zone, ns, out, false);
}

/** Addresses of the names an NS, MX or SRV RRset points at, from this zone (glue included). */
function addAdditional(zone: ZoneData, set: ZoneRrset, out: AuthoritativeAnswer, withSigs: boolean): void {
  const field = set.type === RRType.NS ? 'nsdname' : set.type === RRType.MX ? 'exchange' : set.type === RRType.SRV ? 'target' : undefined;
  if (!field) return;
  const seen = new Set<string>();
  for (const r of set.records) {
    const target = decodeRdata(set.type, r.rdata)[field] as Name;
    if (seen.has(target.key) || !target.isSubdomainOf(zone.origin)) continue;
    seen.add(target.key);
    const glue = zone.findCut(target) !== undefined;
    for (const type of [RRType.A, RRType.AAAA]) {
      const addr = zone.rrset(target, type);
      if (!addr) continue;
      out.additional.push(...addr.records);
      if (withSigs && !glue) out.additional.push(...addr.sigs);
    }
  }
}

/** The NSEC or NSEC3 records (with RRSIGs) that prove what a response says does not exist. */
class DenialProofs {
  readonly enabled: boolean;
  private readonly nsec3: boolean;
  private readonly added = new Set<string>();

  constructor(
    private readonly zone: ZoneData,
    dnssec: boolean,
    private readonly out: AuthoritativeAnswer,
  ) {
    this.enabled = dnssec;
    this.nsec3 = zone.nsec3Params !== undefined;
  }

  private soa(): void {
    const soa = this.zone.rrset(this.zone.origin, RRType.SOA)!;
    const ttl = this.zone.negativeTtl;
    this.out.authority.push(...soa.records.map((r) => ({ ...r, ttl })));
    if (this.enabled) this.out.authority.push(...soa.sigs);
  }

  private add(set: ZoneRrset | undefined): void {
    if (!set || this.added.has(`${set.name.key}/${set.type}`)) return;
    this.added.add(`${set.name.key}/${set.type}`);
    this.out.authority.push(...set.records, ...set.sigs);
  }

  private nsecAt(name: Name): ZoneRrset | undefined {
    return this.zone.rrset(name, RRType.NSEC);
  }

  private nsecCovering(name: Name): ZoneRrset | undefined {
    return this.zone.predecessor(name, (n) => n.rrsets.has(RRType.NSEC))?.rrsets.get(RRType.NSEC);
  }

  private hash(name: Name): Uint8Array {
    const p = this.zone.nsec3Params!;
    return nsec3Hash(name.wire, p.salt, p.iterations);
  }

  private nsec3Matching(name: Name): ZoneRrset | undefined {
    return this.zone.nsec3Matching(this.hash(name));
  }

  private nsec3Covering(name: Name): ZoneRrset | undefined {
    return this.zone.nsec3Covering(this.hash(name));
  }

  /**
   * RFC 5155 §7.2.1: the NSEC3 matching the closest (provable) encloser and the one covering
   * the next closer name. Starts at `encloser` and walks up past names without an NSEC3 of
   * their own (empty non-terminals above Opt-Out delegations). Returns the encloser used.
   */
  private closestEncloserProof(name: Name, encloser: Name): Name {
    let ce = encloser;
    while (!this.nsec3Matching(ce) && ce.labelCount > this.zone.origin.labelCount) ce = ce.parent();
    this.add(this.nsec3Matching(ce));
    this.add(this.nsec3Covering(name.parent(name.labelCount - ce.labelCount - 1)));
    return ce;
  }

  /** NODATA: the SOA, and the NSEC at the name (covering it for an empty non-terminal) or the matching NSEC3. */
  noData(name: Name, node: ZoneNode | undefined): void {
    this.soa();
    if (!this.enabled) return;
    if (!this.nsec3) {
      this.add(node ? this.nsecAt(name) : this.nsecCovering(name));
      return;
    }
    const match = this.nsec3Matching(name);
    if (match) this.add(match);
    // RFC 5155 §7.2.4: no NSEC3 for the name (an Opt-Out delegation's DS, or an empty
    // non-terminal left out by Opt-Out): prove the closest provable encloser instead.
    else if (name.labelCount > this.zone.origin.labelCount) this.closestEncloserProof(name, name.parent());
  }

  /** Referral to an unsigned child: prove there is no DS (RFC 4035 §3.1.4, RFC 5155 §7.2.7). */
  noDs(cut: ZoneNode): void {
    if (!this.nsec3) {
      this.add(this.nsecAt(cut.name));
      return;
    }
    const match = this.nsec3Matching(cut.name);
    if (match) this.add(match);
    else this.closestEncloserProof(cut.name, cut.name.parent());
  }

  /** NXDOMAIN: the SOA, and that neither the name nor the wildcard at its closest encloser exists. */
  nameError(name: Name, encloser: Name): void {
    this.soa();
    if (!this.enabled) return;
    if (!this.nsec3) {
      this.add(this.nsecCovering(name));
      this.add(this.nsecCovering(encloser.prepend('*')));
      return;
    }
    const ce = this.closestEncloserProof(name, encloser);
    this.add(this.nsec3Covering(ce.prepend('*')));
  }

  /** A wildcard expansion: the name itself does not exist (RFC 4035 §3.1.3.3, RFC 5155 §7.2.6). */
  wildcardAnswer(name: Name, encloser: Name): void {
    if (!this.enabled) return;
    if (!this.nsec3) this.add(this.nsecCovering(name));
    else this.add(this.nsec3Covering(name.parent(name.labelCount - encloser.labelCount - 1)));
  }

  /** A wildcard without the type (RFC 4035 §3.1.3.4, RFC 5155 §7.2.5). */
  wildcardNoData(name: Name, encloser: Name, wildcard: ZoneNode | undefined): void {
    this.soa();
    if (!this.enabled) return;
    const wildcardName = encloser.prepend('*');
    if (!this.nsec3) {
      this.add(this.nsecCovering(name));
      this.add(wildcard ? this.nsecAt(wildcardName) : this.nsecCovering(wildcardName));
      return;
    }
    this.closestEncloserProof(name, encloser);
    this.add(this.nsec3Matching(wildcardName));
  }
}
