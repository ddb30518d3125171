import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { type RecordDiff, type RrsetSignFunction, IncrementalEdit, applyAtOwner, byOwner } from './incremental-edit.js';
import { relinkNsec } from './incremental-nsec.js';
import { relinkNsec3 } from './incremental-nsec3.js';
import { rrsetSigners } from './signing-key-rule.js';
import { DEFAULT_SIGNATURE_REFRESH_TIMING, type SignatureRefreshTiming, signatureTimes } from './signature-refresh.js';
import type { SigningPolicy } from './signing-policy.js';
import type { ZoneData, ZoneRrset } from './zone-db.js';
import type { DenialOfExistence, ZoneSigningKey } from './zone-signer.js';

export type { RecordDiff, RrsetSignFunction } from './incremental-edit.js';

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

/** What bringing a signed zone up to date needs, whether incrementally or by `resignZone`. */
export interface ResigningOptions {
  readonly zone: Name;
  /** The zone's published keys; only those that sign (`signs !== false`) make signatures. */
  readonly keys: readonly ZoneSigningKey[];
  readonly policy: Pick<SigningPolicy, 'dnskeySignatureValidity' | 'dsSignatureValidity' | 'signatureValidity' | 'signatureInception' | 'dnskeyTtl'>;
  readonly denial: DenialOfExistence;
  /** Unix seconds. */
  readonly now: number;
  readonly refresh?: SignatureRefreshTiming;
  /** Makes one RRSIG (default `signRrset`); yielding-signer.ts hands in signatures made ahead, a slice at a time. */
  readonly signRrset?: RrsetSignFunction;
}

export interface IncrementalOptions extends ResigningOptions {
  /**
   * Look through every signature for ones due (a refresh pass) and remake at most this many
   * that are due but not urgent (urgent ones always). Undefined: no look (an update).
   */
  readonly refreshBatch?: number;
  /**
   * RRsets (`refreshKey`) the refresh pass remakes whatever their state: those the Key Master's
   * refresh remade (cluster mode), so that each primary's signatures keep falling due with its.
   */
  readonly alsoRefresh?: ReadonlySet<string>;
}

/** How the refresh pass names an RRset it remade (a journal entry carries them: zone-journal.ts). */
export function refreshKey(set: { readonly name: { toString(): string }; readonly type: number }): string {
  return `${set.name.toString().toLowerCase()} ${set.type}`;
}

export interface IncrementalResult {
  readonly data: ZoneData;
  readonly signedChanged: number;
  readonly refreshed: number;
  readonly deferred: number;
  readonly touched: readonly string[];
  /** The RRsets the refresh pass remade (`refreshKey`). */
  readonly refreshedSets: readonly string[];
}

const CHAIN_TYPES = new Set<number>([RRType.NSEC, RRType.NSEC3]);

/** The key tags of the RRSIGs over one RRset. */
const sigTags = (set: ZoneRrset | undefined) => new Set((set?.sigs ?? []).map((s) => (s.rdata[16]! << 8) | s.rdata[17]!));

function sameTags(a: Set<number>, keys: readonly ZoneSigningKey[]): boolean {
  return a.size === keys.length && keys.every((k) => a.has(k.keyTag));
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

/**
 * Brings a signed zone up to date with a change, by stage: 1. the change applied and its RRsets
 * signed (IncrementalEdit), 2. the NSEC or NSEC3 chain relinked around it, 3. a refresh pass.
 */
export function signIncrementally(previous: ZoneData, diff: RecordDiff, o: IncrementalOptions): IncrementalResult {
  const edit = new IncrementalEdit(previous, diff, o);
  if (o.denial.kind === 'nsec') relinkNsec(edit);
  else relinkNsec3(edit);
  const { refreshed, deferred, refreshedSets } = o.refreshBatch === undefined ? { refreshed: 0, deferred: 0, refreshedSets: [] } : refreshDue(edit, o.refreshBatch, o.now, o.refresh ?? DEFAULT_SIGNATURE_REFRESH_TIMING, o.alsoRefresh);
  return { data: edit.result(), signedChanged: edit.signedChanged, refreshed, deferred, touched: [...edit.touched], refreshedSets };
}

/** Stage 3, a refresh pass: signatures falling due, most overdue first, up to the batch; urgent ones all. */
function refreshDue(edit: IncrementalEdit, batchSize: number, now: number, refresh: SignatureRefreshTiming, also?: ReadonlySet<string>): { refreshed: number; deferred: number; refreshedSets: string[] } {
  const { previous, owners, nsec3Put, touched } = edit;
  const due: { set: ZoneRrset; dueAt: number; urgent: boolean }[] = [];
  const consider = (set: ZoneRrset) => {
    let dueAt = Infinity;
    let urgent = also?.has(refreshKey(set)) === true;
    for (const sig of set.sigs) {
      const t = signatureTimes(sig, now, refresh);
      if (t.dueAt < dueAt) dueAt = t.dueAt;
      if (now >= t.urgentAt) urgent = true;
    }
    if (dueAt <= now || urgent) due.push({ set, dueAt, urgent });
  };
  for (const node of previous.sorted) {
    const edited = owners.get(node.name.key);
    for (const set of (edited ? edited.sets : node.rrsets).values()) if (set.sigs.length > 0 && !touched.has(`${set.name.toString()} ${set.type}`)) consider(set);
  }
  const removed = new Set(edit.nsec3Remove.map((n) => n.key));
  for (const e of previous.nsec3) if (!nsec3Put.has(e.rrset.name.key) && !removed.has(e.rrset.name.key)) consider(e.rrset);
  due.sort((a, b) => a.dueAt - b.dueAt);
  let batch = batchSize;
  let refreshed = 0;
  let deferred = 0;
  const refreshedSets: string[] = [];
  for (const d of due) {
    if (!d.urgent) {
      if (batch <= 0) {
        deferred++;
        continue;
      }
      batch--;
    }
    const remade = edit.sign({ ...d.set, sigs: [] });
    refreshed += remade.sigs.length;
    refreshedSets.push(refreshKey(d.set));
    if (d.set.type === RRType.NSEC3) nsec3Put.set(d.set.name.key, remade);
    else edit.ownerFor(d.set.name).sets.set(d.set.type, remade);
  }
  return { refreshed, deferred, refreshedSets };
}
