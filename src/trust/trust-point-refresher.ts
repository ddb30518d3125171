import type { Clock } from '../clock.js';
import { authenticateDnskeyRrset } from '../dnssec/dnskey-authentication.js';
import { absoluteSignatureTime } from '../dnssec/rrset-verification.js';
import { DEFAULT_VALIDATION_LIMITS, ValidationBudget, type ValidationLimits } from '../dnssec/validation-budget.js';
import { logDnssecEvent, logEvent, type Logger } from '../logging/logger.js';
import type { JobHandle, Scheduler } from '../scheduler.js';
import type { WriteGuard } from '../store/document-store.js';
import type { ResourceRecord } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import { decodeRrsig } from '../wire/signed-data.js';
import {
  activeRefreshSeconds,
  applyRevocations,
  applyTimers,
  applyValidatedKeys,
  retrySeconds,
  withJitter,
  type Rfc5011Timers,
  type StateChange,
} from './rfc5011.js';
import type { RefreshGate } from './refresh-gate.js';
import { selfSignedRevocations } from './self-signed-revocation.js';
import type { TrustAnchorStore } from './trust-anchor-store.js';
import { anchorTrustedAt, keyIdentity, zoneKey, type TrustPoint } from './trust-point.js';

/**
 * Fetches a trust point's DNSKEY RRset with its RRSIGs (checking disabled: the refresher
 * validates it against the trust point itself). Undefined or a throw: the fetch failed.
 */
export type DnskeyFetcher = (zone: Name) => Promise<{ records: ResourceRecord[]; rrsigs: ResourceRecord[] } | undefined>;

export interface TrustPointRefresherOptions {
  readonly store: TrustAnchorStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly fetchDnskey: DnskeyFetcher;
  readonly timers: Rfc5011Timers;
  /** [0, 1) for the refresh jitter; tests pass () => 0. */
  readonly random?: () => number;
  readonly limits?: ValidationLimits;
  /** Wakes the refresh (`trust-point.refresh`) when the next trust point or hold-down is due. */
  readonly scheduler: Scheduler;
  /** Cluster mode: only the trust point's refresher refreshes it, its writes fenced by the role. */
  readonly gate?: RefreshGate;
}

/** With no trust point the job still looks every hour (trust points come with wake(); this is a backstop). */
const IDLE_WAIT_MS = 60 * 60_000;

export interface RefreshOutcome {
  readonly zone: string;
  /** A validated DNSKEY RRset was applied. */
  readonly ok: boolean;
  readonly result: string;
  readonly changes: readonly StateChange[];
  /** §5: every anchor revoked, the trust point is gone. */
  readonly deleted: boolean;
  readonly nextRefresh?: number;
}

/**
 * RFC 5011 active refresh (§2.3) of every trust point, on the Clock: each trust point is
 * refreshed when its nextRefresh is due, the fetched DNSKEY RRset is authenticated against the
 * anchors the trust point trusts now (only a validated RRset counts), and the state machine's
 * result is written to the store with one log event per state change.
 */
export class TrustPointRefresher {
  private readonly inFlight = new Map<string, Promise<RefreshOutcome>>();
  private job: JobHandle | undefined;
  private sweep: Promise<unknown> | undefined;

  constructor(private readonly options: TrustPointRefresherOptions) {
    // A role taken over goes on from the state its previous holder wrote: at once, not at the next idle wake-up.
    options.gate?.onAcquired(() => void options.store.reload().catch(() => false).then(() => this.wake()));
  }

