import type { LRUCache } from 'lru-cache';
import { authenticateDnskeyRrset, unusableDsOutcome, usableDs } from '../dnssec/dnskey-authentication.js';
import { proveNoDs, proveWithNsec } from '../dnssec/nsec-proof.js';
import { proveWithNsec3 } from '../dnssec/nsec3-proof.js';
import { type VerifyContext, verifyRrset } from '../dnssec/rrset-verification.js';
import type { TrustAnchor, TrustAnchorSource } from '../dnssec/trust-anchor.js';
import { type ValidationOutcome, bogus, insecure } from '../dnssec/validation-outcome.js';
import { EdeCode } from '../wire/edns.js';
import type { ResourceRecord } from '../wire/message.js';
import { Rcode } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import type { Resolution } from './iterator.js';
import type { ProvenDenial } from './aggressive-nsec-cache.js';
import { rrsetKey } from './link-origins.js';
import { BUFFER_COST, ENTRY_COST, MemoryBudget, stringCost } from './memory-budget.js';
import { signedRrsets } from './response-classifier.js';
import { serverKey } from './upstream-client.js';
import { type TraceStep, traceSignatures } from './validation-trace.js';

/** The security of the zone that holds a name: its keys when secure, else why not. */
export type ZoneSecurity =
  | { readonly state: 'secure'; readonly zone: Name; readonly keys: readonly Uint8Array[]; readonly outcome: ValidationOutcome }
  | { readonly state: 'insecure' | 'bogus' | 'indeterminate'; readonly zone: Name; readonly outcome: ValidationOutcome };

/** A zone the walk proved secure, with the keys that may sign its data. */
export type SecureZone = Extract<ZoneSecurity, { state: 'secure' }>;

/** What the walk learnt at one name below a secure zone. */
type CutInfo =
  | { kind: 'secure'; keys: readonly Uint8Array[]; outcome: ValidationOutcome; expiresAt: number }
  | { kind: 'insecure' | 'bogus'; outcome: ValidationOutcome; expiresAt: number }
  /** Not a zone cut: the name belongs to the zone above. */
  | { kind: 'none'; expiresAt: number }
  /** The name does not exist, so nothing below it is a cut either. */
  | { kind: 'nonexistent'; expiresAt: number };

/** How a key fetch is asked again after bogus keys: fresh (not from the cache), avoiding the servers that gave them. */
export interface FetchOptions {
  readonly avoid?: ReadonlySet<string>;
  readonly refresh?: boolean;
}

/** Times a bogus DS or DNSKEY answer is asked again of the zone's other servers (inside the query's budget). */
const MAX_KEY_RETRIES = 2;

/** One client query's validation: its clock reading, budget, limits and (for explain) trace. */
export interface ValidationRun extends VerifyContext {
  readonly fetch: (name: Name, type: number, options?: FetchOptions) => Promise<Resolution>;
  readonly trace?: TraceStep[];
  /** explain: walk every link again instead of using cached key state. */
  readonly fresh?: boolean;
  /**
   * RFC 4035 §5.3.3: for each RRset found secure (`name key/type`), the TTL it may be served and
   * kept with: at most the RRSIG's original TTL and the time left before the signature expires.
   */
  readonly ttlCaps?: Map<string, number>;
  /** Set by the answer validator to the link (`rrsetKey`, or `DENIAL_LINK`) that made the answer bogus. */
  failedLink?: string;
  /** Set when the keys of a zone, not the data, were bogus: asking for the data again cannot help. */
  keysFailed?: boolean;
  /** Whether the resolver knows a zone cut at `name` (a delegation it followed): key finding walks past the signer then. */
  readonly knownCut?: (name: Name) => boolean;
  /** Filled by the answer validator with each denial it proved secure (RFC 8198: aggressive-nsec-cache.ts). */
  readonly proven?: ProvenDenial[];
}

