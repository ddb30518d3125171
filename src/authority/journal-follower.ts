import { logEvent, type Logger } from '../logging/logger.js';
import type { DocumentStore } from '../store/document-store.js';
import { changeFromDiff, type RecordChange } from './dynamic-update.js';
import type { ZoneCatalog } from './zone-catalog.js';
import { ZoneData } from './zone-db.js';
import { diffZones } from './zone-diff.js';
import type { ZoneEntry } from './zone-entry.js';
import { applyJournalEntry, type JournalEntry, JournalWriteRefused } from './zone-journal.js';
import type { ZoneJournals } from './zone-journals.js';
import type { ZoneSigning } from './zone-signing.js';
import { REFRESH_BATCH } from './signature-refresh.js';

/** Where the journals are in the store (zone-journal.ts). */
const JOURNALS_PREFIX = 'journals/';
/** How often a change is planned again after other primaries took its number first (each time, their changes are applied here). */
const MAX_COMMIT_ATTEMPTS = 25;

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

/** The change from what this primary serves to a snapshot of the journal. */
function changeToSnapshot(current: ZoneData, snapshot: ZoneData): RecordChange {
  const { removed, added } = diffZones(current, snapshot);
  const soaChanged = snapshot.serial !== current.serial || !Buffer.from(snapshot.soa.rdata).equals(Buffer.from(current.soa.rdata)) || snapshot.soa.ttl !== current.soa.ttl;
  return changeFromDiff(current, soaChanged ? [...removed, current.soa] : removed, soaChanged ? [...added, snapshot.soa] : added, snapshot.serial);
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
        // Compacted before this primary read its last changes: what it lacks is the difference,
        // signed like any change (a whole re-sign would put its signatures out of step), with a
        // refresh pass by its own times (which RRsets the changes' refreshes remade is gone with them).
        const change = changeToSnapshot(entry.unsigned, ZoneData.fromRecords(entry.name, committed.records));
        await this.o.signing.applyCommitted(entry, change, { batch: REFRESH_BATCH });
        applied++;
        continue;
      }
      if (committed.entries.length === 0) break;
      for (const e of committed.entries) {
        await this.o.signing.applyCommitted(entry, changeOf(entry.unsigned, e), e.refreshed ? { batch: REFRESH_BATCH, also: new Set(e.refreshed) } : undefined);
        applied++;
      }
    }
    if (applied > 0) logEvent(this.o.logger, 'zone.journal-followed', { zone: entry.name.toString(), changes: applied, serial: entry.unsigned.serial, sequence: journal.sequence });
    return applied;
  }

  /**
   * Runs `attempt` (which plans a change on the zone as served here and commits it) until it
   * commits: a change number another primary took first is not a failure, the changes it
   * committed are applied here and the change is planned again on the new state.
   */
  async commitAgreed<T>(entry: ZoneEntry, attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof JournalWriteRefused) || error.code !== 'conflict' || n >= MAX_COMMIT_ATTEMPTS) throw error;
        await this.catchUp(entry);
      }
    }
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
