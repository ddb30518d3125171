import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { isObject } from '../store/document-envelope.js';
import { readTextParts, writeTextParts } from '../store/text-parts.js';
import { type DocumentStore, type DocumentType, StoreError } from '../store/document-store.js';
import { canonicalRdata } from '../wire/canonical.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { parseRecordLine, recordToText } from '../wire/record-text.js';
import { parseZoneText, zoneToText } from '../wire/zone-file.js';
import { readLegacyJournal, removeLegacyJournal, retireLegacyJournal } from './legacy-zone-journal.js';
import { zoneStoreLabel } from './zone-store-label.js';

/**
 * The journal of a zone's dynamic changes (UPDATE and `zone record add|remove`), so that a crash
 * loses no change that was acknowledged. Documents of the store contract under `journals/ZONE/`:
 *
 * - `change-SEQ` (SEQ zero-padded, so keys sort in order): one change (sequence number, serial,
 *   records removed and added, in presentation format), written before it is acknowledged, and
 *   only if no change of that number exists (compare-and-swap: two writers cannot both add one).
 *   Each is one small document: a crash leaves it whole or absent, never torn.
 * - `snapshot-SEQ-PART`: the zone's unsigned data as of a change, zone file text in parts
 *   (store/text-parts.ts: a distributed store bounds its values), written when the journal is
 *   compacted.
 * - `head`: the SHA-256 of the zone file the journal builds on, and which snapshot (sequence
 *   number and part count) holds the changes before the first `change-`. Writing it is the
 *   moment a compaction happens: parts of another snapshot and changes it holds are left-overs
 *   of a crash and go at the next recovery.
 *
 * When the zone file has changed since (an operator edited it), the dynamic changes no longer
 * apply to it: they are written out beside the old journals (`STATEDIR/journal/ZONE.discarded-TIME`,
 * zone file text and the changes), as BIND moves aside a journal older than its zone file, and
 * the file wins. A journal of the layout before the store (legacy-zone-journal.ts) is read once.
 */

export interface JournalEntry {
  readonly seq: number;
  readonly serial: number;
  /** ISO 8601. */
  readonly time: string;
  readonly removed: readonly ResourceRecord[];
  readonly added: readonly ResourceRecord[];
  /** The RRsets its refresh pass remade, when it had one (cluster mode: the other primaries remake the same). */
  readonly refreshed?: readonly string[];
}

/** What recovery found. */
export interface JournalRecovery {
  /** The zone's records after the snapshot and every journal entry (unsigned data). */
  readonly records: ResourceRecord[];
  /** Journal entries applied on top of the file or snapshot. */
  readonly replayed: number;
  readonly fromSnapshot: boolean;
  /** Set when the zone file changed under the journal: where its changes were written out. */
  readonly discarded?: readonly string[];
  /** Set when a journal of the layout before the store was read: where its files went. */
  readonly migrated?: readonly string[];
}

/** A journal or snapshot that cannot be read or written; names the document (or file and line). */
export class ZoneJournalError extends Error {
  override readonly name = 'ZoneJournalError';
}

/**
 * The change could not be stored and the journal stays open: `conflict` (another writer of a
 * shared store took that change number first: catch up and try again) or `unavailable` (the
 * store cannot be reached; nothing was changed).
 */
export class JournalWriteRefused extends ZoneJournalError {
  constructor(
    readonly code: 'conflict' | 'unavailable',
    message: string,
  ) {
    super(message);
  }
}

/** What another writer of a shared store committed after this journal's last change. */
export type CommittedChanges =
  | { readonly kind: 'changes'; readonly entries: readonly JournalEntry[] }
  /** The next change was compacted away by another writer: the zone is its snapshot as of `seq`. */
  | { readonly kind: 'snapshot'; readonly seq: number; readonly records: ResourceRecord[] };

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

interface Head {
  readonly zone: string;
  readonly fileDigest: string;
  readonly snapshot?: { readonly seq: number; readonly serial: number; readonly time: string; readonly parts: number };
}

interface StoredChange {
  readonly seq: number;
  readonly serial: number;
  readonly time: string;
  readonly del: readonly string[];
  readonly add: readonly string[];
  /** The RRsets the change's refresh pass remade (incremental-signer.ts `refreshKey`), when it had one. */
  readonly refreshed?: readonly string[];
}