/** Notes the TTL cap of a verified RRset (the lowest when it is verified more than once). */
export function capTtl(run: ValidationRun, records: readonly ResourceRecord[], ttl: number): void {
  const first = records[0];
  if (!first || !run.ttlCaps) return;
  const key = rrsetKey(first.name, first.type);
  run.ttlCaps.set(key, Math.min(ttl, run.ttlCaps.get(key) ?? ttl));
}

export interface ChainOfTrustOptions {
  readonly anchors: TrustAnchorSource;
  /** How long a bogus key state is kept, seconds (Unbound's val-bogus-ttl: 60). */
  readonly bogusTtl: number;
  /** Upper bound on how long key state is kept, seconds. */
  readonly maxKeyTtl: number;
  /** The resolver's memory budget; alone, 8 MiB of its own. */
  readonly memory?: MemoryBudget;
}

/** Keys copied out of the DNSKEY response they were decoded from, which they would keep alive (up to 64 KB each). */
function ownKeys(c: CutInfo): CutInfo {
  return c.kind === 'secure' ? { ...c, keys: c.keys.map((k) => new Uint8Array(k)) } : c;
}

/** A cut's resident cost: its keys (each its own buffer), the outcome and its reason. */
function cutCost(c: CutInfo, key: string): number {
  let n = ENTRY_COST + stringCost(key) + 64;
  if (c.kind === 'secure') for (const k of c.keys) n += BUFFER_COST + k.length;
  if (c.kind === 'secure' || c.kind === 'insecure' || c.kind === 'bogus') n += 64 + stringCost(c.outcome.reason);
  return n;
}

const denialTypes = new Set<number>([RRType.NSEC, RRType.NSEC3]);

/**
 * Walks the chain of trust (RFC 4035 §5) from the closest trust anchor down to the zone that
 * holds a name: at each label below the anchor it asks for the DS RRset, verified with the
 * keys of the zone above; a DS makes the label a secure cut whose DNSKEY RRset must match it,
 * a signed proof of "no DS" at a delegation makes it an insecure cut, and a signed NODATA
 * without a delegation means no cut. What it learns is cached per name with the records' TTLs,
 * bogus states briefly, so a broken zone is not asked again for every query.
 */
export class ChainOfTrust {
  private readonly cuts: LRUCache<string, CutInfo>;
  private readonly anchorKeys: LRUCache<string, CutInfo>;
  private anchorsFingerprint = '';

  constructor(private readonly o: ChainOfTrustOptions) {
    // Key state is charged in bytes to the resolver's budget (its 'keys' share), as every store is.
    const memory = o.memory ?? MemoryBudget.whole('keys', 8 * 1024 * 1024);
    this.cuts = memory.lru('keys', cutCost, ownKeys);
    this.anchorKeys = memory.lru('keys', cutCost, ownKeys);
  }

  /** Forgets key state (after anchors change, or on `cache flush`). */
  flush(): void {
    this.cuts.clear();
    this.anchorKeys.clear();
  }

  /** The deepest trust anchor at or above `name`. */
  anchorFor(name: Name): TrustAnchor | undefined {
    const anchors = this.o.anchors.anchors();
    const fingerprint = anchors.map((a) => `${a.zone.key}:${a.ds.length + a.dnskey.length}:${a.ds.map((d) => Buffer.from(d).toString('base64')).join()}|${a.dnskey.map((d) => Buffer.from(d).toString('base64')).join()}`).join(';');
    if (fingerprint !== this.anchorsFingerprint) {
      this.anchorsFingerprint = fingerprint;
      this.flush();
    }
    let best: TrustAnchor | undefined;
    for (const a of anchors) if (name.isSubdomainOf(a.zone) && (!best || a.zone.labelCount > best.zone.labelCount)) best = a;
    return best;
  }

