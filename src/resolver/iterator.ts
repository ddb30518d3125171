import type { Clock } from '../clock.js';
import type { Message, Question, ResourceRecord } from '../wire/message.js';
import { Rcode } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { EdeCode } from '../wire/edns.js';
import { RRType } from '../wire/rr-type.js';
import { groupRrsets } from '../wire/rrsets.js';
import type { ServerAddress } from './dns-transport.js';
import { InflightResolutions } from './inflight-resolutions.js';
import type { CacheEntry, RecordCache } from './record-cache.js';
import { QueryBudget, ResolutionLimitError, type LimitName, type ResolutionLimits } from './resolution-limits.js';
import { type Classified, type SignedRrset, classifyResponse, synthesiseFromDname } from './response-classifier.js';
import type { RootHints } from './root-hints.js';
import { Credibility, type SecurityStatus } from './security-status.js';
import { DENIAL_LINK, LinkOrigins, type LinkOriginFields } from './link-origins.js';
import { RETRY_ROUNDS, type UpstreamAnswer, type UpstreamClient, serverKey } from './upstream-client.js';

export interface Resolution extends LinkOriginFields {
  readonly rcode: number;
  /** The answer chain (CNAME/DNAME links and the final RRset), with RRSIGs. */
  readonly answer: ResourceRecord[];
  /** For a negative answer: the SOA and the NSEC/NSEC3 proofs, with RRSIGs. */
  readonly authority: ResourceRecord[];
  readonly security: SecurityStatus;
  /**
   * Some link of the answer came from a zone this server hosts (trusted as it is, never
   * validated); `hostedLinks`/`hostedDenial` say which, `servers`/`servedBy` which upstream
   * server answered each other link (none for cached links): see `LinkOrigins`.
   */
  readonly local?: boolean;
  /** Why the resolver gave up (SERVFAIL), for logs, EDE text and `explain`. */
  readonly failure?: { readonly reason: string; readonly limit?: LimitName; readonly ede?: readonly (readonly [number, string])[] };
  /** A cache-only resolution (RD=0) found the name neither in the cache nor in a hosted zone. */
  readonly cacheMiss?: boolean;
}

/** What one resolution may be told beyond the question (the validator's retry elsewhere). */
export interface IteratorResolveOptions {
  /** Servers (`serverKey`) not to ask: they gave this client query bogus data (as Unbound's per-query blacklist). */
  readonly avoid?: ReadonlySet<string>;
  /** RD=0: from hosted zones and the cache only, never a query upstream. */
  readonly cacheOnly?: boolean;
}

/** The outcome of resolving exactly one name and type, before following CNAMEs. */
type Step = (
  | { kind: 'answer'; records: ResourceRecord[]; proofs: ResourceRecord[] }
  | { kind: 'cname'; records: ResourceRecord[]; target: Name; proofs: ResourceRecord[] }
  | { kind: 'nxdomain' | 'nodata'; authority: ResourceRecord[] }
) & { local?: boolean; server?: ServerAddress }
  | { kind: 'servfail'; reason: string; limit?: LimitName; ede?: number; miss?: true };

/**
 * The zone the resolution has reached and the servers to ask there (Unbound's delegation point).
 * `glue` holds the addresses a referral just gave, used as they came even where the cache holds
 * the child's own (perhaps dead) records; `fromParent` says it came from the parent just now.
 */
interface Delegation {
  readonly zone: Name;
  readonly nsNames: readonly Name[];
  readonly glue: ReadonlyMap<string, readonly ServerAddress[]>;
  readonly fromParent: boolean;
}

/**
 * One resolution's place in the client query: its budget, nesting, the resolutions it works for,
 * and the servers it must not ask.
 */
interface Context {
  readonly budget: QueryBudget;
  readonly depth: number;
  readonly path: readonly string[];
  readonly avoid?: ReadonlySet<string>;
}

/** What a zone this server hosts says of a name: consulted before the cache and the network. */
export interface LocalZoneLookup {
  (name: Name, type: number): { readonly zone: Name; readonly rcode: number; readonly aa: boolean; readonly answer: ResourceRecord[]; readonly authority: ResourceRecord[] } | undefined;
}

