import type { LRUCache } from 'lru-cache';
import { type AggressiveDenial, nsec3Candidates, nsecCandidates, proveFromCache, proveWildcardFromCache } from '../dnssec/aggressive-denial.js';
import type { ValidationBudget } from '../dnssec/validation-budget.js';
import type { ResourceRecord } from '../wire/message.js';
import { Rcode } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { decodeRrsig } from '../wire/signed-data.js';
import { ENTRY_COST, type MemoryBudget, compactRecords, recordsCost, stringCost } from './memory-budget.js';

/** The NSEC/NSEC3 records (and SOA) of one secure denial, as the validator verified them with `zone`'s keys. */
export interface ProvenDenial {
  readonly zone: Name;
  /** Verified NSEC or NSEC3 records. */
  readonly records: readonly ResourceRecord[];
  /** The verified SOA of the zone, when the answer carried one. */
  readonly soa: readonly ResourceRecord[];
  /** The response's RRSIGs, among which those of the records. */
  readonly rrsigs: readonly ResourceRecord[];
  /** Seconds the proof may be kept: the lowest TTL, capped by the signatures' validity. */
  readonly ttl: number;
  /** For a wildcard answer: the expanded RRset, its RRSIGs and the wildcard's encloser (RFC 8198 §5.3). */
  readonly wildcard?: { readonly encloser: Name; readonly records: readonly ResourceRecord[]; readonly rrsigs: readonly ResourceRecord[]; readonly ttl: number };
}

/** One kept RRset (a range, or the zone's SOA) with the RRSIGs that sign it. */
interface Kept {
  readonly zone: Name;
  readonly record: ResourceRecord;
  /** A wildcard's RRset: all its records (`record` is the first). */
  readonly set?: readonly ResourceRecord[];
  readonly rrsigs: readonly ResourceRecord[];
  readonly storedAt: number;
  readonly expiresAt: number;
}

/** The owners of one zone's kept ranges in canonical order, to find the one at or before a name. */
interface ZoneIndex {
  readonly zone: Name;
  readonly owners: Name[];
  /** The zone's denial records as last learnt: NSEC, or NSEC3 with this record's parameters. */
  latest: ResourceRecord;
}

/** A synthesised answer (RFC 8198 §5): a denial with the SOA, or a wildcard expansion, with the proof records and their RRSIGs. */
export interface SynthesisedAnswer {
  readonly rcode: number;
  readonly kind: AggressiveDenial['kind'] | 'wildcard';
  readonly answer: ResourceRecord[];
  readonly authority: ResourceRecord[];
  readonly reason: string;
}

const SOA_KEY = '#soa';

/**
 * RFC 8198's cache of validated NSEC ranges: the NSEC records (and NSEC3 records without
 * opt-out) of secure negative answers and of secure wildcard answers, each kept until its TTL
 * runs out, charged to the `denial` share of the memory budget. A question whose name one of them
 * proves absent (or without its type) is answered from here with the proof, without an upstream
 * query: a random-subdomain flood under a signed zone reaches its servers about once per range.
 */
export class AggressiveNsecCache {
  private readonly kept: LRUCache<string, Kept>;
  private readonly zones = new Map<string, ZoneIndex>();
  synthesised = 0;

  /** `maxTtl`/`maxNegativeTtl`: resolver.cache's caps, for wildcard RRsets and for ranges. */
  constructor(memory: MemoryBudget, private readonly caps: { readonly maxTtl: number; readonly maxNegativeTtl: number }) {
    this.kept = memory.lru('denial', (k, key) => ENTRY_COST + stringCost(key) + 64 + recordsCost([...(k.set ?? [k.record]), ...k.rrsigs]));
  }