  /** The security of the zone holding `name` (for a DS RRset, pass the parent's name). */
  async zoneOf(name: Name, run: ValidationRun): Promise<ZoneSecurity> {
    const anchor = this.anchorFor(name);
    if (!anchor) {
      const outcome = insecure(`no trust anchor at or above ${name}`);
      run.trace?.push({ zone: name.toString(), kind: 'anchor', subject: name.toString(), state: 'insecure', detail: outcome.reason });
      return { state: 'insecure', zone: name, outcome };
    }
    const top = await this.keysAtAnchor(anchor, run);
    if (top.kind !== 'secure') return { state: top.kind === 'insecure' ? 'insecure' : 'bogus', zone: anchor.zone, outcome: (top as { outcome: ValidationOutcome }).outcome };
    let current: ZoneSecurity = { state: 'secure', zone: anchor.zone, keys: top.keys, outcome: top.outcome };
    for (let n = anchor.zone.labelCount + 1; n <= name.labelCount; n++) {
      const label = name.suffix(n);
      const cut = await this.cutAt(label, current as SecureZone, run);
      if (cut.kind === 'none') continue;
      if (cut.kind === 'nonexistent') break;
      if (cut.kind === 'secure') {
        current = { state: 'secure', zone: label, keys: cut.keys, outcome: cut.outcome };
        continue;
      }
      return { state: cut.kind, zone: label, outcome: cut.outcome };
    }
    return current;
  }

  private now(run: ValidationRun): number {
    return run.now * 1000;
  }

  private async keysAtAnchor(anchor: TrustAnchor, run: ValidationRun): Promise<CutInfo> {
    const key = anchor.zone.key;
    const cached = run.fresh ? undefined : this.anchorKeys.get(key);
    const zone = anchor.zone.toString();
    if (cached && cached.expiresAt > this.now(run)) {
      if (cached.kind === 'secure' || cached.kind === 'insecure' || cached.kind === 'bogus') run.trace?.push({ zone, kind: 'cached', subject: `${zone}/DNSKEY`, state: cached.kind, detail: `(cached) ${cached.outcome.reason}` });
      return cached;
    }
    if (anchor.ds.length === 0 && anchor.dnskey.length === 0) {
      // Fail closed: a configured trust point whose keys are all pending or out of their window.
      const outcome = bogus(`${zone}: the trust point has no trusted key now (keys pending their add hold-down, or DS outside validFrom/validUntil)`, EdeCode.DNSKEY_MISSING);
      run.trace?.push({ zone, kind: 'anchor', subject: zone, state: 'bogus', detail: outcome.reason });
      const info: CutInfo = { kind: 'bogus', outcome, expiresAt: this.now(run) + this.o.bogusTtl * 1000 };
      this.anchorKeys.set(key, info);
      return info;
    }
    run.trace?.push({ zone, kind: 'anchor', subject: zone, state: 'secure', detail: `trust anchor: ${anchor.ds.length} DS, ${anchor.dnskey.length} DNSKEY` });
    const info = await this.learnAvoiding((r) => this.learnAnchorKeys(anchor, r), run);
    this.anchorKeys.set(key, info);
    return info;
  }

  /**
   * Learns key state, and when it comes out bogus asks again, fresh, of the servers that did not
   * give it (as Unbound re-queries with the bad server blacklisted for the query), at most
   * `MAX_KEY_RETRIES` times. Every attempt spends from the query's budgets.
   */
  private async learnAvoiding(learn: (run: ValidationRun) => Promise<CutInfo>, run: ValidationRun): Promise<CutInfo> {
    const avoid = new Set<string>();
    let first: CutInfo | undefined;
    for (let attempt = 0; ; attempt++) {
      // The last fetch of a learning step brought the data it judged (the DS, then the DNSKEY).
      let last: readonly string[] = [];
      let unanswered = false;
      const options: FetchOptions | undefined = attempt === 0 ? undefined : { avoid, refresh: true };
      const scoped: ValidationRun = {
        ...run,
        fetch: async (name, type) => {
          const r = await run.fetch(name, type, options);
          last = (r.servers ?? []).map(serverKey);
          unanswered = r.rcode === Rcode.SERVFAIL;
          return r;
        },
      };
      const info = await learn(scoped);
      if (info.kind !== 'bogus') return info;
      // A retry that finds nothing better keeps the first verdict: it says what was wrong.
      first ??= info;
      // No answer at all: the iterator already tried every server; asking again only waits longer.
      if (unanswered) return first;
      const fresh = last.filter((k) => !avoid.has(k));
      if (attempt >= MAX_KEY_RETRIES || (fresh.length === 0 && attempt > 0)) return first;
      for (const k of fresh) avoid.add(k);
    }
  }

