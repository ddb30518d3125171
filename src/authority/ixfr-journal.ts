import { isObject } from '../store/document-envelope.js';
import type { DocumentStore, DocumentType } from '../store/document-store.js';
import { readTextParts, writeTextParts } from '../store/text-parts.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { parseRecordLine, recordToText } from '../wire/record-text.js';
import { legacyIxfrSigned, readLegacyIxfrLines, removeLegacyIxfr } from './legacy-ixfr-journal.js';
import { serialGreater } from './soa-serial.js';
import type { ZoneDelta } from './zone-diff.js';
import { zoneStoreLabel } from './zone-store-label.js';

/**
 * The IXFR history of a zone (RFC 1995): per serial change, the records of the served zone
 * (signed: RRSIGs, NSEC/NSEC3 and DNSKEYs included) that went and came, with the SOA before
 * and after. Documents of the store contract under `ixfr/ZONE/`: each version is one JSON line
 * of text in parts (`version-SEQ-PART`, store/text-parts.ts: a full re-sign can be bigger than
 * one value), and `head` lists the versions kept, what they were made from and whether the zone
 * is served signed; a version is written before the head names it, and parts the head does not
 * name are deleted. Bounded by a number of versions and a size: past either, the oldest are
 * dropped. A client older than the oldest version kept gets the whole zone (AXFR).
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

interface Head {
  readonly zone: string;
  /** Ties the history to the data it was made from (the zone file's digest; "" when none). */
  readonly tie: string;
  /** Whether the zone served last was signed. */
  readonly signed: boolean;
  /** The versions kept, oldest first: where each one's parts are. */
  readonly versions: readonly Stored[];
}

interface Stored {
  readonly seq: number;
  readonly parts: number;
}

const HEAD_DOCUMENT: DocumentType<Head> = {
  format: 'keymaster-ixfr-head',
  version: 1,
  encode: (head) => head,
  decode(data, fault) {
    if (!isObject(data) || typeof data['tie'] !== 'string' || !Array.isArray(data['versions'])) throw fault('data: not an IXFR history head (tie, versions)');
    for (const [i, v] of (data['versions'] as unknown[]).entries())
      if (!isObject(v) || !Number.isSafeInteger(v['seq']) || !Number.isSafeInteger(v['parts'])) throw fault(`data.versions[${i}]: not { seq, parts }`);
    return data as unknown as Head;
  },
};

const pad = (n: number) => String(n).padStart(12, '0');

/** What a client at `serial` needs: nothing (it is current), these versions, or the whole zone. */
export type IxfrPlan = { readonly kind: 'current' } | { readonly kind: 'incremental'; readonly versions: readonly IxfrVersion[] } | { readonly kind: 'full' };

