import type { Clock } from '../clock.js';
import type { TrustAnchor, TrustAnchorSource } from '../dnssec/trust-anchor.js';
import { logEvent, type Logger } from '../logging/logger.js';
import type { JobHandle, Scheduler } from '../scheduler.js';
import { type DocumentStore, StoreError } from '../store/document-store.js';
import { Name } from '../wire/name.js';
import { TRUST_ANCHORS_DOCUMENT, TRUST_ANCHORS_KEY, TrustStoreError, type ConfigImportRecord } from './trust-anchor-store-format.js';
import { anchorTrustedAt, zoneKey, type TrustPoint } from './trust-point.js';
import { mergeByKey } from './trust-store-merge.js';

export {
  TRUST_ANCHOR_STORE_FILE,
  TRUST_ANCHOR_STORE_FORMAT,
  TRUST_ANCHOR_STORE_VERSION,
  TRUST_ANCHORS_DOCUMENT,
  TRUST_ANCHORS_KEY,
  TrustStoreError,
  type ConfigImportRecord,
} from './trust-anchor-store-format.js';

/**
 * The TrustAnchors store: every trust point with its anchors and their RFC 5011 state, in one
 * document of the store contract (`trust-anchors`: STATEDIR/trust-anchors.json in the file
 * store; like Microsoft's TrustAnchors.dns, Unbound's auto-trust-anchor-file or BIND's
 * managed-keys.bind). A damaged store stops the start: it must never silently turn a key Valid.
 * The document is replaced atomically and durably (the store contract) on every change, one
 * write at a time, each holding the whole store as it is when the write starts.
 *
 * Two ways to change it: `put`/`remove` (RFC 5011 refresh, start-up) change the store at once
 * and write in the background, retrying failures on the scheduler with backoff; `commit` (everything the control API accepts)
 * writes first and changes the store only once the file is on disk, so a reply never
 * acknowledges a change a crash could lose, and a failed write changes nothing.
 */

/** A change the operator asked for could not be written: nothing was changed. */
export class TrustStoreWriteError extends Error {
  override readonly name = 'TrustStoreWriteError';
}

export interface TrustAnchorStoreOptions {
  /** Where the `trust-anchors` document lives (the server's one DocumentStore). */
  readonly documents: DocumentStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Runs the retries of failed background writes (`trust-store.write-retry`). */
  readonly scheduler: Scheduler;
  /** First delay before retrying a failed write; doubles up to maxRetryDelayMs. Default 1 s. */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
}

/** What a `commit` change returns: the trust point's new value (undefined: removed) and the caller's result; `changed: false` writes nothing. */
export interface CommitChange<T> {
  readonly changed: boolean;
  readonly trustPoint: TrustPoint | undefined;
  readonly result: T;
}

export class TrustAnchorStore implements TrustAnchorSource {
  readonly path: string;
  private readonly points = new Map<string, TrustPoint>();
  private readonly imports = new Map<string, ConfigImportRecord>();
  /** Writes run one at a time, in order: a later write always holds a later store. */
  private writeLock: Promise<unknown> = Promise.resolve();
  private version = 0;
  private writtenVersion = 0;
  private writing: Promise<void> | undefined;
  private retry: JobHandle | undefined;
  private failures = 0;
  private retryDelay: number;
  private closed = false;
  private cache: { version: number; until: number; anchors: readonly TrustAnchor[] } | undefined;
  /** The document as last read or written (its revision, points and imports): writes are compare-and-swap on it, merged on a conflict. */
  private stored: { revision: number; points: Map<string, TrustPoint>; imports: Map<string, ConfigImportRecord> } | undefined;

  private constructor(
    private readonly options: TrustAnchorStoreOptions,
    /** Whether a store file existed at open (false: first start, the root may be bootstrapped). */
    readonly existed: boolean,
    points: readonly TrustPoint[],
    imports: readonly ConfigImportRecord[],
  ) {
    this.path = options.documents.locate(TRUST_ANCHORS_KEY);
    this.retryDelay = options.retryDelayMs ?? 1000;
    for (const tp of points) this.points.set(tp.zone, tp);
    for (const r of imports) this.imports.set(r.file, r);
  }