  private async learnAnchorKeys(anchor: TrustAnchor, run: ValidationRun): Promise<CutInfo> {
    const zone = anchor.zone.toString();
    const r = await run.fetch(anchor.zone, RRType.DNSKEY);
    const sets = signedRrsets(r.answer).filter((s) => s.records[0]!.type === RRType.DNSKEY && s.records[0]!.name.equals(anchor.zone));
    let info: CutInfo;
    if (r.rcode !== Rcode.NOERROR || sets.length === 0) {
      const outcome = bogus(`${zone}: cannot get the DNSKEY RRset of the trust point${r.failure ? `: ${r.failure.reason}` : ''}`, r.failure ? EdeCode.NO_REACHABLE_AUTHORITY : EdeCode.DNSKEY_MISSING);
      info = { kind: 'bogus', outcome, expiresAt: this.now(run) + this.o.bogusTtl * 1000 };
      run.trace?.push({ zone, kind: 'dnskey', subject: `${zone}/DNSKEY`, state: 'bogus', detail: outcome.reason });
    } else {
      const auth = authenticateDnskeyRrset(anchor.zone, sets[0]!.records, sets[0]!.rrsigs, anchor, run);
      run.trace?.push({ zone, kind: 'dnskey', subject: `${zone}/DNSKEY`, state: auth.outcome.state, detail: auth.outcome.reason, signatures: traceSignatures(auth.checks) });
      info = this.toInfo(auth.outcome, auth.keys, auth.ttl, run);
    }
    return info;
  }

  private toInfo(outcome: ValidationOutcome, keys: readonly Uint8Array[], ttl: number, run: ValidationRun): CutInfo {
    const now = this.now(run);
    if (outcome.state === 'secure') return { kind: 'secure', keys, outcome, expiresAt: now + Math.min(ttl, this.o.maxKeyTtl) * 1000 };
    if (outcome.state === 'insecure') return { kind: 'insecure', outcome, expiresAt: now + Math.max(ttl, this.o.bogusTtl) * 1000 };
    return { kind: 'bogus', outcome, expiresAt: now + this.o.bogusTtl * 1000 };
  }

  /** What `label` is, seen from the secure zone above it. */
  private async cutAt(label: Name, parent: SecureZone, run: ValidationRun): Promise<CutInfo> {
    const key = label.key;
    const cached = run.fresh ? undefined : this.cuts.get(key);
    if (cached && cached.expiresAt > this.now(run)) {
      if (cached.kind !== 'none' && cached.kind !== 'nonexistent') run.trace?.push({ zone: label.toString(), kind: 'cached', subject: `${label}/DS`, state: cached.kind, detail: `(cached) ${cached.outcome.reason}` });
      return cached;
    }
    const info = await this.learnAvoiding((r) => this.learnCut(label, parent, r), run);
    this.cuts.set(key, info);
    return info;
  }