  /** Refreshes one trust point now (joins a refresh already under way). */
  refresh(zone: Name | string): Promise<RefreshOutcome> {
    const key = zoneKey(zone);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const run = this.refreshOnce(key).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, run);
    return run;
  }

  /** Refreshes every trust point whose next refresh is due at the clock's now (never-refreshed ones included). */
  async runDue(): Promise<RefreshOutcome[]> {
    const now = this.options.clock.now();
    for (const tp of this.options.store.list()) await this.options.gate?.follow(tp.zone);
    const due = this.mine().filter((tp) => tp.nextRefresh === undefined || tp.nextRefresh <= now);
    const outcomes: RefreshOutcome[] = [];
    for (const tp of due) outcomes.push(await this.refresh(tp.zone));
    // RemTime needs no fetch: a revoked key's remove hold-down ends on time even while fetches fail.
    for (const tp of this.mine()) {
      const guard = this.guardOf(tp.zone);
      const { trustPoint, changes } = applyTimers(tp, now);
      if (guard && changes.length > 0) await this.commit(tp.zone, trustPoint, changes, guard);
    }
    return outcomes;
  }

  /** Starts refreshing on the scheduler: now, then whenever the next refresh or hold-down is due. */
  start(): void {
    if (this.job) return;
    this.job = this.options.scheduler.schedule('trust-point.refresh', this.options.clock.now(), () => this.sweepDue());
  }

  /** Re-plans the next wake-up (after a trust point was added or changed). */
  wake(): void {
    this.job?.reschedule(this.options.clock.now());
  }

  async stop(): Promise<void> {
    this.job?.cancel();
    this.job = undefined;
    await this.sweep?.catch(() => {});
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** One run of the scheduled job; returns when it is due next. */
  private async sweepDue(): Promise<number> {
    this.sweep = this.runDue().catch((error: unknown) =>
      logEvent(this.options.logger, 'trust-point.refresh-error', { err: (error as Error).message }, { level: 'error' }),
    );
    await this.sweep;
    this.sweep = undefined;
    return this.nextDue();
  }

  /** The trust points this server refreshes: all of them alone, those whose role it holds in a cluster. */
  private mine(): TrustPoint[] {
    return this.options.store.list().filter((tp) => this.guardOf(tp.zone) !== undefined);
  }

  /** The guard of a trust point's state writes (none alone); undefined when another server refreshes it or the lease is in doubt. */
  private guardOf(zone: string): readonly WriteGuard[] | undefined {
    if (!this.options.gate) return [];
    try {
      return this.options.gate.fence(zone);
    } catch {
      return undefined;
    }
  }

  private nextDue(): number {
    const now = this.options.clock.now();
    const times = this.mine().flatMap((tp) => [tp.nextRefresh ?? now, ...tp.anchors.flatMap((a) => (a.state === 'Revoked' && a.next !== undefined ? [a.next] : []))]);
    // At least a second on: a time already past (a refresh that keeps failing at once) is not a busy loop.
    return Math.max(now + 1000, times.length === 0 ? now + IDLE_WAIT_MS : Math.min(...times));
  }

  private async refreshOnce(zone: string): Promise<RefreshOutcome> {
    const { store, clock, logger, timers } = this.options;
    const started = store.get(zone);
    if (!started) return { zone, ok: false, result: 'no such trust point', changes: [], deleted: false };
    const guard = this.guardOf(zone);
    if (!guard) return { zone, ok: false, result: `not refreshed here: ${this.options.gate?.holderOf(zone) ?? 'no server yet'} is its RFC 5011 refresher`, changes: [], deleted: false };
    const name = Name.parse(zone);
    let fetched: Awaited<ReturnType<DnskeyFetcher>>;
    let fetchError: string | undefined;
    try {
      fetched = await this.options.fetchDnskey(name);
      if (!fetched) fetchError = 'no DNSKEY RRset could be fetched';
      else if (!fetched.records.some((r) => r.type === RRType.DNSKEY && r.name.equals(name))) fetchError = 'the answer holds no DNSKEY RRset';
    } catch (error) {
      fetchError = `fetching the DNSKEY RRset failed: ${(error as Error).message}`;
    }
    const now = clock.now();
    // The trust point may have changed (or gone) while the fetch was under way: work on the current one.
    const tp = store.get(zone);
    if (!tp) return { zone, ok: false, result: 'trust point removed during the refresh', changes: [], deleted: false };
    if (fetchError !== undefined || !fetched) return this.failed(tp, now, fetchError ?? 'fetch failed', guard);

    const limits = this.options.limits ?? DEFAULT_VALIDATION_LIMITS;
    const trusted = tp.anchors.filter((a) => anchorTrustedAt(a, now));
    const seconds = Math.floor(now / 1000);
    const auth = authenticateDnskeyRrset(
      name,
      fetched.records,
      fetched.rrsigs,
      { ds: trusted.filter((a) => a.type === 'DS').map((a) => a.rdata), dnskey: trusted.filter((a) => a.type === 'DNSKEY').map((a) => a.rdata) },
      { now: seconds, limits, budget: new ValidationBudget({ ...limits, maxSignatureChecks: Math.max(limits.maxSignatureChecks, 256) }) },
    );
    const dnskeys = fetched.records.filter((r) => r.type === RRType.DNSKEY && r.name.equals(name));
    if (auth.outcome.state !== 'secure') {
      const why = `DNSKEY RRset not validated (${auth.outcome.state}): ${auth.outcome.reason}`;
      // A trusted key may still revoke itself by its own signature (RFC 5011 §2.1, §5).
      const proven = selfSignedRevocations(name, dnskeys, fetched.rrsigs, seconds, limits);
      const revoked = new Map(dnskeys.filter((r) => proven.has(keyIdentity(r.rdata))).map((r) => [keyIdentity(r.rdata), r.rdata] as const));
      const { trustPoint, changes } = applyRevocations(tp, revoked, now, timers);
      if (changes.length === 0) return this.failed(tp, now, why, guard);
      if (!(await this.commit(zone, trustPoint, changes, guard))) return notWritten(zone);
      if (!trustPoint) return { zone, ok: false, result: `${why}; every anchor revoked: trust point deleted (RFC 5011 §5)`, changes, deleted: true };
      const failed = await this.failed(trustPoint, now, `${why} (revocations applied)`, guard);
      return { ...failed, changes };
    }

    const timing = rrsetTiming(name, dnskeys, fetched.rrsigs, auth.linkedBy, seconds);
    const { trustPoint, changes } = applyValidatedKeys(
      tp,
      {
        dnskeys: dnskeys.map((r) => r.rdata),
        selfSignedRevocations: selfSignedRevocations(name, dnskeys, fetched.rrsigs, seconds, limits),
        originalTtl: timing.originalTtl,
        at: now,
      },
      timers,
    );
    const interval = withJitter(activeRefreshSeconds(timing, timers), timers, this.options.random ?? Math.random);
    const nextRefresh = now + interval * 1000;
    const counts = countStates(trustPoint);
    const result = `ok: ${dnskeys.length} DNSKEYs, TTL ${timing.originalTtl}s${counts ? `; anchors ${counts}` : ''}`;
    const updated = trustPoint && {
      ...trustPoint,
      lastRefresh: now,
      lastSuccess: now,
      nextRefresh,
      lastResult: result,
      originalTtl: timing.originalTtl,
      expirationInterval: timing.expirationInterval,
      failures: 0,
    };
    if (!(await this.commit(zone, updated, changes, guard))) return notWritten(zone);
    logDnssecEvent(logger, 'trust-point.refreshed', { zone, ok: true, result, nextRefresh: new Date(nextRefresh).toISOString() });
    return updated
      ? { zone, ok: true, result, changes, deleted: false, nextRefresh }
      : { zone, ok: true, result: `${result}; every anchor revoked: trust point deleted (RFC 5011 §5)`, changes, deleted: true };
  }

  private async failed(tp: TrustPoint, now: number, why: string, guard: readonly WriteGuard[]): Promise<RefreshOutcome> {
    const interval = withJitter(retrySeconds(tp, this.options.timers), this.options.timers, this.options.random ?? Math.random);
    const nextRefresh = now + interval * 1000;
    if (!(await this.commit(tp.zone, { ...tp, lastRefresh: now, nextRefresh, lastResult: `failed: ${why}`, failures: tp.failures + 1 }, [], guard))) return notWritten(tp.zone);
    logDnssecEvent(
      this.options.logger,
      'trust-point.refreshed',
      { zone: tp.zone, ok: false, result: why, failures: tp.failures + 1, nextRefresh: new Date(nextRefresh).toISOString() },
      { level: 'warn', msg: 'trust point refresh failed; anchors unchanged' },
    );
    return { zone: tp.zone, ok: false, result: `failed: ${why}`, changes: [], deleted: false, nextRefresh };
  }

  /**
   * Puts the refresh's result in force. In a cluster it is written first, guarded by the role
   * (a deposed refresher that wakes late is refused by etcd), and only then logged and applied;
   * the moment the role or the lease is in doubt nothing is written. False: nothing changed.
   */
  private async commit(zone: string, tp: TrustPoint | undefined, changes: readonly StateChange[], guard: readonly WriteGuard[]): Promise<boolean> {
    if (this.options.gate) {
      const why = this.guardOf(zone) === undefined ? 'this server is no longer its refresher, or its cluster lease is in doubt' : await this.fencedWrite(zone, tp, guard);
      if (why !== undefined) {
        logEvent(this.options.logger, 'trust-point.refresh-fenced', { zone, changes: changes.length, reason: why }, { level: 'warn', msg: 'RFC 5011 state change not written: this server is not the refresher of the trust point' });
        return false;
      }
    }
    for (const c of changes)
      logDnssecEvent(
        this.options.logger,
        'trust-anchor.state-changed',
        { zone: c.zone, keyTag: c.keyTag, algorithm: c.algorithm, type: c.type, from: c.from, to: c.to, at: new Date(c.at).toISOString(), reason: c.why },
        { msg: `${c.zone} ${c.type} ${c.keyTag}: ${c.from} → ${c.to}` },
      );
    if (tp) {
      if (!this.options.gate) this.options.store.put(tp);
    } else {
      if (!this.options.gate) this.options.store.remove(zone);
      logEvent(this.options.logger, 'trust-point.deleted', { zone, reason: 'every trust anchor revoked (RFC 5011 §5)' }, { level: 'warn' });
    }
    return true;
  }

  /** The trust point's new state written under the role's guard; undefined when it landed, else why not. */
  private async fencedWrite(zone: string, tp: TrustPoint | undefined, guard: readonly WriteGuard[]): Promise<string | undefined> {
    try {
      await this.options.store.commit(zone, () => ({ changed: true, trustPoint: tp, result: undefined }), { guard });
      return undefined;
    } catch (error) {
      // Another server changed the document meanwhile: take it now, so the refresh that comes due again works on it.
      void this.options.store.reload().catch(() => false);
      return (error as Error).message;
    }
  }
}

