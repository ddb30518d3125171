import type { Message, ResourceRecord } from '../wire/message.js';
import { Rcode } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';

/** One RRset of a response with the RRSIGs that cover it. */
export interface SignedRrset {
  readonly records: ResourceRecord[];
  readonly rrsigs: ResourceRecord[];
  /** A CNAME made from a DNAME here, not received: never cached (RFC 6672 §3.4). */
  readonly synthesised?: boolean;
}

export type Classified =
  | { kind: 'answer'; rrsets: SignedRrset[]; proofs: ResourceRecord[] }
  | { kind: 'cname'; rrsets: SignedRrset[]; target: Name; proofs: ResourceRecord[] }
  | { kind: 'referral'; zone: Name; ns: SignedRrset; nsNames: Name[]; glue: SignedRrset[]; ds: SignedRrset[]; proofs: ResourceRecord[] }
  | { kind: 'nxdomain' | 'nodata'; authority: ResourceRecord[]; negativeTtl: number }
  | { kind: 'lame'; reason: string };

const coveredType = (sig: ResourceRecord) => (sig.rdata[0]! << 8) | sig.rdata[1]!;

/** NSEC, NSEC3 and the RRSIGs over them. */
export function isDenialRecord(rr: ResourceRecord): boolean {
  return rr.type === RRType.NSEC || rr.type === RRType.NSEC3 || (rr.type === RRType.RRSIG && (coveredType(rr) === RRType.NSEC || coveredType(rr) === RRType.NSEC3));
}

/** Groups a section into RRsets, attaching each RRSIG to the RRset it covers. */
export function signedRrsets(section: readonly ResourceRecord[]): SignedRrset[] {
  const sets = new Map<string, SignedRrset>();
  const sigs: ResourceRecord[] = [];
  for (const rr of section) {
    if (rr.type === RRType.RRSIG) {
      sigs.push(rr);
      continue;
    }
    const key = `${rr.name.key}/${rr.type}`;
    const set = sets.get(key);
    if (set) {
      if (!set.records.some((r) => r.rdata.length === rr.rdata.length && Buffer.compare(r.rdata, rr.rdata) === 0)) set.records.push(rr);
    } else sets.set(key, { records: [rr], rrsigs: [] });
  }
  for (const sig of sigs) sets.get(`${sig.name.key}/${coveredType(sig)}`)?.rrsigs.push(sig);
  return [...sets.values()];
}

/**
 * RFC 6672 §2.2: the CNAME a DNAME implies for `qname`, or undefined when the result would
 * be longer than 255 octets.
 */
export function synthesiseFromDname(dname: ResourceRecord, qname: Name): ResourceRecord | undefined {
  const target = decodeRdata(RRType.DNAME, dname.rdata)['target'] as Name;
  const keep = qname.labels().slice(0, qname.labelCount - dname.name.labelCount);
  try {
    const synthesised = Name.fromLabels([...keep, ...target.labels()]);
    const rdata = new Uint8Array(synthesised.wire);
    return { name: qname, type: RRType.CNAME, class: dname.class, ttl: dname.ttl, rdata };
  } catch {
    return undefined;
  }
}

function negativeTtl(soa: ResourceRecord | undefined): number {
  if (!soa) return 0;
  const minimum = decodeRdata(RRType.SOA, soa.rdata)['minimum'] as number;
  return Math.min(soa.ttl, minimum); // RFC 2308 §5
}

/**
 * Sorts one upstream response for `qname`/`qtype` asked of a server for `zone`. Only data
 * in the server's bailiwick is kept (anything else is dropped, never cached); a referral
 * must point down toward `qname`; anything that is neither answer, referral nor negative
 * answer is lame.
 */
