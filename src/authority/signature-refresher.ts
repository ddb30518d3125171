import type { Clock } from '../clock.js';
import { logEvent, type Logger } from '../logging/logger.js';
import type { JobHandle, Scheduler } from '../scheduler.js';
import { serialChange } from './dynamic-update.js';
import type { JournalFollower } from './journal-follower.js';
import { JournalWriteRefused } from './zone-journal.js';
import type { PrimaryTransfers } from './primary-transfers.js';
import { REFRESH_BATCH, nextRefreshTimes } from './signature-refresh.js';
import type { ZoneCatalog } from './zone-catalog.js';
import type { ZoneData } from './zone-db.js';
import type { ZoneJournals } from './zone-journals.js';
import type { ZoneSigning } from './zone-signing.js';

/** How often the refresh job looks for signatures that fall due. */
const DEFAULT_REFRESH_INTERVAL_MS = 5 * 60_000;
/** Journals with changes are compacted at least this often. */
const JOURNAL_COMPACT_INTERVAL_MS = 3600_000;

export interface SignatureRefresherOptions {
  readonly catalog: ZoneCatalog;
  readonly signing: ZoneSigning;
  readonly journals: ZoneJournals;
  readonly transfers: PrimaryTransfers;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Runs the refresh and compaction jobs (src/scheduler.ts); in tests, `mode: 'manual'`. */
  readonly scheduler: Scheduler;
  /** Cluster mode: a refresh whose change number another primary took first is made again on top of its change. */
  readonly follower?: JournalFollower | undefined;
}

/** Signatures of the signed zones remade before they expire, and the journals compacted: two jobs of the scheduler. */
export class SignatureRefresher {
  /** When a zone's next signature falls due and is urgent, computed for the served data it was computed from. */
  private readonly nextRefresh = new Map<string, { readonly served: ZoneData; readonly at: number; readonly urgentAt: number }>();
  private jobs: JobHandle[] = [];

  constructor(private readonly o: SignatureRefresherOptions) {}

  /**
   * One pass of signature refresh over every signed zone: a zone with a signature due (see
   * signature-refresh.ts) gets its serial bumped and its due signatures remade, at most
   * REFRESH_BATCH that are not yet urgent per zone and pass, so that a zone signed all at once
   * is re-signed a slice at a time. The scheduler runs it every 5 minutes of the clock; tests
   * call it (or `runDue()`) after moving a ManualClock.
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
          const times = nextRefreshTimes(entry.served, now);
          cached = { served: entry.served, at: times?.dueAt ?? Infinity, urgentAt: times?.urgentAt ?? Infinity };
          this.nextRefresh.set(zone, cached);
        }
        if (cached.at > now) return;
        // Cluster mode: the Key Master's refresh is the cluster's one serial change, and the others
        // refresh with it as they apply it (journal-follower.ts); they commit one of their own only
        // when a signature of theirs turns urgent first, or when the zone has no Key Master.
        const follows = this.o.journals.shared && entry.keyMaster !== '' && entry.keyMaster !== catalog.serverName;
        if (follows && cached.urgentAt > now) return;
        try {
          const attempt = async () => {
            const change = serialChange(entry.unsigned, this.o.transfers.nextSerial(entry.name));
            return { change, stats: await this.o.signing.commitChange(entry, change, { batch: REFRESH_BATCH }) };
          };
          const { change, stats } = this.o.follower ? await this.o.follower.commitAgreed(entry, attempt) : await attempt();
          report.push({ zone, serial: change.serial, refreshed: stats.refreshed, deferred: stats.deferred });
          logEvent(this.o.logger, 'zone.signatures-refreshed', { zone, serial: change.serial, refreshed: stats.refreshed, deferred: stats.deferred, ...(follows ? { reason: `urgent here before the Key Master ${entry.keyMaster} refreshed` } : {}) });
        } catch (error) {
          if (error instanceof JournalWriteRefused && error.code === 'unavailable') {
            const stats = await this.o.signing.refreshUncommitted(entry, { batch: REFRESH_BATCH });
            report.push({ zone, serial: entry.unsigned.serial, refreshed: stats.refreshed, deferred: stats.deferred });
            logEvent(this.o.logger, 'zone.signatures-refreshed', { zone, serial: entry.unsigned.serial, refreshed: stats.refreshed, deferred: stats.deferred, committed: false }, { level: 'warn', msg: 'the cluster store cannot be reached: signatures refreshed under the serial served' });
            return;
          }
          logEvent(this.o.logger, 'zone.refresh-failed', { zone, error: (error as Error).message }, { level: 'error' });
        }
      });
    }
    return report;
  }

  /** Compacts every journal with changes in it (the scheduler does this every JOURNAL_COMPACT_INTERVAL_MS). */
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
    if (this.jobs.length > 0) return;
    // Each zone's failure is logged by refreshSignatures itself; the scheduler reports anything else.
    this.jobs = [
      this.o.scheduler.every('zone.signature-refresh', DEFAULT_REFRESH_INTERVAL_MS, () => this.refreshSignatures()),
      this.o.scheduler.every('zone.journal-compaction', JOURNAL_COMPACT_INTERVAL_MS, () => this.compactJournals()),
    ];
  }

  stop(): void {
    for (const job of this.jobs.splice(0)) job.cancel();
  }
}
