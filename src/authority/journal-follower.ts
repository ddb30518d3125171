import { logEvent, type Logger } from '../logging/logger.js';
import type { DocumentStore } from '../store/document-store.js';
import { changeFromDiff, type RecordChange } from './dynamic-update.js';
import type { ZoneCatalog } from './zone-catalog.js';
import { ZoneData } from './zone-db.js';
import type { ZoneEntry } from './zone-entry.js';
import { applyJournalEntry, type JournalEntry } from './zone-journal.js';
import type { ZoneJournals } from './zone-journals.js';
import type { ZoneSigning } from './zone-signing.js';

/** Where the journals are in the store (zone-journal.ts). */
const JOURNALS_PREFIX = 'journals/';

export interface JournalFollowerOptions {
  readonly catalog: ZoneCatalog;
  readonly journals: ZoneJournals;
  readonly signing: ZoneSigning;
  readonly logger: Logger;
}

/** A committed journal entry as the change the signer applies (the whole record list only when a full re-sign asks for it). */
function changeOf(zone: ZoneData, e: JournalEntry): RecordChange {
  let records: ReturnType<typeof applyJournalEntry> | undefined;
  const base = changeFromDiff(zone, [], [], e.serial);
  return {
    removed: e.removed,
    added: e.added,
    serial: e.serial,
    get records() {
      return (records ??= applyJournalEntry(base.records, e));
    },
  };
}

/**
 * Cluster mode: every primary's zones follow the shared journal. A change another primary
 * committed (`journals/ZONE/change-SEQ`, taken compare-and-swap) is applied here in order,
 * re-signed with the keys this server holds and served under the serial it was committed with,
 * so every primary serves the same serial for the same data. `catchUp` runs in the catalog's
 * queue: from the watch, and before a change whose number another primary took first is tried again.
 */
export class JournalFollower {
  private unwatch: (() => void) | undefined;

  constructor(private readonly o: JournalFollowerOptions) {}

  /** Applies every change committed after the zone's last one; the number applied. Call inside `catalog.serialize`. */
  async catchUp(entry: ZoneEntry): Promise<number> {
    const journal = this.o.journals.get(entry.name.toString());
    if (!journal) return 0;
    let applied = 0;
    for (;;) {
      const committed = await journal.committedSince();
      if (committed.kind === 'snapshot') {
        await this.o.signing.applySnapshot(entry, ZoneData.fromRecords(entry.name, committed.records));
        applied++;
        continue;
      }
      if (committed.entries.length === 0) break;
      for (const e of committed.entries) {
        await this.o.signing.applyCommitted(entry, changeOf(entry.unsigned, e));
        applied++;
      }
    }
    if (applied > 0) logEvent(this.o.logger, 'zone.journal-followed', { zone: entry.name.toString(), changes: applied, serial: entry.unsigned.serial, sequence: journal.sequence });
    return applied;
  }

  /** Watches the journals in the store: a change committed by another primary is applied here. */
  follow(documents: DocumentStore): void {
    this.unwatch?.();
    const pending = new Set<string>();
    this.unwatch = documents.watch(JOURNALS_PREFIX, (change) => {
      const zone = this.zoneOf(change.key);
      if (!zone || pending.has(zone)) return; // one catch-up reads every change committed by then
      pending.add(zone);
      void this.o.catalog.serialize(async () => {
        pending.delete(zone);
        const entry = this.o.catalog.zones.get(zone);
        if (!entry) return;
        await this.catchUp(entry).catch((error: Error) =>
          logEvent(this.o.logger, 'zone.journal-follow-failed', { zone, error: error.message }, { level: 'error', msg: 'a change committed by another primary could not be applied here; it is tried again with the next change' }),
        );
      });
    });
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  private zoneOf(key: string): string | undefined {
    for (const [zone, journal] of this.o.journals.open()) if (key.startsWith(journal.prefixKey)) return zone;
    return undefined;
  }
}
