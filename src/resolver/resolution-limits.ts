/** Bounds on the work one client query may cause, each a config key under `resolver.limits`. */
export interface ResolutionLimits {
  /** Delegations followed for one name (BIND: max-recursion-depth guards nesting; this guards length). */
  readonly maxReferrals: number;
  /** CNAME/DNAME links followed (Unbound: 11 restarts; BIND: 16). */
  readonly maxCnameChain: number;
  /** NS names without glue resolved per delegation (NXNSAttack, CVE-2020-12662: Unbound 5-ish). */
  readonly maxNsLookupsPerDelegation: number;
  /** Upstream queries per client query, all sub-resolutions included (BIND max-recursion-queries). */
  readonly maxUpstreamQueries: number;
  /** Nesting of sub-resolutions (NS names, which need NS names, ...). */
  readonly maxDepth: number;
  /** Wall-clock budget of one client query, ms; after it the client gets SERVFAIL. */
  readonly deadlineMs: number;
  /** QNAME minimisation steps before the full name is sent (RFC 9156 §2.3 MAX_MINIMISE_COUNT). */
  readonly maxMinimiseSteps: number;
}

export const DEFAULT_RESOLUTION_LIMITS: ResolutionLimits = {
  maxReferrals: 30,
  maxCnameChain: 12,
  maxNsLookupsPerDelegation: 5,
  maxUpstreamQueries: 100,
  maxDepth: 6,
  deadlineMs: 10_000,
  maxMinimiseSteps: 10,
};

export type LimitName = 'referrals' | 'cname-chain' | 'ns-lookups' | 'upstream-queries' | 'depth' | 'deadline';

export class ResolutionLimitError extends Error {
  override readonly name = 'ResolutionLimitError';
  constructor(readonly limit: LimitName, message: string) {
    super(message);
  }
}

/** The running count of one client query's work, shared by all its sub-resolutions. */
export class QueryBudget {
  upstreamQueries = 0;
  readonly deadline: number;

  constructor(
    readonly limits: ResolutionLimits,
    now: number,
  ) {
    this.deadline = now + limits.deadlineMs;
  }

  spendUpstreamQuery(now: number): void {
    if (now >= this.deadline) throw new ResolutionLimitError('deadline', `no answer within ${this.limits.deadlineMs} ms`);
    if (++this.upstreamQueries > this.limits.maxUpstreamQueries)
      throw new ResolutionLimitError('upstream-queries', `more than ${this.limits.maxUpstreamQueries} upstream queries`);
  }

  remainingMs(now: number): number {
    return Math.max(0, this.deadline - now);
  }
}
