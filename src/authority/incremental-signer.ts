import { canonicalRdata } from '../wire/canonical.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { decodeRdata, encodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { fromBase32Hex } from '../wire/text-encoding.js';
import { NSEC3_HASH_SHA1 } from '../crypto/nsec3-hash.js';
import { nsec3OwnerName } from './nsec3-chain.js';
import { type SignatureWindow, type SigningKey, signRrset } from './rrset-signer.js';
import { DEFAULT_REFRESH_POLICY, type RefreshPolicy, signatureTimes } from './signature-refresh.js';
import type { SigningPolicy } from './signing-options.js';
import { type ZoneData, type ZoneNode, type ZoneRrset, canonicalSortKey, compareBytes, firstIndexAtOrAfter } from './zone-db.js';
import { type DenialOfExistence, type ZoneSigningKey, signatureWindow } from './zone-signer.js';
import { type RrsetSigners, rrsetSigners, signersOf } from './rrset-signers.js';

/**
 * Incremental online signing: a signed zone brought up to date with a change of its unsigned
 * data, touching only the owners the change names, their NSEC or NSEC3 neighbours, and (for
 * a refresh) the RRsets whose signatures fall due. Nothing is rebuilt or re-sorted: the new
 * zone shares every untouched node with the old one (`ZoneData.withChanges`).
 *
 * It covers the common case; `incrementalRefusal` says when a change needs the full re-plan of
 * `resignZone` instead: a delegation appearing, changing or under change (the chain and what
 * is signed below it move), Opt-Out, other keys or signing keys than the zone was signed with,
 * another denial of existence, or a change of the negative TTL (every NSEC/NSEC3 TTL moves).
 */

export interface RecordDiff {
  readonly removed: readonly ResourceRecord[];
  readonly added: readonly ResourceRecord[];
}

/** What bringing a signed zone up to date needs, whether incrementally or by `resignZone`. */
export interface ResigningOptions {
  readonly zone: Name;
  /** The zone's published keys; only those that sign (`signs !== false`) make signatures. */
  readonly keys: readonly ZoneSigningKey[];
  readonly policy: Pick<SigningPolicy, 'dnskeySignatureValidity' | 'dsSignatureValidity' | 'signatureValidity' | 'signatureInception' | 'dnskeyTtl'>;
  readonly denial: DenialOfExistence;
  /** Unix seconds. */
  readonly now: number;
  readonly refresh?: RefreshPolicy;
  /** Makes one RRSIG (default `signRrset`); yielding-signer.ts hands in signatures made ahead, a slice at a time. */
  readonly signRrset?: RrsetSignFunction;
}

export type RrsetSignFunction = (rrset: readonly ResourceRecord[], key: SigningKey, window: SignatureWindow) => ResourceRecord;

export interface IncrementalOptions extends ResigningOptions {
  /**
   * Look through every signature for ones due (a refresh pass) and remake at most this many
   * that are due but not urgent (urgent ones always). Undefined: no look (an update).
   */
  readonly refreshBatch?: number;
}

export interface IncrementalResult {
  readonly data: ZoneData;
  readonly signedChanged: number;
  readonly refreshed: number;
  readonly deferred: number;
  readonly touched: readonly string[];
}

const CHAIN_TYPES = new Set<number>([RRType.NSEC, RRType.NSEC3]);

const recordId = (r: ResourceRecord) => `${r.ttl}|${Buffer.from(canonicalRdata(r.type, r.rdata)).toString('latin1')}`;

function sameRecords(a: readonly ResourceRecord[], b: readonly ResourceRecord[]): boolean {
  if (a.length !== b.length) return false;
  const ids = new Set(a.map(recordId));
  return b.every((r) => ids.has(recordId(r)));
}

/** The key tags of the RRSIGs over one RRset. */
const sigTags = (set: ZoneRrset | undefined) => new Set((set?.sigs ?? []).map((s) => (s.rdata[16]! << 8) | s.rdata[17]!));

function sameTags(a: Set<number>, keys: readonly ZoneSigningKey[]): boolean {
  return a.size === keys.length && keys.every((k) => a.has(k.keyTag));
}