export interface IteratorOptions {
  /** The server's own zones: their data is used as it is, never fetched or cached. */
  readonly localZones?: LocalZoneLookup;
  readonly clock: Clock;
  readonly cache: RecordCache;
  readonly upstream: UpstreamClient;
  readonly rootHints: RootHints;
  readonly limits: ResolutionLimits;
  /** Forwarders for a name (global forward-only list or a namespace's), or undefined to iterate. */
  readonly forwardersFor: (name: Name) => readonly ServerAddress[] | undefined;
  readonly qnameMinimisation: boolean;
}

const flatten = (sets: readonly SignedRrset[]) => sets.flatMap((s) => [...s.records, ...s.rrsigs]);
const port53 = (host: string): ServerAddress => ({ host, port: 53 });
/** The client-facing deadline fires up to this much late, so concurrent queries share timer lists. */
const DEADLINE_GRAIN_MS = 50;

/**
 * The iterative resolver (RFC 1034 §5.3.3, RFC 9156): from the closest cached zone cut or
 * the root hints down referrals to an answer, caching what it learns within each server's
 * bailiwick, following CNAME and DNAME chains, resolving glueless NS names, all inside the
 * per-query limits. Identical questions in flight share one resolution.
 */
export class Iterator {
  private readonly inflight = new InflightResolutions<Step>();

  constructor(private readonly o: IteratorOptions) {
    for (const s of groupRrsets(o.rootHints.records)) o.cache.storeRrset(s, [], Credibility.glue);
  }

  /**
   * `options.cacheOnly` (RD=0): from hosted zones and the cache only; a miss is a `cacheMiss` SERVFAIL, never a query upstream.
   * `path`: the resolutions this one works for (a name server's address), for cycle detection.
   */
  async resolve(question: Question, budget = new QueryBudget(this.o.limits, this.o.clock.now()), depth = 0, options: IteratorResolveOptions = {}, path: readonly string[] = []): Promise<Resolution> {
    const answer: ResourceRecord[] = [];
    const proofs: ResourceRecord[] = [];
    const seen = new Set<string>();
    let name = question.name;
    const origins = new LinkOrigins();
    const ctx: Context = { budget, depth, path, ...(options.avoid?.size ? { avoid: options.avoid } : {}) };
    for (let links = 0; ; links++) {
      let step: Step;
      try {
        step = await this.step(name, question.type, ctx, options.cacheOnly ?? false);
      } catch (e) {
        if (!(e instanceof ResolutionLimitError)) throw e;
        step = { kind: 'servfail', reason: e.message, limit: e.limit };
      }
      if (step.kind !== 'servfail') origins.note(step.kind === 'answer' || step.kind === 'cname' ? step.records : DENIAL_LINK, step.local, step.server);
      const from = origins.fields();
      switch (step.kind) {
        case 'answer':
          return { rcode: Rcode.NOERROR, answer: [...answer, ...step.records], authority: distinct([...proofs, ...step.proofs]), security: 'unchecked', ...from };
        case 'nxdomain':
        case 'nodata':
          return { rcode: step.kind === 'nxdomain' ? Rcode.NXDOMAIN : Rcode.NOERROR, answer, authority: step.authority, security: 'unchecked', ...from };
        case 'servfail':
          return {
            rcode: Rcode.SERVFAIL, answer: [], authority: [], security: 'unchecked',
            failure: { reason: step.reason, ...(step.limit ? { limit: step.limit } : {}), ...(step.ede !== undefined ? { ede: [[step.ede, step.reason]] } : {}) },
            ...(step.miss ? { cacheMiss: true } : {}),
          };
        case 'cname':
          answer.push(...step.records);
          proofs.push(...step.proofs);
          seen.add(name.key);
          if (links + 1 > this.o.limits.maxCnameChain)
            return { rcode: Rcode.SERVFAIL, answer: [], authority: [], security: 'unchecked', failure: { reason: `CNAME chain longer than ${this.o.limits.maxCnameChain}`, limit: 'cname-chain' } };
          if (seen.has(step.target.key)) return { rcode: Rcode.SERVFAIL, answer: [], authority: [], security: 'unchecked', failure: { reason: `CNAME loop at ${step.target}` } };
          name = step.target;
      }
    }
  }

