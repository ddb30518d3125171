/**
 * The running server's policy table: config-file rules and `keymaster policy add` rules merged,
 * changed at run time through the control API, persisted, and kept clean of expired negative
 * trust anchors.
 *
 * - Config rules are read at every start; store rules (STATEDIR/policy.json) are loaded after
 *   them, and where both name the same namespace the store rule wins (the operator's latest
 *   word). Removing that store rule brings the config rule back.
 * - A config rule cannot be removed at run time: it would come back at the next start. The
 *   operator edits the config file instead (or overrides the rule with `policy add`).
 * - Negative trust anchors (RFC 7646) with an `until` stop matching at that time (PolicyTable
 *   checks `until` on every lookup); a timer then removes them, persists the removal and logs
 *   `policy.nta-expired`. Expired ones found at start are dropped the same way.
 * - RFC 7646 §2.1: an NTA should go as soon as its zone validates again. Whoever can validate
 *   (the resolver) registers `onRecheck`; every `recheckIntervalMs` it is called for each NTA
 *   added with `keymaster policy add` and calls `remove(namespace, 'zone validates again')`
 *   when the zone validates. Config-file NTAs are permanent, like Unbound's domain-insecure
 *   and BIND's validate-except, and are not rechecked.
 * Every change logs `policy.rule-added`, `policy.rule-removed` or `policy.nta-expired`.
 */
import type { Clock } from '../clock.js';
import type { PolicyRule } from '../config/schema.js';

import {
  checkPolicyRule,
  formatServerAddress,
  isExpired,
  parsePolicyNamespace,
  PolicyRuleError,
  PolicyTable,
  type ServerAddress,
  type PolicyMode,
  type PolicyRuleEntry,
} from './policy-table.js';
import { logEvent, type Logger } from '../logging/logger.js';
import { PolicyStore } from './policy-store.js';
import { policyModeOfConfig } from './policy-mode.js';
import { type DocumentStore, StoreError } from '../store/document-store.js';
import type { JobHandle, Scheduler } from '../scheduler.js';

/** BIND's nta-recheck default. */
export const DEFAULT_NTA_RECHECK_MS = 5 * 60_000;

export interface PolicyServiceOptions {
  readonly configRules: readonly PolicyRule[];
  /** Where the operator's rules are kept (the `policy` document). */
  readonly documents: DocumentStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Named in the refusal to remove a config rule. */
  readonly configFile?: string | undefined;
  readonly recheckIntervalMs?: number;
  /** Runs the NTA expiry and re-check jobs (a manual one in tests, which then call `sweep()` and `recheck()` or `runDue()`). */
  readonly scheduler: Scheduler;
}

/** What `keymaster policy add` asks for. */
export interface PolicyRuleRequest {
  readonly namespace: string;
  readonly mode: PolicyMode;
  readonly until?: Date | undefined;
  readonly forwarders?: readonly ServerAddress[] | undefined;
}

/** A rule as listed: the rule in effect and whether it hides a config rule of the same namespace. */
export interface PolicyListEntry {
  readonly rule: PolicyRuleEntry;
  readonly overridesConfig: boolean;
}

export interface PolicyChange {
  readonly kind: 'added' | 'removed' | 'expired';
  readonly namespace: string;
  /** The rule added, or the one removed or expired. */
  readonly rule: PolicyRuleEntry;
}

/** A change that cannot be made: no such rule, or a rule from the config file. */
export class PolicyChangeError extends Error {
  override readonly name = 'PolicyChangeError';
  constructor(
    readonly kind: 'not-found' | 'config-rule',
    message: string,
  ) {
    super(message);
  }
}

/** A config-file rule as a table entry (`source: 'config'`). */
export function policyEntryFromConfig(rule: PolicyRule): PolicyRuleEntry {
  return {
    namespace: rule.namespace,
    mode: policyModeOfConfig(rule),
    ...(rule.until === undefined ? {} : { until: rule.until }),
    forwarders: rule.forwarders.map((f) => ({ host: f.host, port: f.port })),
    source: 'config',
  };
}