/** The change's records by owner. */
function byOwner(diff: RecordDiff): Map<string, { name: Name; removed: ResourceRecord[]; added: ResourceRecord[] }> {
  const owners = new Map<string, { name: Name; removed: ResourceRecord[]; added: ResourceRecord[] }>();
  const at = (name: Name) => {
    let o = owners.get(name.key);
    if (!o) owners.set(name.key, (o = { name, removed: [], added: [] }));
    return o;
  };
  for (const r of diff.removed) at(r.name).removed.push(r);
  for (const r of diff.added) at(r.name).added.push(r);
  return owners;
}

/** An owner's RRsets after the change: untouched ones as they were (signatures and all), touched ones without signatures. */
function applyAtOwner(node: ZoneNode | undefined, removed: readonly ResourceRecord[], added: readonly ResourceRecord[]): { sets: Map<number, ZoneRrset>; changedTypes: Set<number> } {
  const sets = new Map<number, ZoneRrset>(node?.rrsets ?? []);
  const touched = new Set<number>([...removed.map((r) => r.type), ...added.map((r) => r.type)]);
  const changedTypes = new Set<number>();
  for (const type of touched) {
    const old = sets.get(type);
    const gone = new Set(removed.filter((r) => r.type === type).map(recordId));
    const records = (old?.records ?? []).filter((r) => !gone.has(recordId(r)));
    const have = new Set(records.map(recordId));
    for (const r of added) if (r.type === type && !have.has(recordId(r))) records.push(r);
    if (old && sameRecords(old.records, records)) continue;
    changedTypes.add(type);
    if (records.length === 0) sets.delete(type);
    else sets.set(type, { name: old?.name ?? records[0]!.name, type, class: records[0]!.class, records, sigs: [] });
  }
  return { sets, changedTypes };
}

/**
 * The unsigned zone after a change (no signatures anywhere), sharing untouched nodes.
 * For the zone service's copy of the data as its file and its changes say.
 */
export function applyDiff(zone: ZoneData, diff: RecordDiff): ZoneData {
  const owners: { name: Name; rrsets: ZoneRrset[] }[] = [];
  for (const o of byOwner(diff).values()) {
    const { sets } = applyAtOwner(zone.node(o.name), o.removed, o.added);
    owners.push({ name: o.name, rrsets: [...sets.values()] });
  }
  return zone.withChanges(owners);
}

/** Why this change cannot be signed incrementally, or undefined when it can. */
export function incrementalRefusal(previous: ZoneData, diff: RecordDiff, o: IncrementalOptions): string | undefined {
  const apex = previous.node(previous.origin);
  if (!previous.isSigned || !apex) return 'the zone is not signed';
  const d = o.denial;
  const params = previous.nsec3Params;
  if (d.kind === 'nsec' ? params !== undefined || !apex.rrsets.has(RRType.NSEC) : !params || params.flags !== 0 || params.iterations !== d.iterations || Buffer.compare(params.salt, d.salt) !== 0)
    return 'another denial of existence than the zone has';
  if (d.kind === 'nsec3' && d.optOut) return 'NSEC3 Opt-Out';
  const dnskey = apex.rrsets.get(RRType.DNSKEY);
  const published = new Set((dnskey?.records ?? []).map((r) => Buffer.from(r.rdata).toString('latin1')));
  const keys = o.keys.filter((k) => k.published !== false);
  if (published.size !== keys.length || keys.some((k) => !published.has(Buffer.from(k.dnskeyRdata).toString('latin1'))) || dnskey!.records[0]!.ttl !== o.policy.dnskeyTtl)
    return 'the DNSKEY RRset changes';
  const signers = rrsetSigners(o.keys);
  if (!sameTags(sigTags(dnskey), signers.dnskey) || !sameTags(sigTags(apex.rrsets.get(RRType.SOA)), signers.other)) return 'other keys sign than signed the zone';
  for (const r of [...diff.removed, ...diff.added]) {
    if (CHAIN_TYPES.has(r.type) || r.type === RRType.DNSKEY || r.type === RRType.NSEC3PARAM || r.type === RRType.RRSIG) return 'the change touches DNSSEC records';
    if (!r.name.equals(previous.origin) && (r.type === RRType.NS || r.type === RRType.DS || r.type === RRType.DNAME)) return 'a delegation changes';
    if (previous.findCut(r.name)) return 'the change is at or below a delegation';
    if (r.type === RRType.SOA) {
      const minimum = decodeRdata(RRType.SOA, r.rdata)['minimum'] as number;
      if (diff.added.includes(r) && Math.min(minimum, r.ttl) !== previous.negativeTtl) return 'the negative TTL changes';
    }
  }
  return undefined;
}