  /** The answer of a zone this server hosts (authoritative data only; a delegation out of it is iterated as usual). */
  private fromLocalZone(name: Name, type: number): Step | undefined {
    const found = this.o.localZones?.(name, type);
    if (!found || !found.aa) return undefined;
    const response = { rcode: found.rcode, aa: true, question: [{ name, type, class: 1 }], answer: found.answer, authority: found.authority, additional: [] } as unknown as Message;
    const c = classifyResponse(response, name, type, found.zone);
    if (c.kind === 'lame' || c.kind === 'referral') return undefined;
    const step = this.stepFromClassified(c, name, type, true, false);
    return step.kind === 'servfail' ? undefined : { ...step, local: true };
  }

  private fromCache(name: Name, type: number): Step | undefined {
    const cache = this.o.cache;
    const e = cache.lookup(name, type);
    // Glue and root hints steer the iteration but are never an answer (RFC 2181 §5.4.1): they
    // carry no signatures, and the zone's own servers may say otherwise.
    if (e && !(e.kind === 'rrset' && e.credibility < Credibility.authority)) return this.stepFromEntry(e, type);
    // A cached DNAME above the name redirects it (RFC 6672 §3.2).
    for (let strip = 1; strip < name.labelCount; strip++) {
      const d = cache.rrset(name.parent(strip), RRType.DNAME);
      if (!d) continue;
      const cname = synthesiseFromDname(cache.withRemainingTtl(d.records, d)[0]!, name);
      if (!cname) return { kind: 'servfail', reason: 'DNAME substitution longer than 255 octets' };
      return { kind: 'cname', records: [...cache.withRemainingTtl(d.records, d), ...d.rrsigs, cname], target: decodeRdata(RRType.CNAME, cname.rdata)['target'] as Name, proofs: [] };
    }
    return undefined;
  }

  private stepFromEntry(e: CacheEntry, type: number): Step {
    const cache = this.o.cache;
    if (e.kind !== 'rrset') return { kind: e.kind, authority: cache.withRemainingTtl(e.authority, e) };
    const records = [...cache.withRemainingTtl(e.records, e), ...cache.withRemainingTtl(e.rrsigs, e)];
    const proofs = e.proofs.length > 0 ? cache.withRemainingTtl(e.proofs, e) : [];
    if (e.type === type || type === RRType.CNAME) return { kind: 'answer', records, proofs };
    return { kind: 'cname', records, target: decodeRdata(RRType.CNAME, e.records[0]!.rdata)['target'] as Name, proofs };
  }

  private step(name: Name, type: number, ctx: Context, cacheOnly: boolean): Promise<Step> | Step {
    const local = this.fromLocalZone(name, type);
    if (local) return local;
    const cached = this.fromCache(name, type);
    if (cached) return cached;
    if (cacheOnly) return { kind: 'servfail', reason: `${name} ${type} is not in the cache (RD=0: answered from the cache only)`, miss: true };
    const key = `${name.key}/${type}${ctx.avoid ? `/avoid:${[...ctx.avoid].join(',')}` : ''}`;
    const work = this.inflight.join(key, ctx.path, () => this.fetch(name, type, { ...ctx, path: [...ctx.path, key] }));
    if (work === 'cycle') {
      return { kind: 'servfail', reason: `dependency cycle: resolving ${name} needs the address of a name server that needs ${name} itself`, ede: EdeCode.NO_REACHABLE_AUTHORITY };
    }
    return ctx.path.length === 0 ? this.withinDeadline(work, ctx.budget) : work;
  }

