import { type FileHandle, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { parseRecordLine, recordToText } from '../wire/record-text.js';
import { zoneDirectoryName } from './key-store.js';
import { serialGreater } from './soa-serial.js';
import type { ZoneDelta } from './zone-diff.js';

/**
 * The IXFR history of a zone (RFC 1995): per serial change, the records of the served zone
 * (signed: RRSIGs, NSEC/NSEC3 and DNSKEYs included) that went and came, with the SOA before
 * and after. `STATEDIR/journal/ZONE.ixfr`: a header line, then one JSON line per version,
 * appended and fsynced. Bounded by a number of versions and a size: past either, the oldest
 * versions are dropped and the file is rewritten atomically (temp, fsync, rename). A client
 * older than the oldest version kept gets the whole zone (AXFR).
 */

export interface JournalBounds {
  readonly maxVersions: number;
  /** Bytes of history (the file's size, near enough). */
  readonly maxSize: number;
}

export interface IxfrVersion {
  readonly fromSoa: ResourceRecord;
  readonly toSoa: ResourceRecord;
  readonly from: number;
  readonly to: number;
  readonly removed: readonly ResourceRecord[];
  readonly added: readonly ResourceRecord[];
  /** The line's length in the file. */
  readonly bytes: number;
  /** Whether the zone served after this version is signed. */
  readonly signed?: boolean;
}

interface Header {
  readonly ixfr: 1;
  readonly zone: string;
  /** Ties the history to the data it was made from (the zone file's digest; "" when none). */
  readonly tie: string;
  /** Whether the zone served when the history was (re)started was signed. */
  readonly signed?: boolean;
}

/** What a client at `serial` needs: nothing (it is current), these versions, or the whole zone. */
export type IxfrPlan = { readonly kind: 'current' } | { readonly kind: 'incremental'; readonly versions: readonly IxfrVersion[] } | { readonly kind: 'full' };

export class IxfrJournal {
  readonly path: string;
  private versions: IxfrVersion[] = [];
  private handle: FileHandle | undefined;
  private tie = '';
  private bytes = 0;
  /** Whether what is served now is signed (for the header when the history is rewritten). */
  private signed = false;

  constructor(
    readonly dir: string,
    readonly zone: Name,
    private bounds: JournalBounds,
  ) {
    this.path = join(dir, `${zoneDirectoryName(zone)}.ixfr`);
  }

  setBounds(bounds: JournalBounds): void {
    this.bounds = bounds;
  }

  /**
   * Reads the history and keeps it when it leads to `servedSerial` from data tied to `tie`;
   * otherwise (another zone file, a history that does not end where the zone is, a damaged
   * file) starts an empty one. Returns the number of versions kept.
   */
  async open(servedSerial: number, tie: string, keepHistory: boolean, signed: boolean): Promise<number> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.tie = tie;
    this.signed = signed;
    let kept: IxfrVersion[] = [];
    if (keepHistory) kept = (await this.read()) ?? [];
    if (kept.length > 0 && kept[kept.length - 1]!.to !== servedSerial) kept = [];
    await this.rewrite(kept);
    return kept.length;
  }

  /**
   * Whether the zone was served signed when the file was last written (whatever the tie): a zone
   * signed before a restart and unsigned after it has new content under its old serial.
   */
  async lastSigned(): Promise<boolean | undefined> {
    const text = await readFile(this.path, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const lines = text.split('\n').filter((l) => l !== '');
    for (const l of [...lines].reverse()) {
      try {
        const signed = (JSON.parse(l) as { signed?: boolean }).signed;
        if (signed !== undefined) return signed;
      } catch {
        // a torn last line
      }
    }
    return undefined;
  }

  private async read(): Promise<IxfrVersion[] | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return undefined;
    }
    const lines = text.split('\n');
    try {
      const header = JSON.parse(lines[0] ?? '') as Header;
      if (header.ixfr !== 1 || header.tie !== this.tie) return undefined;
    } catch {
      return undefined;
    }
    const out: IxfrVersion[] = [];
    for (const line of lines.slice(1)) {
      if (line === '') continue;
      try {
        const v = this.parse(line);
        if (out.length > 0 && out[out.length - 1]!.to !== v.from) return undefined;
        out.push(v);
      } catch {
        break; // a line torn by a crash: the history ends before it
      }
    }
    return out;
  }

  private parse(line: string): IxfrVersion {
    const raw = JSON.parse(line) as { fromSoa: string; toSoa: string; from: number; to: number; del: string[]; add: string[]; signed?: boolean };
    const p = (t: string) => parseRecordLine(t, { origin: this.zone });
    return { fromSoa: p(raw.fromSoa), toSoa: p(raw.toSoa), from: raw.from, to: raw.to, removed: raw.del.map(p), added: raw.add.map(p), bytes: Buffer.byteLength(line) + 1, signed: raw.signed ?? false };
  }

  /** The history in memory at once (transfers answered meanwhile see it), then the file, atomically. */
  private async rewrite(versions: IxfrVersion[]): Promise<void> {
    this.versions = versions;
    this.bytes = versions.reduce((n, v) => n + v.bytes, 0);
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
    const header: Header = { ixfr: 1, zone: this.zone.toString(), tie: this.tie, signed: this.signed };
    const lines = [JSON.stringify(header), ...versions.map((v) => line(v).trimEnd())];
    await writeFileAtomic(this.path, `${lines.join('\n')}\n`, 0o600);
    this.handle = await open(this.path, 'a', 0o600);
  }

  /**
   * Records one version (fsynced), then drops the oldest past the bounds. A version larger than
   * the size bound on its own leaves no history (the next client gets AXFR).
   */
  record(fromSoa: ResourceRecord, toSoa: ResourceRecord, from: number, to: number, delta: ZoneDelta, signed: boolean): Promise<{ versions: number; dropped: number }> {
    // In memory before the first await: the caller swaps the new version in right after calling,
    // and an IXFR answered in between must find the history leading to it.
    this.signed = signed;
    // The records' wire size is less than their text: past the bound already, the text (seconds
    // of work for a full re-sign of a big zone) is not made at all.
    let wire = 0;
    for (const r of [delta.removed, delta.added]) for (const rr of r) wire += rr.name.length + rr.rdata.length;
    if (wire > this.bounds.maxSize) {
      const dropped = this.versions.length;
      return this.rewrite([]).then(() => ({ versions: 0, dropped }));
    }
    const text = line({ fromSoa, toSoa, from, to, removed: delta.removed, added: delta.added, bytes: 0, signed });
    const version: IxfrVersion = { fromSoa, toSoa, from, to, removed: delta.removed, added: delta.added, bytes: Buffer.byteLength(text), signed };
    const chained = this.versions.length === 0 || this.versions[this.versions.length - 1]!.to === from;
    if (!chained || version.bytes > this.bounds.maxSize) {
      const dropped = this.versions.length;
      return this.rewrite(chained ? [] : [version].filter((v) => v.bytes <= this.bounds.maxSize)).then(() => ({ versions: this.versions.length, dropped }));
    }
    const handle = this.handle;
    if (!handle) return Promise.reject(new Error(`${this.path}: the journal is not open`));
    this.versions.push(version);
    this.bytes += version.bytes;
    return this.append(handle, text);
  }

  private async append(handle: FileHandle, text: string): Promise<{ versions: number; dropped: number }> {
    await handle.write(text, null, 'utf8');
    await handle.datasync();
    let drop = 0;
    let size = this.bytes;
    while (this.versions.length - drop > this.bounds.maxVersions || size > this.bounds.maxSize) size -= this.versions[drop++]!.bytes;
    if (drop > 0) await this.rewrite(this.versions.slice(drop));
    return { versions: this.versions.length, dropped: drop };
  }

  /** Forgets the history (the served zone changed in a way no diff describes): clients get AXFR. */
  async reset(): Promise<void> {
    await this.rewrite([]);
  }

  /** What a client whose copy is at `serial` gets, given that the zone is at `current`. */
  plan(serial: number, current: number): IxfrPlan {
    if (serial === current || serialGreater(serial, current)) return { kind: 'current' };
    const start = this.versions.findIndex((v) => v.from === serial);
    if (start < 0) return { kind: 'full' };
    const versions = this.versions.slice(start);
    return versions[versions.length - 1]!.to === current ? { kind: 'incremental', versions } : { kind: 'full' };
  }

  get size(): { versions: number; bytes: number; oldest: number | undefined } {
    return { versions: this.versions.length, bytes: this.bytes, oldest: this.versions[0]?.from };
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }

  async delete(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
  }
}

function line(v: IxfrVersion): string {
  return `${JSON.stringify({ from: v.from, to: v.to, signed: v.signed ?? false, fromSoa: recordToText(v.fromSoa), toSoa: recordToText(v.toSoa), del: v.removed.map(recordToText), add: v.added.map(recordToText) })}\n`;
}