const HEAD_DOCUMENT: DocumentType<Head> = {
  format: 'keymaster-zone-journal-head',
  version: 1,
  encode: (head) => head,
  decode(data, fault) {
    if (!isObject(data) || typeof data['zone'] !== 'string' || typeof data['fileDigest'] !== 'string') throw fault('data: not a journal head (zone, fileDigest)');
    const s = data['snapshot'];
    if (s !== undefined && (!isObject(s) || !Number.isSafeInteger(s['seq']) || !Number.isSafeInteger(s['parts']) || !Number.isSafeInteger(s['serial'])))
      throw fault('data.snapshot: not { seq, serial, time, parts }');
    return data as unknown as Head;
  },
};

const CHANGE_DOCUMENT: DocumentType<StoredChange> = {
  format: 'keymaster-zone-change',
  version: 1,
  encode: (change) => change,
  decode(data, fault) {
    if (!isObject(data) || !Number.isSafeInteger(data['seq']) || !Array.isArray(data['del']) || !Array.isArray(data['add'])) throw fault('data: not a journal entry (seq, del, add)');
    return data as unknown as StoredChange;
  },
};

const pad = (n: number) => String(n).padStart(12, '0');

/**
 * The number of the last change committed to each zone's journal in the store (0: none since the
 * file): the highest `change-SEQ`, or the snapshot's when a compaction deleted the changes it
 * holds. What a primary that applied every committed change has as its `sequence`. One listing of
 * the journals' keys, however many zones.
 */
export async function committedSequences(documents: DocumentStore, zones: readonly Name[]): Promise<Map<Name, number>> {
  const byLabel = new Map(zones.map((zone) => [zoneStoreLabel(zone), zone] as const));
  const last = new Map<Name, number>(zones.map((zone) => [zone, 0]));
  for (const key of await documents.keys('journals/')) {
    const m = /^journals\/([^/]+)\/(?:change-(\d{12})|snapshot-(\d{12})-\d+)$/.exec(key);
    const zone = m && byLabel.get(m[1]!);
    if (zone) last.set(zone, Math.max(last.get(zone)!, Number(m[2] ?? m[3])));
  }
  return last;
}

export class ZoneJournal {
  private readonly prefix: string;
  private seq = 0;
  private digest = '';
  /** The head's revision as this journal last read or wrote it. */
  private headRevision = 0;
  private opened = false;
  /** Entries in the journal since the last snapshot. */
  pending = 0;
  /** Bytes of those entries (metrics). */
  pendingBytes = 0;

  constructor(
    private readonly documents: DocumentStore,
    /** `STATEDIR/journal`: journals of the layout before the store, and discarded changes written out. */
    readonly dir: string,
    readonly zone: Name,
    /** Shared with other primaries (cluster mode): a zone file that differs is refused, never a reason to discard the cluster's changes. */
    private readonly shared = false,
  ) {
    this.prefix = `journals/${zoneStoreLabel(zone)}/`;
  }

  /** `STATEDIR/journal`: the IXFR histories, journals of the layout before the store, discarded changes. */
  static directory(stateDir: string): string {
    return join(stateDir, 'journal');
  }

  /** Where the journal's documents are (a directory, in the file store), for logs and errors. */
  get location(): string {
    return this.documents.locate(`${this.prefix}head`).replace(/head\.json$/, '');
  }

