import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import { decodeRrsig } from '../wire/signed-data.js';
import { signRrset } from './rrset-signer.js';
import { DEFAULT_SIGNATURE_REFRESH_TIMING, signatureState, signatureTimes } from './signature-refresh.js';
import { type IncrementalOptions, type ResigningOptions, incrementalRefusal, signIncrementally } from './incremental-signer.js';
import { ZoneData, type ZoneRrset } from './zone-db.js';
import { type SigningJob, planZoneSigning } from './zone-signer.js';

/**
 * Online signing: a signed zone brought up to date with new unsigned data (after an UPDATE) or
 * with the clock (signature refresh), making only the signatures that must be made.
 *
 * The DNSKEY RRset, NSEC3PARAM and the NSEC/NSEC3 chain are derived again from the new data
 * (no signature is made for that), and every RRset of the result keeps its signature from the
 * previous zone when it is the same RRset (same records and TTL), signed by the same key, and
 * not yet due for refresh. So a change re-signs the RRsets it touched, the NSEC/NSEC3 records
 * whose next-name or type bitmap it changed (its neighbours in the chain), and the SOA (whose
 * serial went up); nothing else.
 */

export interface OnlineSigningOptions extends ResigningOptions {
  /**
   * At most this many signatures that are due but not yet urgent are remade in this pass
   * (most overdue first); the rest keep theirs for a later pass. Default: all of them.
   */
  readonly maxRefresh?: number;
}

export interface OnlineSigningResult {
  readonly data: ZoneData;
  /** Signatures made for new or changed RRsets. */
  readonly signedChanged: number;
  /** Signatures remade only because they were due or urgent. */
  readonly refreshed: number;
  /** Signatures kept from the previous zone. */
  readonly kept: number;
  /** Due signatures left for a later pass (maxRefresh). */
  readonly deferred: number;
  /** Owner and type of every RRset that got a new signature, for the log. */
  readonly touched: readonly string[];
}

function rdataId(rr: ResourceRecord): string {
  return `${rr.ttl}/${Buffer.from(rr.rdata).toString('latin1')}`;
}

/** Same records (byte for byte) with the same TTL, in any order. */
function sameRrset(previous: readonly ResourceRecord[], next: readonly ResourceRecord[]): boolean {
  if (previous.length !== next.length) return false;
  const objects = new Set(previous);
  if (next.every((r) => objects.has(r))) return true;
  const ids = new Set(previous.map(rdataId));
  return ids.size === next.length && next.every((r) => ids.has(rdataId(r)));
}

function previousRrset(previous: ZoneData, name: Name, type: number): ZoneRrset | undefined {
  return type === RRType.NSEC3 ? previous.nsec3ByOwnerName(name) : previous.rrset(name, type);
}

/** The signature of `previous` over the same RRset by the same key, if there is one to keep. */
function reusableSignature(previous: ZoneData, job: SigningJob, zone: Name): ResourceRecord | undefined {
  const { name, type } = job.rrset[0]!;
  const set = previousRrset(previous, name, type);
  if (!set || !sameRrset(set.records, job.rrset)) return undefined;
  return set.sigs.find((sig) => {
    const f = decodeRrsig(sig.rdata);
    return f.typeCovered === type && f.keyTag === job.key.keyTag && f.algorithm === job.key.algorithm && f.signerName.equals(zone);
  });
}

/**
 * The apex CDS and CDNSKEY RRsets are the Key Master's (rollover-keys.ts `recordsToSign` adds
 * them when the zone is signed whole), not part of the zone's data as its file and its changes
 * say: a re-plan from that data keeps the ones the zone serves, so they are neither dropped nor
 * signed differently than by a whole-zone signing (signing-key-rule.ts).
 */
