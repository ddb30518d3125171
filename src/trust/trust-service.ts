import type { Clock } from '../clock.js';
import type { RootAnchorsSource, TrustAnchorsConfig } from '../config/schema.js';
import type { TrustAnchorSource } from '../dnssec/trust-anchor.js';
import type { KeyFileKind } from '../wire/key-files.js';
import type { Name } from '../wire/name.js';
import { logAnchorAdded } from './anchor-events.js';
import {
  anchorFromRdataText,
  anchorsFromKeyFile,
  anchorsFromRootAnchors,
  anchorsWithTag,
  mergeAnchors,
  type AnchorCandidate,
} from './anchor-import.js';
import { sourceOf, type AnchorSourceKind } from './anchor-source.js';
import { applyConfigImports } from './config-imports.js';
import { loweredTimers, type Rfc5011Timers } from './rfc5011.js';
import { loadRootAnchors, type LoadedRootAnchors, type RootAnchorsLocation } from './root-anchors-source.js';
import { rootAnchorsSignatureOptions } from './root-anchors-signature-config.js';
import { TrustAnchorStore } from './trust-anchor-store.js';
import type { RefreshGate } from './refresh-gate.js';
import type { DocumentStore } from '../store/document-store.js';
import type { Scheduler } from '../scheduler.js';
import { TrustPointRefresher, type DnskeyFetcher, type RefreshOutcome } from './trust-point-refresher.js';
import { zoneKey, type AnchorType, type TrustPoint } from './trust-point.js';
import { logEvent, type Logger } from '../logging/logger.js';

export interface TrustServiceOptions {
  /** The config's `trustAnchors` section (the only part of the config trust reads). */
  readonly trustAnchors: TrustAnchorsConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly fetchDnskey: DnskeyFetcher;
  /** The server's one DocumentStore: the trust anchors are its `trust-anchors` document. */
  readonly documents: DocumentStore;
  /** Runs the RFC 5011 refresh and the store's write retries (tests: a manual one, driven by runDue). */
  readonly scheduler: Scheduler;
  /** Tests: deterministic jitter. */
  readonly random?: () => number;
  /** Where a URL's fallback comes from (default: the shipped trust-anchors/root-anchors.xml). */
  readonly rootAnchorsFallback?: string;
  /** Cluster mode: one RFC 5011 refresher per trust point for the whole cluster (refresh-gate.ts). */
  readonly refreshGate?: RefreshGate;
}

export interface AnchorsChanged {
  readonly zone: string;
  readonly added: number;
  readonly skipped: number;
  readonly trustPoint: TrustPoint;
}

/**
 * Trust points for the running server: the TrustAnchors store (which is the validator's
 * TrustAnchorSource), the root bootstrap, imports from the config, the RFC 5011 refresher, and
 * the operations behind `keymaster trust-point` / `trust-anchor`.
 */
export class TrustService {
  constructor(
    readonly store: TrustAnchorStore,
    readonly refresher: TrustPointRefresher,
    private readonly options: TrustServiceOptions,
  ) {}

  /** What the validator reads: Valid/Missing DNSKEY anchors and DS anchors in their validity window. */
  get source(): TrustAnchorSource {
    return this.store;
  }

  /** trustAnchors.rootAnchors as configured (flags included). */
  configuredRootAnchors(): RootAnchorsSource {
    return this.options.trustAnchors.rootAnchors;
  }

  private now(): number {
    return this.options.clock.now();
  }

  /** Merges anchors into their trust point durably: resolves once the store file holding them is synced (TrustStoreWriteError: nothing changed). */
  private async merge(candidate: AnchorCandidate, why: string): Promise<AnchorsChanged> {
    const result = await this.store.commit(candidate.zone, (current) => {
      const merged = mergeAnchors(current, candidate, this.now());
      return { changed: merged.added.length > 0, trustPoint: merged.trustPoint, result: merged };
    });
    for (const a of result.added) logAnchorAdded(this.options.logger, candidate.zone, a, why);
    if (result.added.length > 0) this.refresher.wake();
    return { zone: candidate.zone, added: result.added.length, skipped: result.skipped.length, trustPoint: this.store.get(candidate.zone) ?? result.trustPoint };
  }