  /**
   * Rebuilds the zone from the zone file's records, the snapshot and the changes, and opens the
   * journal for appending. `fileBytes` are the zone file's bytes (their digest ties the journal to them).
   */
  async recover(fileRecords: readonly ResourceRecord[], fileBytes: Uint8Array): Promise<JournalRecovery> {
    this.digest = fileDigest(fileBytes);
    try {
      const headDoc = await this.documents.read(`${this.prefix}head`, HEAD_DOCUMENT);
      this.headRevision = headDoc?.revision ?? 0;
      const head = headDoc?.value;
      if (!head) return await this.migrate(fileRecords);
      if (head.fileDigest !== this.digest) {
        if (this.shared)
          throw new ZoneJournalError(`${this.location}: the zone file is not the one the cluster's journal builds on (SHA-256 ${head.fileDigest}): give every primary the same file`);
        const discarded = await this.discard(head, fileRecords);
        await this.writeHead(undefined);
        this.seq = 0;
        this.pending = 0;
        this.pendingBytes = 0;
        this.opened = true;
        return { records: [...fileRecords], replayed: 0, fromSnapshot: false, discarded };
      }
      const { records, seq, replayed, fromSnapshot } = await this.replay(head, fileRecords);
      this.seq = seq;
      this.pending = replayed;
      this.opened = true;
      return { records, replayed, fromSnapshot };
    } catch (error) {
      if (error instanceof StoreError) throw new ZoneJournalError(error.message);
      throw error;
    }
  }

  /**
   * Shared store: opens the journal on what the cluster committed alone, its snapshot and the
   * changes since, whatever zone file this server has (a zone added on another primary). Undefined
   * when the journal has no snapshot (nothing committed yet, or a zone added by an earlier release):
   * the zone file is needed then.
   */
  async recoverCommitted(): Promise<JournalRecovery | undefined> {
    try {
      const headDoc = await this.documents.read(`${this.prefix}head`, HEAD_DOCUMENT);
      if (!headDoc?.value.snapshot) return undefined;
      this.headRevision = headDoc.revision;
      this.digest = headDoc.value.fileDigest;
      const { records, seq, replayed } = await this.replay(headDoc.value, []);
      this.seq = seq;
      this.pending = replayed;
      this.opened = true;
      return { records, replayed, fromSnapshot: true };
    } catch (error) {
      if (error instanceof StoreError) throw new ZoneJournalError(error.message);
      throw error;
    }
  }

  private async replay(head: Head, fileRecords: readonly ResourceRecord[]): Promise<{ records: ResourceRecord[]; seq: number; replayed: number; fromSnapshot: boolean }> {
    const snapshot = head.snapshot;
    let records = snapshot ? await this.readSnapshot(snapshot.seq, snapshot.parts) : [...fileRecords];
    let seq = snapshot?.seq ?? 0;
    let replayed = 0;
    const leftovers: string[] = [];
    for (const key of await this.documents.keys(this.prefix)) {
      const name = key.slice(this.prefix.length);
      // A newer snapshot than the head names may be another primary's compaction under way.
      const newer = this.shared && Number(name.slice(9, 21)) > (snapshot?.seq ?? -1);
      if (name.startsWith('snapshot-') && !name.startsWith(`snapshot-${pad(snapshot?.seq ?? -1)}-`) && !newer) leftovers.push(key);
      if (!name.startsWith('change-')) continue;
      const change = (await this.documents.read(key, CHANGE_DOCUMENT))?.value;
      if (!change) continue;
      if (change.seq <= (snapshot?.seq ?? 0)) {
        leftovers.push(key); // held by the snapshot (a crash during compaction)
        continue;
      }
      if (change.seq !== seq + 1) throw new ZoneJournalError(`${this.documents.locate(key)}: change ${change.seq} follows ${seq}: a change is missing`);
      records = applyJournalEntry(records, this.parseChange(change, key));
      seq = change.seq;
      replayed++;
      this.pendingBytes += JSON.stringify(change).length;
    }
    for (const key of leftovers) await this.documents.delete(key);
    return { records, seq, replayed, fromSnapshot: snapshot !== undefined };
  }

  private async readSnapshot(seq: number, parts: number): Promise<ResourceRecord[]> {
    const text = await readTextParts(this.documents, `${this.prefix}snapshot-${pad(seq)}`, parts, (where, i) => new ZoneJournalError(`${where}: part ${i + 1} of ${parts} of the snapshot is missing`));
    try {
      return parseZoneText(text, { origin: this.zone, fileName: `${this.location}snapshot-${pad(seq)}` }).records;
    } catch (error) {
      throw new ZoneJournalError(`${this.location}: snapshot ${seq}: ${(error as Error).message}`);
    }
  }