function describe(rule: PolicyRuleEntry): Record<string, unknown> {
  return {
    namespace: rule.namespace,
    mode: rule.mode,
    until: rule.until?.toISOString() ?? null,
    forwarders: rule.forwarders.map(formatServerAddress),
    source: rule.source,
  };
}

export class PolicyService {
  /** The rules in effect; the resolver calls `match` and `forwardersFor` on it for every query. */
  readonly table = new PolicyTable();
  private readonly store: PolicyStore;
  /** The store's rules by namespace: what policy.json holds. */
  private storeRules = new Map<string, PolicyRuleEntry>();
  private readonly recheckers = new Set<(rule: PolicyRuleEntry) => unknown>();
  private readonly changeListeners = new Set<(change: PolicyChange) => void>();
  /** Changes run one at a time, so the file and the table never disagree. */
  private queue: Promise<unknown> = Promise.resolve();
  private sweepJob: JobHandle | undefined;
  private recheckJob: JobHandle | undefined;
  private stopped = false;

  private constructor(private readonly options: PolicyServiceOptions) {
    this.store = new PolicyStore(options.documents);
  }

  /** Loads the config rules and the store (throws PolicyStoreError for a damaged file), drops expired NTAs, starts the timers. */
  static async start(options: PolicyServiceOptions): Promise<PolicyService> {
    const service = new PolicyService(options);
    await service.load();
    service.armSweep();
    service.recheckJob = options.scheduler.every('policy.nta-recheck', options.recheckIntervalMs ?? DEFAULT_NTA_RECHECK_MS, () => service.recheck());
    return service;
  }

  /** The store file's path. */
  get storePath(): string {
    return this.store.path;
  }

  private get now(): number {
    return this.options.clock.now();
  }

  private async load(): Promise<void> {
    const { logger } = this.options;
    const now = this.now;
    let configRules = 0;
    for (const rule of this.options.configRules) {
      const entry = policyEntryFromConfig(rule);
      if (isExpired(entry, now)) {
        logEvent(logger, 'policy.nta-expired', { ...describe(entry), atStart: true }, { msg: `negative trust anchor for ${entry.namespace} in the config file has expired; ignored` });
        continue;
      }
      this.table.set(entry);
      configRules++;
    }
    const stored = await this.store.load();
    const expired = stored.filter((r) => isExpired(r, now));
    this.storeRules = new Map(stored.filter((r) => !isExpired(r, now)).map((r) => [r.namespace, r]));
    if (expired.length > 0) {
      await this.store.save([...this.storeRules.values()]);
      for (const entry of expired)
        logEvent(logger, 'policy.nta-expired', { ...describe(entry), atStart: true }, { msg: `negative trust anchor for ${entry.namespace} expired while the server was down; removed` });
    }
    for (const entry of this.storeRules.values()) this.table.set(entry);
    logEvent(logger, 'policy.loaded', { file: this.store.path, configRules, storeRules: this.storeRules.size, rules: this.table.size });
  }

  private serialise<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Adds (or replaces) a rule as `keymaster policy add` does: persisted, then in effect. Throws
   * PolicyRuleError for a bad rule (an `until` not in the future, …). A rule for a namespace the
   * config file also names overrides it.
   */
  add(request: PolicyRuleRequest): Promise<{ rule: PolicyRuleEntry; replaced?: PolicyRuleEntry; overridesConfig: boolean }> {
    return this.serialise(async () => {
      const now = this.now;
      const rule = checkPolicyRule(
        {
          namespace: request.namespace,
          mode: request.mode,
          ...(request.until === undefined ? {} : { until: request.until }),
          forwarders: (request.forwarders ?? []).map((f) => ({ host: f.host, port: f.port })),
          source: 'store',
          addedAt: new Date(now),
        },
        now,
      );
      if (rule.mode === 'default' && rule.forwarders.length === 0)
        throw new PolicyRuleError('mode', `the rule for ${rule.namespace} has neither a validation mode nor forwarders, so it would do nothing`);
      await this.commitRules((rules) => rules.set(rule.namespace, rule));
      const replaced = this.table.set(rule);
      const overridesConfig = this.table.overridesConfig(rule.namespace);
      logEvent(
        this.options.logger,
        'policy.rule-added',
        { ...describe(rule), replaced: replaced ? describe(replaced) : null, overridesConfig },
        { msg: `policy rule for ${rule.namespace} added (${rule.mode})` },
      );
      this.armSweep();
      this.notify({ kind: 'added', namespace: rule.namespace, rule });
      return { rule, ...(replaced ? { replaced } : {}), overridesConfig };
    });
  }