function notWritten(zone: string): RefreshOutcome {
  return { zone, ok: false, result: 'not written: this server is no longer the refresher of the trust point (or its cluster lease is in doubt)', changes: [], deleted: false };
}

function countStates(tp: TrustPoint | undefined): string {
  if (!tp) return '';
  const counts = new Map<string, number>();
  for (const a of tp.anchors) counts.set(`${a.type === 'DS' ? 'DS ' : ''}${a.state}`, (counts.get(`${a.type === 'DS' ? 'DS ' : ''}${a.state}`) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
}

/**
 * The original TTL (from the RRSIG that linked the set to the anchors, else the records) and
 * the RRSIG expiration interval: seconds from now to the earliest expiration among those RRSIGs.
 */
function rrsetTiming(
  zone: Name,
  dnskeys: readonly ResourceRecord[],
  rrsigs: readonly ResourceRecord[],
  linkedBy: readonly number[],
  now: number,
): { originalTtl: number; expirationInterval?: number } {
  const sigs = rrsigs.flatMap((r) => {
    if (r.type !== RRType.RRSIG || !r.name.equals(zone)) return [];
    try {
      const sig = decodeRrsig(r.rdata);
      return sig.typeCovered === RRType.DNSKEY ? [sig] : [];
    } catch {
      return [];
    }
  });
  const linked = sigs.filter((s) => linkedBy.includes(s.keyTag));
  const used = linked.length > 0 ? linked : sigs;
  const recordTtl = Math.min(...dnskeys.map((r) => r.ttl));
  const originalTtl = used.length > 0 ? Math.max(...used.map((s) => s.originalTtl)) : recordTtl;
  if (used.length === 0) return { originalTtl };
  const expirationInterval = Math.max(0, Math.min(...used.map((s) => absoluteSignatureTime(s.expiration, now) - now)));
  return { originalTtl, expirationInterval };
}
