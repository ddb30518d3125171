import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType, typeToString } from '../wire/rr-type.js';
import { decodeRrsig } from '../wire/signed-data.js';
import { fromBase32Hex } from '../wire/text-encoding.js';
import type { ZoneRecordSource } from '../wire/zone-file.js';

/** One RRset of a zone and the RRSIGs that cover it. */
export interface ZoneRrset {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
  readonly records: ResourceRecord[];
  readonly sigs: ResourceRecord[];
}

/** Every RRset at one owner name, keyed by type (RRSIGs live with the RRset they cover). */
export interface ZoneNode {
  readonly name: Name;
  /** Sort key of RFC 4034 §6.1 canonical order (see `canonicalSortKey`). */
  readonly sortKey: string;
  readonly rrsets: Map<number, ZoneRrset>;
}

/** The NSEC3 parameters of a zone's chain (RFC 5155 §4). */
export interface Nsec3ChainParams {
  readonly hashAlgorithm: number;
  readonly flags: number;
  readonly iterations: number;
  readonly salt: Uint8Array;
}

/** A zone file that cannot be served, with where (`file:line`, or the zone when no line applies). */
export class ZoneDataError extends Error {
  override readonly name = 'ZoneDataError';
  constructor(
    readonly zone: string,
    readonly where: string | undefined,
    readonly reason: string,
  ) {
    super(where ? `${where}: ${reason}` : `zone ${zone}: ${reason}`);
  }
}

/**
 * A string whose JavaScript ordering is RFC 4034 §6.1 canonical order: labels from the right,
 * each lowercased, bytes shifted up by one so that the separator U+0000 sorts before any
 * content byte (a shorter label that is a prefix comes first; a parent before its children).
 */
export function canonicalSortKey(name: Name): string {
  const labels = name.lowercase().labels();
  let key = '';
  for (let i = labels.length - 1; i >= 0; i--) {
    const label = labels[i]!;
    for (let j = 0; j < label.length; j++) key += String.fromCharCode(label[j]! + 1);
    key += '\u0000';
  }
  return key;
}

const DNSSEC_DATA = new Set<number>([RRType.RRSIG, RRType.NSEC, RRType.NSEC3, RRType.NSEC3PARAM, RRType.DNSKEY]);

/** Types the Key Master writes when it signs; `zone unsign` removes exactly these. */
export function isSignerType(type: number): boolean {
  return DNSSEC_DATA.has(type);
}

