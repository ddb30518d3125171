import { canonicalRdata } from '../wire/canonical.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import { type SignatureWindow, type SigningKey, signRrset } from './rrset-signer.js';
import { type RrsetSigners, rrsetSigners, signersOf } from './signing-key-rule.js';
import type { SigningPolicy } from './signing-policy.js';
import { type ZoneData, type ZoneNode, type ZoneRrset, canonicalSortKey } from './zone-db.js';
import { type ZoneSigningKey, signatureWindow } from './zone-signer.js';

/**
 * The edit an incremental signing builds on a signed zone (incremental-signer.ts runs its stages):
 * the owners the change names with their RRsets afterwards, the NSEC3 entries to put and remove,
 * and every RRset it signed. Stage 1 (the change applied and its RRsets signed) is the
 * constructor; the denial stages (incremental-nsec.ts, incremental-nsec3.ts) and the refresh pass
 * add to it; `result` makes the new zone, sharing every untouched node with the old one.
 */

export interface RecordDiff {
  readonly removed: readonly ResourceRecord[];
  readonly added: readonly ResourceRecord[];
}

export type RrsetSignFunction = (rrset: readonly ResourceRecord[], key: SigningKey, window: SignatureWindow) => ResourceRecord;

/** What the edit needs to sign: the keys, the validity periods, the time. */
export interface EditSigning {
  readonly zone: Name;
  readonly keys: readonly ZoneSigningKey[];
  readonly policy: Pick<SigningPolicy, 'dnskeySignatureValidity' | 'dsSignatureValidity' | 'signatureValidity' | 'signatureInception'>;
  /** Unix seconds. */
  readonly now: number;
  readonly signRrset?: RrsetSignFunction;
}

const recordId = (r: ResourceRecord) => `${r.ttl}|${Buffer.from(canonicalRdata(r.type, r.rdata)).toString('latin1')}`;

function sameRecords(a: readonly ResourceRecord[], b: readonly ResourceRecord[]): boolean {
  if (a.length !== b.length) return false;
  const ids = new Set(a.map(recordId));
  return b.every((r) => ids.has(recordId(r)));
}

export interface OwnerChange {
  readonly name: Name;
  readonly removed: ResourceRecord[];
  readonly added: ResourceRecord[];
}

/** The change's records by owner. */
export function byOwner(diff: RecordDiff): Map<string, OwnerChange> {
  const owners = new Map<string, OwnerChange>();
  const at = (name: Name) => {
    let o = owners.get(name.key);
    if (!o) owners.set(name.key, (o = { name, removed: [], added: [] }));
    return o;
  };
  for (const r of diff.removed) at(r.name).removed.push(r);
  for (const r of diff.added) at(r.name).added.push(r);
  return owners;
}

/** An owner's RRsets after the change: untouched ones as they were (signatures and all), touched ones without signatures. */
export function applyAtOwner(node: ZoneNode | undefined, removed: readonly ResourceRecord[], added: readonly ResourceRecord[]): { sets: Map<number, ZoneRrset>; changedTypes: Set<number> } {
  const sets = new Map<number, ZoneRrset>(node?.rrsets ?? []);
  const touched = new Set<number>([...removed.map((r) => r.type), ...added.map((r) => r.type)]);
  const changedTypes = new Set<number>();
  for (const type of touched) {
    const old = sets.get(type);
    const gone = new Set(removed.filter((r) => r.type === type).map(recordId));
    const records = (old?.records ?? []).filter((r) => !gone.has(recordId(r)));
    const have = new Set(records.map(recordId));
    for (const r of added) if (r.type === type && !have.has(recordId(r))) records.push(r);
    if (old && sameRecords(old.records, records)) continue;
    changedTypes.add(type);
    if (records.length === 0) sets.delete(type);
    else sets.set(type, { name: old?.name ?? records[0]!.name, type, class: records[0]!.class, records, sigs: [] });
  }
  return { sets, changedTypes };
}

/** A name and its canonical sort key. */
export interface SortedName {
  readonly name: Name;
  readonly sortKey: string;
}