  private parseChange(change: StoredChange, key: string): JournalEntry {
    try {
      const parse = (text: string) => parseRecordLine(text, { origin: this.zone });
      const refreshed = Array.isArray(change.refreshed) && change.refreshed.every((k) => typeof k === 'string') ? { refreshed: change.refreshed } : {};
      return { seq: change.seq, serial: change.serial, time: change.time, removed: change.del.map(parse), added: change.add.map(parse), ...refreshed };
    } catch (error) {
      throw new ZoneJournalError(`${this.documents.locate(key)}: ${(error as Error).message}`);
    }
  }

  /** No journal in the store: one of the layout before is read and written as a snapshot, or a fresh one starts. */
  private async migrate(fileRecords: readonly ResourceRecord[]): Promise<JournalRecovery> {
    const legacy = await readLegacyJournal(this.dir, this.zone, fileRecords, this.digest);
    this.seq = 0;
    if (legacy && legacy.seq > 0) {
      this.seq = legacy.seq;
      await this.compact(legacy.records, legacy.serial ?? 0, Date.now());
    } else await this.writeHead(undefined);
    this.opened = true;
    if (!legacy) return { records: [...fileRecords], replayed: 0, fromSnapshot: false };
    const migrated = legacy.discarded ? [] : await retireLegacyJournal(this.dir, this.zone);
    return { records: legacy.records, replayed: legacy.replayed, fromSnapshot: legacy.fromSnapshot, ...(legacy.discarded ? { discarded: legacy.discarded } : { migrated }) };
  }

  /** Writes the head: the commit point of a fresh journal or of a compaction. */
  private async writeHead(snapshot: Head['snapshot'], expectRevision?: number): Promise<Head> {
    const head: Head = { zone: this.zone.toString(), fileDigest: this.digest, ...(snapshot ? { snapshot } : {}) };
    this.headRevision = (await this.documents.write(`${this.prefix}head`, HEAD_DOCUMENT, head, expectRevision === undefined ? {} : { expectRevision })).revision;
    return head;
  }

  /**
   * Stores one change: once this resolves the change survives a crash. Throws ZoneJournalError
   * (and the caller must not acknowledge) when it cannot; the journal is then closed, and
   * changes fail, until a restart recovers it.
   */
  async append(change: { readonly serial: number; readonly removed: readonly ResourceRecord[]; readonly added: readonly ResourceRecord[]; readonly refreshed?: readonly string[] }, now: number): Promise<JournalEntry> {
    const key = `${this.prefix}change-${pad(this.seq + 1)}`;
    if (!this.opened) throw new ZoneJournalError(`${this.location}: the journal is not open`);
    const refreshed = change.refreshed ? { refreshed: change.refreshed } : {};
    const entry: JournalEntry = { seq: this.seq + 1, serial: change.serial, time: new Date(now).toISOString(), removed: change.removed, added: change.added, ...refreshed };
    const stored: StoredChange = { seq: entry.seq, serial: entry.serial, time: entry.time, del: change.removed.map(recordToText), add: change.added.map(recordToText), ...refreshed };
    try {
      // Shared: also only while the head is as this journal last read it. A compaction elsewhere
      // deletes the changes it holds, and a deleted change number must not be taken again.
      await this.documents.write(key, CHANGE_DOCUMENT, stored, { expectRevision: 0, ...(this.shared ? { guard: [{ key: `${this.prefix}head`, revision: this.headRevision }] } : {}) });
    } catch (error) {
      // Nothing was stored: the journal stays at the last change it holds, open for the next.
      if (this.shared && error instanceof StoreError && (error.code === 'conflict' || error.code === 'unavailable'))
        throw new JournalWriteRefused(error.code, `${this.documents.locate(key)}: ${error.code === 'conflict' ? `another server committed change ${entry.seq} first, or compacted the journal` : error.fault}`);
      this.opened = false;
      throw new ZoneJournalError(`${this.documents.locate(key)}: cannot store the change: ${(error as Error).message}`);
    }
    this.seq = entry.seq;
    this.pending++;
    this.pendingBytes += JSON.stringify(stored).length;
    return entry;
  }

