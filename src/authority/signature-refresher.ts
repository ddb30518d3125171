import type { Clock } from '../clock.js';
import { logEvent, type Logger } from '../logging/logger.js';
import { serialChange } from './dynamic-update.js';
import type { PrimaryTransfers } from './primary-transfers.js';
import { nextRefreshTime } from './signature-refresh.js';
import type { ZoneCatalog } from './zone-catalog.js';
import type { ZoneData } from './zone-db.js';
import type { ZoneJournals } from './zone-journals.js';
import type { ZoneSigning } from './zone-signing.js';

/** How often the refresh timer looks for signatures that fall due. */
const DEFAULT_REFRESH_INTERVAL_MS = 5 * 60_000;
/** Signatures due but not urgent that one refresh pass remakes per zone (urgent ones are always remade). */
const REFRESH_BATCH = 2000;
/** Journals with changes are compacted at least this often. */
const JOURNAL_COMPACT_INTERVAL_MS = 3600_000;

export interface SignatureRefresherOptions {
  readonly catalog: ZoneCatalog;
  readonly signing: ZoneSigning;
  readonly journals: ZoneJournals;
  readonly transfers: PrimaryTransfers;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often signatures due for refresh are looked for (default 5 minutes); 0: never by timer (tests call refreshSignatures). */
  readonly intervalMs?: number | undefined;
}

/** Signatures of the signed zones remade before they expire, and the journals compacted, on a timer. */
export class SignatureRefresher {
  /** When a zone's next signature falls due, computed for the served data it was computed from. */
  private readonly nextRefresh = new Map<string, { readonly served: ZoneData; readonly at: number }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastCompaction: number;

  constructor(private readonly o: SignatureRefresherOptions) {
    this.lastCompaction = o.clock.now();
  }

  /**
   * One pass of signature refresh over every signed zone: a zone with a signature due (see
   * signature-refresh.ts) gets its serial bumped and its due signatures remade, at most
   * REFRESH_BATCH that are not yet urgent per zone and pass, so that a zone signed all at once
   * is re-signed a slice at a time. The timer calls it every `intervalMs`; tests call it
   * after moving a ManualClock.
   */
  async refreshSignatures(): Promise<{ zone: string; serial: number; refreshed: number; deferred: number }[]> {
    const { catalog } = this.o;
    const report: { zone: string; serial: number; refreshed: number; deferred: number }[] = [];
    for (const zone of [...catalog.zones.keys()]) {
      await catalog.serialize(async () => {
        const entry = catalog.zones.get(zone);
        if (!entry?.policy || !entry.served.isSigned) return;
        const now = Math.floor(this.o.clock.now() / 1000);
        let cached = this.nextRefresh.get(zone);
        if (cached?.served !== entry.served) {
          cached = { served: entry.served, at: nextRefreshTime(entry.served, now) ?? Infinity };
          this.nextRefresh.set(zone, cached);
        }
        if (cached.at > now) return;
        try {
          const change = serialChange(entry.unsigned, this.o.transfers.nextSerial(entry.name));
          const stats = await this.o.signing.commitChange(entry, change, REFRESH_BATCH);
          report.push({ zone, serial: change.serial, refreshed: stats.refreshed, deferred: stats.deferred });
          logEvent(this.o.logger, 'zone.signatures-refreshed', { zone, serial: change.serial, refreshed: stats.refreshed, deferred: stats.deferred });
        } catch (error) {
          logEvent(this.o.logger, 'zone.refresh-failed', { zone, error: (error as Error).message }, { level: 'error' });
        }
      });
    }
    return report;
  }

  /** Compacts every journal with changes in it (the timer does this every JOURNAL_COMPACT_INTERVAL_MS). */
  async compactJournals(): Promise<void> {
    const { catalog, journals } = this.o;
    for (const [zone, journal] of journals.open()) {
      await catalog.serialize(async () => {
        const entry = catalog.zones.get(zone);
        if (entry && journal.pending > 0 && journals.get(zone) === journal) await journals.compact(entry, journal);
      });
    }
  }

  start(): void {
    const interval = this.o.intervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
    if (this.stopped || interval <= 0) return;
    this.timer = setTimeout(() => {
      void (async () => {
        await this.refreshSignatures();
        if (this.o.clock.now() - this.lastCompaction >= JOURNAL_COMPACT_INTERVAL_MS) {
          this.lastCompaction = this.o.clock.now();
          await this.compactJournals();
        }
      })()
        .catch((error: Error) => logEvent(this.o.logger, 'zone.refresh-failed', { error: error.message }, { level: 'error' }))
        .finally(() => this.start());
    }, interval);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
