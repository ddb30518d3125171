import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, open, readFile, rename, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory, writeFileAtomic } from '../storage/atomic-file.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { canonicalRdata } from '../wire/canonical.js';
import { parseRecordLine, recordToText } from '../wire/record-text.js';
import { parseZoneText, zoneToText } from '../wire/zone-file.js';
import { zoneDirectoryName } from './key-store.js';

/**
 * The journal of a zone's dynamic changes (UPDATE and `zone record add|remove`), so that a
 * crash loses no change that was acknowledged:
 *
 * - `STATEDIR/journal/ZONE.jnl`: a header line, then one JSON line per change (sequence number,
 *   serial, records removed and added, in presentation format). A change is appended and
 *   fsynced before it is acknowledged; a line cut short by a crash was never acknowledged and
 *   is dropped on recovery.
 * - `STATEDIR/journal/ZONE.snapshot`: the zone's unsigned data as of a sequence number, written
 *   atomically when the journal is compacted; the journal then starts again after it.
 *
 * Both name the SHA-256 of the zone file they build on. When the zone file has changed since
 * (an operator edited it), the dynamic changes no longer apply to it: they are moved aside
 * (`.discarded-TIME`), as BIND does with a journal older than its zone file, and the file wins.
 */

export interface JournalEntry {
  readonly seq: number;
  readonly serial: number;
  /** ISO 8601. */
  readonly time: string;
  readonly removed: readonly ResourceRecord[];
  readonly added: readonly ResourceRecord[];
}

interface JournalHeader {
  readonly journal: 1;
  readonly zone: string;
  readonly fileDigest: string;
  /** The snapshot sequence number this journal continues from (0: the zone file). */
  readonly baseSeq: number;
}

interface SnapshotMeta {
  readonly zone: string;
  readonly fileDigest: string;
  readonly seq: number;
  readonly serial: number;
  readonly time: string;
}

/** What recovery found. */
export interface JournalRecovery {
  /** The zone's records after the snapshot and every journal entry (unsigned data). */
  readonly records: ResourceRecord[];
  /** Journal entries applied on top of the file or snapshot. */
  readonly replayed: number;
  readonly fromSnapshot: boolean;
  /** A torn last line (a change never acknowledged) that was dropped. */
  readonly droppedTornLine: boolean;
  /** Set when the zone file changed under the journal: where the old journal and snapshot went. */
  readonly discarded?: readonly string[];
}

/** A journal or snapshot that cannot be read or written; names the file (and line). */
export class ZoneJournalError extends Error {
  override readonly name = 'ZoneJournalError';
}

const SNAPSHOT_PREFIX = '; keymaster-zone-snapshot ';

export function fileDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function recordKey(rr: ResourceRecord): string {
  return `${rr.name.key}/${rr.type}/${rr.class}/${Buffer.from(canonicalRdata(rr.type, rr.rdata)).toString('hex')}`;
}

/** Applies a journal entry: drops each removed record (matched by owner, type, class and RDATA), then adds. */
export function applyJournalEntry(records: readonly ResourceRecord[], entry: Pick<JournalEntry, 'removed' | 'added'>): ResourceRecord[] {
  const gone = new Set(entry.removed.map(recordKey));
  const out = records.filter((r) => !gone.has(recordKey(r)));
  out.push(...entry.added);
  return out;
}

export class ZoneJournal {
  readonly journalPath: string;
  readonly snapshotPath: string;
  private handle: FileHandle | undefined;
  private seq = 0;
  private baseSeq = 0;
  private digest = '';
  /** Entries in the journal file since the last snapshot. */
  pending = 0;

  constructor(
    readonly dir: string,
    readonly zone: Name,
  ) {
    const base = zoneDirectoryName(zone);
    this.journalPath = join(dir, `${base}.jnl`);
    this.snapshotPath = join(dir, `${base}.snapshot`);
  }

  /** `STATEDIR/journal`. */
  static directory(stateDir: string): string {
    return join(stateDir, 'journal');
  }