  /**
   * The deadline is a promise to the client: whatever the upstreams do (and a resolution this one
   * joined belongs to another client query), the answer is SERVFAIL once it has passed, or at
   * once if the resolution failed on an error. The work itself stops soon after, as each
   * upstream query checks the same deadline.
   */
  private withinDeadline(work: Promise<Step>, budget: QueryBudget): Promise<Step> {
    // Rounded up to DEADLINE_GRAIN_MS: Node keeps one timer list per distinct duration, and a new
    // list per client query (every query's remaining time differs by a few ms) was 2 % of a
    // cold run's CPU profile (docs/outgoing-ports.md).
    const remaining = Math.ceil(budget.remainingMs(this.o.clock.now()) / DEADLINE_GRAIN_MS) * DEADLINE_GRAIN_MS;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Step>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'servfail', reason: `no answer within ${budget.limits.deadlineMs} ms`, limit: 'deadline' }), remaining);
    });
    // A fault of ours on some peer's data must still leave the client with an answer.
    const guarded = work.catch((e: unknown): Step => {
      if (e instanceof ResolutionLimitError) throw e;
      return { kind: 'servfail', reason: `internal error: ${(e as Error)?.message ?? String(e)}` };
    });
    return Promise.race([guarded, late]).finally(() => clearTimeout(timer));
  }

  private async fetch(name: Name, type: number, ctx: Context): Promise<Step> {
    const forwarders = this.o.forwardersFor(name)?.filter((s) => !ctx.avoid?.has(serverKey(s)));
    if (forwarders?.length === 0) return { kind: 'servfail', reason: `every forwarder for ${name} gave bogus data` };
    if (forwarders) return this.forward(name, type, forwarders, ctx.budget);

    // A DS RRset lives on the parent side of a zone cut (RFC 4035 §5.2): ask from above it.
    let dp = await this.closestDelegation(type === RRType.DS && !name.isRoot ? name.parent(1) : name, ctx);
    let minimised = this.o.qnameMinimisation ? dp.zone.labelCount + 1 : name.labelCount;
    let minimiseSteps = 0;
    const parentAsked = new Set<string>();
    for (let referrals = 0; referrals <= this.o.limits.maxReferrals; ) {
      const minimising = minimised < name.labelCount && minimiseSteps < this.o.limits.maxMinimiseSteps;
      const qname = minimising ? name.suffix(minimised) : name;
      const qtype = minimising ? RRType.A : type;
      if (minimising && this.knownNotACut(qname, dp.zone)) {
        // The zone's servers answered for this label before: no cut here, go one label deeper.
        minimised++;
        continue;
      }
      let classified: Classified | undefined;
      const zone = dp.zone;
      const question = { name: qname, type: qtype, class: 1 };
      const usable = (r: Message) => (classified = classifyResponse(r, qname, qtype, zone)).kind !== 'lame';
      // The child's own NS RRset or server addresses may be what is broken: then the delegation
      // the parent holds (its NS set and glue) is asked for, once, as Unbound does; before that,
      // servers that only stayed silent are not waited for again.
      const canFallBack = !dp.fromParent && !zone.isRoot && !parentAsked.has(zone.key);
      let ans = await this.askZone(dp, question, usable, ctx, !canFallBack);
      if ((typeof ans === 'string' || !classified) && canFallBack) {
        parentAsked.add(zone.key);
        const fresh = await this.delegationFromParent(zone, ctx);
        if (fresh) {
          dp = fresh;
          continue;
        }
        ans = await this.askZone(dp, question, usable, ctx);
      }
      if (typeof ans === 'string' || !classified) {
        return { kind: 'servfail', reason: typeof ans === 'string' ? ans : `no usable answer from the servers of ${zone} for ${qname}`, ede: EdeCode.NO_REACHABLE_AUTHORITY };
      }
      const c = classified as Classified;

      if (c.kind === 'referral') {
        dp = this.learnReferral(c);
        minimised = Math.max(minimised, dp.zone.labelCount + 1);
        referrals++;
        continue;
      }
      if (minimising) {
        // The minimised name is not a cut. NXDOMAIN there would end the search (RFC 8020),
        // but broken servers say it of empty non-terminals, so ask the full name instead.
        // What the zone said of it is kept, so the next name below it skips this step.
        if (c.kind === 'nodata' && ans.response.aa) this.o.cache.storeNegative('nodata', qname, qtype, c.authority, c.negativeTtl);
        if (c.kind === 'answer' && ans.response.aa) for (const set of c.rrsets) if (!set.synthesised) this.o.cache.storeRrset(set.records, set.rrsigs, Credibility.answer, 'unchecked', c.proofs);
        minimiseSteps++;
        minimised = c.kind === 'nxdomain' ? name.labelCount : minimised + 1;
        continue;
      }
      return withServer(this.stepFromClassified(c, name, type, ans.response.aa), ans.server);
    }
    return { kind: 'servfail', reason: `more than ${this.o.limits.maxReferrals} referrals`, limit: 'referrals' };
  }

  /**
   * Caches what a referral says (NS and glue at glue credibility, a DS, or the signed proof that
   * there is no DS, which the chain of trust would otherwise ask for) and returns it as the next
   * delegation, its glue used as it came.
   */
  private learnReferral(c: Extract<Classified, { kind: 'referral' }>): Delegation {
    const cache = this.o.cache;
    cache.storeRrset(c.ns.records, c.ns.rrsigs, Credibility.glue);
    const glue = new Map<string, ServerAddress[]>();
    for (const g of c.glue) {
      cache.storeRrset(g.records, g.rrsigs, Credibility.glue);
      for (const r of g.records) {
        const list = glue.get(r.name.key) ?? [];
        list.push(port53(decodeRdata(r.type, r.rdata)['address'] as string));
        glue.set(r.name.key, list);
      }
    }
    for (const d of c.ds) cache.storeRrset(d.records, d.rrsigs, Credibility.authority);
    // RFC 4035 §3.1.4 / RFC 5155 §7.2.7: the NSEC at the cut (or the NSEC3) that comes with an
    // unsigned delegation proves it has no DS; validation checks the proof when it reads it.
    const proven = c.proofs.some((r) => (r.type === RRType.NSEC && r.name.equals(c.zone)) || r.type === RRType.NSEC3);
    if (c.ds.length === 0 && proven) {
      cache.storeNegative('nodata', c.zone, RRType.DS, c.proofs, Math.min(...c.proofs.map((r) => r.ttl)));
    }
    return { zone: c.zone, nsNames: c.nsNames, glue, fromParent: true };
  }

  /**
   * The delegation of `zone` as its parent holds it, asked of the parent's servers afresh: the
   * fallback when the child's own NS RRset or its servers' addresses lead nowhere (expired glue
   * of in-zone servers, a dead NS set at the apex). Walks down from the closest cached zone
   * above, as a resolution would.
   */
  private async delegationFromParent(zone: Name, ctx: Context): Promise<Delegation | undefined> {
    let dp = await this.closestDelegation(zone.parent(1), ctx);
    for (let referrals = 0; referrals < this.o.limits.maxReferrals; referrals++) {
      let classified: Classified | undefined;
      const above = dp.zone;
      const ans = await this.askZone(dp, { name: zone, type: RRType.NS, class: 1 }, (r) => (classified = classifyResponse(r, zone, RRType.NS, above)).kind === 'referral', ctx);
      if (typeof ans === 'string' || classified?.kind !== 'referral') return undefined;
      dp = this.learnReferral(classified);
      if (dp.zone.equals(zone)) return dp;
      if (!zone.isSubdomainOf(dp.zone)) return undefined;
    }
    return undefined;
  }

  /**
   * Whether a minimised name is known, from an answer of `zone`'s own servers still in the cache,
   * not to be a zone cut: its A data, a CNAME or a NODATA came from the zone, not a referral.
   */
  private knownNotACut(qname: Name, zone: Name): boolean {
    const e = this.o.cache.peek(qname, RRType.A);
    if (!e || e.kind === 'nxdomain') return false;
    if (e.kind === 'rrset' && e.credibility < Credibility.authority) return false;
    if (this.o.cache.rrset(qname, RRType.NS)) return false;
    return qname.isSubdomainOf(zone) && !qname.equals(zone);
  }

  private stepFromClassified(c: Classified, name: Name, type: number, authoritative: boolean, remember = true): Step {
    const cache = this.o.cache;
    switch (c.kind) {
      case 'answer':
      case 'cname': {
        const credibility = authoritative ? Credibility.answer : Credibility.authority;
        // Wildcard proofs belong to the RRset whose RRSIG shows the expansion; all of them go with each, cheaply.
        if (remember) for (const s of c.rrsets) if (!s.synthesised) cache.storeRrset(s.records, s.rrsigs, credibility, 'unchecked', c.proofs);
        const first = c.rrsets[0]!;
        if (c.kind === 'answer' && c.rrsets.length === 1) return { kind: 'answer', records: flatten(c.rrsets), proofs: c.proofs };
        // Return only the first link; the rest is in the cache (or fetched) on the next step.
        const link = first.records[0]!.type === RRType.DNAME ? c.rrsets.slice(0, 2) : [first];
        const cname = link[link.length - 1]!.records[0]!;
        if (type === RRType.CNAME && cname.name.equals(name) && first.records[0]!.type === RRType.CNAME) return { kind: 'answer', records: flatten([first]), proofs: c.proofs };
        return { kind: 'cname', records: flatten(link), target: decodeRdata(RRType.CNAME, cname.rdata)['target'] as Name, proofs: c.proofs };
      }
      case 'nxdomain':
      case 'nodata':
        if (remember) cache.storeNegative(c.kind, name, type, c.authority, c.negativeTtl);
        return { kind: c.kind, authority: c.authority };
      case 'referral':
      case 'lame':
        return { kind: 'servfail', reason: `unexpected ${c.kind} for ${name}` };
    }
  }

  private async forward(name: Name, type: number, servers: readonly ServerAddress[], budget: QueryBudget): Promise<Step> {
    let classified: Classified | undefined;
    const ans = await this.o.upstream.ask(servers, { name, type, class: 1 }, {
      recursionDesired: true,
      dnssecOk: true,
      usable: (r) => (classified = classifyResponse(r, name, type, Name.root)).kind !== 'lame' && classified.kind !== 'referral',
    }, budget);
    if (!ans || !classified) return { kind: 'servfail', reason: `no usable answer from the forwarders for ${name}` };
    return withServer(this.stepFromClassified(classified, name, type, true), ans.server);
  }

  /** The deepest zone cut the cache knows for `name`, priming the root if needed (RFC 8109). */
  private async closestDelegation(name: Name, ctx: Context): Promise<Delegation> {
    const nsNamesOf = (records: readonly ResourceRecord[]) => records.map((r) => decodeRdata(RRType.NS, r.rdata)['nsdname'] as Name);
    for (let strip = 0; strip < name.labelCount; strip++) {
      const zone = name.parent(strip);
      const ns = this.o.cache.rrset(zone, RRType.NS);
      if (ns) return { zone, nsNames: nsNamesOf(ns.records), glue: new Map(), fromParent: false };
    }
    const root = this.o.cache.rrset(Name.root, RRType.NS);
    if (!root || root.credibility < Credibility.answer) await this.prime(ctx.budget);
    const ns = this.o.cache.rrset(Name.root, RRType.NS);
    const nsNames = ns ? nsNamesOf(ns.records) : this.o.rootHints.servers.map((s) => s.name);
    const hints = new Map(this.o.rootHints.servers.map((s) => [s.name.key, s.addresses.map(port53)]));
    return { zone: Name.root, nsNames, glue: hints, fromParent: false };
  }

  private async prime(budget: QueryBudget): Promise<void> {
    const hints = this.o.rootHints.servers.flatMap((s) => s.addresses.map(port53));
    let classified: Classified | undefined;
    const ans = await this.o.upstream.ask(hints, { name: Name.root, type: RRType.NS, class: 1 }, {
      recursionDesired: false,
      dnssecOk: true,
      usable: (r) => r.aa && (classified = classifyResponse(r, Name.root, RRType.NS, Name.root)).kind === 'answer',
    }, budget);
    if (!ans || classified?.kind !== 'answer') {
      for (const s of groupRrsets(this.o.rootHints.records)) this.o.cache.storeRrset(s, [], Credibility.glue);
      return;
    }
    for (const s of classified.rrsets) this.o.cache.storeRrset(s.records, s.rrsigs, Credibility.answer);
    const nsNames = classified.rrsets[0]!.records.map((r) => decodeRdata(RRType.NS, r.rdata)['nsdname'] as Name);
    const glue = ans.response.additional.filter((rr) => (rr.type === RRType.A || rr.type === RRType.AAAA) && nsNames.some((n) => n.equals(rr.name)));
    for (const s of groupRrsets(glue)) this.o.cache.storeRrset(s, [], Credibility.glue);
  }

  /**
   * Asks a zone's servers one question: first every address known (the delegation's glue and
   * the cache) but those backed off, one pass; then the NS names without an address, resolved one at a time (at most
   * `maxNsLookupsPerDelegation`: NXNSAttack) and each asked as soon as it has one; last, unless
   * told not to, the servers that only stayed silent, again. A server that answered unusably
   * (or could not be reached) is not asked twice. Returns why there is no answer, if none.
   */
  private async askZone(dp: Delegation, question: Question, usable: (r: Message) => boolean, ctx: Context, retrySilent = true): Promise<UpstreamAnswer | string> {
    // Servers that gave this client query bogus data are not asked (the validator's retry elsewhere).
    const ruledOut = new Set<string>(ctx.avoid);
    const all: ServerAddress[] = [];
    const ask = async (servers: readonly ServerAddress[], rounds: number) =>
      servers.length === 0 ? undefined : this.o.upstream.ask(servers, question, { recursionDesired: false, dnssecOk: true, usable, rounds, ruledOut }, ctx.budget);
    const { addresses, missing } = this.knownAddresses(dp);
    all.push(...addresses);
    // A server backed off after recent failures waits for the last pass when other names remain to try.
    const first = await ask(missing.length > 0 ? addresses.filter((a) => !this.o.upstream.isBackedOff(a)) : addresses, 1);
    if (first) return first;
    let lookups = 0;
    let why = '';
    for (const ns of shuffle([...missing])) {
      // In-bailiwick without an address: only the parent's glue can give one (delegationFromParent).
      if (ns.isSubdomainOf(dp.zone) || ctx.depth + 1 > this.o.limits.maxDepth) continue;
      if (++lookups > this.o.limits.maxNsLookupsPerDelegation) break;
      const r = await this.resolve({ name: ns, type: RRType.A, class: 1 }, ctx.budget, ctx.depth + 1, {}, ctx.path);
      if (r.failure?.limit === 'deadline' || r.failure?.limit === 'upstream-queries') throw new ResolutionLimitError(r.failure.limit, r.failure.reason);
      if (r.failure) why ||= `: ${ns}: ${r.failure.reason}`;
      const found = r.answer.filter((a) => a.type === RRType.A).map((a) => port53(decodeRdata(RRType.A, a.rdata)['address'] as string));
      all.push(...found);
      const answered = await ask(found, 1);
      if (answered) return answered;
    }
    const again = retrySilent ? await ask(all, RETRY_ROUNDS - 1) : undefined;
    if (again) return again;
    if (all.length === 0) return `no address for any name server of ${dp.zone}${why}`;
    if (all.every((s) => ctx.avoid?.has(serverKey(s)))) return `every server of ${dp.zone} gave bogus data`;
    return `no usable answer from the servers of ${dp.zone} for ${question.name}`;
  }

  /** The addresses of a delegation's servers known now, and the NS names with none. */
  private knownAddresses(dp: Delegation): { addresses: ServerAddress[]; missing: Name[] } {
    const addresses = new Map<string, ServerAddress>();
    const missing: Name[] = [];
    for (const ns of dp.nsNames) {
      const found = [...(dp.glue.get(ns.key) ?? [])];
      for (const t of [RRType.A, RRType.AAAA]) for (const r of this.o.cache.rrset(ns, t)?.records ?? []) found.push(port53(decodeRdata(r.type, r.rdata)['address'] as string));
      if (found.length === 0) missing.push(ns);
      for (const a of found) addresses.set(serverKey(a), a);
    }
    return { addresses: [...addresses.values()], missing };
  }
}

function withServer(step: Step, server: ServerAddress): Step {
  return step.kind === 'servfail' ? step : { ...step, server };
}

/** Records without repeats (the same proof can come with several links of a chain). */
function distinct(records: ResourceRecord[]): ResourceRecord[] {
  if (records.length < 2) return records;
  const seen = new Set<string>();
  return records.filter((r) => {
    const key = `${r.name.key}/${r.type}/${Buffer.from(r.rdata).toString('base64')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