  private async loadRoot(location: RootAnchorsLocation, kind: 'config-root-anchors' | 'add-root'): Promise<{ candidate: AnchorCandidate; loaded: LoadedRootAnchors }> {
    const loaded: LoadedRootAnchors = await loadRootAnchors(location, { ...(this.options.rootAnchorsFallback ? { fallbackFile: this.options.rootAnchorsFallback } : {}), ...rootAnchorsSignatureOptions(this.options.trustAnchors, location, this.now()) });
    logRootAnchorsSource(this.options.logger, location, loaded);
    return { candidate: anchorsFromRootAnchors(loaded.anchors, this.now(), sourceOf(kind, loaded.from)), loaded };
  }

  /** `trust-point add-root`: root-anchors.xml from a URL (shipped copy as fallback) or file; adds its DS anchors. */
  async addRoot(location: RootAnchorsLocation): Promise<AnchorsChanged & { from: string; fallbackReason?: string }> {
    const { candidate, loaded } = await this.loadRoot(location, 'add-root');
    const changed = await this.merge(candidate, `root anchors from ${loaded.from}`);
    return { ...changed, from: loaded.from, ...(loaded.fallbackReason === undefined ? {} : { fallbackReason: loaded.fallbackReason }) };
  }

  /** First start: the root trust point from trustAnchors.rootAnchors (written in the background with the rest of the start's changes). */
  async bootstrapRoot(location: RootAnchorsLocation): Promise<void> {
    const { candidate, loaded } = await this.loadRoot(location, 'config-root-anchors');
    const merged = mergeAnchors(this.store.get('.'), candidate, this.now());
    this.store.put(merged.trustPoint);
    for (const a of merged.added) logAnchorAdded(this.options.logger, '.', a, `root anchors from ${loaded.from}`);
    logEvent(this.options.logger, 'trust-point.root-bootstrapped', { from: loaded.from, anchors: merged.added.length });
  }

  /**
   * `trust-anchor import --keyset|--dsset` (the file's text as the client read it), and the
   * keyset of a local zone signed with distributeTrustAnchor: every record must be fit, or
   * nothing is imported (AnchorInputError naming the file and line).
   */
  async importKeyFile(kind: KeyFileKind, text: string, fileName: string, via: Extract<AnchorSourceKind, 'import' | 'zone-signing'> = 'import'): Promise<AnchorsChanged> {
    return this.merge(anchorsFromKeyFile(kind, text, fileName, this.now(), sourceOf(via, fileName)), `imported from ${fileName}`);
  }

  /** `trust-anchor add ZONE --ds|--dnskey RDATA`. */
  async addAnchor(zone: string, type: AnchorType, rdataText: string): Promise<AnchorsChanged> {
    return this.merge(anchorFromRdataText(zone, type, rdataText, this.now(), 'manual', sourceOf('add')), 'added by the operator');
  }

  /** `trust-anchor remove ZONE KEYTAG`: every anchor of the zone with that tag; the trust point goes with its last anchor. Durable before it resolves. */
  async removeAnchor(zone: string, tag: number): Promise<{ removed: number; trustPointRemoved: boolean }> {
    const doomed = await this.store.commit(zone, (tp) => {
      const matching = tp ? new Set(anchorsWithTag(tp, tag)) : new Set<never>();
      const anchors = tp ? tp.anchors.filter((a) => !matching.has(a)) : [];
      return { changed: matching.size > 0, trustPoint: matching.size > 0 && anchors.length === 0 ? undefined : tp && { ...tp, anchors }, result: [...matching] };
    });
    const key = zoneKey(zone);
    for (const a of doomed) logEvent(this.options.logger, 'trust-anchor.removed', { zone: key, type: a.type, keyTag: a.keyTag, algorithm: a.algorithm, state: a.state });
    const trustPointRemoved = doomed.length > 0 && !this.store.get(key);
    if (trustPointRemoved) logEvent(this.options.logger, 'trust-point.removed', { zone: key, reason: 'its last anchor was removed' });
    return { removed: doomed.length, trustPointRemoved };
  }