function withParentSignals(previous: ZoneData, unsigned: readonly ResourceRecord[]): readonly ResourceRecord[] {
  const apex = previous.origin;
  const isSignal = (r: ResourceRecord) => (r.type === RRType.CDS || r.type === RRType.CDNSKEY) && r.name.equals(apex);
  if (unsigned.some(isSignal)) return unsigned;
  const served = [RRType.CDS, RRType.CDNSKEY].flatMap((type) => previous.rrset(apex, type)?.records ?? []);
  return served.length === 0 ? unsigned : [...unsigned, ...served];
}

export function resignZone(previous: ZoneData, unsigned: readonly ResourceRecord[], o: OnlineSigningOptions): OnlineSigningResult {
  const { now, policy } = o;
  const refresh = o.refresh ?? DEFAULT_SIGNATURE_REFRESH_TIMING;
  const inception = now - policy.signatureInception;
  const plan = planZoneSigning(withParentSignals(previous, unsigned), {
    zone: o.zone,
    keys: o.keys,
    windows: {
      dnskey: { inception, expiration: now + policy.dnskeySignatureValidity },
      ds: { inception, expiration: now + policy.dsSignatureValidity },
      other: { inception, expiration: now + policy.signatureValidity },
    },
    denial: o.denial,
    dnskeyTtl: policy.dnskeyTtl,
  });
  const sigs: ResourceRecord[] = [];
  const due: { job: SigningJob; old: ResourceRecord; dueAt: number }[] = [];
  const touched = new Set<string>();
  let signedChanged = 0;
  let refreshed = 0;
  let kept = 0;
  const sign = (job: SigningJob) => {
    sigs.push((o.signRrset ?? signRrset)(job.rrset, job.key, job.window));
    touched.add(`${job.rrset[0]!.name.toString()} ${job.rrset[0]!.type}`);
  };
  for (const job of plan.jobs) {
    const old = reusableSignature(previous, job, o.zone);
    if (!old) {
      sign(job);
      signedChanged++;
      continue;
    }
    const state = signatureState(old, now, refresh);
    if (state === 'fresh') {
      sigs.push(old);
      kept++;
    } else if (state === 'urgent') {
      sign(job);
      refreshed++;
    } else due.push({ job, old, dueAt: signatureTimes(old, now, refresh).dueAt });
  }
  due.sort((a, b) => a.dueAt - b.dueAt);
  const limit = o.maxRefresh ?? Infinity;
  due.forEach((d, i) => {
    if (i < limit) {
      sign(d.job);
      refreshed++;
    } else {
      sigs.push(d.old);
      kept++;
    }
  });
  const data = ZoneData.fromRecords(o.zone, [...plan.records, ...sigs]);
  return { data, signedChanged, refreshed, kept, deferred: Math.max(0, due.length - limit), touched: [...touched] };
}

/**
 * Signs a change of a signed zone: incrementally (incremental-signer.ts) when it can, else by
 * re-planning the whole zone with `resignZone` (still keeping every signature it may). With
 * `refreshBatch`, also remakes signatures that fall due (a refresh pass).
 */
export function signChange(previous: ZoneData, change: { readonly removed: readonly ResourceRecord[]; readonly added: readonly ResourceRecord[]; readonly records: readonly ResourceRecord[] }, o: IncrementalOptions): OnlineSigningResult & { readonly incremental: boolean; readonly fallbackReason?: string; readonly refreshedSets: readonly string[] } {
  const refusal = incrementalRefusal(previous, change, o);
  if (!refusal) {
    const r = signIncrementally(previous, change, o);
    return { data: r.data, signedChanged: r.signedChanged, refreshed: r.refreshed, kept: 0, deferred: r.deferred, touched: r.touched, refreshedSets: r.refreshedSets, incremental: true };
  }
  const r = resignZone(previous, change.records, { ...o, maxRefresh: o.refreshBatch ?? 0 });
  // Re-planned whole: what it remade is not told apart from what the change made (a follower then refreshes by its own times).
  return { ...r, refreshedSets: [], incremental: false, fallbackReason: refusal };
}