/** Index of the first node whose sort key is `key` or sorts after it (binary search; `sorted.length` if none). */
export function firstIndexAtOrAfter(sorted: readonly ZoneNode[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.sortKey < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Unsigned byte-wise order (NSEC3 hashes, canonical RDATA), shorter first on a common prefix. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

interface Nsec3Entry {
  readonly hash: Uint8Array;
  readonly rrset: ZoneRrset;
}

/** The hash an NSEC3 owner name carries in its first label (empty when it is not base32hex). */
function nsec3OwnerHash(owner: Name, origin: Name): Uint8Array {
  const label = owner.labelCount > origin.labelCount ? Buffer.from(owner.label(0)).toString('latin1') : '';
  try {
    return fromBase32Hex(label);
  } catch {
    return new Uint8Array(0);
  }
}

function nsec3ParamsAt(apex: ZoneNode | undefined): Nsec3ChainParams | undefined {
  const param = apex?.rrsets.get(RRType.NSEC3PARAM)?.records[0];
  if (!param) return undefined;
  const f = decodeRdata(RRType.NSEC3PARAM, param.rdata);
  return { hashAlgorithm: f['hashAlgorithm'] as number, flags: f['flags'] as number, iterations: f['iterations'] as number, salt: f['salt'] as Uint8Array };
}

/**
 * One zone as the authoritative server reads it: nodes keyed by owner and kept in canonical
 * order (so the NSEC predecessor of any name and the names below any name are a binary search
 * away), delegation points, and the NSEC3 chain by hashed owner. Built once from records and
 * read-only afterwards; a change builds the affected nodes again (the structure is per owner,
 * so re-signing one RRset and its neighbours does not touch the rest).
 */
export class ZoneData {
  readonly nodes = new Map<string, ZoneNode>();
  /** Nodes in canonical order; NSEC3 owners are not nodes (they are not names of the zone's data). */
  readonly sorted: ZoneNode[];
  readonly nsec3: Nsec3Entry[];
  readonly nsec3Params: Nsec3ChainParams | undefined;
  private readonly nsec3ByOwner = new Map<string, ZoneRrset>();
  private readonly cuts = new Set<string>();

  private constructor(
    readonly origin: Name,
    readonly zoneClass: number,
    rrsets: readonly ZoneRrset[],
    /** Structures already built (by `withChanges`): nothing is indexed or sorted again. */
    prebuilt?: { nodes: Map<string, ZoneNode>; sorted: ZoneNode[]; nsec3: Nsec3Entry[]; nsec3ByOwner: Map<string, ZoneRrset>; cuts: Set<string> },
  ) {
    if (prebuilt) {
      this.nodes = prebuilt.nodes;
      this.sorted = prebuilt.sorted;
      this.nsec3 = prebuilt.nsec3;
      this.nsec3ByOwner = prebuilt.nsec3ByOwner;
      this.cuts = prebuilt.cuts;
      this.nsec3Params = nsec3ParamsAt(this.nodes.get(origin.key));
      return;
    }
    const nsec3: Nsec3Entry[] = [];
    for (const set of rrsets) {
      if (set.type === RRType.NSEC3) {
        nsec3.push({ hash: nsec3OwnerHash(set.name, origin), rrset: set });
        this.nsec3ByOwner.set(set.name.key, set);
        continue;
      }
      let node = this.nodes.get(set.name.key);
      if (!node) {
        node = { name: set.name, sortKey: canonicalSortKey(set.name), rrsets: new Map() };
        this.nodes.set(set.name.key, node);
      }
      node.rrsets.set(set.type, set);
      if (set.type === RRType.NS && !set.name.equals(origin)) this.cuts.add(set.name.key);
    }
    this.sorted = [...this.nodes.values()].sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    this.nsec3 = nsec3.sort((a, b) => compareBytes(a.hash, b.hash));
    this.nsec3Params = nsec3ParamsAt(this.nodes.get(origin.key));
  }

  /**
   * The zone with some owners' RRsets replaced, sharing every other node with this one (for
   * online signing: a change costs copying the indexes, not rebuilding and re-checking them).
   * `owners` gives, per owner name, all its RRsets afterwards (none: the name is gone);
   * `nsec3` puts NSEC3 RRsets (by owner) and removes others. Nothing is validated: the caller
   * keeps the zone as `fromRecords` would accept it.
   */
  withChanges(owners: Iterable<{ readonly name: Name; readonly rrsets: readonly ZoneRrset[] }>, nsec3: { readonly put?: readonly ZoneRrset[]; readonly remove?: readonly Name[] } = {}): ZoneData {
    const nodes = new Map(this.nodes);
    const cuts = new Set(this.cuts);
    const replaced = new Map<string, ZoneNode | undefined>();
    const added: ZoneNode[] = [];
    for (const { name, rrsets } of owners) {
      const had = nodes.get(name.key);
      cuts.delete(name.key);
      if (rrsets.length === 0) {
        if (had) {
          nodes.delete(name.key);
          replaced.set(had.sortKey, undefined);
        }
        continue;
      }
      const node: ZoneNode = { name: had?.name ?? name, sortKey: had?.sortKey ?? canonicalSortKey(name), rrsets: new Map(rrsets.map((set) => [set.type, set])) };
      nodes.set(name.key, node);
      if (had) replaced.set(had.sortKey, node);
      else added.push(node);
      if (node.rrsets.has(RRType.NS) && !name.equals(this.origin)) cuts.add(name.key);
    }
    // Copy the arrays (a memcpy) and patch them by binary search: a change of k owners costs
    // O(n) copying plus O(k log n), not a pass comparing every node.
    const sorted = this.sorted.slice();
    const removedAt: number[] = [];
    for (const [sortKey, node] of replaced) {
      const i = firstIndexAtOrAfter(sorted, sortKey);
      if (node) sorted[i] = node;
      else removedAt.push(i);
    }
    removedAt.sort((a, b) => b - a).forEach((i) => sorted.splice(i, 1));
    for (const node of added) sorted.splice(firstIndexAtOrAfter(sorted, node.sortKey), 0, node);

    let chain = this.nsec3;
    let byOwner = this.nsec3ByOwner;
    if ((nsec3.put?.length ?? 0) > 0 || (nsec3.remove?.length ?? 0) > 0) {
      byOwner = new Map(this.nsec3ByOwner);
      chain = this.nsec3.slice();
      const at = (hash: Uint8Array) => {
        let lo = 0;
        let hi = chain.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (compareBytes(chain[mid]!.hash, hash) < 0) lo = mid + 1;
          else hi = mid;
        }
        return lo;
      };
      for (const n of nsec3.remove ?? []) {
        if (!byOwner.delete(n.key)) continue;
        const hash = nsec3OwnerHash(n, this.origin);
        const i = at(hash);
        if (chain[i] && compareBytes(chain[i]!.hash, hash) === 0) chain.splice(i, 1);
      }
      for (const set of nsec3.put ?? []) {
        const hash = nsec3OwnerHash(set.name, this.origin);
        const i = at(hash);
        if (byOwner.has(set.name.key) && chain[i] && compareBytes(chain[i]!.hash, hash) === 0) chain[i] = { hash, rrset: set };
        else chain.splice(i, 0, { hash, rrset: set });
        byOwner.set(set.name.key, set);
      }
    }
    return new ZoneData(this.origin, this.zoneClass, [], { nodes, sorted, nsec3: chain, nsec3ByOwner: byOwner, cuts });
  }

  /**
   * Builds a zone from records, checking what makes a zone unservable (RFC 1034 §4.2.1,
   * RFC 2181 §10.1): records outside the origin, no SOA or several at the apex, an SOA
   * elsewhere, no apex NS, a CNAME beside other data or several CNAMEs at one name. An RRset
   * written with several TTLs gets the lowest (RFC 2181 §5.2); duplicate records are dropped.
   * `sources[i]`, when given, says where `records[i]` was written, for the error.
   */
  static fromRecords(origin: Name, records: readonly ResourceRecord[], sources?: readonly ZoneRecordSource[]): ZoneData {
    const zone = origin.toString();
    const where = (i: number) => (sources?.[i] ? `${sources[i]!.fileName}:${sources[i]!.line}` : undefined);
    const sets = new Map<string, { set: ZoneRrset; seen: Set<string>; firstIndex: number }>();
    const sigs: { rr: ResourceRecord; covered: number; index: number }[] = [];
    const cls = records[0]?.class ?? 1;
    records.forEach((rr, i) => {
      if (!rr.name.isSubdomainOf(origin))
        throw new ZoneDataError(zone, where(i), `${rr.name.toString()} ${typeToString(rr.type)} is outside the zone ${zone}`);
      if (rr.class !== cls) throw new ZoneDataError(zone, where(i), `record of another class than the zone's first record`);
      if (rr.type === RRType.SOA && !rr.name.equals(origin))
        throw new ZoneDataError(zone, where(i), `an SOA record at ${rr.name.toString()}, which is not the zone apex ${zone}`);
      if (rr.type === RRType.RRSIG) {
        sigs.push({ rr, covered: decodeRrsig(rr.rdata).typeCovered, index: i });
        return;
      }
      const key = `${rr.name.key}/${rr.type}`;
      let entry = sets.get(key);
      if (!entry) {
        entry = { set: { name: rr.name, type: rr.type, class: rr.class, records: [], sigs: [] }, seen: new Set(), firstIndex: i };
        sets.set(key, entry);
      }
      const id = Buffer.from(rr.rdata).toString('latin1');
      if (entry.seen.has(id)) return;
      entry.seen.add(id);
      entry.set.records.push(rr);
    });
    for (const { rr, covered, index } of sigs) {
      const entry = sets.get(`${rr.name.key}/${covered}`);
      if (!entry) throw new ZoneDataError(zone, where(index), `RRSIG at ${rr.name.toString()} covers ${typeToString(covered)}, which is not there`);
      entry.set.sigs.push(rr);
    }
    const apexSoa = sets.get(`${origin.key}/${RRType.SOA}`);
    if (!apexSoa) throw new ZoneDataError(zone, undefined, `no SOA record at the apex ${zone}`);
    if (apexSoa.set.records.length > 1) throw new ZoneDataError(zone, where(apexSoa.firstIndex), 'more than one SOA record at the apex');
    if (!sets.has(`${origin.key}/${RRType.NS}`)) throw new ZoneDataError(zone, undefined, `no NS records at the apex ${zone}`);
    const byName = new Map<string, { types: number[]; cname?: number; index: number }>();
    for (const { set, firstIndex } of sets.values()) {
      const o = byName.get(set.name.key) ?? { types: [], index: firstIndex };
      o.types.push(set.type);
      if (set.type === RRType.CNAME) {
        o.cname = firstIndex;
        if (set.records.length > 1) throw new ZoneDataError(zone, where(firstIndex), `more than one CNAME at ${set.name.toString()}`);
      }
      byName.set(set.name.key, o);
    }
    for (const [key, o] of byName) {
      if (o.cname === undefined) continue;
      const other = o.types.find((t) => t !== RRType.CNAME && t !== RRType.NSEC && t !== RRType.KEY);
      if (other !== undefined) throw new ZoneDataError(zone, where(o.cname), `CNAME and other data (${typeToString(other)}) at ${sets.get(`${key}/${RRType.CNAME}`)!.set.name.toString()}`);
      if (key === origin.key) throw new ZoneDataError(zone, where(o.cname), 'a CNAME at the zone apex');
    }
    const rrsets = [...sets.values()].map(({ set }) => {
      const ttl = Math.min(...set.records.map((r) => r.ttl));
      return set.records.every((r) => r.ttl === ttl) ? set : { ...set, records: set.records.map((r) => (r.ttl === ttl ? r : { ...r, ttl })) };
    });
    return new ZoneData(origin, cls, rrsets);
  }

  get soa(): ResourceRecord {
    return this.nodes.get(this.origin.key)!.rrsets.get(RRType.SOA)!.records[0]!;
  }

  get serial(): number {
    return decodeRdata(RRType.SOA, this.soa.rdata)['serial'] as number;
  }

  /** RFC 2308 §5 / RFC 9077: the TTL of negative answers and of NSEC/NSEC3 records. */
  get negativeTtl(): number {
    const minimum = decodeRdata(RRType.SOA, this.soa.rdata)['minimum'] as number;
    return Math.min(minimum, this.soa.ttl);
  }

  get isSigned(): boolean {
    return this.nodes.get(this.origin.key)?.rrsets.has(RRType.DNSKEY) ?? false;
  }

  node(name: Name): ZoneNode | undefined {
    return this.nodes.get(name.key);
  }

  rrset(name: Name, type: number): ZoneRrset | undefined {
    return this.nodes.get(name.key)?.rrsets.get(type);
  }

  isDelegation(name: Name): boolean {
    return this.cuts.has(name.key);
  }

  /**
   * The highest delegation point between the apex (excluded) and `name` (included), where
   * authority ends: everything at or below it is the child's, except the DS at the cut.
   */
  findCut(name: Name): ZoneNode | undefined {
    if (this.cuts.size === 0) return undefined;
    const depth = name.labelCount - this.origin.labelCount;
    for (let strip = depth - 1; strip >= 0; strip--) {
      const candidate = name.parent(strip);
      if (this.cuts.has(candidate.key)) return this.nodes.get(candidate.key);
    }
    return undefined;
  }

  /** True when data exists at `name` or below it (an empty non-terminal exists too, RFC 4592 §2.2.2). */
  exists(name: Name): boolean {
    if (this.nodes.has(name.key)) return true;
    const key = canonicalSortKey(name);
    const next = this.sorted[firstIndexAtOrAfter(this.sorted, key)];
    return next !== undefined && next.sortKey.startsWith(key);
  }

  /**
   * The node before `name` in canonical order among those `accept`s (wrapping to the last),
   * e.g. the owner of the NSEC that covers a name that does not exist.
   */
  predecessor(name: Name, accept: (node: ZoneNode) => boolean): ZoneNode | undefined {
    const key = canonicalSortKey(name);
    let i = firstIndexAtOrAfter(this.sorted, key) - 1;
    for (let steps = 0; steps < this.sorted.length; steps++, i--) {
      if (i < 0) i = this.sorted.length - 1;
      const node = this.sorted[i]!;
      if (node.sortKey !== key && accept(node)) return node;
    }
    return undefined;
  }

  /** The NSEC3 RRset whose owner hash equals `hash`. */
  nsec3Matching(hash: Uint8Array): ZoneRrset | undefined {
    let lo = 0;
    let hi = this.nsec3.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareBytes(this.nsec3[mid]!.hash, hash);
      if (c === 0) return this.nsec3[mid]!.rrset;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** The NSEC3 RRset whose hash interval (owner, next) covers `hash` (the last one wraps). */
  nsec3Covering(hash: Uint8Array): ZoneRrset | undefined {
    if (this.nsec3.length === 0) return undefined;
    let lo = 0;
    let hi = this.nsec3.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.nsec3[mid]!.hash, hash) < 0) lo = mid + 1;
      else hi = mid;
    }
    return this.nsec3[(lo - 1 + this.nsec3.length) % this.nsec3.length]!.rrset;
  }

  nsec3ByOwnerName(name: Name): ZoneRrset | undefined {
    return this.nsec3ByOwner.get(name.key);
  }

  /** Every RRset, data nodes in canonical order then the NSEC3 chain. */
  *rrsets(): Generator<ZoneRrset> {
    for (const node of this.sorted) yield* node.rrsets.values();
    for (const entry of this.nsec3) yield entry.rrset;
  }

  /** Every record with its RRSIGs, SOA first (as AXFR sends them and zone files are written). */
  records(options: { withSignatures?: boolean } = {}): ResourceRecord[] {
    const withSigs = options.withSignatures ?? true;
    const out: ResourceRecord[] = [this.soa];
    for (const set of this.rrsets()) {
      const isApexSoa = set.type === RRType.SOA;
      for (const rr of set.records) if (!isApexSoa) out.push(rr);
      if (withSigs) out.push(...set.sigs);
    }
    return out;
  }

  /** The records without anything DNSSEC adds (what `zone unsign` leaves). */
  unsignedRecords(): ResourceRecord[] {
    return this.records({ withSignatures: false }).filter((r) => !isSignerType(r.type));
  }

  get nameCount(): number {
    return this.nodes.size;
  }

  get recordCount(): number {
    let n = 0;
    for (const set of this.rrsets()) n += set.records.length + set.sigs.length;
    return n;
  }
}