  /** Keeps what a secure answer's denial proofs showed (the caller checked the answer is secure). */
  learn(proofs: readonly ProvenDenial[], now: number): void {
    for (const p of proofs) {
      const soa = p.soa.find((r) => r.type === RRType.SOA && r.name.equals(p.zone));
      // RFC 9077: a range lives no longer than the zone's negative TTL, min(SOA TTL, MINIMUM).
      const ttl = Math.min(p.ttl, this.caps.maxNegativeTtl, ...(soa ? [soa.ttl, soaMinimum(soa)] : []));
      if (ttl <= 0) continue;
      for (const r of p.records) {
        if (r.type === RRType.NSEC3 && isOptOut(r)) continue; // RFC 8198 §6: opt-out spans may hide unsigned delegations
        this.keep(p.zone, r, p.rrsigs, ttl, now, r.name.key);
      }
      if (soa) this.keep(p.zone, soa, p.rrsigs, ttl, now, SOA_KEY);
      const w = p.wildcard;
      const first = w?.records[0];
      const wildcardTtl = Math.min(w?.ttl ?? 0, p.ttl, this.caps.maxTtl);
      if (w && first && wildcardTtl > 0) {
        const [set, sigs] = [compactRecords(w.records), compactRecords(w.rrsigs)];
        this.kept.set(`${p.zone.key}|${wildcardKey(w.encloser, first.type)}`, { zone: p.zone, record: set[0]!, set, rrsigs: sigs, storedAt: now, expiresAt: now + wildcardTtl * 1000 });
      }
    }
  }

  /** The denial for a question when kept ranges prove it, with every record's TTL as RFC 8198 §5.4 caps it. */
  answer(qname: Name, qtype: number, now: number, budget: ValidationBudget): SynthesisedAnswer | undefined {
    const index = this.deepestZone(qname);
    if (!index) return undefined;
    const atOrBefore = (name: Name) => this.atOrBefore(index, name, now);
    const byRecord = new Map<ResourceRecord, Kept>();
    const find = (n: Name) => {
      const k = atOrBefore(n);
      if (k) byRecord.set(k.record, k);
      return k?.record;
    };
    const records = index.latest.type === RRType.NSEC3 ? nsec3Candidates(qname, index.zone, index.latest, find, budget) : nsecCandidates(qname, index.zone, find);
    const kept = records.map((r) => byRecord.get(r)!);
    if (kept.length === 0 || kept.length > budget.limits.maxDenialRecords) return undefined;
    const soa = this.get(index.zone, SOA_KEY, now);
    // A negative answer carries the zone's SOA (RFC 2308 §3): none kept, none synthesised.
    const denial = soa && proveFromCache(qname, qtype, index.zone, kept.map((k) => k.record), budget);
    if (soa && denial) {
      const ttl = Math.min(soaMinimum(soa.record), ...[soa, ...kept].map((k) => remaining(k, now)));
      this.synthesised++;
      return { rcode: denial.kind === 'nxdomain' ? Rcode.NXDOMAIN : Rcode.NOERROR, kind: denial.kind, answer: [], authority: withTtl([soa, ...kept], ttl), reason: denial.outcome.reason };
    }
    return this.fromWildcard(qname, qtype, index.zone, kept, now, budget);
  }

  /** RFC 8198 §5.3: the expansion of a wildcard whose validated RRset is kept, when the ranges prove qname absent. */
  private fromWildcard(qname: Name, qtype: number, zone: Name, kept: readonly Kept[], now: number, budget: ValidationBudget): SynthesisedAnswer | undefined {
    for (let encloser = qname; encloser.labelCount > zone.labelCount; ) {
      encloser = encloser.parent(1);
      const wildcard = this.get(zone, wildcardKey(encloser, qtype), now);
      if (!wildcard) continue;
      const proof = proveWildcardFromCache(qname, qtype, zone, encloser, kept.map((k) => k.record), budget);
      if (!proof) return undefined;
      const ttl = Math.min(...[wildcard, ...kept].map((k) => remaining(k, now)));
      const answer = [...wildcard.set!, ...wildcard.rrsigs].map((r) => ({ ...r, name: qname, ttl: Math.min(r.ttl, ttl) }));
      this.synthesised++;
      return { rcode: Rcode.NOERROR, kind: 'wildcard', answer, authority: withTtl(kept, ttl), reason: proof.reason };
    }
    return undefined;
  }

  clear(): void {
    this.kept.clear();
    this.zones.clear();
  }

  stats(): { ranges: number; zones: number; synthesised: number } {
    return { ranges: this.kept.size, zones: this.zones.size, synthesised: this.synthesised };
  }