  /**
   * Rebuilds the zone from the zone file's records, the snapshot and the journal, and leaves the
   * journal open for appending. `fileBytes` are the zone file's bytes (their digest ties the
   * journal to them).
   */
  async recover(fileRecords: readonly ResourceRecord[], fileBytes: Uint8Array): Promise<JournalRecovery> {
    const zone = this.zone.toString();
    this.digest = fileDigest(fileBytes);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let records = [...fileRecords];
    let fromSnapshot = false;
    let snapshotSeq = 0;
    const snapshot = await readOptional(this.snapshotPath);
    const journal = await readOptional(this.journalPath);
    const stale: string[] = [];

    let meta: SnapshotMeta | undefined;
    if (snapshot !== undefined) {
      const firstLine = snapshot.slice(0, snapshot.indexOf('\n'));
      if (!firstLine.startsWith(SNAPSHOT_PREFIX)) throw new ZoneJournalError(`${this.snapshotPath}:1: not a keymaster zone snapshot (no "${SNAPSHOT_PREFIX.trim()}" header)`);
      try {
        meta = JSON.parse(firstLine.slice(SNAPSHOT_PREFIX.length)) as SnapshotMeta;
      } catch (error) {
        throw new ZoneJournalError(`${this.snapshotPath}:1: bad snapshot header: ${(error as Error).message}`);
      }
      if (meta.fileDigest !== this.digest) stale.push(this.snapshotPath);
    }
    let lines: string[] = [];
    let header: JournalHeader | undefined;
    if (journal !== undefined) {
      lines = journal.split('\n');
      try {
        header = JSON.parse(lines[0] ?? '') as JournalHeader;
      } catch {
        header = undefined;
      }
      if (header?.journal !== 1) {
        // A header cut short: the journal was being created and holds nothing acknowledged.
        if (lines.length > 1 && lines.slice(1).some((l) => l !== '')) throw new ZoneJournalError(`${this.journalPath}:1: not a keymaster zone journal`);
        header = undefined;
      } else if (header.fileDigest !== this.digest) stale.push(this.journalPath);
    }
    if (stale.length > 0) {
      const moved = await this.discard();
      await this.startJournal(0);
      return { records, replayed: 0, fromSnapshot: false, droppedTornLine: false, discarded: moved };
    }

    if (meta) {
      try {
        // The header line is a zone file comment, so line numbers in errors are the file's own.
        records = parseZoneText(snapshot!, { origin: this.zone, fileName: this.snapshotPath }).records;
      } catch (error) {
        throw new ZoneJournalError(`${this.snapshotPath}: ${(error as Error).message}`);
      }
      fromSnapshot = true;
      snapshotSeq = meta.seq;
    }
    this.seq = snapshotSeq;
    this.baseSeq = snapshotSeq;

    let replayed = 0;
    let droppedTornLine = false;
    let goodBytes = 0;
    if (header) {
      goodBytes = Buffer.byteLength(lines[0]!) + 1;
      // The file ends with "\n" after every complete entry, so the last element is "" unless torn.
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i]!;
        const last = i === lines.length - 1;
        if (last && line === '') break;
        let entry: JournalEntry;
        try {
          entry = this.parseEntry(line);
        } catch (error) {
          if (last) {
            droppedTornLine = true;
            break;
          }
          throw new ZoneJournalError(`${this.journalPath}:${i + 1}: ${(error as Error).message}`);
        }
        goodBytes += Buffer.byteLength(line) + 1;
        if (entry.seq <= this.seq) continue; // already in the snapshot (a crash between snapshot and journal reset)
        if (entry.seq !== this.seq + 1) throw new ZoneJournalError(`${this.journalPath}:${i + 1}: entry ${entry.seq} follows ${this.seq}: an entry is missing`);
        records = applyJournalEntry(records, entry);
        this.seq = entry.seq;
        replayed++;
      }
    }
    if (header) {
      // Appends must start on a line of their own: cut a torn tail off first.
      if (droppedTornLine) await truncate(this.journalPath, goodBytes);
      this.handle = await open(this.journalPath, 'a', 0o600);
      if (droppedTornLine) await this.handle.sync();
      this.pending = this.seq - this.baseSeq;
    } else await this.startJournal(this.seq);
    return { records, replayed, fromSnapshot, droppedTornLine };
  }

  private parseEntry(line: string): JournalEntry {
    const raw = JSON.parse(line) as { seq: number; serial: number; time: string; del: string[]; add: string[] };
    if (!Number.isInteger(raw.seq) || !Array.isArray(raw.del) || !Array.isArray(raw.add)) throw new Error('not a journal entry');
    const parse = (text: string) => parseRecordLine(text, { origin: this.zone });
    return { seq: raw.seq, serial: raw.serial, time: raw.time, removed: raw.del.map(parse), added: raw.add.map(parse) };
  }

  /** A fresh journal file (header only) continuing from `baseSeq`, written atomically. */
  private async startJournal(baseSeq: number): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    const header: JournalHeader = { journal: 1, zone: this.zone.toString(), fileDigest: this.digest, baseSeq };
    await writeFileAtomic(this.journalPath, `${JSON.stringify(header)}\n`, 0o600);
    this.handle = await open(this.journalPath, 'a', 0o600);
    this.baseSeq = baseSeq;
    this.seq = baseSeq;
    this.pending = 0;
  }

  /**
   * Appends one change and fsyncs it: once this resolves the change survives a crash. Throws
   * ZoneJournalError (and the caller must not acknowledge) when it cannot.
   */
  async append(change: { readonly serial: number; readonly removed: readonly ResourceRecord[]; readonly added: readonly ResourceRecord[] }, now: number): Promise<JournalEntry> {
    if (!this.handle) throw new ZoneJournalError(`${this.journalPath}: the journal is not open`);
    const entry: JournalEntry = { seq: this.seq + 1, serial: change.serial, time: new Date(now).toISOString(), removed: change.removed, added: change.added };
    const line = `${JSON.stringify({ seq: entry.seq, serial: entry.serial, time: entry.time, del: change.removed.map(recordToText), add: change.added.map(recordToText) })}\n`;
    try {
      // One write of one whole line (O_APPEND), then fdatasync: a crash leaves it whole or torn, never interleaved.
      await this.handle.write(line, null, 'utf8');
      await this.handle.datasync();
    } catch (error) {
      // The line may be half there: no further append may follow it (it would share its
      // sequence number). The journal stays closed, and changes fail, until a restart recovers it.
      await this.close().catch(() => undefined);
      throw new ZoneJournalError(`${this.journalPath}: cannot append: ${(error as Error).message}`);
    }
    this.seq = entry.seq;
    this.pending++;
    return entry;
  }

  /**
   * Compacts: writes the zone's current unsigned records as the snapshot (atomically), then
   * starts an empty journal after it. A crash in between leaves a journal whose entries the
   * snapshot already holds; recovery skips them by sequence number.
   */
  async compact(records: readonly ResourceRecord[], serial: number, now: number): Promise<void> {
    const meta: SnapshotMeta = { zone: this.zone.toString(), fileDigest: this.digest, seq: this.seq, serial, time: new Date(now).toISOString() };
    try {
      await writeFileAtomic(this.snapshotPath, `${SNAPSHOT_PREFIX}${JSON.stringify(meta)}\n${zoneToText(records, this.zone)}`, 0o600);
      await this.startJournal(this.seq);
    } catch (error) {
      throw new ZoneJournalError(`${this.snapshotPath}: cannot compact: ${(error as Error).message}`);
    }
  }

  /** Moves the journal and snapshot aside (`.discarded-TIME`) and says where. */
  async discard(): Promise<string[]> {
    await this.close();
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const moved: string[] = [];
    for (const path of [this.journalPath, this.snapshotPath]) {
      try {
        await stat(path);
      } catch {
        continue;
      }
      const to = `${path}.discarded-${stamp}`;
      await rename(path, to);
      moved.push(to);
    }
    await syncDirectory(this.dir);
    return moved;
  }

  /** Deletes the journal and snapshot (the zone is no longer hosted). */
  async delete(): Promise<void> {
    await this.close();
    await rm(this.journalPath, { force: true });
    await rm(this.snapshotPath, { force: true });
    await syncDirectory(this.dir).catch(() => undefined);
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }

  /** The SHA-256 of the zone file this journal builds on. */
  get fileDigest(): string {
    return this.digest;
  }

  /** The sequence number of the last change. */
  get sequence(): number {
    return this.seq;
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ZoneJournalError(`${path}: cannot read: ${(error as Error).message}`);
  }
}
