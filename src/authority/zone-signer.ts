import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { buildNsecChain } from './nsec-chain.js';
import { type SignatureWindow, type SigningKey, signRrset } from './rrset-signer.js';
import { groupRrsets } from '../wire/rrsets.js';

export interface ZoneSigningKey extends SigningKey {
  readonly dnskeyRdata: Uint8Array;
  /** A KSK signs the DNSKEY RRset; a ZSK everything else. A zone with no ZSK signs all with its KSKs. */
  readonly role: 'ksk' | 'zsk';
}

export interface ZoneSigningOptions {
  readonly zone: Name;
  readonly keys: readonly ZoneSigningKey[];
  readonly window: SignatureWindow;
  readonly dnskeyTtl?: number;
}

const DNSSEC_TYPES = new Set<number>([RRType.RRSIG, RRType.NSEC, RRType.NSEC3, RRType.NSEC3PARAM, RRType.DNSKEY]);

/**
 * Signs a whole zone with an NSEC chain (RFC 4035 §2): DNSKEY RRset added, every
 * authoritative RRset signed, delegation NS and glue left unsigned (§2.2), NSEC TTL the
 * lesser of the SOA minimum and the SOA TTL (RFC 9077).
 */
export function signZoneWithNsec(records: readonly ResourceRecord[], options: ZoneSigningOptions): ResourceRecord[] {
  const { zone, keys, window } = options;
  const inZone = records.filter((r) => r.name.isSubdomainOf(zone) && !DNSSEC_TYPES.has(r.type));
  const soa = inZone.find((r) => r.type === RRType.SOA && r.name.equals(zone));
  if (!soa) throw new Error(`zone ${zone.toString()} has no SOA at its apex`);
  const soaMinimum = decodeRdata(RRType.SOA, soa.rdata)['minimum'] as number;
  const dnskeys: ResourceRecord[] = keys.map((k) => ({ name: zone, type: RRType.DNSKEY, class: soa.class, ttl: options.dnskeyTtl ?? soa.ttl, rdata: k.dnskeyRdata }));
  const all = [...inZone, ...dnskeys];

  const cuts = all.filter((r) => r.type === RRType.NS && !r.name.equals(zone)).map((r) => r.name);
  const isBelowCut = (n: Name) => cuts.some((c) => !n.equals(c) && n.isSubdomainOf(c));
  const isCut = (n: Name) => cuts.some((c) => n.equals(c));

  const owners = new Map<string, { name: Name; types: Set<number> }>();
  for (const r of all) {
    if (isBelowCut(r.name)) continue;
    const o = owners.get(r.name.key) ?? { name: r.name, types: new Set<number>() };
    o.types.add(r.type);
    owners.set(r.name.key, o);
  }
  const nsecs = buildNsecChain([...owners.values()], Math.min(soaMinimum, soa.ttl), soa.class);

  const ksks = keys.filter((k) => k.role === 'ksk');
  const zsks = keys.some((k) => k.role === 'zsk') ? keys.filter((k) => k.role === 'zsk') : ksks;
  const signatures: ResourceRecord[] = [];
  for (const rrset of groupRrsets([...all, ...nsecs])) {
    const { name, type } = rrset[0]!;
    if (isBelowCut(name)) continue;
    if (isCut(name) && type !== RRType.DS && type !== RRType.NSEC) continue;
    for (const key of type === RRType.DNSKEY ? ksks : zsks) signatures.push(signRrset(rrset, key, window));
  }
  return [...all, ...nsecs, ...signatures];
}