  /**
   * Removes a rule added with `keymaster policy add` (the config rule it hid, if any, applies
   * again). Throws PolicyRuleError for a bad namespace, PolicyChangeError when there is no such
   * rule or it comes from the config file.
   */
  remove(namespace: string, reason: string): Promise<{ removed: PolicyRuleEntry; restored?: PolicyRuleEntry }> {
    return this.serialise(async () => {
      const ns = parsePolicyNamespace(namespace).text;
      const removed = this.storeRules.get(ns);
      if (!removed) {
        if (this.table.get(ns, 'config')) {
          const file = this.options.configFile ? ` ${this.options.configFile}` : '';
          throw new PolicyChangeError(
            'config-rule',
            `the rule for ${ns} comes from the config file${file}; it would come back at the next start, so remove it there and restart (or override it now with "keymaster policy add ${ns} ...")`,
          );
        }
        throw new PolicyChangeError('not-found', `there is no policy rule for ${ns}`);
      }
      await this.commitRules((rules) => void rules.delete(ns));
      this.table.delete(ns, 'store');
      const restored = this.inForce(ns);
      logEvent(
        this.options.logger,
        'policy.rule-removed',
        { ...describe(removed), reason, restored: restored ? describe(restored) : null },
        { msg: `policy rule for ${ns} removed: ${reason}` },
      );
      this.armSweep();
      this.notify({ kind: 'removed', namespace: ns, rule: removed });
      return { removed, ...(restored ? { restored } : {}) };
    });
  }

  /**
   * The store's rules changed under us (cluster mode: another server's `policy add`, seen through
   * the store's watch): the table follows the store, with the same events and change listeners.
   */
  reloadFromStore(): Promise<void> {
    return this.serialise(() => this.takeStoreRules());
  }

  private async takeStoreRules(): Promise<void> {
    const now = this.now;
    const next = new Map((await this.store.load()).filter((r) => !isExpired(r, now)).map((r) => [r.namespace, r]));
    for (const [ns, old] of this.storeRules)
      if (!next.has(ns)) {
        this.table.delete(ns, 'store');
        logEvent(this.options.logger, 'policy.rule-removed', { ...describe(old), reason: 'removed on another server' });
        this.notify({ kind: 'removed', namespace: ns, rule: old });
      }
    for (const [ns, rule] of next)
      if (JSON.stringify(this.storeRules.get(ns)) !== JSON.stringify(rule)) {
        this.table.set(rule);
        logEvent(this.options.logger, 'policy.rule-added', { ...describe(rule), reason: 'added on another server' });
        this.notify({ kind: 'added', namespace: ns, rule });
      }
    this.storeRules = next;
    this.armSweep();
  }