  /**
   * Reads the `trust-anchors` document (absent: an empty store). Throws TrustStoreError naming
   * the file and the fault when it is damaged. A file of an earlier release is read once and
   * written back in the current version at once (in the background, like put).
   */
  static async open(options: TrustAnchorStoreOptions): Promise<TrustAnchorStore> {
    let doc;
    try {
      doc = await options.documents.read(TRUST_ANCHORS_KEY, TRUST_ANCHORS_DOCUMENT);
    } catch (error) {
      if (error instanceof StoreError)
        throw new TrustStoreError(`${error.where}: ${error.fault}; restore it from a backup, or move it away to bootstrap the trust points again`);
      throw error;
    }
    const store = new TrustAnchorStore(options, doc !== undefined, doc?.value.trustPoints ?? [], doc?.value.configImports ?? []);
    store.stored = { revision: doc?.revision ?? 0, points: new Map(store.points), imports: new Map(store.imports) };
    if (doc?.upgraded) {
      logEvent(options.logger, 'trust-store.upgraded', { path: store.path, version: TRUST_ANCHORS_DOCUMENT.version }, { msg: 'trust anchor store of an earlier release read; rewriting it in the current version' });
      store.save();
    }
    return store;
  }

  list(): TrustPoint[] {
    return [...this.points.values()].sort((a, b) => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0));
  }

  get(zone: Name | string): TrustPoint | undefined {
    return this.points.get(zoneKey(zone));
  }

  /** Adds or replaces a trust point and writes the store (in the background; see flush). */
  put(tp: TrustPoint): void {
    this.points.set(tp.zone, tp);
    this.changed();
  }

  remove(zone: Name | string): boolean {
    const removed = this.points.delete(zoneKey(zone));
    if (removed) this.changed();
    return removed;
  }

  /** The record of a `trustAnchors.import` file already imported, if any. */
  configImport(file: string): ConfigImportRecord | undefined {
    return this.imports.get(file);
  }

  configImports(): ConfigImportRecord[] {
    return [...this.imports.values()];
  }

  /** Records (or, with undefined, forgets) a config import; written in the background like put. */
  setConfigImport(file: string, record: ConfigImportRecord | undefined): void {
    if (record) this.imports.set(file, record);
    else if (!this.imports.delete(file)) return;
    this.changed();
  }

  /**
   * Changes one trust point durably: `change` sees the trust point as it is once this write's
   * turn comes; the store file with its result is written and synced, and only then does the
   * store (and the validator) see it. Throws TrustStoreWriteError (store unchanged) when the
   * write fails, TrustStoreError once the store is closed.
   */
  commit<T>(zone: Name | string, change: (current: TrustPoint | undefined) => CommitChange<T>): Promise<T> {
    const key = zoneKey(zone);
    return this.exclusive(async () => {
      if (this.closed) throw new TrustStoreError(`${this.path}: the store is closed (the server is stopping)`);
      const base = this.points.get(key);
      const wanted = change(base);
      if (!wanted.changed) return wanted.result;
      const next = new Map(this.points);
      if (wanted.trustPoint) next.set(key, wanted.trustPoint);
      else next.delete(key);
      const versionBefore = this.version;
      try {
        await this.write(next.values());
      } catch (error) {
        logEvent(this.options.logger, 'trust-store.commit-failed', { path: this.path, zone: key, err: reason(error) }, { level: 'error', msg: 'cannot write the trust anchor store; the change was refused' });
        throw new TrustStoreWriteError(`cannot write the trust anchor store ${this.path}: ${reason(error)}; nothing was changed`);
      }
      // A refresh may have changed this trust point while the file was written: the change then
      // applies to what is there now, and the background write that refresh started catches up.
      const current = this.points.get(key);
      const applied = current === base ? wanted.trustPoint : change(current).trustPoint;
      if (applied) this.points.set(key, applied);
      else this.points.delete(key);
      const raced = this.version !== versionBefore;
      this.version++;
      this.cache = undefined;
      if (!raced) this.writtenVersion = this.version;
      return wanted.result;
    });
  }

  /** Writes the store even when nothing changed (first start: the file then exists, so the root is bootstrapped once). */
  save(): void {
    this.changed();
  }

  /** TrustAnchorSource: the anchors the validator may trust now (Valid/Missing DNSKEYs, DS in their window). */
  anchors(): readonly TrustAnchor[] {
    const now = this.options.clock.now();
    if (this.cache && this.cache.version === this.version && now < this.cache.until) return this.cache.anchors;
    const anchors: TrustAnchor[] = [];
    let until = Number.POSITIVE_INFINITY;
    for (const tp of this.list()) {
      const trusted = tp.anchors.filter((a) => anchorTrustedAt(a, now));
      for (const a of tp.anchors) {
        if (a.validFrom !== undefined && a.validFrom > now) until = Math.min(until, a.validFrom);
        if (a.validUntil !== undefined && a.validUntil > now) until = Math.min(until, a.validUntil);
      }
      // A trust point with nothing trusted now (keys in AddPend, all DS outside their window) stays
      // in the list with no keys: the validator fails closed under it rather than treating the
      // zone as unsigned. RFC 5011 §5's all-revoked case deletes the trust point instead.
      anchors.push({
        zone: Name.parse(tp.zone),
        ds: trusted.filter((a) => a.type === 'DS').map((a) => a.rdata),
        dnskey: trusted.filter((a) => a.type === 'DNSKEY').map((a) => a.rdata),
      });
    }
    this.cache = { version: this.version, until, anchors };
    return anchors;
  }

  /** Resolves once everything changed so far is on disk, writing now if need be (one attempt: throws its error; background retries go on). */
  flush(): Promise<void> {
    return this.writeOnce();
  }

  /**
   * Resolves once every change so far is on disk, writing now if need be (one attempt; the
   * background retries go on). For changes the server made itself at an operator's request (an
   * RFC 5011 refresh): throws TrustStoreWriteError when the write fails, the change staying in force.
   */
  async sync(): Promise<void> {
    try {
      await this.writeOnce();
    } catch (error) {
      throw new TrustStoreWriteError(`cannot write the trust anchor store ${this.path}: ${reason(error)}; the change is in force but not yet on disk (retried in the background)`);
    }
  }

  /**
   * Takes the stored document as it is now, after another server wrote it (cluster mode: the
   * store's watch). Changes of ours not yet written win (they are written next, over it); a
   * damaged document is refused and what is in memory stays. Resolves whether anything was taken.
   */
  reload(): Promise<boolean> {
    return this.exclusive(async () => {
      if (this.closed || this.writtenVersion < this.version) return false;
      const doc = await this.options.documents.read(TRUST_ANCHORS_KEY, TRUST_ANCHORS_DOCUMENT);
      if (!doc) return false;
      this.points.clear();
      for (const tp of doc.value.trustPoints) this.points.set(tp.zone, tp);
      this.imports.clear();
      for (const r of doc.value.configImports) this.imports.set(r.file, r);
      this.stored = { revision: doc.revision, points: new Map(this.points), imports: new Map(this.imports) };
      this.cache = undefined;
      return true;
    });
  }

  /** Writes what is pending (one attempt if writes are failing), then stops retrying. */
  async close(): Promise<void> {
    this.retry?.cancel();
    this.retry = undefined;
    await this.writeLock; // a change the operator is waiting for is finished, not cut off
    if (this.writing) await this.writing.catch(() => {});
    if (this.writtenVersion < this.version) await this.writeOnce().catch(() => {});
    this.closed = true;
  }

  private changed(): void {
    this.version++;
    this.cache = undefined;
    // While a retry waits for its time, changes join it rather than hammering a failing disk.
    if (!this.retry) this.startWriting();
  }

  private startWriting(): Promise<void> {
    if (this.writing || this.closed) return this.writing ?? Promise.resolve();
    this.writing = this.writeBehind().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private async write(points: Iterable<TrustPoint>): Promise<void> {
    let ours = new Map([...points].map((tp) => [tp.zone, tp]));
    let imports = new Map(this.imports);
    for (let attempt = 1; ; attempt++) {
      const content = { trustPoints: [...ours.values()], configImports: [...imports.values()] };
      try {
        const written = await this.options.documents.write(TRUST_ANCHORS_KEY, TRUST_ANCHORS_DOCUMENT, content, this.stored ? { expectRevision: this.stored.revision } : {});
        this.stored = { revision: written.revision, points: ours, imports };
        return;
      } catch (error) {
        if (!(error instanceof StoreError && error.code === 'conflict') || attempt >= 5 || !this.stored) throw error;
        ({ ours, imports } = await this.mergeTheirs(ours, imports));
      }
    }
  }

  /** Another server wrote first: its entries for what this server did not change are taken (here too), ours kept. */
  private async mergeTheirs(ours: Map<string, TrustPoint>, imports: Map<string, ConfigImportRecord>) {
    const base = this.stored!;
    const doc = await this.options.documents.read(TRUST_ANCHORS_KEY, TRUST_ANCHORS_DOCUMENT);
    const theirs = new Map((doc?.value.trustPoints ?? []).map((tp) => [tp.zone, tp]));
    const theirImports = new Map((doc?.value.configImports ?? []).map((r) => [r.file, r]));
    for (const zone of new Set([...base.points.keys(), ...theirs.keys()])) {
      if (this.points.get(zone) !== base.points.get(zone) || ours.get(zone) !== base.points.get(zone)) continue;
      const tp = theirs.get(zone);
      if (tp) this.points.set(zone, tp);
      else this.points.delete(zone);
    }
    this.cache = undefined;
    const merged = { ours: mergeByKey(base.points, ours, theirs), imports: mergeByKey(base.imports, imports, theirImports) };
    this.stored = { revision: doc?.revision ?? 0, points: theirs, imports: theirImports };
    return merged;
  }

  private exclusive<T>(run: () => Promise<T>): Promise<T> {
    const result = this.writeLock.then(run);
    this.writeLock = result.catch(() => {});
    return result;
  }

  /** One write of the store as it is when the write's turn comes. */
  private writeOnce(): Promise<void> {
    return this.exclusive(async () => {
      if (this.writtenVersion >= this.version) return;
      const version = this.version;
      await this.write(this.points.values());
      this.writtenVersion = Math.max(this.writtenVersion, version);
    });
  }

  /** Writes until the document holds the latest version; a failure is logged and retried on the scheduler with backoff, never thrown. */
  private async writeBehind(): Promise<void> {
    while (this.writtenVersion < this.version && !this.closed) {
      try {
        await this.writeOnce();
      } catch (error) {
        this.retryLater(error);
        return;
      }
    }
    if (this.failures > 0 && this.writtenVersion >= this.version) {
      logEvent(this.options.logger, 'trust-store.write-recovered', { path: this.path, failures: this.failures }, { msg: 'trust anchor store written after failures' });
      this.failures = 0;
      this.retryDelay = this.options.retryDelayMs ?? 1000;
    }
  }

  private retryLater(error: unknown): void {
    this.failures++;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.options.maxRetryDelayMs ?? 60_000, delay * 2);
    logEvent(
      this.options.logger,
      'trust-store.write-failed',
      { path: this.path, err: reason(error), failures: this.failures, retryInMs: delay },
      { level: 'error', msg: 'cannot write the trust anchor store; will retry' },
    );
    this.retry = this.options.scheduler.schedule('trust-store.write-retry', this.options.clock.now() + delay, () => {
      this.retry = undefined;
      return this.startWriting();
    });
  }
}

/** Why a write failed, without the path the caller names anyway. */
function reason(error: unknown): string {
  return error instanceof StoreError ? error.fault : (error as Error).message;
}