  private keep(zone: Name, record: ResourceRecord, rrsigs: readonly ResourceRecord[], ttl: number, now: number, owner: string): void {
    const sigs = rrsigs.filter((s) => s.name.equals(record.name) && signs(s, record.type, zone));
    const [copy, ...copiedSigs] = compactRecords([record, ...sigs]);
    this.kept.set(`${zone.key}|${owner}`, { zone, record: copy!, rrsigs: copiedSigs, storedAt: now, expiresAt: now + ttl * 1000 });
    if (owner === SOA_KEY) return;
    let index = this.zones.get(zone.key);
    // A zone that changed from NSEC to NSEC3 (or back) starts its index anew.
    if (!index || index.latest.type !== record.type) this.zones.set(zone.key, (index = { zone, owners: [], latest: record }));
    index.latest = copy!;
    const at = lowerBound(index.owners, record.name);
    if (!index.owners[at]?.equals(record.name)) index.owners.splice(at, 0, record.name);
    // Owners whose ranges the LRU evicted go when the index has grown past twice what is kept.
    if (index.owners.length > 64 && index.owners.length > 2 * this.kept.size) this.prune(index);
  }

  private get(zone: Name, owner: string, now: number): Kept | undefined {
    const key = `${zone.key}|${owner}`;
    const k = this.kept.get(key);
    if (k && k.expiresAt <= now) {
      this.kept.delete(key);
      return undefined;
    }
    return k;
  }

  /** The kept range whose owner is `name` or the closest before it; the last one wraps around (NSEC3). */
  private atOrBefore(index: ZoneIndex, name: Name, now: number): Kept | undefined {
    let at = lowerBound(index.owners, name);
    if (index.owners[at]?.equals(name)) at++;
    for (let tries = 0; tries < 4 && index.owners.length > 0; tries++) {
      const i = (at - 1 + index.owners.length) % index.owners.length;
      const owner = index.owners[i]!;
      const k = this.get(index.zone, owner.key, now);
      if (k) return k;
      index.owners.splice(i, 1); // expired or evicted: gone from the index too
      at = i;
    }
    return undefined;
  }

  private deepestZone(qname: Name): ZoneIndex | undefined {
    for (let n = qname; ; n = n.parent(1)) {
      const index = this.zones.get(n.key);
      if (index) return index;
      if (n.isRoot) return undefined;
    }
  }

  private prune(index: ZoneIndex): void {
    const live = index.owners.filter((o) => this.kept.has(`${index.zone.key}|${o.key}`));
    index.owners.splice(0, index.owners.length, ...live);
    if (live.length === 0) this.zones.delete(index.zone.key);
  }
}

/** The records of kept RRsets with their RRSIGs, none with a TTL above `ttl`. */
function withTtl(kept: readonly Kept[], ttl: number): ResourceRecord[] {
  return kept.flatMap((k) => [...(k.set ?? [k.record]), ...k.rrsigs]).map((r) => ({ ...r, ttl: Math.min(r.ttl, ttl) }));
}

const wildcardKey = (encloser: Name, type: number) => `*${type}|${encloser.key}`;

/** The first position in `owners` (canonical order) whose name is not before `name`. */
function lowerBound(owners: readonly Name[], name: Name): number {
  let lo = 0;
  let hi = owners.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (owners[mid]!.compareCanonical(name) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function remaining(k: Kept, now: number): number {
  return Math.max(0, Math.min(k.record.ttl - Math.floor((now - k.storedAt) / 1000), Math.floor((k.expiresAt - now) / 1000)));
}

function signs(rrsig: ResourceRecord, type: number, zone: Name): boolean {
  if (rrsig.type !== RRType.RRSIG) return false;
  try {
    const f = decodeRrsig(rrsig.rdata);
    return f.typeCovered === type && f.signerName.equals(zone);
  } catch {
    return false;
  }
}

function soaMinimum(soa: ResourceRecord): number {
  try {
    return decodeRdata(RRType.SOA, soa.rdata)['minimum'] as number;
  } catch {
    return 0;
  }
}

function isOptOut(nsec3: ResourceRecord): boolean {
  try {
    return ((decodeRdata(RRType.NSEC3, nsec3.rdata)['flags'] as number) & 1) !== 0;
  } catch {
    return true;
  }
}