/** Builds the new owner → RRsets edits and the NSEC3 puts/removals, then the signatures they need. */
export function signIncrementally(previous: ZoneData, diff: RecordDiff, o: IncrementalOptions): IncrementalResult {
  const zone = o.zone;
  const now = o.now;
  const inception = now - o.policy.signatureInception;
  const windows = {
    dnskey: { inception, expiration: now + o.policy.dnskeySignatureValidity },
    ds: { inception, expiration: now + o.policy.dsSignatureValidity },
    other: { inception, expiration: now + o.policy.signatureValidity },
  };
  // The same rule as whole-zone signing (rrset-signers.ts): a re-signed CDS keeps its KSK signature.
  const signers: RrsetSigners = rrsetSigners(o.keys);
  const zsks = signers.other;
  const touched = new Set<string>();
  const signOne = o.signRrset ?? signRrset;
  const sign = (set: ZoneRrset): ZoneRrset => {
    touched.add(`${set.name.toString()} ${set.type}`);
    const window: SignatureWindow = signatureWindow(windows, set.type);
    return { ...set, sigs: signersOf(signers, zone, set.name, set.type).map((k) => signOne(set.records, k, window)) };
  };
  let signedChanged = 0;
  const ttl = previous.negativeTtl;
  const cls = previous.zoneClass;

  // 1. The owners the change names, their RRsets afterwards.
  const owners = new Map<string, { name: Name; sets: Map<number, ZoneRrset> }>();
  const changed = byOwner(diff);
  const gone = new Set<string>(); // owners with no data left
  const fresh: { name: Name; sortKey: string }[] = []; // owners with data afterwards, sorted
  for (const c of changed.values()) {
    const { sets, changedTypes } = applyAtOwner(previous.node(c.name), c.removed, c.added);
    for (const type of changedTypes) {
      const set = sets.get(type);
      if (set) {
        const signed = sign(set);
        sets.set(type, signed);
        signedChanged += signed.sigs.length;
      }
    }
    owners.set(c.name.key, { name: c.name, sets });
    const dataTypes = [...sets.keys()].filter((t) => t !== RRType.NSEC);
    if (dataTypes.length === 0) gone.add(c.name.key);
    else fresh.push({ name: c.name, sortKey: canonicalSortKey(c.name) });
  }
  fresh.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  /** The data types at a name after the change. */
  const typesAfter = (name: Name): number[] => {
    const mine = owners.get(name.key);
    const sets = mine ? mine.sets : previous.node(name)?.rrsets;
    return sets ? [...sets.keys()].filter((t) => t !== RRType.NSEC) : [];
  };
  /** The node (after the change) to edit at `name`: its current RRsets. */
  const ownerFor = (name: Name) => {
    let e = owners.get(name.key);
    if (!e) owners.set(name.key, (e = { name, sets: new Map(previous.node(name)?.rrsets ?? []) }));
    return e;
  };
  const nsec3Put = new Map<string, ZoneRrset>();
  const nsec3Remove: Name[] = [];

  if (o.denial.kind === 'nsec') {
    // 2a. NSEC (RFC 4034 §4): every owner with data has one, naming the next in canonical order.
    const isMember = (node: ZoneNode) => node.rrsets.has(RRType.NSEC) && !gone.has(node.name.key);
    const sorted = previous.sorted;
    const next = (key: string): Name => {
      let a: ZoneNode | undefined;
      for (let i = firstIndexAtOrAfter(sorted, key); i < sorted.length; i++) {
        const n = sorted[i]!;
        if (n.sortKey !== key && isMember(n)) {
          a = n;
          break;
        }
      }
      const b = fresh.find((f) => f.sortKey > key);
      if (a && b) return a.sortKey < b.sortKey ? a.name : b.name;
      return a?.name ?? b?.name ?? previous.origin; // past the last: back to the apex
    };
    const prev = (key: string): ZoneNode | { name: Name; sortKey: string } | undefined => {
      let a: ZoneNode | undefined;
      for (let i = firstIndexAtOrAfter(sorted, key) - 1; i >= 0; i--)
        if (isMember(sorted[i]!)) {
          a = sorted[i]!;
          break;
        }
      const b = [...fresh].reverse().find((f) => f.sortKey < key);
      if (a && b) return a.sortKey > b.sortKey ? a : b;
      return a ?? b;
    };
    const writeNsec = (name: Name) => {
      const types = typesAfter(name);
      const entry = ownerFor(name);
      const old = entry.sets.get(RRType.NSEC);
      if (types.length === 0) {
        entry.sets.delete(RRType.NSEC);
        return;
      }
      const rdata = encodeRdata(RRType.NSEC, { next: next(canonicalSortKey(name)), types: [...types, RRType.RRSIG, RRType.NSEC] });
      if (old && old.records.length === 1 && Buffer.compare(old.records[0]!.rdata, rdata) === 0 && old.records[0]!.ttl === ttl) return;
      entry.sets.set(RRType.NSEC, sign({ name, type: RRType.NSEC, class: cls, records: [{ name, type: RRType.NSEC, class: cls, ttl, rdata }], sigs: [] }));
      signedChanged += zsks.length;
    };
    const existedBefore = (name: Name) => previous.node(name)?.rrsets.has(RRType.NSEC) ?? false;
    for (const c of changed.values()) {
      writeNsec(c.name);
      if (existedBefore(c.name) !== !gone.has(c.name.key)) {
        // The name came or went: the NSEC before it now names another next.
        const p = prev(canonicalSortKey(c.name));
        if (p && !changed.has(p.name.key)) writeNsec(p.name);
      }
    }
  } else {
    // 2b. NSEC3 (RFC 5155 §7.1): every owner with data and every empty non-terminal above one
    // has one, in hash order; the change's owners and their ancestors are the only ones whose
    // existence or types can change.
    const params = previous.nsec3Params!;
    const hashOf = new Map<string, { hash: Uint8Array; owner: Name }>();
    const hashed = (name: Name) => {
      let h = hashOf.get(name.key);
      if (!h) hashOf.set(name.key, (h = nsec3OwnerName(name, zone, params.salt, params.iterations)));
      return h;
    };
    const sorted = previous.sorted;
    const hasDescendant = (name: Name): boolean => {
      const prefix = canonicalSortKey(name);
      for (let i = firstIndexAtOrAfter(sorted, prefix); i < sorted.length && sorted[i]!.sortKey.startsWith(prefix); i++) {
        const n = sorted[i]!;
        if (n.sortKey !== prefix && !gone.has(n.name.key)) return true;
      }
      return fresh.some((f) => f.sortKey !== prefix && f.sortKey.startsWith(prefix));
    };
    const affected = new Map<string, Name>();
    for (const c of changed.values())
      for (let n = c.name; n.labelCount >= zone.labelCount; n = n.parent()) {
        affected.set(n.key, n);
        if (n.labelCount === zone.labelCount) break;
      }
    interface Want {
      readonly name: Name;
      readonly hash: Uint8Array;
      readonly owner: Name;
      readonly types: number[];
    }
    const wanted: Want[] = [];
    const removedHashes: Uint8Array[] = [];
    for (const name of affected.values()) {
      const types = typesAfter(name);
      const exists = types.length > 0 || name.equals(zone) || hasDescendant(name);
      const { hash, owner } = hashed(name);
      const before = previous.nsec3Matching(hash);
      if (exists) wanted.push({ name, hash, owner, types: types.length > 0 ? [...types, RRType.RRSIG] : [] });
      else if (before) {
        nsec3Remove.push(before.name);
        removedHashes.push(hash);
      }
    }
    const removedSet = new Set(removedHashes.map((h) => Buffer.from(h).toString('latin1')));
    const added = wanted.filter((w) => !previous.nsec3Matching(w.hash)).map((w) => w.hash).sort(compareBytes);
    const chain = previous.nsec3;
    const liveOld = (i: number) => !removedSet.has(Buffer.from(chain[i]!.hash).toString('latin1'));
    const firstOldAfter = (h: Uint8Array): number => {
      let lo = 0;
      let hi = chain.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareBytes(chain[mid]!.hash, h) <= 0) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    // `added` is sorted: a binary search, not a scan (a 2,000-name UPDATE asks 4,000 times).
    const firstAfter = (list: readonly Uint8Array[], h: Uint8Array): number => {
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareBytes(list[mid]!, h) <= 0) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const succ = (h: Uint8Array): Uint8Array => {
      let a: Uint8Array | undefined;
      for (let i = firstOldAfter(h); i < chain.length; i++)
        if (liveOld(i)) {
          a = chain[i]!.hash;
          break;
        }
      const b = added[firstAfter(added, h)];
      const best = a && b ? (compareBytes(a, b) < 0 ? a : b) : (a ?? b);
      if (best) return best;
      // Wrap: the smallest hash of the chain afterwards.
      let first: Uint8Array | undefined;
      for (let i = 0; i < chain.length; i++)
        if (liveOld(i)) {
          first = chain[i]!.hash;
          break;
        }
      const lowAdded = added[0];
      return first && lowAdded ? (compareBytes(first, lowAdded) < 0 ? first : lowAdded) : (first ?? lowAdded ?? h);
    };
    const pred = (h: Uint8Array): ZoneRrset | undefined => {
      // The previous chain's entry before `h` that stays (an added hash before it is itself written anyway).
      for (let step = 0, i = firstOldAfter(h) - 1; step < chain.length; step++, i--) {
        if (i < 0) i = chain.length - 1;
        if (compareBytes(chain[i]!.hash, h) !== 0 && liveOld(i)) return chain[i]!.rrset;
      }
      return undefined;
    };
    const put = (owner: Name, hash: Uint8Array, types: readonly number[]) => {
      const rdata = encodeRdata(RRType.NSEC3, { hashAlgorithm: NSEC3_HASH_SHA1, flags: 0, iterations: params.iterations, salt: params.salt, nextHashed: succ(hash), types: [...types] });
      const old = previous.nsec3ByOwnerName(owner);
      if (old && old.records.length === 1 && Buffer.compare(old.records[0]!.rdata, rdata) === 0 && old.records[0]!.ttl === ttl) return;
      nsec3Put.set(owner.key, sign({ name: owner, type: RRType.NSEC3, class: cls, records: [{ name: owner, type: RRType.NSEC3, class: cls, ttl, rdata }], sigs: [] }));
      signedChanged += zsks.length;
    };
    for (const w of wanted) put(w.owner, w.hash, w.types);
    const wantedOwners = new Set(wanted.map((w) => w.owner.key));
    // The entries before every hash that came or went now name another next.
    for (const h of [...added, ...removedHashes]) {
      const p = pred(h);
      if (!p || nsec3Put.has(p.name.key)) continue;
      if (wantedOwners.has(p.name.key)) continue;
      const types = decodeRdata(RRType.NSEC3, p.records[0]!.rdata)['types'] as number[];
      put(p.name, fromBase32Hex(Buffer.from(p.name.label(0)).toString('latin1')), types);
    }
  }

  // 3. A refresh pass: signatures falling due, most overdue first, up to the batch; urgent ones all.
  let refreshed = 0;
  let deferred = 0;
  if (o.refreshBatch !== undefined) {
    const refresh = o.refresh ?? DEFAULT_REFRESH_POLICY;
    const due: { set: ZoneRrset; dueAt: number; urgent: boolean }[] = [];
    const consider = (set: ZoneRrset) => {
      let dueAt = Infinity;
      let urgent = false;
      for (const sig of set.sigs) {
        const t = signatureTimes(sig, now, refresh);
        if (t.dueAt < dueAt) dueAt = t.dueAt;
        if (now >= t.urgentAt) urgent = true;
      }
      if (dueAt <= now) due.push({ set, dueAt, urgent });
    };
    for (const node of previous.sorted) {
      const edited = owners.get(node.name.key);
      for (const set of (edited ? edited.sets : node.rrsets).values()) if (set.sigs.length > 0 && !touched.has(`${set.name.toString()} ${set.type}`)) consider(set);
    }
    const removed = new Set(nsec3Remove.map((n) => n.key));
    for (const e of previous.nsec3) if (!nsec3Put.has(e.rrset.name.key) && !removed.has(e.rrset.name.key)) consider(e.rrset);
    due.sort((a, b) => a.dueAt - b.dueAt);
    let batch = o.refreshBatch;
    for (const d of due) {
      if (!d.urgent) {
        if (batch <= 0) {
          deferred++;
          continue;
        }
        batch--;
      }
      const remade = sign({ ...d.set, sigs: [] });
      refreshed += remade.sigs.length;
      if (d.set.type === RRType.NSEC3) nsec3Put.set(d.set.name.key, remade);
      else ownerFor(d.set.name).sets.set(d.set.type, remade);
    }
  }

  const data = previous.withChanges(
    [...owners.values()].map((e) => ({ name: e.name, rrsets: [...e.sets.values()] })),
    { put: [...nsec3Put.values()], remove: nsec3Remove },
  );
  return { data, signedChanged, refreshed, deferred, touched: [...touched] };
}