export function classifyResponse(r: Message, qname: Name, qtype: number, zone: Name): Classified {
  if (r.rcode !== Rcode.NOERROR && r.rcode !== Rcode.NXDOMAIN) return { kind: 'lame', reason: `rcode ${r.rcode}` };
  // Records of another class than the question's are strays: dropped, never mixed into its RRsets.
  const qclass = r.question?.[0]?.class ?? 1;
  const inZone = (rr: ResourceRecord) => rr.class === qclass && rr.name.isSubdomainOf(zone);
  const answers = signedRrsets(r.answer.filter(inZone));
  // NSEC/NSEC3 beside a positive answer prove that a wildcard was the closest match (RFC 4035 §3.1.3.3).
  const proofs = r.answer.length > 0 ? r.authority.filter((rr) => inZone(rr) && isDenialRecord(rr)) : [];

  // RRSIGs asked for as such are an answer of their own, not signatures over one (RFC 4035 §5.3: never validated as an RRset).
  const sigs = qtype === RRType.RRSIG ? r.answer.filter((rr) => rr.type === RRType.RRSIG && rr.name.equals(qname) && inZone(rr)) : [];
  if (sigs.length > 0) return { kind: 'answer', rrsets: [{ records: sigs, rrsigs: [] }], proofs };

  // Follow the chain from qname through the answer section, as far as it goes.
  const chain: SignedRrset[] = [];
  let name = qname;
  for (let i = 0; i < 16; i++) {
    const exact = answers.find((s) => s.records[0]!.name.equals(name) && (s.records[0]!.type === qtype || qtype === RRType.ANY));
    if (exact) {
      chain.push(exact);
      return { kind: 'answer', rrsets: chain, proofs };
    }
    // A DNAME wins over the CNAME a server synthesised from it (RFC 6672 §3.4): we make our own.
    const dname = answers.find((s) => s.records[0]!.type === RRType.DNAME && name.isSubdomainOf(s.records[0]!.name) && !name.equals(s.records[0]!.name));
    const cname = dname ? undefined : answers.find((s) => s.records[0]!.name.equals(name) && s.records[0]!.type === RRType.CNAME);
    if (!cname && !dname) break;
    let target: Name;
    if (dname) {
      const synthesised = synthesiseFromDname(dname.records[0]!, name);
      if (!synthesised) return { kind: 'lame', reason: 'DNAME substitution longer than 255 octets' };
      chain.push(dname, { records: [synthesised], rrsigs: [], synthesised: true });
      target = decodeRdata(RRType.CNAME, synthesised.rdata)['target'] as Name;
    } else {
      chain.push(cname!);
      target = decodeRdata(RRType.CNAME, cname!.records[0]!.rdata)['target'] as Name;
    }
    if (!target.isSubdomainOf(zone) || i === 15) return { kind: 'cname', rrsets: chain, target, proofs };
    name = target;
  }
  if (chain.length > 0) return { kind: 'cname', rrsets: chain, target: name, proofs };

  const authority = r.authority.filter(inZone);
  const soa = authority.find((rr) => rr.type === RRType.SOA && qname.isSubdomainOf(rr.name));
  const denial = authority.filter((rr) => rr.type === RRType.SOA || rr.type === RRType.NSEC || rr.type === RRType.NSEC3 || rr.type === RRType.RRSIG);
  if (r.rcode === Rcode.NXDOMAIN) return { kind: 'nxdomain', authority: soa ? denial : [], negativeTtl: negativeTtl(soa) };

  const nsSets = signedRrsets(authority).filter((s) => s.records[0]!.type === RRType.NS);
  const referral = nsSets.find((s) => {
    const cut = s.records[0]!.name;
    return !cut.equals(zone) && qname.isSubdomainOf(cut);
  });
  // A referral with AA set (servers that also load the child, or just broken) is still a
  // referral, unless an SOA says the server answered from the zone itself (RFC 1034 §4.3.2).
  if (referral && (!r.aa || !soa)) {
    const cut = referral.records[0]!.name;
    const nsNames = referral.records.map((rr) => decodeRdata(RRType.NS, rr.rdata)['nsdname'] as Name);
    const glue = signedRrsets(r.additional.filter((rr) => (rr.type === RRType.A || rr.type === RRType.AAAA) && inZone(rr) && nsNames.some((n) => n.equals(rr.name))));
    const dsAndProofs = signedRrsets(authority.filter((rr) => rr.name.isSubdomainOf(zone)));
    return {
      kind: 'referral',
      zone: cut,
      ns: referral,
      nsNames,
      glue,
      ds: dsAndProofs.filter((s) => s.records[0]!.type === RRType.DS && s.records[0]!.name.equals(cut)),
      proofs: authority.filter(isDenialRecord),
    };
  }
  if (soa) return { kind: 'nodata', authority: denial, negativeTtl: negativeTtl(soa) };
  // NS for the zone's parent or any other zone but a child on the way to the name: an upward or
  // sideways referral, which is lame (the server does not serve the zone), AA or not.
  const strayReferral = r.authority.some((rr) => rr.type === RRType.NS && !rr.name.equals(zone) && !(rr.name.isSubdomainOf(zone) && qname.isSubdomainOf(rr.name)));
  if (strayReferral) return { kind: 'lame', reason: 'referral that does not lead toward the name' };
  if (r.aa) return { kind: 'nodata', authority: [], negativeTtl: 0 };
  if (nsSets.length > 0) return { kind: 'lame', reason: 'referral that does not lead toward the name' };
  return { kind: 'lame', reason: 'neither answer, referral nor negative answer' };
}