  private async learnCut(label: Name, parent: SecureZone, run: ValidationRun): Promise<CutInfo> {
    const zone = parent.zone.toString();
    const name = label.toString();
    const now = this.now(run);
    const fail = (outcome: ValidationOutcome, kind: TraceStep['kind'] = 'ds'): CutInfo => {
      run.trace?.push({ zone: name, kind, subject: `${name}/DS`, state: outcome.state, detail: outcome.reason });
      return this.toInfo(outcome, [], 0, run);
    };
    const r = await run.fetch(label, RRType.DS);
    if (r.rcode === Rcode.SERVFAIL) return fail(bogus(`${name}: cannot get the DS RRset from ${zone}: ${r.failure?.reason ?? 'no answer'}`, EdeCode.NO_REACHABLE_AUTHORITY));

    const answerSets = signedRrsets(r.answer);
    const dsSet = answerSets.find((s) => s.records[0]!.type === RRType.DS && s.records[0]!.name.equals(label));
    if (dsSet) {
      const verified = verifyRrset(dsSet.records, dsSet.rrsigs, parent.zone, parent.keys, run);
      run.trace?.push({ zone, kind: 'ds', subject: `${name}/DS`, state: verified.outcome.state, detail: verified.outcome.reason, signatures: traceSignatures(verified.checks) });
      if (verified.outcome.state !== 'secure') return this.toInfo(verified.outcome, [], 0, run);
      const ds = dsSet.records.map((d) => d.rdata);
      if (usableDs(ds).length === 0) return fail(unusableDsOutcome(label, ds));
      const k = await run.fetch(label, RRType.DNSKEY);
      const keySet = signedRrsets(k.answer).find((s) => s.records[0]!.type === RRType.DNSKEY && s.records[0]!.name.equals(label));
      if (!keySet) return fail(bogus(`${name}: a DS is in ${zone} but there is no DNSKEY RRset${k.failure ? ` (${k.failure.reason})` : ''}`, k.failure ? EdeCode.NO_REACHABLE_AUTHORITY : EdeCode.DNSKEY_MISSING), 'dnskey');
      const auth = authenticateDnskeyRrset(label, keySet.records, keySet.rrsigs, { ds, dnskey: [] }, run);
      run.trace?.push({ zone: name, kind: 'dnskey', subject: `${name}/DNSKEY`, state: auth.outcome.state, detail: auth.outcome.reason, signatures: traceSignatures(auth.checks) });
      return this.toInfo(auth.outcome, auth.keys, Math.min(auth.ttl, verified.ttl), run);
    }
    if (answerSets.some((s) => s.records[0]!.type === RRType.CNAME && s.records[0]!.name.equals(label))) return { kind: 'none', expiresAt: now + 60_000 };
    if (r.rcode !== Rcode.NOERROR && r.rcode !== Rcode.NXDOMAIN) return fail(bogus(`${name}: DS query answered ${r.rcode}`, EdeCode.DNSSEC_BOGUS));

    // A negative answer: it must be proven with records the zone above signed.
    const denial = await this.verifiedDenial(r.authority, parent, run);
    if ('outcome' in denial) return fail(denial.outcome);
    // RFC 4035 §5.3.3: kept no longer than the proof's signatures are valid.
    const ttl = Math.max(1, Math.min(...r.authority.map((x) => x.ttl), denial.ttl, this.o.maxKeyTtl));
    if (r.rcode === Rcode.NXDOMAIN) {
      const proof = prove('nxdomain', label, RRType.DS, parent.zone, denial.records, run);
      run.trace?.push({ zone, kind: 'denial', subject: `${name}/DS`, state: proof.state, detail: proof.reason });
      if (proof.state === 'secure') return { kind: 'nonexistent', expiresAt: now + ttl * 1000 };
      // Servers that answer NXDOMAIN for an empty non-terminal sign an NSEC that shows it exists:
      // the records, not the rcode, decide (as Unbound reads a DS reply), so it is no cut.
      const nodata = prove('nodata', label, RRType.DS, parent.zone, denial.records, run);
      if (nodata.state === 'secure' && (nodata as { delegation?: boolean }).delegation !== true) return { kind: 'none', expiresAt: now + ttl * 1000 };
      return this.toInfo(proof, [], ttl, run);
    }
    const noDs = proveNoDs(label, parent.zone, denial.records, run.budget);
    if (noDs.state === 'secure' || noDs.state === 'insecure') {
      const outcome = insecure(`${name}: unsigned delegation from ${zone} (${noDs.reason})`, noDs.ede);
      run.trace?.push({ zone, kind: 'no-ds', subject: `${name}/DS`, state: 'insecure', detail: outcome.reason });
      return { kind: 'insecure', outcome, expiresAt: now + ttl * 1000 };
    }
    const nodata = prove('nodata', label, RRType.DS, parent.zone, denial.records, run);
    if (nodata.state === 'secure') return { kind: 'none', expiresAt: now + ttl * 1000 };
    const outcome = nodata.state === 'insecure' ? insecure(`${name}: ${nodata.reason}`, nodata.ede) : bogus(`${name}: no DS, and no proof of it: ${noDs.reason}`, noDs.ede ?? EdeCode.NSEC_MISSING);
    run.trace?.push({ zone, kind: 'denial', subject: `${name}/DS`, state: outcome.state, detail: outcome.reason });
    return this.toInfo(outcome, [], ttl, run);
  }

