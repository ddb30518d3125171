import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { groupRrsets } from '../wire/rrsets.js';
import { buildNsecChain } from './nsec-chain.js';
import { buildNsec3Chain, nsec3ParamRecord } from './nsec3-chain.js';
import { type SignatureWindow, type SigningKey, signRrset } from './rrset-signer.js';

export interface ZoneSigningKey extends SigningKey {
  readonly dnskeyRdata: Uint8Array;
  /** A KSK signs the DNSKEY RRset; a ZSK everything else. A zone with no ZSK signs all with its KSKs. */
  readonly role: 'ksk' | 'zsk';
  /**
   * False for a key that is only published (a standby KSK, a pre-published next ZSK): its
   * DNSKEY is in the zone but it makes no signatures. Default true.
   */
  readonly signs?: boolean;
}

export interface ZoneSigningOptions {
  readonly zone: Name;
  readonly keys: readonly ZoneSigningKey[];
  readonly window: SignatureWindow;
  readonly dnskeyTtl?: number;
}

export type DenialOfExistence =
  | { readonly kind: 'nsec' }
  | { readonly kind: 'nsec3'; readonly iterations: number; readonly salt: Uint8Array; readonly optOut: boolean };

/** Progress of a signing run: RRsets signed so far of the total. */
export type SigningProgress = (signed: number, total: number) => void;

export interface FullZoneSigningOptions {
  readonly zone: Name;
  readonly keys: readonly ZoneSigningKey[];
  /** Signature windows: the DNSKEY RRset's, DS RRsets', and everything else's. */
  readonly windows: { readonly dnskey: SignatureWindow; readonly ds: SignatureWindow; readonly other: SignatureWindow };
  readonly denial: DenialOfExistence;
  readonly dnskeyTtl?: number;
  readonly onProgress?: SigningProgress;
  /** Call onProgress every this many RRsets (default 10 000). */
  readonly progressEvery?: number;
}

const DNSSEC_TYPES = new Set<number>([RRType.RRSIG, RRType.NSEC, RRType.NSEC3, RRType.NSEC3PARAM, RRType.DNSKEY]);

/**
 * Signs a whole zone with an NSEC chain (RFC 4035 §2): DNSKEY RRset added, every
 * authoritative RRset signed, delegation NS and glue left unsigned (§2.2), NSEC TTL the
 * lesser of the SOA minimum and the SOA TTL (RFC 9077).
 */
export function signZoneWithNsec(records: readonly ResourceRecord[], options: ZoneSigningOptions): ResourceRecord[] {
  const w = options.window;
  return signZone(records, {
    zone: options.zone,
    keys: options.keys,
    windows: { dnskey: w, ds: w, other: w },
    denial: { kind: 'nsec' },
    ...(options.dnskeyTtl === undefined ? {} : { dnskeyTtl: options.dnskeyTtl }),
  });
}

/** The names of a zone as the signer sees them: where authority ends and what is glue. */
export interface ZoneShape {
  /** Delegation points (NS below the apex). */
  isCut(name: Name): boolean;
  /** Below a delegation point: glue or occluded data, neither signed nor in a chain. */
  isBelowCut(name: Name): boolean;
}

export function zoneShape(zone: Name, records: readonly ResourceRecord[]): ZoneShape {
  const cuts = new Set<string>();
  for (const r of records) if (r.type === RRType.NS && !r.name.equals(zone)) cuts.add(r.name.key);
  const isBelowCut = (n: Name): boolean => {
    if (cuts.size === 0) return false;
    for (let up = n.labelCount - zone.labelCount - 1; up >= 1; up--) if (cuts.has(n.parent(up).key)) return true;
    return false;
  };
  return { isCut: (n) => cuts.has(n.key), isBelowCut };
}

/**
 * Signs a whole zone (RFC 4035 §2, RFC 5155 §7.1): any old DNSSEC records are dropped, the
 * DNSKEY RRset of every key is added, the NSEC or NSEC3 chain (with NSEC3PARAM) is built, and
 * every authoritative RRset is signed: the DNSKEY RRset by the signing KSKs, everything else
 * by the signing ZSKs (by the KSKs when there is none), with the DNSKEY, DS and other windows.
 * Delegation NS RRsets and glue stay unsigned (§2.2). NSEC/NSEC3 TTL is the lesser of the SOA
 * minimum and the SOA TTL (RFC 9077).
 */