export class IncrementalEdit {
  /** The owners edited, with their RRsets afterwards. */
  readonly owners = new Map<string, { name: Name; sets: Map<number, ZoneRrset> }>();
  /** The change by owner. */
  readonly changed: Map<string, OwnerChange>;
  /** Owners the change leaves with no data. */
  readonly gone = new Set<string>();
  /** Owners the change leaves with data, in canonical order. */
  readonly fresh: SortedName[] = [];
  readonly nsec3Put = new Map<string, ZoneRrset>();
  readonly nsec3Remove: Name[] = [];
  /** "owner type" of every RRset signed. */
  readonly touched = new Set<string>();
  /** Signatures made for the change (its RRsets and the denial records it moves). */
  signedChanged = 0;
  /** The signatures each denial record gets (the ZSKs). */
  readonly denialSigners: number;
  readonly negativeTtl: number;
  readonly zoneClass: number;
  private readonly signers: RrsetSigners;
  private readonly windows: Parameters<typeof signatureWindow>[0];
  private readonly signOne: RrsetSignFunction;

  constructor(
    readonly previous: ZoneData,
    diff: RecordDiff,
    private readonly o: EditSigning,
  ) {
    const inception = o.now - o.policy.signatureInception;
    this.windows = {
      dnskey: { inception, expiration: o.now + o.policy.dnskeySignatureValidity },
      ds: { inception, expiration: o.now + o.policy.dsSignatureValidity },
      other: { inception, expiration: o.now + o.policy.signatureValidity },
    };
    // The same rule as whole-zone signing (signing-key-rule.ts): a re-signed CDS keeps its KSK signature.
    this.signers = rrsetSigners(o.keys);
    this.denialSigners = this.signers.other.length;
    this.signOne = o.signRrset ?? signRrset;
    this.negativeTtl = previous.negativeTtl;
    this.zoneClass = previous.zoneClass;
    this.changed = byOwner(diff);
    this.applyChange();
  }

  get zone(): Name {
    return this.o.zone;
  }

  /** Stage 1: the owners the change names, their RRsets afterwards, the changed ones signed. */
  private applyChange(): void {
    for (const c of this.changed.values()) {
      const { sets, changedTypes } = applyAtOwner(this.previous.node(c.name), c.removed, c.added);
      for (const type of changedTypes) {
        const set = sets.get(type);
        if (set) {
          const signed = this.sign(set);
          sets.set(type, signed);
          this.signedChanged += signed.sigs.length;
        }
      }
      this.owners.set(c.name.key, { name: c.name, sets });
      const dataTypes = [...sets.keys()].filter((t) => t !== RRType.NSEC);
      if (dataTypes.length === 0) this.gone.add(c.name.key);
      else this.fresh.push({ name: c.name, sortKey: canonicalSortKey(c.name) });
    }
    this.fresh.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  }

  sign(set: ZoneRrset): ZoneRrset {
    this.touched.add(`${set.name.toString()} ${set.type}`);
    const window: SignatureWindow = signatureWindow(this.windows, set.type);
    return { ...set, sigs: signersOf(this.signers, this.o.zone, set.name, set.type).map((k) => this.signOne(set.records, k, window)) };
  }

  /** A denial record (NSEC or NSEC3) of one RDATA at `name`, signed, unless the zone has it already as it would be. */
  signedDenial(name: Name, type: number, rdata: Uint8Array, old: ZoneRrset | undefined): ZoneRrset | undefined {
    const ttl = this.negativeTtl;
    if (old && old.records.length === 1 && Buffer.compare(old.records[0]!.rdata, rdata) === 0 && old.records[0]!.ttl === ttl) return undefined;
    const cls = this.zoneClass;
    this.signedChanged += this.denialSigners;
    return this.sign({ name, type, class: cls, records: [{ name, type, class: cls, ttl, rdata }], sigs: [] });
  }

  /** The data types at a name after the change. */
  typesAfter(name: Name): number[] {
    const mine = this.owners.get(name.key);
    const sets = mine ? mine.sets : this.previous.node(name)?.rrsets;
    return sets ? [...sets.keys()].filter((t) => t !== RRType.NSEC) : [];
  }

  /** The node (after the change) to edit at `name`: its current RRsets. */
  ownerFor(name: Name): { name: Name; sets: Map<number, ZoneRrset> } {
    let e = this.owners.get(name.key);
    if (!e) this.owners.set(name.key, (e = { name, sets: new Map(this.previous.node(name)?.rrsets ?? []) }));
    return e;
  }

  /** The new zone: the edited owners and NSEC3 entries, every other node shared with the old one. */
  result(): ZoneData {
    return this.previous.withChanges(
      [...this.owners.values()].map((e) => ({ name: e.name, rrsets: [...e.sets.values()] })),
      { put: [...this.nsec3Put.values()], remove: this.nsec3Remove },
    );
  }
}