  /**
   * Writes the store rules changed by `change`, compare-and-swap on what was read: when another
   * server wrote meanwhile (cluster mode), its rules are taken first and the change applied to
   * them, so neither server's rule is lost.
   */
  private async commitRules(change: (rules: Map<string, PolicyRuleEntry>) => unknown): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const next = new Map(this.storeRules);
      change(next);
      try {
        await this.store.save([...next.values()]);
        this.storeRules = next;
        return;
      } catch (error) {
        if (!(error instanceof StoreError && error.code === 'conflict') || attempt >= 5) throw error;
        await this.takeStoreRules();
      }
    }
  }

  /** The rule in force for the namespace now (after a store rule went: the config rule it hid, if any). */
  private inForce(namespace: string): PolicyRuleEntry | undefined {
    const rule = this.table.get(namespace);
    return rule && !isExpired(rule, this.now) ? rule : undefined;
  }

  /** The rules in effect, in canonical order of their namespaces. */
  list(): PolicyListEntry[] {
    return this.table.rules().map((rule) => ({ rule, overridesConfig: this.table.overridesConfig(rule.namespace) }));
  }

  /** Removes the negative trust anchors whose `until` has passed (persisting it) and logs `policy.nta-expired` for each. */
  sweep(): Promise<PolicyRuleEntry[]> {
    return this.serialise(async () => {
      const now = this.now;
      const expired = this.table.expired(now);
      if (expired.length === 0) {
        this.armSweep();
        return [];
      }
      const storeExpired = expired.filter((r) => r.source === 'store');
      if (storeExpired.length > 0) {
        await this.commitRules((rules) => storeExpired.forEach((rule) => rules.delete(rule.namespace)));
      }
      for (const rule of expired) {
        this.table.delete(rule.namespace, rule.source);
        const restored = this.inForce(rule.namespace);
        logEvent(
          this.options.logger,
          'policy.nta-expired',
          { ...describe(rule), restored: restored ? describe(restored) : null },
          { msg: `negative trust anchor for ${rule.namespace} expired at ${rule.until?.toISOString()}; validation applies again` },
        );
        this.notify({ kind: 'expired', namespace: rule.namespace, rule });
      }
      this.armSweep();
      return expired;
    });
  }

  /**
   * Registers the RFC 7646 §2.1 recheck: `fn` is called every recheck interval for each negative
   * trust anchor added with `keymaster policy add` that is still in effect, and is expected to
   * call `remove(rule.namespace, 'zone validates again')` once its zone validates. Returns the
   * function that unregisters it.
   */
  onRecheck(fn: (rule: PolicyRuleEntry) => unknown): () => void {
    this.recheckers.add(fn);
    return () => this.recheckers.delete(fn);
  }

  /** Called after every change (e.g. to drop cached answers for the namespace). Returns the unregister function. */
  onChange(fn: (change: PolicyChange) => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  /** Runs the recheck hooks once now (the timer calls this). */
  async recheck(): Promise<void> {
    if (this.recheckers.size === 0) return;
    const now = this.now;
    const ntas = this.table.rules().filter((r) => r.mode === 'no-validation' && r.source === 'store' && !isExpired(r, now));
    for (const rule of ntas)
      for (const fn of this.recheckers) {
        try {
          await fn(rule);
        } catch (error) {
          logEvent(this.options.logger, 'policy.recheck-failed', { namespace: rule.namespace, err: error }, { level: 'warn' });
        }
      }
  }

  private notify(change: PolicyChange): void {
    for (const fn of this.changeListeners) {
      try {
        fn(change);
      } catch (error) {
        logEvent(this.options.logger, 'policy.listener-failed', { namespace: change.namespace, err: error }, { level: 'error' });
      }
    }
  }

  /** The expiry job wants the next `until` in the table; the scheduler wakes it then (or on a clock jump). */
  private armSweep(): void {
    if (this.stopped) return;
    const next = this.table.nextExpiry();
    if (!next) {
      this.sweepJob?.cancel();
      return;
    }
    if (this.sweepJob) this.sweepJob.reschedule(next.getTime());
    else
      this.sweepJob = this.options.scheduler.schedule('policy.nta-expiry', next.getTime(), async () => {
        await this.sweep();
      });
  }

  /** Stops the jobs and waits for a change in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.sweepJob?.cancel();
    this.recheckJob?.cancel();
    await this.queue;
  }
}

/** Loads the policy rules (config file, then STATEDIR/policy.json) and starts the expiry and recheck timers. */
export function startPolicyService(options: PolicyServiceOptions): Promise<PolicyService> {
  return PolicyService.start(options);
}