export class IxfrJournal {
  private versions: IxfrVersion[] = [];
  /** Where each version of `versions` is stored (undefined: not yet). */
  private stored: (Stored | undefined)[] = [];
  private nextSeq = 1;
  private tie = '';
  private bytes = 0;
  /** Whether what is served now is signed (for the head). */
  private signed = false;
  private readonly prefix: string;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly documents: DocumentStore,
    /** `STATEDIR/journal`: the history of the layout before the store. */
    readonly dir: string,
    readonly zone: Name,
    private bounds: JournalBounds,
  ) {
    this.prefix = `ixfr/${zoneStoreLabel(zone)}/`;
  }

  setBounds(bounds: JournalBounds): void {
    this.bounds = bounds;
  }

  /**
   * Reads the history and keeps it when it leads to `servedSerial` from data tied to `tie`;
   * otherwise (another zone file, a history that does not end where the zone is, a part
   * missing) starts an empty one. Returns the number of versions kept.
   */
  async open(servedSerial: number, tie: string, keepHistory: boolean, signed: boolean): Promise<number> {
    this.tie = tie;
    this.signed = signed;
    let kept: { version: IxfrVersion; stored?: Stored }[] = [];
    if (keepHistory) kept = await this.read();
    if (kept.length > 0 && kept[kept.length - 1]!.version.to !== servedSerial) kept = [];
    await this.rewrite(kept.map((k) => k.version), kept.map((k) => k.stored));
    await removeLegacyIxfr(this.dir, this.zone); // read above if there was one: its versions are stored now
    return kept.length;
  }

  /**
   * Whether the zone was served signed when the history was last written (whatever the tie): a
   * zone signed before a restart and unsigned after it has new content under its old serial.
   */
  async lastSigned(): Promise<boolean | undefined> {
    const head = await this.documents.read(`${this.prefix}head`, HEAD_DOCUMENT).catch(() => undefined);
    return head ? head.value.signed : legacyIxfrSigned(this.dir, this.zone);
  }

  /** The stored versions made from this tie, chained, up to the first that cannot be read. */
  private async read(): Promise<{ version: IxfrVersion; stored?: Stored }[]> {
    const head = (await this.documents.read(`${this.prefix}head`, HEAD_DOCUMENT).catch(() => undefined))?.value;
    const out: { version: IxfrVersion; stored?: Stored }[] = [];
    const add = (text: string, stored?: Stored): boolean => {
      try {
        const v = this.parse(text);
        if (out.length > 0 && out[out.length - 1]!.version.to !== v.from) return false;
        out.push({ version: v, ...(stored ? { stored } : {}) });
        return true;
      } catch {
        return false;
      }
    };
    if (!head) {
      for (const line of (await readLegacyIxfrLines(this.dir, this.zone, this.tie)) ?? []) if (!add(line)) break;
      return out;
    }
    if (head.tie !== this.tie) return [];
    this.nextSeq = Math.max(this.nextSeq, ...head.versions.map((v) => v.seq + 1));
    for (const s of head.versions) {
      const text = await readTextParts(this.documents, `${this.prefix}version-${pad(s.seq)}`, s.parts, (where) => new Error(`${where} is missing`)).catch(() => undefined);
      if (text === undefined || !add(text.trimEnd(), s)) break;
    }
    return out;
  }

  private parse(line: string): IxfrVersion {
    const raw = JSON.parse(line) as { fromSoa: string; toSoa: string; from: number; to: number; del: string[]; add: string[]; signed?: boolean };
    const p = (t: string) => parseRecordLine(t, { origin: this.zone });
    return { fromSoa: p(raw.fromSoa), toSoa: p(raw.toSoa), from: raw.from, to: raw.to, removed: raw.del.map(p), added: raw.add.map(p), bytes: Buffer.byteLength(line) + 1, signed: raw.signed ?? false };
  }

  /**
   * The history in memory at once (transfers answered meanwhile see it), then in the store:
   * versions not stored yet, then the head naming them, then parts it no longer names.
   */
  private async rewrite(versions: IxfrVersion[], stored: (Stored | undefined)[] = []): Promise<void> {
    this.versions = versions;
    this.stored = versions.map((_, i) => stored[i]);
    this.bytes = versions.reduce((n, v) => n + v.bytes, 0);
    // One store at a time, each writing the history as it is in memory when it runs.
    const run = this.writing.then(() => this.store());
    this.writing = run.catch(() => undefined);
    await run;
  }

  private async store(): Promise<void> {
    const versions = this.versions;
    const stored = this.stored;
    for (const [i, v] of versions.entries()) {
      if (stored[i]) continue;
      const seq = this.nextSeq++;
      stored[i] = { seq, parts: await writeTextParts(this.documents, `${this.prefix}version-${pad(seq)}`, line(v)) };
    }
    const named = stored.filter((s): s is Stored => s !== undefined);
    await this.documents.write(`${this.prefix}head`, HEAD_DOCUMENT, { zone: this.zone.toString(), tie: this.tie, signed: this.signed, versions: named });
    const keep = new Set(named.map((s) => `${this.prefix}version-${pad(s.seq)}-`));
    for (const key of await this.documents.keys(`${this.prefix}version-`)) if (![...keep].some((k) => key.startsWith(k))) await this.documents.delete(key);
  }

  /**
   * Records one version (durably), then drops the oldest past the bounds. A version larger than
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
    const all = [...this.versions, version];
    let drop = 0;
    let size = this.bytes + version.bytes;
    while (all.length - drop > this.bounds.maxVersions || size > this.bounds.maxSize) size -= all[drop++]!.bytes;
    return this.rewrite(all.slice(drop), [...this.stored, undefined].slice(drop)).then(() => ({ versions: this.versions.length, dropped: drop }));
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
    // Every version is stored when record() resolves: nothing to flush.
  }

  async delete(): Promise<void> {
    for (const key of await this.documents.keys(this.prefix)) await this.documents.delete(key);
    await removeLegacyIxfr(this.dir, this.zone);
  }
}

function line(v: IxfrVersion): string {
  return `${JSON.stringify({ from: v.from, to: v.to, signed: v.signed ?? false, fromSoa: recordToText(v.fromSoa), toSoa: recordToText(v.toSoa), del: v.removed.map(recordToText), add: v.added.map(recordToText) })}\n`;
}