  /** `trust-point remove ZONE`; durable before it resolves. */
  async removeTrustPoint(zone: string): Promise<boolean> {
    const removed = await this.store.commit(zone, (tp) => ({ changed: tp !== undefined, trustPoint: undefined, result: tp !== undefined }));
    if (removed) logEvent(this.options.logger, 'trust-point.removed', { zone: zoneKey(zone), reason: 'removed by the operator' });
    return removed;
  }

  refresh(zone: Name | string): Promise<RefreshOutcome> {
    return this.refresher.refresh(zone);
  }

  async stop(): Promise<void> {
    await this.refresher.stop();
    await this.store.close();
  }
}

/**
 * The DNSKEY fetcher serve.ts passes until the resolver offers one (the lead replaces it with a
 * checking-disabled DNSKEY lookup through the resolver): every refresh fails and is retried,
 * anchors stay as they are, and `trust-point.refresh-unavailable` is logged once.
 */
export function unavailableDnskeyFetcher(logger: Logger): DnskeyFetcher {
  let logged = false;
  return async (zone) => {
    if (!logged) {
      logged = true;
      logEvent(logger, 'trust-point.refresh-unavailable', { zone: zone.toString() }, { level: 'warn', msg: 'RFC 5011 active refresh is off while dnssec.validation is false; anchors are kept as they are' });
    }
    return undefined;
  };
}

function logRootAnchorsSource(logger: Logger, location: RootAnchorsLocation, loaded: LoadedRootAnchors): void {
  if (loaded.fallbackReason !== undefined)
    logEvent(
      logger,
      'trust-point.root-anchors-fallback',
      { url: location.kind === 'url' ? location.url : undefined, used: loaded.from, reason: loaded.fallbackReason },
      { level: 'warn', msg: 'could not fetch or verify root-anchors.xml; using the shipped copy' },
    );
  logEvent(logger, 'trust-point.root-anchors-loaded', {
    from: loaded.from,
    signature: loaded.signature,
    keyDigests: loaded.anchors.keyDigests.map((kd) => ({ id: kd.id, keyTag: kd.keyTag, validFrom: new Date(kd.validFrom).toISOString() })),
  });
}

function timersOf(trustAnchors: TrustAnchorsConfig): Rfc5011Timers {
  const { addHoldDown, removeHoldDown, minRefresh } = trustAnchors.rfc5011;
  return { addHoldDown, removeHoldDown, minRefresh };
}

/**
 * Opens the store (a damaged one stops the start with the file and the fault), warns about
 * lowered RFC 5011 timers, bootstraps the root trust point on first start (never over an
 * existing one: RFC 5011 state wins over root-anchors.xml), imports the configured files that
 * are new or changed (config-imports.ts) and starts active refresh.
 */
export async function startTrustService(options: TrustServiceOptions): Promise<TrustService> {
  const { trustAnchors, clock, logger } = options;
  const timers = timersOf(trustAnchors);
  const store = await TrustAnchorStore.open({
    documents: options.documents,
    scheduler: options.scheduler,
    clock,
    logger,
  });
  const lowered = loweredTimers(timers);
  if (lowered.length > 0)
    logEvent(
      logger,
      'trust-anchor.timers-lowered',
      { ...timers, lowered },
      { level: 'warn', msg: `RFC 5011 ${lowered.join(', ')} below the RFC's values: for test labs only, a compromised key could be accepted sooner` },
    );
  const refresher = new TrustPointRefresher({ store, clock, logger, scheduler: options.scheduler, fetchDnskey: options.fetchDnskey, timers, ...(options.random ? { random: options.random } : {}), ...(options.refreshGate ? { gate: options.refreshGate } : {}) });
  const service = new TrustService(store, refresher, options);

  const root: RootAnchorsSource = trustAnchors.rootAnchors;
  if (!store.existed && root.kind !== 'none' && !store.get('.')) await service.bootstrapRoot(root);
  else if (store.get('.') && root.kind !== 'none') {
    logEvent(logger, 'trust-point.root-kept', { reason: 'the store has a root trust point; its RFC 5011 state wins over root-anchors.xml' }, { level: 'debug' });
  }
  await applyConfigImports(store, trustAnchors.import, clock.now(), logger);
  if (!store.existed) store.save();
  logEvent(logger, 'trust-point.store-opened', { path: store.path, trustPoints: store.list().map((tp) => tp.zone), firstStart: !store.existed });
  refresher.start();
  return service;
}