export function signZone(records: readonly ResourceRecord[], options: FullZoneSigningOptions, plan = planZoneSigning(records, options)): ResourceRecord[] {
  const signatures: ResourceRecord[] = [];
  const every = options.progressEvery ?? 10_000;
  plan.jobs.forEach((job, i) => {
    if (options.onProgress && i > 0 && i % every === 0) options.onProgress(i, plan.jobs.length);
    signatures.push(signRrset(job.rrset, job.key, job.window));
  });
  options.onProgress?.(plan.jobs.length, plan.jobs.length);
  return [...plan.records, ...signatures];
}

/** One signature to make: which RRset, with which key, valid when. */
export interface SigningJob {
  readonly rrset: readonly ResourceRecord[];
  readonly key: ZoneSigningKey;
  readonly window: SignatureWindow;
}

/** A zone ready to sign: its records with DNSKEYs and the NSEC/NSEC3 chain added, and the signatures to make. */
export interface ZoneSigningPlan {
  readonly records: ResourceRecord[];
  readonly jobs: SigningJob[];
}

/** Everything `signZone` does except making the signatures (which `parallel-signer.ts` spreads over threads). */
export function planZoneSigning(records: readonly ResourceRecord[], options: Omit<FullZoneSigningOptions, 'onProgress' | 'progressEvery'>): ZoneSigningPlan {
  const { zone, keys, windows, denial } = options;
  const inZone = records.filter((r) => r.name.isSubdomainOf(zone) && !DNSSEC_TYPES.has(r.type));
  const soa = inZone.find((r) => r.type === RRType.SOA && r.name.equals(zone));
  if (!soa) throw new Error(`zone ${zone.toString()} has no SOA at its apex`);
  if (keys.length === 0) throw new Error(`zone ${zone.toString()}: no keys to sign with`);
  const soaMinimum = decodeRdata(RRType.SOA, soa.rdata)['minimum'] as number;
  const negativeTtl = Math.min(soaMinimum, soa.ttl);
  const dnskeys: ResourceRecord[] = keys.map((k) => ({ name: zone, type: RRType.DNSKEY, class: soa.class, ttl: options.dnskeyTtl ?? soa.ttl, rdata: k.dnskeyRdata }));
  const all = [...inZone, ...dnskeys];
  if (denial.kind === 'nsec3') all.push(nsec3ParamRecord(zone, soa.class, denial.iterations, denial.salt));

  const shape = zoneShape(zone, all);
  const owners = new Map<string, { name: Name; types: Set<number> }>();
  for (const r of all) {
    if (shape.isBelowCut(r.name)) continue;
    const o = owners.get(r.name.key) ?? { name: r.name, types: new Set<number>() };
    o.types.add(r.type);
    owners.set(r.name.key, o);
  }
  let chain: ResourceRecord[];
  if (denial.kind === 'nsec') {
    chain = buildNsecChain([...owners.values()], negativeTtl, soa.class);
  } else {
    chain = buildNsec3Chain(
      zone,
      [...owners.values()].map((o) => {
        const insecure = shape.isCut(o.name) && !o.types.has(RRType.DS);
        return { name: o.name, types: insecure ? o.types : new Set([...o.types, RRType.RRSIG]), insecureDelegation: insecure };
      }),
      { iterations: denial.iterations, salt: denial.salt, optOut: denial.optOut, ttl: negativeTtl, class: soa.class },
    );
  }

  const signing = keys.filter((k) => k.signs !== false);
  const ksks = signing.filter((k) => k.role === 'ksk');
  const zsks = signing.some((k) => k.role === 'zsk') ? signing.filter((k) => k.role === 'zsk') : ksks;
  if (ksks.length === 0) throw new Error(`zone ${zone.toString()}: no active KSK to sign the DNSKEY RRset with`);
  const jobs: SigningJob[] = [];
  for (const rrset of groupRrsets([...all, ...chain])) {
    const { name, type } = rrset[0]!;
    if (type !== RRType.NSEC3 && shape.isBelowCut(name)) continue;
    if (shape.isCut(name) && type !== RRType.DS && type !== RRType.NSEC) continue;
    const window = type === RRType.DNSKEY ? windows.dnskey : type === RRType.DS ? windows.ds : windows.other;
    for (const key of type === RRType.DNSKEY ? ksks : zsks) jobs.push({ rrset, key, window });
  }
  return { records: [...all, ...chain], jobs };
}
