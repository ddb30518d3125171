import { readFile } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import type { KeymasterConfig, RootAnchorsSource } from '../config/schema.js';
import type { TrustAnchorSource } from '../dnssec/trust-anchor.js';
import { keyFileNameInfo, type KeyFileKind } from '../wire/key-files.js';
import type { Name } from '../wire/name.js';
import {
  AnchorInputError,
  anchorFromRdataText,
  anchorsFromKeyFile,
  anchorsFromRootAnchors,
  anchorsWithTag,
  mergeAnchors,
  type AnchorCandidate,
  type MergeResult,
} from '../trust/anchor-import.js';
import { loweredTimers, type Rfc5011Timers } from '../trust/rfc5011.js';
import { loadRootAnchors, type LoadedRootAnchors, type RootAnchorsLocation } from '../trust/root-anchors-source.js';
import { rootAnchorsSignatureOptions } from '../trust/root-anchors-signature-config.js';
import { TrustAnchorStore, type StoreWriter } from '../trust/trust-anchor-store.js';
import { TrustPointRefresher, type DnskeyFetcher, type RefreshOutcome } from '../trust/trust-point-refresher.js';
import { zoneKey, type Anchor, type AnchorType, type TrustPoint } from '../trust/trust-point.js';
import { logEvent, type Logger } from '../logging/logger.js';

