import type { ResourceRecord } from '../wire/message.js';
import { Name } from '../wire/name.js';

/**
 * The packed form of what the caches keep: one Uint8Array per entry holding its header
 * (kind, security, a code, type, class, times, a verdict), an owner name, an optional text
 * (a verdict's reason) and sections of records in wire form (owner, type, class, TTL as
 * received, RDATA). One allocation per entry instead of an object, a Name and an RDATA view
 * per record: what makes a cached name cost about what its bytes cost (docs/cache.md, Memory).
 *
 * Layout (big-endian):
 *
 *     0  u8   FORMAT            12 f64  storedAt (ms)
 *     1  u8   kind              20 f64  expiresAt (ms)
 *     2  u8   security          28 u32  FNV-1a of every other byte
 *     3  u8   state (0xff none) 32 u8   section count n, then n × u16 record counts
 *     4  u16  code              .. name (owner, uncompressed wire)
 *     6  u16  type              .. u16 text length, text (UTF-8)
 *     8  u16  class             .. records: owner | 0xff (same owner as the record before),
 *    10  u16  ede (0xffff none)       | 0xfe (the entry's name), u16 type, u16 class, u32 TTL,
 *                                     u16 RDLENGTH, RDATA
 *
 * Decoding checks every length against the entry's end and the checksum over all of it, so a
 * truncated or damaged entry reads as nothing rather than as a wrong record.
 */

const FORMAT = 1;
const HEADER = 32;
const SAME_OWNER = 0xff;
/** An owner that is the entry's own name (an RRset's first record): one byte instead of the name again. */
const ENTRY_NAME = 0xfe;
const NONE_8 = 0xff;
const NONE_16 = 0xffff;

const SECURITY = ['unchecked', 'secure', 'insecure', 'bogus', 'indeterminate'] as const;
export type PackedSecurity = (typeof SECURITY)[number];
const STATES = ['secure', 'insecure', 'bogus', 'indeterminate'] as const;
export type PackedState = (typeof STATES)[number];

export interface PackedFields {
  /** What the entry is, in its owner's terms (an RRset, a negative answer, a kept answer). */
  readonly kind: number;
  readonly security: PackedSecurity;
  /** A verdict's state, when the entry carries one. */
  readonly state?: PackedState;
  /** Credibility or rcode: a small number the owner of the entry gives meaning to. */
  readonly code: number;
  readonly type: number;
  readonly class: number;
  readonly ede?: number;
  readonly storedAt: number;
  readonly expiresAt: number;
  readonly name: Name;
  /** A verdict's reason. */
  readonly text?: string;
}

export interface UnpackedEntry extends PackedFields {
  readonly sections: ResourceRecord[][];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** An entry ready to be written: its exact length, and the writer of its bytes into a buffer of that length. */
export interface PreparedEntry {
  readonly length: number;
  write(out: Uint8Array): void;
}

/** Packs fields and record sections into one buffer of exactly their size. */
export function packEntry(fields: PackedFields, sections: readonly (readonly ResourceRecord[])[]): Uint8Array {
  const prepared = prepareEntry(fields, sections);
  const out = new Uint8Array(prepared.length);
  prepared.write(out);
  return out;
}

/** Sizes an entry, for a store that places it (a slab slice) before it is written. */
export function prepareEntry(fields: PackedFields, sections: readonly (readonly ResourceRecord[])[]): PreparedEntry {
  if (sections.length > 255) throw new RangeError('more than 255 sections');
  const text = fields.text !== undefined ? encoder.encode(fields.text) : new Uint8Array(0);
  if (text.length > 0xffff) throw new RangeError('text longer than 65535 bytes');
  let size = HEADER + 1 + 2 * sections.length + fields.name.wire.length + 2 + text.length;
  let previous: Uint8Array | undefined;
  for (const section of sections) {
    if (section.length > 0xffff) throw new RangeError('more than 65535 records in a section');
    for (const r of section) {
      if (r.rdata.length > 0xffff) throw new RangeError('RDATA longer than 65535 bytes');
      size += (sameBytes(previous, r.name.wire) || sameBytes(fields.name.wire, r.name.wire) ? 1 : r.name.wire.length) + 10 + r.rdata.length;
      previous = r.name.wire;
    }
  }
  return { length: size, write: (out) => writeEntry(out, fields, sections, text) };
}

function writeEntry(out: Uint8Array, fields: PackedFields, sections: readonly (readonly ResourceRecord[])[], text: Uint8Array): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = FORMAT;
  out[1] = fields.kind;
  out[2] = SECURITY.indexOf(fields.security);
  out[3] = fields.state !== undefined ? STATES.indexOf(fields.state) : NONE_8;
  view.setUint16(4, fields.code);
  view.setUint16(6, fields.type);
  view.setUint16(8, fields.class);
  view.setUint16(10, fields.ede ?? NONE_16);
  view.setFloat64(12, fields.storedAt);
  view.setFloat64(20, fields.expiresAt);
  let pos = HEADER;
  out[pos++] = sections.length;
  for (const section of sections) {
    view.setUint16(pos, section.length);
    pos += 2;
  }
  out.set(fields.name.wire, pos);
  pos += fields.name.wire.length;
  view.setUint16(pos, text.length);
  out.set(text, pos + 2);
  pos += 2 + text.length;
  let previous: Uint8Array | undefined;
  for (const section of sections) {
    for (const r of section) {
      if (sameBytes(previous, r.name.wire)) out[pos++] = SAME_OWNER;
      else if (sameBytes(fields.name.wire, r.name.wire)) out[pos++] = ENTRY_NAME;
      else {
        out.set(r.name.wire, pos);
        pos += r.name.wire.length;
      }
      previous = r.name.wire;
      view.setUint16(pos, r.type);
      view.setUint16(pos + 2, r.class);
      view.setUint32(pos + 4, r.ttl >>> 0);
      view.setUint16(pos + 8, r.rdata.length);
      out.set(r.rdata, pos + 10);
      pos += 10 + r.rdata.length;
    }
  }
  if (pos !== out.length) throw new RangeError(`packed entry of ${pos} bytes in ${out.length}`);
  view.setUint32(28, checksum(out));
}

