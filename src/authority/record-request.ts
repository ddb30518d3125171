import { RRClass, RRType, isMetaType, tryParseType, typeToString } from '../wire/rr-type.js';
import type { ResourceRecord } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { rdataFromText, tokenizeRdata } from '../wire/rdata-text.js';
import { isSignerType } from './zone-db.js';
import type { ZoneEntry } from './zone-entry.js';
import { ZoneError } from './zone-error.js';

/** A record as `zone record add|remove` gives it: presentation text, names relative to the zone unless they end in a dot. */
export interface RecordRequest {
  readonly name: string;
  readonly type: string;
  /** Required to add; to remove, absent means the whole RRset. */
  readonly rdata?: string;
  readonly ttl?: number;
}

export interface RecordChangeSummary {
  readonly zone: string;
  readonly serial: number;
  /** False when the record was already there (add). */
  readonly changed: boolean;
  readonly removed: readonly string[];
  readonly added: readonly string[];
  /** Signatures made for the change. */
  readonly signatures: number;
}

/** `www` is relative to the zone; `www.lab.example` (inside the zone) and `www.lab.example.` are absolute; `@` is the apex. */
function recordOwner(text: string, origin: Name): Name {
  const t = text.trim();
  if (t === '@') return origin;
  if (t.endsWith('.')) return Name.parse(t);
  const absolute = Name.parse(`${t}.`);
  return absolute.isSubdomainOf(origin) ? absolute : Name.parse(t, origin);
}

/** A `zone record` request as the update RR that does it (RFC 2136 §2.5: class IN adds, NONE deletes a record, ANY an RRset). */
export function parseRecordRequest(entry: ZoneEntry, r: RecordRequest, adding: boolean): ResourceRecord {
  const origin = entry.name;
  const bad = (field: string, message: string) => new ZoneError('bad-record', `${field}: ${message}`);
  let name: Name;
  try {
    name = recordOwner(r.name, origin).lowercase();
  } catch (error) {
    throw bad('name', `"${r.name}" is not a domain name: ${(error as Error).message}`);
  }
  if (!name.isSubdomainOf(origin)) throw new ZoneError('not-in-zone', `${name.toString()} is not in zone ${origin.toString()}`);
  const type = tryParseType(r.type);
  if (type === undefined || isMetaType(type)) throw bad('type', `"${r.type}" is not a record type`);
  if (isSignerType(type)) throw bad('type', `${typeToString(type)} records are made by the Key Master when it signs the zone`);
  if (type === RRType.SOA) throw bad('type', 'the SOA is not edited record by record; its serial goes up by itself with every change');
  const rdataText = r.rdata?.trim() ?? '';
  if (!adding && rdataText === '') return { name, type, class: RRClass.ANY, ttl: 0, rdata: new Uint8Array(0) };
  if (rdataText === '') throw bad('rdata', `RDATA is needed to add a ${typeToString(type)} record`);
  let rdata: Uint8Array;
  try {
    rdata = rdataFromText(type, tokenizeRdata(rdataText), origin);
  } catch (error) {
    throw bad('rdata', `${typeToString(type)} "${rdataText}": ${(error as Error).message}`);
  }
  if (!adding) return { name, type, class: RRClass.NONE, ttl: 0, rdata };
  const ttl = r.ttl ?? entry.unsigned.rrset(name, type)?.records[0]?.ttl ?? entry.unsigned.soa.ttl;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0x7fffffff) throw bad('ttl', `must be 0..2147483647 seconds, got ${ttl}`);
  return { name, type, class: entry.unsigned.zoneClass, ttl, rdata };
}