export interface TrustServiceOptions {
  readonly config: KeymasterConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly fetchDnskey: DnskeyFetcher;
  /** Tests: deterministic jitter, injected store writer, no real-time refresh loop. */
  readonly random?: () => number;
  readonly writer?: StoreWriter;
  readonly storeRetryDelayMs?: number;
  readonly autoRefresh?: boolean;
  /** Where a URL's fallback comes from (default: the shipped trust-anchors/root-anchors.xml). */
  readonly rootAnchorsFallback?: string;
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
    return this.options.config.trustAnchors.rootAnchors;
  }

  private now(): number {
    return this.options.clock.now();
  }

  private merge(candidate: AnchorCandidate, why: string): AnchorsChanged {
    const result: MergeResult = mergeAnchors(this.store.get(candidate.zone), candidate, this.now());
    if (result.added.length > 0) {
      this.store.put(result.trustPoint);
      for (const a of result.added) logAnchorAdded(this.options.logger, candidate.zone, a, why);
      this.refresher.wake();
    }
    return { zone: candidate.zone, added: result.added.length, skipped: result.skipped.length, trustPoint: result.trustPoint };
  }

  /** `trust-point add-root`: root-anchors.xml from a URL (shipped copy as fallback) or file; adds its DS anchors. */
  async addRoot(location: RootAnchorsLocation): Promise<AnchorsChanged & { from: string; fallbackReason?: string }> {
    const loaded: LoadedRootAnchors = await loadRootAnchors(location, { ...(this.options.rootAnchorsFallback ? { fallbackFile: this.options.rootAnchorsFallback } : {}), ...rootAnchorsSignatureOptions(this.options.config, location, this.now()) });
    logRootAnchorsSource(this.options.logger, location, loaded);
    const changed = this.merge(anchorsFromRootAnchors(loaded.anchors, this.now()), `root anchors from ${loaded.from}`);
    return { ...changed, from: loaded.from, ...(loaded.fallbackReason === undefined ? {} : { fallbackReason: loaded.fallbackReason }) };
  }

  /** `trust-anchor import --keyset|--dsset`: the file's text as the client read it. */
  importKeyFile(kind: KeyFileKind, text: string, fileName: string): AnchorsChanged {
    return this.merge(anchorsFromKeyFile(kind, text, fileName, this.now()), `imported from ${fileName}`);
  }

  /** `trust-anchor add ZONE --ds|--dnskey RDATA`. */
  addAnchor(zone: string, type: AnchorType, rdataText: string): AnchorsChanged {
    return this.merge(anchorFromRdataText(zone, type, rdataText, this.now()), 'added by the operator');
  }

  /** `trust-anchor remove ZONE KEYTAG`: every anchor of the zone with that tag; the trust point goes with its last anchor. */
  removeAnchor(zone: string, tag: number): { removed: number; trustPointRemoved: boolean } {
    const tp = this.store.get(zone);
    if (!tp) return { removed: 0, trustPointRemoved: false };
    const doomed = new Set(anchorsWithTag(tp, tag));
    if (doomed.size === 0) return { removed: 0, trustPointRemoved: false };
    const anchors = tp.anchors.filter((a) => !doomed.has(a));
    for (const a of doomed) logEvent(this.options.logger, 'trust-anchor.removed', { zone: tp.zone, type: a.type, keyTag: a.keyTag, algorithm: a.algorithm, state: a.state });
    if (anchors.length === 0) {
      this.store.remove(tp.zone);
      logEvent(this.options.logger, 'trust-point.removed', { zone: tp.zone, reason: 'its last anchor was removed' });
      return { removed: doomed.size, trustPointRemoved: true };
    }
    this.store.put({ ...tp, anchors });
    return { removed: doomed.size, trustPointRemoved: false };
  }

  removeTrustPoint(zone: string): boolean {
    const removed = this.store.remove(zone);
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

function logAnchorAdded(logger: Logger, zone: string, a: Anchor, why: string): void {
  logEvent(logger, 'trust-anchor.added', { zone, type: a.type, keyTag: a.keyTag, algorithm: a.algorithm, state: a.state, origin: a.origin, reason: why });
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

function timersOf(config: KeymasterConfig): Rfc5011Timers {
  const { addHoldDown, removeHoldDown, minRefresh } = config.trustAnchors.rfc5011;
  return { addHoldDown, removeHoldDown, minRefresh };
}

async function importConfiguredFile(service: TrustService, path: string): Promise<void> {
  const info = keyFileNameInfo(path);
  if (!info) throw new AnchorInputError(`trustAnchors.import: ${path}: the file name must start with keyset- or dsset- (as BIND and a Key Master name them)`);
  let text: string;
  try {
    text = await readFile(path, 'latin1');
  } catch (error) {
    throw new AnchorInputError(`trustAnchors.import: cannot read ${path}: ${(error as Error).message}`);
  }
  service.importKeyFile(info.kind, text, path);
}

/**
 * Opens the store (a damaged one stops the start with the file and the fault), warns about
 * lowered RFC 5011 timers, bootstraps the root trust point on first start (never over an
 * existing one: RFC 5011 state wins over root-anchors.xml), imports the configured files and
 * starts active refresh.
 */
export async function startTrustService(options: TrustServiceOptions): Promise<TrustService> {
  const { config, clock, logger } = options;
  const timers = timersOf(config);
  const store = await TrustAnchorStore.open({
    stateDir: config.stateDir,
    clock,
    logger,
    ...(options.writer ? { writer: options.writer } : {}),
    ...(options.storeRetryDelayMs === undefined ? {} : { retryDelayMs: options.storeRetryDelayMs }),
  });
  const lowered = loweredTimers(timers);
  if (lowered.length > 0)
    logEvent(
      logger,
      'trust-anchor.timers-lowered',
      { ...timers, lowered },
      { level: 'warn', msg: `RFC 5011 ${lowered.join(', ')} below the RFC's values: for test labs only, a compromised key could be accepted sooner` },
    );
  const refresher = new TrustPointRefresher({ store, clock, logger, fetchDnskey: options.fetchDnskey, timers, ...(options.random ? { random: options.random } : {}) });
  const service = new TrustService(store, refresher, options);

  const root: RootAnchorsSource = config.trustAnchors.rootAnchors;
  if (!store.existed && root.kind !== 'none' && !store.get('.')) {
    const result = await service.addRoot(root);
    logEvent(logger, 'trust-point.root-bootstrapped', { from: result.from, anchors: result.added });
  } else if (store.get('.') && root.kind !== 'none') {
    logEvent(logger, 'trust-point.root-kept', { reason: 'the store has a root trust point; its RFC 5011 state wins over root-anchors.xml' }, { level: 'debug' });
  }
  for (const path of config.trustAnchors.import) await importConfiguredFile(service, path);
  if (!store.existed) store.save();
  logEvent(logger, 'trust-point.store-opened', { path: store.path, trustPoints: store.list().map((tp) => tp.zone), firstStart: !store.existed });
  if (options.autoRefresh ?? true) refresher.start();
  return service;
}