  /**
   * The NSEC/NSEC3 records of a negative answer whose signatures verify with the zone's keys
   * (the SOA too, when there is one), or why they do not.
   */
  async verifiedDenial(authority: readonly ResourceRecord[], zone: SecureZone, run: ValidationRun): Promise<{ records: ResourceRecord[]; soa: ResourceRecord[]; ttl: number } | { outcome: ValidationOutcome }> {
    const sets = signedRrsets(authority);
    const records: ResourceRecord[] = [];
    const soa: ResourceRecord[] = [];
    let ttl = Infinity;
    const proofSets = sets.filter((s) => denialTypes.has(s.records[0]!.type));
    if (proofSets.length === 0) return { outcome: bogus(`${zone.zone}: negative answer without NSEC or NSEC3 from a signed zone`, EdeCode.NSEC_MISSING) };
    if (proofSets.length > run.limits.maxDenialRecords) return { outcome: bogus(`${zone.zone}: negative answer padded with ${proofSets.length} NSEC/NSEC3 RRsets`, EdeCode.DNSSEC_BOGUS) };
    for (const s of sets) {
      const type = s.records[0]!.type;
      if (type !== RRType.SOA && !denialTypes.has(type)) continue;
      if (!s.records[0]!.name.isSubdomainOf(zone.zone)) continue;
      const verified = verifyRrset(s.records, s.rrsigs, zone.zone, zone.keys, run);
      run.trace?.push({ zone: zone.zone.toString(), kind: 'rrset', subject: `${s.records[0]!.name}/${type === RRType.SOA ? 'SOA' : type === RRType.NSEC ? 'NSEC' : 'NSEC3'}`, state: verified.outcome.state, detail: verified.outcome.reason, signatures: traceSignatures(verified.checks) });
      if (verified.outcome.state !== 'secure') return { outcome: verified.outcome };
      capTtl(run, s.records, verified.ttl);
      ttl = Math.min(ttl, verified.ttl);
      (type === RRType.SOA ? soa : records).push(...s.records);
      await yieldToOthers();
    }
    if (records.length === 0) return { outcome: bogus(`${zone.zone}: no NSEC or NSEC3 of the zone in the negative answer`, EdeCode.NSEC_MISSING) };
    return { records, soa, ttl };
  }
}

/** A denial proof with NSEC or NSEC3, whichever the records are. */
export function prove(kind: 'nxdomain' | 'nodata' | 'wildcard-answer', qname: Name, qtype: number, zone: Name, records: readonly ResourceRecord[], run: ValidationRun, closestEncloser?: Name): ValidationOutcome {
  const nsec3 = records.filter((r) => r.type === RRType.NSEC3);
  const wildcard = closestEncloser ? { closestEncloser } : undefined;
  if (nsec3.length > 0) return proveWithNsec3(kind, qname, qtype, zone, nsec3, run.budget, wildcard);
  return proveWithNsec(kind, qname, qtype, zone, records.filter((r) => r.type === RRType.NSEC), run.limits, wildcard);
}

/** Lets other clients' work run between signature checks, so one costly query cannot stall the server. */
export function yieldToOthers(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
