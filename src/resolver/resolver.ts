import type { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { TrustAnchorSource } from '../dnssec/trust-anchor.js';
import { ValidationBudget, ValidationLimitError, type ValidationLimits } from '../dnssec/validation-budget.js';
import { type ValidationOutcome, bogus, insecure, secure } from '../dnssec/validation-outcome.js';
import { anchorKeyTags, sentinelLabel, sentinelRefuses } from '../dnssec/trust-signals.js';
import { EdeCode } from '../wire/edns.js';
import { RRType } from '../wire/rr-type.js';
import type { Question, ResourceRecord } from '../wire/message.js';
import { Rcode } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { AggressiveNsecCache, type ProvenDenial } from './aggressive-nsec-cache.js';
import { AnswerValidator } from './answer-validator.js';
import { type KeptAnswer, STALE_RECHECK_MS, type ServeStaleOptions, dueForPrefetch, servable, staleAnswer, unreachable, withinStaleWindow } from './answer-freshness.js';
import { ChainOfTrust, type FetchOptions, type ValidationRun } from './chain-of-trust.js';
import { type ServerAddress, exchangeTcp } from './dns-transport.js';
import { chooseForwarders } from './forwarder-choice.js';
import { minimumTtl } from '../wire/rrsets.js';
import type { PolicyMode } from '../policy/policy-mode.js';
import { Iterator, type LocalZoneLookup, type Resolution } from './iterator.js';
import { DEFAULT_IN_FLIGHT_LIMITS, InFlightLimiter, type InFlightLimits, type ShedEvent } from './in-flight-limiter.js';
import { KeptAnswers } from './kept-answers.js';
import { ENTRY_COST, MemoryBudget, stringCost } from './memory-budget.js';
import { type OutgoingOptions, OutgoingPortPool, type OutgoingStats } from './outgoing-port-pool.js';
import { pooledUdpExchange } from './pooled-udp-exchange.js';
import { type CacheLimits, RecordCache } from './record-cache.js';
import { QueryBudget, ResolutionLimitError, type ResolutionLimits } from './resolution-limits.js';
import type { RootHints } from './root-hints.js';
import { ServerSelection } from './server-selection.js';
import { capTtls } from './ttl-cap.js';
import { UpstreamClient, type UpstreamStats, serverKey } from './upstream-client.js';
import type { UpstreamCookieStats, UpstreamCookies } from './upstream-cookies.js';
import type { TraceStep } from './validation-trace.js';

/** What the policy table (NRPT-like) says about a name; the longest namespace match. */
export interface PolicyDecision {
  readonly namespace: string;
  readonly mode: PolicyMode;
  readonly until?: Date;
}

export interface ResolverPolicy {
  match(name: Name, now: number): PolicyDecision | undefined;
  forwardersFor(name: Name, now: number): readonly ServerAddress[] | undefined;
}

export interface ValidationOptions {
  /** The global switch (dnssec.validation). */
  readonly enabled: boolean;
  readonly anchors: TrustAnchorSource;
  readonly limits: ValidationLimits;
  /** Seconds a bogus verdict is kept before the data is fetched and checked again. */
  readonly bogusTtl: number;
  /** RFC 8509 root-key-sentinel answers. */
  readonly rootKeySentinel?: boolean;
}

export interface ResolverOptions {
  readonly clock: Clock;
  readonly rootHints: RootHints;
  readonly limits: ResolutionLimits;
  readonly cacheLimits: CacheLimits;
  /** Forward-only for every name when not empty. */
  readonly forwarders: readonly ServerAddress[];
  readonly qnameMinimisation: boolean;
  readonly validation?: ValidationOptions;
  /** The zones this server hosts: trusted as they are when a resolution reaches them (a CNAME into one). */
  readonly localZones?: LocalZoneLookup;
  /** The live policy table: its forwarders (per namespace, over `forwarders`) and validation modes apply without a restart. */
  readonly policy?: ResolverPolicy;
  /** The memory budget (resolver.cache.maxSize split among the stores); default one of cacheLimits.maxBytes. */
  readonly memory?: MemoryBudget;
  /** Caps on upstream queries in flight (resolver.limits); default DEFAULT_IN_FLIGHT_LIMITS. */
  readonly inFlightLimits?: InFlightLimits;
  /** Called for every upstream query shed at the in-flight cap (logged by the server, throttled). */
  readonly onUpstreamShed?: (event: ShedEvent) => void;
  /** Called for every answer that failed validation (logged by the server, throttled). */
  readonly onValidationFailure?: (event: ValidationFailureEvent) => void;
  /** RFC 7873 client cookies to upstream servers (upstream-cookies.ts). */
  readonly upstreamCookies?: UpstreamCookies;
  /** RFC 8767 (resolver.serveStale; answer-freshness.ts); absent: off. */
  readonly serveStale?: ServeStaleOptions;
  /** Refresh an answer asked for in the last tenth of its TTL (resolver.prefetch); absent: off. */
  readonly prefetch?: boolean;
  /** How upstream queries travel (tests: test/support/fake-network.ts); default UDP from the outgoing port pool, and TCP. */
  readonly transport?: ConstructorParameters<typeof UpstreamClient>[4];
  /** The outgoing port pool (resolver.outgoing); default DEFAULT_OUTGOING. */
  readonly outgoing?: OutgoingOptions;
  /** RFC 8198: answer NXDOMAIN/NODATA from validated NSEC/NSEC3 ranges without asking upstream (resolver.aggressiveNsec). */
  readonly aggressiveNsec?: boolean;
}

export interface ValidationFailureEvent {
  readonly name: string;
  readonly type: number;
  readonly state: string;
  readonly reason: string;
  readonly ede?: number;
  /** The policy rule that let the answer through anyway (log-only), if any. */
  readonly logOnly?: string;
}

export interface ResolveOptions {
  /** CD=1: the data unvalidated (RFC 4035 §3.2.2). */
  readonly checkingDisabled?: boolean;
  /** Walk the whole chain again and record it (keymaster explain); the verdict is not cached. */
  readonly explain?: boolean;
  /** Validate even under a negative trust anchor (to see whether the zone validates again). */
  readonly ignorePolicy?: boolean;
  /** RD=0: from the cache and hosted zones only, never a query upstream; a miss says `cacheMiss`, and nothing is remembered. */
  readonly cacheOnly?: boolean;
}

/** A resolution with its DNSSEC verdict. */
export interface ResolverAnswer extends Resolution {
  readonly outcome?: ValidationOutcome;
  readonly trace?: readonly TraceStep[];
  /** The policy rule that applied, if any. */
  readonly policy?: PolicyDecision;
  /** Served past its expiry (RFC 8767): the EDE code to attach, 3 (Stale Answer) or 19 (Stale NXDOMAIN Answer). */
  readonly stale?: number;
}

export interface ResolverStats {
  readonly cache: ReturnType<RecordCache['stats']>;
  readonly upstream: UpstreamStats;
  /** The outgoing port pool: sockets open and bound, ports found in use, waits for a socket. */
  readonly outgoing: OutgoingStats;
  readonly servers: ReturnType<ServerSelection['snapshot']>;
  readonly clientQueries: number;
  readonly servfails: number;
  readonly validation: { secure: number; insecure: number; bogus: number; indeterminate: number; signatureChecks: number; nsec3Hashes: number };
  /** RFC 7873 client cookies sent upstream, server cookies learned, forged echoes and BADCOOKIE seen. */
  readonly upstreamCookies?: UpstreamCookieStats;
  /** Answers served stale (RFC 8767) and refreshes started before expiry (prefetch). */
  readonly staleAnswers: number;
  readonly prefetches: number;
  /** RFC 8198: validated ranges kept (SOAs and wildcard RRsets included), their zones, and answers made from them. */
  readonly aggressiveNsec?: { ranges: number; zones: number; synthesised: number };
}

type ValidatedEntry = KeptAnswer<ResolverAnswer>;

const DEFAULT_BOGUS_TTL = 60;
/** Times a bogus answer is asked again of other servers (Unbound: VAL_MAX_RESTART_COUNT, 5). */
const MAX_BOGUS_RETRIES = 3;

/**
 * The recursive side of the server: cache, iterator, forwarders, the validator and the
 * policy table behind one call. Answers are validated once and kept with their verdict for
 * their TTL (a bogus verdict for `bogusTtl`), so cache hits cost no signature checks.
 */
export class Resolver {
  readonly cache: RecordCache;
  private readonly selection: ServerSelection;
  private readonly upstream: UpstreamClient;
  /** Where upstream UDP queries go out from (resolver.outgoing). */
  readonly outgoing: OutgoingPortPool;
  private readonly iterator: Iterator;
  private readonly chain?: ChainOfTrust;
  private readonly validator?: AnswerValidator;
  /** Validated NSEC/NSEC3 ranges (RFC 8198), when resolver.aggressiveNsec is on. */
  readonly aggressive?: AggressiveNsecCache;
  /** Everything kept here, the record cache, the response cache and key state, in bytes (resolver.cache.maxSize). */
  readonly memory: MemoryBudget;
  /** Upstream queries in flight, capped (resolver.limits.maxInFlight*). */
  readonly inFlight: InFlightLimiter;
  private readonly validated: KeptAnswers<ResolverAnswer>;
  /** Signature checks that succeeded (wildcard expansions and NSEC proofs repeat across names). */
  private readonly verifiedSignatures: LRUCache<string, true>;
  /** Validations in progress: identical questions wait for one verdict instead of each paying for it. */
  private readonly validating = new Map<string, Promise<ResolverAnswer>>();
  /** Prefetches running, by kept-answer key: one refresh per name/type at a time. */
  private readonly prefetching = new Set<string>();
  private clientQueries = 0;
  private servfails = 0;
  private staleAnswers = 0;
  private prefetches = 0;
  private readonly verdicts = { secure: 0, insecure: 0, bogus: 0, indeterminate: 0, signatureChecks: 0, nsec3Hashes: 0 };

  constructor(private readonly options: ResolverOptions) {
    this.memory = options.memory ?? new MemoryBudget(options.cacheLimits.maxBytes);
    this.cache = new RecordCache(options.clock, options.cacheLimits, this.memory);
    this.validated = new KeptAnswers(this.memory, this.cache);
    this.verifiedSignatures = this.memory.lru('signatures', (_, key) => ENTRY_COST + stringCost(key));
    this.selection = new ServerSelection(options.clock);
    this.inFlight = new InFlightLimiter(options.inFlightLimits ?? DEFAULT_IN_FLIGHT_LIMITS, options.clock, this.memory, options.onUpstreamShed);
    this.outgoing = new OutgoingPortPool(options.outgoing);
    const transport = options.transport ?? { udp: pooledUdpExchange(this.outgoing), tcp: exchangeTcp };
    this.upstream = new UpstreamClient(this.selection, options.clock, this.inFlight, options.upstreamCookies, transport);
    this.iterator = new Iterator({
      clock: options.clock,
      cache: this.cache,
      upstream: this.upstream,
      rootHints: options.rootHints,
      limits: options.limits,
      qnameMinimisation: options.qnameMinimisation,
      ...(options.localZones ? { localZones: options.localZones } : {}),
      forwardersFor: (name) => chooseForwarders(name, options.policy, options.forwarders, options.clock.now()),
    });
    if (options.validation) {
      this.chain = new ChainOfTrust({ anchors: options.validation.anchors, bogusTtl: options.validation.bogusTtl || DEFAULT_BOGUS_TTL, maxKeyTtl: options.cacheLimits.maxTtl, memory: this.memory });
      this.validator = new AnswerValidator(this.chain);
      if (options.aggressiveNsec) this.aggressive = new AggressiveNsecCache(this.memory, options.cacheLimits);
    }
  }

  async resolve(question: Question, opts: ResolveOptions = {}): Promise<ResolverAnswer> {
    this.clientQueries++;
    const now = this.options.clock.now();
    const policy = opts.ignorePolicy ? undefined : this.options.policy?.match(question.name, now);
    const validating = this.validates(opts, policy);
    const key = `${question.name.key}/${question.type}`;
    const keptKey = opts.explain ? undefined : this.keptKey(key, validating, policy);
    let kept = keptKey !== undefined ? this.validated.get(keptKey) : undefined;
    // Past its TTL and past serving stale: its memory goes back to the budget now.
    if (kept && kept.expiresAt <= now && !(this.options.serveStale && withinStaleWindow(kept, now, this.options.serveStale))) {
      this.validated.delete(keptKey!);
      kept = undefined;
    }
    // About to outlive the records it refers to (served stale; a prefetch drops them first): it keeps its own copy from now.
    if (kept && (kept.expiresAt <= now || (this.options.prefetch && dueForPrefetch(kept, now)))) this.validated.pin(keptKey!, kept);
    if (kept && keptKey !== undefined && !opts.cacheOnly) {
      if (this.options.prefetch && servable(kept) && dueForPrefetch(kept, now)) {
        // The refresh has taken the records out of the record cache: the client gets the kept answer.
        this.prefetch(question, keptKey, kept, policy, opts);
        return this.counted(aged(kept.answer, Math.floor((now - kept.storedAt) / 1000)));
      }
      // RFC 8767 §5: a refresh failed moments ago; the servers are not asked again until the recheck.
      if (kept.recheckAt !== undefined && kept.recheckAt > now && this.staleServable(kept, now)) return this.counted(staleAnswer(kept.answer));
    }
    const stale = kept && !opts.cacheOnly && this.staleServable(kept, now) ? kept : undefined;
    if (validating && !opts.explain) {
      if (kept && kept.expiresAt > now) return this.counted(aged(kept.answer, Math.floor((now - kept.storedAt) / 1000)));
      const synthesised = this.aggressive && this.fromValidatedRanges(question, this.options.validation!.limits, policy, now);
      if (synthesised) return this.counted(synthesised);
      if (opts.cacheOnly) return this.counted(await this.resolveAndValidate(question, key, policy, opts, now));
      const running = this.validating.get(key);
      if (running) return this.counted(await this.orStale(running, stale));
      const work = this.resolveAndValidate(question, key, policy, opts, now).finally(() => this.validating.delete(key));
      this.validating.set(key, work);
      return this.counted(await this.orStale(work, stale));
    }
    return this.counted(await this.orStale(this.resolveAndValidate(question, key, policy, opts, now), stale));
  }

  /** Whether this question's answer is validated: validation on, CD=0, no negative trust anchor. */
  private validates(opts: ResolveOptions, policy: PolicyDecision | undefined): boolean {
    return !!this.options.validation?.enabled && !!this.validator && !opts.checkingDisabled && policy?.mode !== 'no-validation';
  }

  private staleServable(kept: ValidatedEntry, now: number): boolean {
    return !!this.options.serveStale && servable(kept) && withinStaleWindow(kept, now, this.options.serveStale);
  }

  /**
   * RFC 8767 §5's client response timer: a resolution that has not ended after `clientTimeoutMs`
   * leaves the client a stale answer and goes on in the background, its answer kept for the next.
   */
  private orStale(work: Promise<ResolverAnswer>, stale: ValidatedEntry | undefined): Promise<ResolverAnswer> {
    const wait = this.options.serveStale?.clientTimeoutMs ?? 0;
    if (!stale || wait <= 0) return work;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<ResolverAnswer>((resolve) => {
      timer = setTimeout(() => resolve(staleAnswer(stale.answer)), wait);
      timer.unref();
    });
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
  }

  /**
   * Where the last answer to a question is kept (the validated store): validated answers under
   * their question; answers nobody validates (validation off, a negative trust anchor) beside
   * them, for serve-stale and prefetch only. CD=1 while validating keeps nothing: its data is unchecked.
   */
  private keptKey(key: string, validating: boolean, policy: PolicyDecision | undefined): string | undefined {
    if (validating) return key;
    if (!this.options.validation?.enabled || !this.validator || policy?.mode === 'no-validation') return `u/${key}`;
    return undefined;
  }

  /** The answer resolved afresh, kept for its TTL; when the servers could not be reached, the kept answer instead. */
  private async resolveAndValidate(question: Question, key: string, policy: PolicyDecision | undefined, opts: ResolveOptions, now: number): Promise<ResolverAnswer> {
    const fresh = await this.resolveFresh(question, policy, opts, now);
    const validating = this.validates(opts, policy);
    const keptKey = opts.explain || opts.cacheOnly ? undefined : this.keptKey(key, validating, policy);
    if (keptKey === undefined) return fresh;
    if (unreachable(fresh)) {
      const kept = this.validated.get(keptKey);
      const at = this.options.clock.now();
      if (kept && servable(kept)) {
        // A failed prefetch: what is kept is still good until it expires.
        if (kept.expiresAt > at) return aged(kept.answer, Math.floor((at - kept.storedAt) / 1000));
        if (this.staleServable(kept, at)) {
          kept.recheckAt = at + STALE_RECHECK_MS;
          return staleAnswer(kept.answer);
        }
      }
    }
    // A verdict is remembered as before; an unvalidated answer only when it is a real one (nothing is cached for a SERVFAIL here).
    if (validating ? fresh.outcome !== undefined : !unreachable(fresh)) this.remember(keptKey, fresh, fresh.outcome, now);
    return fresh;
  }

  /** Refreshes a kept answer in the background before it expires; clients meanwhile get the kept one. */
  private prefetch(question: Question, keptKey: string, kept: ValidatedEntry, policy: PolicyDecision | undefined, opts: ResolveOptions): void {
    if (this.prefetching.has(keptKey)) return;
    this.prefetching.add(keptKey);
    this.prefetches++;
    // The record cache still holds the data for its last tenth: drop it so the refresh asks upstream.
    this.forget(question, kept.answer);
    const key = `${question.name.key}/${question.type}`;
    void this.resolveAndValidate(question, key, policy, { ...(opts.checkingDisabled ? { checkingDisabled: true } : {}) }, this.options.clock.now())
      .catch(() => undefined)
      .finally(() => this.prefetching.delete(keptKey));
  }

  private async resolveFresh(question: Question, policy: PolicyDecision | undefined, opts: ResolveOptions, now: number): Promise<ResolverAnswer> {
    const validation = this.options.validation;
    const validating = this.validates(opts, policy);
    const budget = new QueryBudget(this.options.limits, now);
    const resolution = await this.iterator.resolve(question, budget, 0, opts.cacheOnly ? { cacheOnly: true } : {});
    if (!validating || !validation) {
      if (resolution.rcode === Rcode.SERVFAIL) return { ...resolution, ...(policy ? { policy } : {}) };
      const outcome = policy?.mode === 'no-validation' ? insecure(`negative trust anchor ${policy.namespace}${policy.until ? ` until ${policy.until.toISOString()}` : ''}: not validated (RFC 7646)`) : undefined;
      return { ...resolution, security: outcome ? 'insecure' : 'unchecked', ...(outcome ? { outcome } : {}), ...(policy ? { policy } : {}) };
    }
    if (resolution.rcode === Rcode.SERVFAIL) return { ...resolution, ...(policy ? { policy } : {}) };
    const trace: TraceStep[] | undefined = opts.explain ? [] : undefined;
    const validated = await this.validateWithRetries(question, resolution, budget, validation.limits, trace, now, !!opts.cacheOnly);
    const outcome = validated.outcome;
    this.verdicts[outcome.state]++;
    const refused = this.sentinelRefusal(question, outcome, trace);
    if (refused) return refused;
    const answer = this.applyPolicy(question, validated.resolution, outcome, policy, trace);
    if (outcome.state === 'secure' && !opts.explain) this.aggressive?.learn(validated.proven, now);
    return answer;
  }

  /**
   * Validates a resolution; when it is bogus, forgets the data and asks the zone's other servers,
   * avoiding every server that gave this query bogus data (as Unbound's per-query blacklist),
   * at most `MAX_BOGUS_RETRIES` times. Every attempt spends from the same budgets, so a retry
   * never buys a query more signature checks, NSEC3 hashes, upstream queries or time.
   */
  private async validateWithRetries(question: Question, first: Resolution, budget: QueryBudget, limits: ValidationLimits, trace: TraceStep[] | undefined, now: number, cacheOnly: boolean): Promise<{ resolution: Resolution; outcome: ValidationOutcome; proven: ProvenDenial[] }> {
    const vbudget = new ValidationBudget(limits);
    const avoid = new Set<string>();
    let resolution = first;
    let result: { resolution: Resolution; outcome: ValidationOutcome; proven: ProvenDenial[] } | undefined;
    for (let attempt = 0; ; attempt++) {
      const caps = new Map<string, number>();
      const run: ValidationRun = {
        now: Math.floor(now / 1000),
        limits,
        budget: vbudget,
        ttlCaps: caps,
        verified: { has: (f) => this.verifiedSignatures.has(f), add: (f) => void this.verifiedSignatures.set(f, true) },
        fetch: (name, type, options) => this.fetchForValidation(name, type, budget, options, cacheOnly),
        knownCut: (name) => this.cache.rrset(name, RRType.NS) !== undefined,
        proven: [],
        ...(trace ? { trace, fresh: true } : {}),
      };
      const outcome = question.type === RRType.RRSIG ? rrsigQuestion(trace, question) : await this.validateOnce(question, resolution, run);
      // A retry that finds nothing better keeps the first verdict: it says what was wrong.
      if (!result || outcome.state !== 'bogus') result = { resolution: capTtls(resolution, caps), outcome, proven: run.proven ?? [] };
      // Bogus keys were asked again of other servers as they were learnt; the data is not at fault.
      // RD=0 changes nothing and asks nobody: the verdict on what the cache holds is the answer.
      if (outcome.state !== 'bogus' || run.keysFailed || cacheOnly) break;
      this.forget(question, resolution);
      if (vbudget.exhausted) break;
      // The server of the link that failed; all of them when the validator could not say which.
      const culprit = run.failedLink ? resolution.servedBy?.get(run.failedLink) : undefined;
      const servers = culprit ? [culprit] : run.failedLink ? [] : (resolution.servers ?? []);
      const fresh = servers.filter((sv) => !avoid.has(serverKey(sv)));
      // Data from the cache is fetched once more; data from servers is asked of the others.
      if (attempt >= MAX_BOGUS_RETRIES || (servers.length > 0 && fresh.length === 0) || (servers.length === 0 && attempt > 0)) break;
      for (const sv of fresh) avoid.add(serverKey(sv));
      trace?.push({ zone: '-', kind: 'retry', subject: question.name.toString(), state: 'bogus', detail: `bogus data${fresh.length > 0 ? ` from ${fresh.map(serverKey).join(', ')}` : ' in the cache'}: asking again${avoid.size > 0 ? `, avoiding ${[...avoid].join(', ')}` : ''}` });
      const next = await this.iterator.resolve(question, budget, 0, { avoid });
      if (next.rcode === Rcode.SERVFAIL) break;
      resolution = next;
    }
    this.verdicts.signatureChecks += vbudget.signatureChecks;
    this.verdicts.nsec3Hashes += vbudget.nsec3Hashes;
    return result;
  }

  /** RFC 8509: the SERVFAIL a secure A/AAAA answer for a root-key-sentinel name gets when the key tag says so. */
  private sentinelRefusal(question: Question, outcome: ValidationOutcome, trace?: TraceStep[]): ResolverAnswer | undefined {
    const validation = this.options.validation!;
    const sentinel = validation.rootKeySentinel && outcome.state === 'secure' && (question.type === RRType.A || question.type === RRType.AAAA) ? sentinelLabel(question.name) : undefined;
    if (!sentinel) return undefined;
    const root = validation.anchors.anchors().find((a) => a.zone.isRoot);
    if (!sentinelRefuses(sentinel, anchorKeyTags(root))) return undefined;
    const reason = `root-key-sentinel (RFC 8509): key ${sentinel.keyTag} is ${sentinel.kind === 'is-ta' ? 'not ' : ''}a root trust anchor here`;
    return { rcode: Rcode.SERVFAIL, answer: [], authority: [], security: 'secure', outcome, failure: { reason, ede: [[EdeCode.OTHER, reason]] }, ...(trace ? { trace } : {}) };
  }

  /**
   * RFC 8198: the NXDOMAIN or NODATA that validated NSEC/NSEC3 ranges prove, with the proof and
   * AD-worthy (secure), or undefined to ask upstream. NSEC3 hashes count against the query's
   * validation limits as for an answer from upstream.
   */
  private fromValidatedRanges(question: Question, limits: ValidationLimits, policy: PolicyDecision | undefined, now: number): ResolverAnswer | undefined {
    const budget = new ValidationBudget(limits);
    let found;
    try {
      found = this.aggressive!.answer(question.name, question.type, now, budget);
    } catch (e) {
      if (!(e instanceof ValidationLimitError)) throw e;
    }
    this.verdicts.nsec3Hashes += budget.nsec3Hashes;
    if (!found) return undefined;
    this.verdicts.secure++;
    const outcome = secure(`${found.kind === 'wildcard' ? 'wildcard expansion' : found.kind === 'nxdomain' ? 'NXDOMAIN' : 'NODATA'} from validated ranges (RFC 8198): ${found.reason}`);
    return this.sentinelRefusal(question, outcome) ?? { rcode: found.rcode, answer: found.answer, authority: found.authority, security: 'secure', outcome, ...(policy ? { policy } : {}) };
  }

  private async validateOnce(question: Question, resolution: Resolution, run: ValidationRun): Promise<ValidationOutcome> {
    try {
      return await this.validator!.validate(question, resolution, run);
    } catch (e) {
      if (!(e instanceof ValidationLimitError)) throw e;
      return bogus(`validation stopped: ${e.message}`, EdeCode.DNSSEC_BOGUS);
    }
  }

  private async fetchForValidation(name: Name, type: number, budget: QueryBudget, options: FetchOptions | undefined, cacheOnly: boolean): Promise<Resolution> {
    if (options?.refresh && !cacheOnly) this.cache.remove(name, type);
    try {
      return await this.iterator.resolve({ name, type, class: 1 }, budget, 1, cacheOnly ? { cacheOnly } : options?.avoid ? { avoid: options.avoid } : {});
    } catch (e) {
      if (e instanceof ResolutionLimitError) return { rcode: Rcode.SERVFAIL, answer: [], authority: [], security: 'unchecked', failure: { reason: e.message, limit: e.limit } };
      throw e;
    }
  }

  /** Drops what a bogus resolution left in the record cache, so the next look is a fresh fetch. */
  private forget(question: Question, resolution: Resolution): void {
    this.cache.remove(question.name, question.type);
    for (const r of resolution.answer) {
      this.cache.remove(r.name, r.type);
      this.cache.remove(r.name, question.type);
      if (r.type === RRType.CNAME) this.cache.remove(decodeRdata(RRType.CNAME, r.rdata)['target'] as Name, question.type);
    }
  }

  /** The verdict turned into what the client gets: bogus → SERVFAIL, unless log-only; required → SERVFAIL unless secure. */
  private applyPolicy(question: Question, resolution: Resolution, outcome: ValidationOutcome, policy: PolicyDecision | undefined, trace: TraceStep[] | undefined): ResolverAnswer {
    const extra = { outcome, ...(trace ? { trace } : {}), ...(policy ? { policy } : {}) };
    const failed = outcome.state === 'bogus' || outcome.state === 'indeterminate';
    if (failed || (policy?.mode === 'require' && outcome.state !== 'secure')) {
      this.options.onValidationFailure?.({
        name: question.name.toString(), type: question.type, state: outcome.state, reason: outcome.reason,
        ...(outcome.ede !== undefined ? { ede: outcome.ede } : {}),
        ...(policy?.mode === 'log-only' ? { logOnly: policy.namespace } : {}),
      });
    }
    if (policy?.mode === 'require' && outcome.state !== 'secure') {
      const ede: [number, string][] = [[EdeCode.UNABLE_TO_CONFORM_TO_POLICY, `policy ${policy.namespace} requires validation: ${outcome.reason}`]];
      if (outcome.ede !== undefined && outcome.ede !== EdeCode.UNABLE_TO_CONFORM_TO_POLICY) ede.push([outcome.ede, outcome.reason]);
      trace?.push({ zone: policy.namespace, kind: 'policy', subject: question.name.toString(), state: 'bogus', detail: `policy ${policy.namespace} requires validation; the answer is ${outcome.state}` });
      return { rcode: Rcode.SERVFAIL, answer: [], authority: [], security: outcome.state, failure: { reason: ede[0]![1], ede }, ...extra };
    }
    if (failed && policy?.mode !== 'log-only') {
      return { rcode: Rcode.SERVFAIL, answer: [], authority: [], security: outcome.state, failure: { reason: outcome.reason, ede: [[outcome.ede ?? EdeCode.DNSSEC_BOGUS, outcome.reason]] }, ...extra };
    }
    if (failed) trace?.push({ zone: policy!.namespace, kind: 'policy', subject: question.name.toString(), state: outcome.state, detail: `policy ${policy!.namespace} is log-only: answered without AD` });
    return { ...resolution, security: outcome.state, ...extra };
  }

  private remember(key: string, answer: ResolverAnswer, outcome: ValidationOutcome | undefined, now: number): void {
    const failed = outcome?.state === 'bogus' || outcome?.state === 'indeterminate';
    const ttl = failed ? this.options.validation?.bogusTtl || DEFAULT_BOGUS_TTL : minimumTtl(answer.answer, answer.authority);
    if (ttl <= 0) return;
    this.validated.set(key, answer, now, now + ttl * 1000);
  }

  private counted(answer: ResolverAnswer): ResolverAnswer {
    if (answer.rcode === Rcode.SERVFAIL) this.servfails++;
    if (answer.stale !== undefined) this.staleAnswers++;
    return answer;
  }

  flush(name?: Name): number {
    this.chain?.flush();
    this.validated.clear(); // verdicts depend on keys above the name too: all go
    this.aggressive?.clear();
    this.verifiedSignatures.clear();
    return this.cache.flush(name);
  }

  stats(): ResolverStats {
    return {
      cache: this.cache.stats(),
      upstream: { ...this.upstream.stats },
      outgoing: { ...this.outgoing.stats },
      servers: this.selection.snapshot(),
      clientQueries: this.clientQueries,
      servfails: this.servfails,
      staleAnswers: this.staleAnswers,
      prefetches: this.prefetches,
      validation: { ...this.verdicts },
      ...(this.options.upstreamCookies ? { upstreamCookies: { ...this.options.upstreamCookies.stats } } : {}),
      ...(this.aggressive ? { aggressiveNsec: this.aggressive.stats() } : {}),
    };
  }
}

/**
 * A question for type RRSIG: RRSIGs are not an RRset any signature covers (RFC 4035 §5.3), so
 * they are returned unvalidated and insecure, never AD, as Unbound does.
 */
function rrsigQuestion(trace: TraceStep[] | undefined, question: Question): ValidationOutcome {
  const outcome = insecure(`${question.name}/RRSIG: RRSIG records are not validated as an RRset; returned without AD`);
  trace?.push({ zone: '-', kind: 'rrset', subject: `${question.name}/RRSIG`, state: 'insecure', detail: outcome.reason });
  return outcome;
}

function aged(answer: ResolverAnswer, seconds: number): ResolverAnswer {
  if (seconds <= 0) return answer;
  const age = (rs: readonly ResourceRecord[]) => rs.map((r) => ({ ...r, ttl: Math.max(0, r.ttl - seconds) }));
  return { ...answer, answer: age(answer.answer), authority: age(answer.authority) };
}
