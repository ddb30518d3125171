import { readFile } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import { logEvent, type Logger } from '../logging/logger.js';
import type { DocumentStore } from '../store/document-store.js';
import type { Name } from '../wire/name.js';
import { ZoneData } from './zone-db.js';
import type { ZoneEntry } from './zone-entry.js';
import { ZoneError } from './zone-error.js';
import { ZoneJournal } from './zone-journal.js';

/** Compact a zone's journal into its snapshot after this many changes. */
const JOURNAL_COMPACT_EVERY = 200;

/**
 * Every primary zone's journal of changes since its file was loaded (zone-journal.ts): replayed
 * at start, appended to before a change is acknowledged, compacted into a snapshot now and then.
 */
export class ZoneJournals {
  private readonly journals = new Map<string, ZoneJournal>();

  /** The store is shared with other primaries (cluster mode): their committed changes are followed (journal-follower.ts). */
  readonly shared: boolean;

  constructor(private readonly o: { readonly stateDir: string; readonly documents: DocumentStore; readonly clock: Clock; readonly logger: Logger; readonly shared?: boolean }) {
    this.shared = o.shared ?? false;
  }

  private journal(name: Name): ZoneJournal {
    return new ZoneJournal(this.o.documents, ZoneJournal.directory(this.o.stateDir), name, this.shared);
  }

  get(zone: string): ZoneJournal | undefined {
    return this.journals.get(zone);
  }

  /** The zone's data after its snapshot and journal (changes made since the file was loaded). */
  async recover(name: Name, file: string, data: ZoneData): Promise<ZoneData> {
    const journal = this.journal(name);
    const zone = name.toString();
    try {
      const r = await journal.recover(data.records({ withSignatures: false }), await readFile(file));
      this.journals.set(zone, journal);
      if (r.discarded)
        logEvent(this.o.logger, 'zone.journal-discarded', { zone, file, movedTo: r.discarded }, { level: 'error', msg: `${file} changed since the last dynamic update of ${zone}: the journal no longer applies and was moved aside; the file wins` });
      if (r.migrated)
        logEvent(this.o.logger, 'store.migrated', { from: r.migrated, to: journal.location, zone, changes: r.replayed }, { msg: 'zone journal of an earlier release moved into the store' });
      if (r.replayed === 0 && !r.fromSnapshot) return data;
      const recovered = ZoneData.fromRecords(name, r.records);
      logEvent(this.o.logger, 'zone.journal-replayed', { zone, changes: r.replayed, fromSnapshot: r.fromSnapshot, serial: recovered.serial });
      return recovered;
    } catch (error) {
      await journal.close();
      throw new ZoneError('bad-journal', `zone ${zone}: ${(error as Error).message}`);
    }
  }

  /**
   * Cluster mode, a zone added by command: the zone as the cluster's journal has it (the snapshot
   * the adding primary committed, and the changes since), so every primary serves the cluster's
   * data whatever file it has or lacks. Undefined when the journal holds no snapshot (a zone
   * added by an earlier release): its file is read then.
   */
  async recoverCommitted(name: Name): Promise<ZoneData | undefined> {
    const journal = this.journal(name);
    const zone = name.toString();
    let r: Awaited<ReturnType<ZoneJournal['recoverCommitted']>>;
    try {
      r = await journal.recoverCommitted();
    } catch (error) {
      throw new ZoneError('bad-journal', `zone ${zone}: ${(error as Error).message}`);
    }
    if (!r) return undefined;
    this.journals.set(zone, journal);
    const data = ZoneData.fromRecords(name, r.records);
    logEvent(this.o.logger, 'zone.journal-replayed', { zone, changes: r.replayed, fromSnapshot: true, serial: data.serial, source: 'store' });
    return data;
  }

  /**
   * Shared store, at `zone add`: the zone as loaded becomes its journal's first snapshot, before
   * the zone is announced, so a primary without the file loads it from there (recoverCommitted).
   */
  async commitLoaded(entry: ZoneEntry, journal: ZoneJournal): Promise<void> {
    try {
      await journal.compact(entry.unsigned.records({ withSignatures: false }), entry.unsigned.serial, this.o.clock.now());
    } catch (error) {
      throw new ZoneError('bad-journal', `zone ${entry.name.toString()}: the zone could not be committed to the cluster: ${(error as Error).message}; it was not added`);
    }
  }

  /** The zone's open journal; a zone added at run time gets a fresh one (and any left from an earlier zone of that name goes). */
  async journalFor(entry: ZoneEntry): Promise<ZoneJournal> {
    const zone = entry.name.toString();
    const open = this.journals.get(zone);
    if (open) return open;
    const journal = this.journal(entry.name);
    // Shared: `zone add` cleared it before the zone was announced; since then it may hold other primaries' changes.
    if (!this.shared) await journal.delete();
    await journal.recover(entry.unsigned.records({ withSignatures: false }), await readFile(entry.file));
    this.journals.set(zone, journal);
    return journal;
  }

  /** Forgets a zone's journal and snapshot (the zone is removed or added anew). */
  async delete(name: Name): Promise<void> {
    const zone = name.toString();
    const journal = this.journals.get(zone) ?? this.journal(name);
    this.journals.delete(zone);
    await journal.delete();
  }

  /** Compacts the journal when enough changes have gathered in it. */
  async compactIfDue(entry: ZoneEntry, journal: ZoneJournal): Promise<void> {
    // Shared (cluster mode): only the hourly job compacts. Compacting at once would take the
    // change just committed from primaries that have not read it yet: they would get the snapshot,
    // without the change's list of refreshed signatures.
    if (this.shared) return;
    if (journal.pending >= JOURNAL_COMPACT_EVERY) await this.compact(entry, journal);
  }

  async compact(entry: ZoneEntry, journal: ZoneJournal): Promise<void> {
    try {
      await journal.compact(entry.unsigned.records({ withSignatures: false }), entry.unsigned.serial, this.o.clock.now());
      logEvent(this.o.logger, 'zone.journal-compacted', { zone: entry.name.toString(), serial: entry.unsigned.serial, sequence: journal.sequence });
    } catch (error) {
      // The journal still holds every change: nothing is lost, the next compaction tries again.
      logEvent(this.o.logger, 'zone.journal-compaction-failed', { zone: entry.name.toString(), error: (error as Error).message }, { level: 'error' });
    }
  }

  /** The open journals, by zone, as they are now. */
  open(): [string, ZoneJournal][] {
    return [...this.journals];
  }

  /** Closes every journal (every change in them is already on disk). */
  async closeAll(): Promise<void> {
    for (const journal of this.journals.values()) await journal.close();
  }
}