/** The header fields alone (no records decoded), or undefined when the entry is damaged. */
export function unpackFields(entry: Uint8Array): PackedFields | undefined {
  return read(entry, false);
}

/**
 * The whole entry, or undefined when it is truncated, damaged or of another format. It is read
 * from a copy of its own, which its names and RDATA are views into: what is decoded holds nothing
 * of the store (whose slabs are reused), and costs one allocation.
 */
export function unpackEntry(entry: Uint8Array): UnpackedEntry | undefined {
  return read(entry.slice(), true) as UnpackedEntry | undefined;
}

/** Expiry of an entry without decoding it (the hot path of every lookup); NaN when too short to hold one. */
export function packedExpiresAt(entry: Uint8Array): number {
  return entry.length >= HEADER ? new DataView(entry.buffer, entry.byteOffset, entry.byteLength).getFloat64(20) : NaN;
}

function read(entry: Uint8Array, withRecords: boolean): UnpackedEntry | PackedFields | undefined {
  if (entry.length < HEADER + 1 || entry[0] !== FORMAT) return undefined;
  const view = new DataView(entry.buffer, entry.byteOffset, entry.byteLength);
  if (view.getUint32(28) !== checksum(entry)) return undefined;
  const security = SECURITY[entry[2]!];
  const stateCode = entry[3]!;
  const state = stateCode === NONE_8 ? undefined : STATES[stateCode];
  if (!security || (stateCode !== NONE_8 && !state)) return undefined;
  let pos = HEADER;
  const sectionCount = entry[pos++]!;
  if (pos + 2 * sectionCount > entry.length) return undefined;
  const counts: number[] = [];
  for (let i = 0; i < sectionCount; i++, pos += 2) counts.push(view.getUint16(pos));
  const nameEnd = nameLength(entry, pos);
  if (nameEnd < 0) return undefined;
  const name = new Name(withRecords ? entry.subarray(pos, nameEnd) : entry.slice(pos, nameEnd));
  pos = nameEnd;
  if (pos + 2 > entry.length) return undefined;
  const textLength = view.getUint16(pos);
  pos += 2;
  if (pos + textLength > entry.length) return undefined;
  let text: string | undefined;
  try {
    text = textLength > 0 ? decoder.decode(entry.subarray(pos, pos + textLength)) : undefined;
  } catch {
    return undefined;
  }
  pos += textLength;
  const ede = view.getUint16(10);
  const fields: PackedFields = {
    kind: entry[1]!, security, code: view.getUint16(4), type: view.getUint16(6), class: view.getUint16(8), storedAt: view.getFloat64(12), expiresAt: view.getFloat64(20), name,
    ...(state !== undefined ? { state } : {}), ...(ede !== NONE_16 ? { ede } : {}), ...(text !== undefined ? { text } : {}),
  };
  if (!withRecords) return fields;
  const sections: ResourceRecord[][] = [];
  let owner: Name | undefined;
  for (const count of counts) {
    const records: ResourceRecord[] = [];
    for (let i = 0; i < count; i++) {
      if (pos >= entry.length) return undefined;
      if (entry[pos] === SAME_OWNER) {
        if (!owner) return undefined;
        pos++;
      } else if (entry[pos] === ENTRY_NAME) {
        owner = name;
        pos++;
      } else {
        const end = nameLength(entry, pos);
        if (end < 0) return undefined;
        owner = sameBytes(name.wire, entry.subarray(pos, end)) ? name : new Name(entry.subarray(pos, end));
        pos = end;
      }
      if (pos + 10 > entry.length) return undefined;
      const rdlength = view.getUint16(pos + 8);
      if (pos + 10 + rdlength > entry.length) return undefined;
      records.push({ name: owner, type: view.getUint16(pos), class: view.getUint16(pos + 2), ttl: view.getUint32(pos + 4), rdata: entry.subarray(pos + 10, pos + 10 + rdlength) });
      pos += 10 + rdlength;
    }
    sections.push(records);
  }
  return pos === entry.length ? { ...fields, sections } : undefined;
}

/** The end of the uncompressed name at `pos`, or -1 when it is not one within the entry. */
function nameLength(bytes: Uint8Array, pos: number): number {
  const start = pos;
  for (;;) {
    if (pos >= bytes.length) return -1;
    const len = bytes[pos]!;
    if (len > 63) return -1;
    pos += len + 1;
    if (pos - start > 255) return -1;
    if (len === 0) return pos;
  }
}

export function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** FNV-1a over the entry, its checksum field (bytes 28–31) left out. */
function checksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    if (i === 28) {
      i = 31;
      continue;
    }
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