  /**
   * The changes committed after this journal's last one by another writer of the store (another
   * primary), in order, which the journal then counts as its own: read one by one until the next
   * number is absent. When another writer compacted them away, the snapshot that holds them.
   */
  async committedSince(): Promise<CommittedChanges> {
    const entries: JournalEntry[] = [];
    try {
      for (;;) {
        const key = `${this.prefix}change-${pad(this.seq + 1)}`;
        const change = (await this.documents.read(key, CHANGE_DOCUMENT))?.value;
        if (!change) break;
        const entry = this.parseChange(change, key);
        entries.push(entry);
        this.seq = entry.seq;
        this.pending++;
        this.pendingBytes += JSON.stringify(change).length;
      }
      if (entries.length > 0) return { kind: 'changes', entries };
      const headDoc = await this.documents.read(`${this.prefix}head`, HEAD_DOCUMENT);
      this.headRevision = headDoc?.revision ?? 0;
      const snapshot = headDoc?.value.snapshot;
      if (!snapshot || snapshot.seq <= this.seq) return { kind: 'changes', entries };
      const records = await this.readSnapshot(snapshot.seq, snapshot.parts);
      this.seq = snapshot.seq;
      this.pending = 0;
      this.pendingBytes = 0;
      return { kind: 'snapshot', seq: snapshot.seq, records };
    } catch (error) {
      if (error instanceof StoreError) throw error.code === 'unavailable' ? new JournalWriteRefused('unavailable', error.message) : new ZoneJournalError(error.message);
      throw error;
    }
  }

  /**
   * Compacts: the zone's current unsigned records become the snapshot (its parts, then the head
   * naming it), then the changes it holds and the snapshot before it are deleted. A crash at any
   * point leaves the old head (the old snapshot and every change) or the new one (the new
   * snapshot; recovery deletes what it holds).
   */
  async compact(records: readonly ResourceRecord[], serial: number, now: number): Promise<void> {
    try {
      // Another primary sharing the journal may compact too: the head is replaced compare-and-swap,
      // never by an older snapshot, and only what is older than this snapshot is deleted.
      const head = await this.documents.read(`${this.prefix}head`, HEAD_DOCUMENT);
      if ((head?.value.snapshot?.seq ?? -1) >= this.seq) {
        this.pending = 0;
        this.pendingBytes = 0;
        return;
      }
      const parts = await writeTextParts(this.documents, `${this.prefix}snapshot-${pad(this.seq)}`, zoneToText(records, this.zone));
      await this.writeHead({ seq: this.seq, serial, time: new Date(now).toISOString(), parts }, head?.revision ?? 0);
      this.pending = 0;
      this.pendingBytes = 0;
      for (const key of await this.documents.keys(this.prefix)) {
        const name = key.slice(this.prefix.length);
        const seq = Number((name.startsWith('snapshot-') ? name.slice(9, 21) : name.startsWith('change-') ? name.slice(7) : 'NaN'));
        if ((name.startsWith('snapshot-') && seq < this.seq) || (name.startsWith('change-') && seq <= this.seq)) await this.documents.delete(key);
      }
    } catch (error) {
      throw new ZoneJournalError(`${this.location}: cannot compact: ${(error as Error).message}`);
    }
  }

  /** Writes the changes out beside the old journals (for the operator), then drops them from the store. */
  private async discard(head: Head, fileRecords: readonly ResourceRecord[]): Promise<string[]> {
    const { records } = await this.replay(head, fileRecords).catch(() => ({ records: undefined }));
    const path = join(this.dir, `${zoneStoreLabel(this.zone)}.discarded-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, records ? zoneToText(records, this.zone) : '; the discarded journal could not be read\n', 0o600);
    await this.deleteDocuments();
    return [path];
  }

  private async deleteDocuments(): Promise<void> {
    for (const key of await this.documents.keys(this.prefix)) await this.documents.delete(key);
  }

  /** Deletes the journal (the zone is no longer hosted). */
  async delete(): Promise<void> {
    this.opened = false;
    await this.deleteDocuments();
    await removeLegacyJournal(this.dir, this.zone);
  }

  async close(): Promise<void> {
    this.opened = false;
  }

  /** The store key prefix of this journal's documents (`journals/LABEL/`). */
  get prefixKey(): string {
    return this.prefix;
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
