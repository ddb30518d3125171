import { readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory } from '../storage/atomic-file.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { parseRecordLine } from '../wire/record-text.js';
import { parseZoneText } from '../wire/zone-file.js';
import { zoneDirectoryName } from './key-store.js';
import { type JournalEntry, ZoneJournalError, applyJournalEntry } from './zone-journal.js';

/**
 * The journal of a zone's dynamic changes as releases before the store contract kept it, read
 * once at start and moved into the store (zone-journal.ts), then moved aside (`.migrated-TIME`):
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

const SNAPSHOT_PREFIX = '; keymaster-zone-snapshot ';

/** What a journal of the earlier layout held: undefined when there is none (or it was stale and moved aside). */
export interface LegacyJournal {
  readonly records: ResourceRecord[];
  readonly seq: number;
  readonly serial: number | undefined;
  readonly replayed: number;
  readonly fromSnapshot: boolean;
  /** Where the stale files went, when the zone file changed under them. */
  readonly discarded?: readonly string[];
}

/** `DIR/ZONE.jnl` and `DIR/ZONE.snapshot` of the earlier layout. */
export function legacyJournalPaths(dir: string, zone: Name): { journal: string; snapshot: string } {
  const base = zoneDirectoryName(zone);
  return { journal: join(dir, `${base}.jnl`), snapshot: join(dir, `${base}.snapshot`) };
}

/**
 * Reads a zone's journal of the earlier layout: the snapshot, then every whole entry after it (a
 * torn last line was never acknowledged). Files tied to another version of the zone file are
 * moved aside (`.discarded-TIME`), as then. Throws ZoneJournalError naming the file and line.
 */
export async function readLegacyJournal(dir: string, zone: Name, fileRecords: readonly ResourceRecord[], digest: string): Promise<LegacyJournal | undefined> {
  const paths = legacyJournalPaths(dir, zone);
  const snapshot = await readOptional(paths.snapshot);
  const journal = await readOptional(paths.journal);
  if (snapshot === undefined && journal === undefined) return undefined;
  let records = [...fileRecords];
  let seq = 0;
  let serial: number | undefined;
  let meta: SnapshotMeta | undefined;
  if (snapshot !== undefined) {
    const firstLine = snapshot.slice(0, snapshot.indexOf('\n'));
    if (!firstLine.startsWith(SNAPSHOT_PREFIX)) throw new ZoneJournalError(`${paths.snapshot}:1: not a keymaster zone snapshot (no "${SNAPSHOT_PREFIX.trim()}" header)`);
    try {
      meta = JSON.parse(firstLine.slice(SNAPSHOT_PREFIX.length)) as SnapshotMeta;
    } catch (error) {
      throw new ZoneJournalError(`${paths.snapshot}:1: bad snapshot header: ${(error as Error).message}`);
    }
  }
  const lines = journal?.split('\n') ?? [];
  let header: JournalHeader | undefined;
  try {
    header = JSON.parse(lines[0] ?? '') as JournalHeader;
  } catch {
    header = undefined;
  }
  if (journal !== undefined && header?.journal !== 1) {
    // A header cut short: the journal was being created and holds nothing acknowledged.
    if (lines.length > 1 && lines.slice(1).some((l) => l !== '')) throw new ZoneJournalError(`${paths.journal}:1: not a keymaster zone journal`);
    header = undefined;
  }
  if ((meta && meta.fileDigest !== digest) || (header && header.fileDigest !== digest)) return { records, seq: 0, serial: undefined, replayed: 0, fromSnapshot: false, discarded: await moveAside(dir, paths, 'discarded') };
  if (meta) {
    try {
      // The header line is a zone file comment, so line numbers in errors are the file's own.
      records = parseZoneText(snapshot!, { origin: zone, fileName: paths.snapshot }).records;
    } catch (error) {
      throw new ZoneJournalError(`${paths.snapshot}: ${(error as Error).message}`);
    }
    seq = meta.seq;
    serial = meta.serial;
  }
  let replayed = 0;
  for (let i = 1; header && i < lines.length; i++) {
    const line = lines[i]!;
    const last = i === lines.length - 1;
    if (last && line === '') break;
    let entry: JournalEntry;
    try {
      entry = parseEntry(line, zone);
    } catch (error) {
      if (last) break; // torn: never acknowledged
      throw new ZoneJournalError(`${paths.journal}:${i + 1}: ${(error as Error).message}`);
    }
    if (entry.seq <= seq) continue; // already in the snapshot (a crash between snapshot and journal reset)
    if (entry.seq !== seq + 1) throw new ZoneJournalError(`${paths.journal}:${i + 1}: entry ${entry.seq} follows ${seq}: an entry is missing`);
    records = applyJournalEntry(records, entry);
    seq = entry.seq;
    serial = entry.serial;
    replayed++;
  }
  return { records, seq, serial, replayed, fromSnapshot: meta !== undefined };
}

/** The earlier layout's files, once their content is in the store: kept aside, never deleted. */
export async function retireLegacyJournal(dir: string, zone: Name): Promise<string[]> {
  return moveAside(dir, legacyJournalPaths(dir, zone), 'migrated');
}

/** A removed zone's journal of the earlier layout goes with it. */
export async function removeLegacyJournal(dir: string, zone: Name): Promise<void> {
  const paths = legacyJournalPaths(dir, zone);
  for (const path of [paths.journal, paths.snapshot]) await rm(path, { force: true });
}

function parseEntry(line: string, zone: Name): JournalEntry {
  const raw = JSON.parse(line) as { seq: number; serial: number; time: string; del: string[]; add: string[] };
  if (!Number.isInteger(raw.seq) || !Array.isArray(raw.del) || !Array.isArray(raw.add)) throw new Error('not a journal entry');
  const parse = (text: string) => parseRecordLine(text, { origin: zone });
  return { seq: raw.seq, serial: raw.serial, time: raw.time, removed: raw.del.map(parse), added: raw.add.map(parse) };
}

async function moveAside(dir: string, paths: { journal: string; snapshot: string }, why: string): Promise<string[]> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const moved: string[] = [];
  for (const path of [paths.journal, paths.snapshot]) {
    if (!(await stat(path).then(() => true, () => false))) continue;
    const to = `${path}.${why}-${stamp}`;
    await rename(path, to);
    moved.push(to);
  }
  if (moved.length > 0) await syncDirectory(dir);
  return moved;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ZoneJournalError(`${path}: cannot read: ${(error as Error).message}`);
  }
}
