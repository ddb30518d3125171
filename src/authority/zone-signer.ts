import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { groupRrsets } from '../wire/rrsets.js';
import { buildNsecChain } from './nsec-chain.js';
import { buildNsec3Chain, nsec3ParamRecord } from './nsec3-chain.js';
import { type SignatureWindow, type SigningKey, signRrset } from './rrset-signer.js';
import { rrsetSigners, signersOf } from './signing-key-rule.js';

export interface ZoneSigningKey extends SigningKey {
  readonly dnskeyRdata: Uint8Array;
  /** A KSK signs the DNSKEY RRset; a ZSK everything else. A zone with no ZSK signs all with its KSKs. */
  readonly role: 'ksk' | 'zsk';
  /**
   * False for a key that is only published (a standby KSK, a pre-published next ZSK): its
   * DNSKEY is in the zone but it makes no signatures. Default true.
   */
  readonly signs?: boolean;
  /**
   * False for a key that signs without its DNSKEY in the DNSKEY RRset (an algorithm rollover's
   * new keys before they are published, its old ones after: RFC 6781 §4.1.4). Default true.
   */
  readonly published?: boolean;
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
  // No cuts, no key to make: an NSEC3 owner's key would be built for this question alone.
  return { isCut: (n) => cuts.size !== 0 && cuts.has(n.key), isBelowCut };
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

/**
 * The validity window of a signature over an RRset of `type`, whichever key makes it (every
 * signing path uses this): the DNSKEY window for the DNSKEY RRset, the DS window for DS RRsets,
 * the other window for everything else, CDS and CDNSKEY included (by the ZSK and the KSK alike).
 */
export function signatureWindow(windows: FullZoneSigningOptions['windows'], type: number): SignatureWindow {
  return type === RRType.DNSKEY ? windows.dnskey : type === RRType.DS ? windows.ds : windows.other;
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
  return completePlan(stageZoneSigning(records, options));
}

/**
 * A zone plan in two steps, so that signing the zone's data can start on other threads
 * while this one builds the NSEC/NSEC3 chain (the longest step before the first signature).
 */
export interface StagedZoneSigning {
  /** The zone's records with the DNSKEYs (and NSEC3PARAM) added, and their signatures. */
  readonly data: ZoneSigningPlan;
  /** Names the chain will cover (NSEC3 adds empty non-terminals, Opt-Out leaves some out): a size estimate. */
  readonly chainOwners: number;
  /** Builds the NSEC or NSEC3 chain: its records and their signatures. Call once. */
  chain(): ZoneSigningPlan;
}

/** `data` then `chain()`: the plan `planZoneSigning` returns, records and jobs in the same order. */
export function completePlan(staged: StagedZoneSigning): ZoneSigningPlan {
  const chain = staged.chain();
  return { records: [...staged.data.records, ...chain.records], jobs: [...staged.data.jobs, ...chain.jobs] };
}

/**
 * The first step of `planZoneSigning`. The chain's records are NSEC or NSEC3, which the data
 * never holds (old DNSSEC records are dropped), so grouping data and chain apart gives the
 * RRsets, and so the jobs, in the order grouping them together would.
 */
export function stageZoneSigning(records: readonly ResourceRecord[], options: Omit<FullZoneSigningOptions, 'onProgress' | 'progressEvery'>): StagedZoneSigning {
  const { zone, keys, windows, denial } = options;
  const inZone = records.filter((r) => r.name.isSubdomainOf(zone) && !DNSSEC_TYPES.has(r.type));
  const soa = inZone.find((r) => r.type === RRType.SOA && r.name.equals(zone));
  if (!soa) throw new Error(`zone ${zone.toString()} has no SOA at its apex`);
  if (keys.length === 0) throw new Error(`zone ${zone.toString()}: no keys to sign with`);
  const soaMinimum = decodeRdata(RRType.SOA, soa.rdata)['minimum'] as number;
  const negativeTtl = Math.min(soaMinimum, soa.ttl);
  const dnskeys: ResourceRecord[] = keys.filter((k) => k.published !== false).map((k) => ({ name: zone, type: RRType.DNSKEY, class: soa.class, ttl: options.dnskeyTtl ?? soa.ttl, rdata: k.dnskeyRdata }));
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

  // Which keys sign what: one rule for every signing path (signing-key-rule.ts).
  const signers = rrsetSigners(keys);
  if (signers.dnskey.length === 0) throw new Error(`zone ${zone.toString()}: no active KSK to sign the DNSKEY RRset with`);
  const jobsOf = (rrsets: ResourceRecord[][]): SigningJob[] => {
    const jobs: SigningJob[] = [];
    for (const rrset of rrsets) {
      const { name, type } = rrset[0]!;
      if (type !== RRType.NSEC3 && shape.isBelowCut(name)) continue;
      if (shape.isCut(name) && type !== RRType.DS && type !== RRType.NSEC) continue;
      const window = signatureWindow(windows, type);
      for (const key of signersOf(signers, zone, name, type)) jobs.push({ rrset, key, window });
    }
    return jobs;
  };

  let built = false;
  const chain = (): ZoneSigningPlan => {
    if (built) throw new Error('the chain of a staged zone is built once');
    built = true;
    let records: ResourceRecord[];
    if (denial.kind === 'nsec') {
      records = buildNsecChain([...owners.values()], negativeTtl, soa.class);
    } else {
      records = buildNsec3Chain(
        zone,
        [...owners.values()].map((o) => {
          const insecure = shape.isCut(o.name) && !o.types.has(RRType.DS);
          return { name: o.name, types: insecure ? o.types : new Set([...o.types, RRType.RRSIG]), insecureDelegation: insecure };
        }),
        { iterations: denial.iterations, salt: denial.salt, optOut: denial.optOut, ttl: negativeTtl, class: soa.class },
      );
    }
    // Every chain record has an owner of its own (one NSEC per name, one NSEC3 per distinct
    // hash), so each is its own RRset: grouping them would only cost a key per record.
    return { records, jobs: jobsOf(records.map((r) => [r])) };
  };
  return { data: { records: all, jobs: jobsOf(groupRrsets(all)) }, chainOwners: owners.size, chain };
}
