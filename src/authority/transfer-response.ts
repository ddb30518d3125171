import { canonicalRdata } from '../wire/canonical.js';
import type { ResourceRecord } from '../wire/message.js';
import { RRType } from '../wire/rr-type.js';
import { serialGreater, soaSerial } from './soa-serial.js';

/**
 * Reading the answer to an AXFR or IXFR (the secondary side; pure). The records of every message
 * are fed in order; the reader says when the answer is complete and what it holds:
 * - `current`: a single SOA no newer than ours (RFC 1995 §4: the client is up to date);
 * - `full`: the whole zone (AXFR, or an AXFR-style IXFR answer), first SOA left out of the
 *   records at the end;
 * - `incremental`: the versions of RFC 1995 §4, each with its old SOA, deletions, new SOA, additions.
 */

export interface TransferVersion {
  readonly from: number;
  readonly to: number;
  readonly removed: ResourceRecord[];
  /** The new SOA first, then the records added. */
  readonly added: ResourceRecord[];
}

export type TransferOutcome =
  | { readonly kind: 'current'; readonly soa: ResourceRecord }
  | { readonly kind: 'full'; readonly soa: ResourceRecord; readonly records: ResourceRecord[] }
  | { readonly kind: 'incremental'; readonly soa: ResourceRecord; readonly versions: TransferVersion[] };

export class TransferFormatError extends Error {
  override readonly name = 'TransferFormatError';
}

/** Feeds records in; `done` once the closing SOA came (or a lone SOA says the client is current). */
export class TransferReader {
  private soa: ResourceRecord | undefined;
  private serial = 0;
  private mode: 'start' | 'second' | 'full' | 'deleting' | 'adding' = 'start';
  private readonly records: ResourceRecord[] = [];
  private readonly versions: TransferVersion[] = [];
  private outcome: TransferOutcome | undefined;
  count = 0;

  /** `ours`: the serial of the copy we have (IXFR), undefined for AXFR. */
  constructor(
    private readonly ours: number | undefined,
    private readonly maxRecords: number,
  ) {}

  get done(): TransferOutcome | undefined {
    return this.outcome;
  }

  /** The records of one message. Throws TransferFormatError on an answer that breaks the format. */
  feed(records: readonly ResourceRecord[]): void {
    for (const rr of records) {
      if (this.outcome) throw new TransferFormatError('records after the closing SOA');
      if (++this.count > this.maxRecords) throw new TransferFormatError(`more than ${this.maxRecords} records`);
      this.take(rr);
    }
  }

  /** The end of one message: a lone SOA in the first message, no newer than ours, means "current". */
  endOfMessage(): void {
    if (this.mode === 'second' && this.soa && this.ours !== undefined && !serialGreater(this.serial, this.ours)) this.outcome = { kind: 'current', soa: this.soa };
  }

  private take(rr: ResourceRecord): void {
    const isSoa = rr.type === RRType.SOA;
    switch (this.mode) {
      case 'start':
        if (!isSoa) throw new TransferFormatError('the answer does not start with the SOA');
        this.soa = rr;
        this.serial = soaSerial(rr);
        this.mode = 'second';
        return;
      case 'second':
        if (isSoa && this.ours !== undefined && soaSerial(rr) !== this.serial) {
          // The old SOA of the first version: an incremental answer.
          this.versions.push({ from: soaSerial(rr), to: 0, removed: [], added: [] });
          this.mode = 'deleting';
          return;
        }
        if (isSoa) {
          // SOA, SOA with the same serial: an empty zone cannot be; read it as the end of a one-SOA "current" answer.
          this.outcome = { kind: 'current', soa: this.soa! };
          return;
        }
        this.mode = 'full';
        this.records.push(rr);
        return;
      case 'full':
        if (isSoa) {
          if (soaSerial(rr) !== this.serial) throw new TransferFormatError('the closing SOA has another serial than the first');
          this.outcome = { kind: 'full', soa: this.soa!, records: this.records };
          return;
        }
        this.records.push(rr);
        return;
      case 'deleting': {
        const v = this.versions[this.versions.length - 1]!;
        if (isSoa) {
          (v as { to: number }).to = soaSerial(rr);
          v.added.push(rr);
          this.mode = 'adding';
        } else v.removed.push(rr);
        return;
      }
      case 'adding': {
        const v = this.versions[this.versions.length - 1]!;
        if (!isSoa) {
          v.added.push(rr);
          return;
        }
        if (v.to === this.serial && soaSerial(rr) === this.serial) {
          this.outcome = { kind: 'incremental', soa: this.soa!, versions: this.versions };
          return;
        }
        if (soaSerial(rr) !== v.to) throw new TransferFormatError(`version ${v.from}→${v.to} is followed by one from ${soaSerial(rr)}`);
        this.versions.push({ from: soaSerial(rr), to: 0, removed: [], added: [] });
        this.mode = 'deleting';
        return;
      }
    }
  }
}

function recordKey(rr: ResourceRecord): string {
  return `${rr.name.key}/${rr.type}/${rr.class}/${Buffer.from(canonicalRdata(rr.type, rr.rdata)).toString('latin1')}`;
}

/**
 * A copy's records after the versions of an incremental answer (the SOA replaced by each
 * version's). Throws when a version does not start from the copy's serial, or deletes a record
 * the copy does not have: the copy and the primary disagree, and only a full transfer mends that.
 */
export function applyVersions(records: readonly ResourceRecord[], serial: number, versions: readonly TransferVersion[]): ResourceRecord[] {
  const byKey = new Map(records.map((r) => [recordKey(r), r]));
  let at = serial;
  for (const v of versions) {
    if (v.from !== at) throw new TransferFormatError(`a version from serial ${v.from}, but the copy is at ${at}`);
    for (const r of v.removed) {
      if (r.type === RRType.SOA) continue;
      if (!byKey.delete(recordKey(r))) throw new TransferFormatError(`version ${v.from}→${v.to} deletes ${r.name.toString()} type ${r.type}, which the copy does not have`);
    }
    for (const [k, r] of byKey) if (r.type === RRType.SOA) byKey.delete(k);
    for (const r of v.added) byKey.set(recordKey(r), r);
    at = v.to;
  }
  return [...byKey.values()];
}
