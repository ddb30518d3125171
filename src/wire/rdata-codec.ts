import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './ip-address.js';
import { Name } from './name.js';
import { readName, skipName } from './name-codec.js';
import { type FieldKind, type RdataSchema, hasNameFields, rdataSchema } from './rdata-schema.js';
import { WireError } from './wire-error.js';

export interface SvcParam {
  readonly key: number;
  readonly value: Uint8Array;
}

export type RdataValue = number | string | Name | Uint8Array | readonly Uint8Array[] | readonly number[] | readonly SvcParam[];
export type RdataFields = Record<string, RdataValue>;

const u16 = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;
const u32 = (b: Uint8Array, p: number) => ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!;

function need(pos: number, n: number, end: number): void {
  if (pos + n > end) throw new WireError('bad-rdlength', 'RDATA shorter than its fields', pos);
}

export function decodeBitmap(b: Uint8Array, start: number, end: number): number[] {
  const types: number[] = [];
  let pos = start;
  let lastWindow = -1;
  while (pos < end) {
    need(pos, 2, end);
    const window = b[pos]!;
    const len = b[pos + 1]!;
    if (window <= lastWindow) throw new WireError('bad-rdata', 'type bitmap windows out of order', pos);
    if (len < 1 || len > 32) throw new WireError('bad-rdata', `type bitmap window length ${len}`, pos);
    need(pos + 2, len, end);
    // RFC 4034 §4.1.2: no empty windows, no trailing zero octets; so one type list has one form.
    if (b[pos + 1 + len] === 0) throw new WireError('bad-rdata', 'type bitmap window ends in a zero octet', pos);
    for (let i = 0; i < len; i++) {
      const byte = b[pos + 2 + i]!;
      for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) types.push(window * 256 + i * 8 + bit);
    }
    lastWindow = window;
    pos += 2 + len;
  }
  return types;
}

export function encodeBitmap(types: readonly number[]): Uint8Array {
  const sorted = [...new Set(types)].sort((a, b) => a - b);
  const out: number[] = [];
  let i = 0;
  while (i < sorted.length) {
    const window = sorted[i]! >> 8;
    const bits = new Uint8Array(32);
    let maxByte = 0;
    for (; i < sorted.length && sorted[i]! >> 8 === window; i++) {
      const low = sorted[i]! & 0xff;
      bits[low >> 3]! |= 0x80 >> (low & 7);
      maxByte = low >> 3;
    }
    out.push(window, maxByte + 1, ...bits.subarray(0, maxByte + 1));
  }
  return Uint8Array.from(out);
}

function decodeSvcParams(b: Uint8Array, start: number, end: number): SvcParam[] {
  const params: SvcParam[] = [];
  let pos = start;
  let lastKey = -1;
  while (pos < end) {
    need(pos, 4, end);
    const key = u16(b, pos);
    const len = u16(b, pos + 2);
    if (key <= lastKey) throw new WireError('bad-rdata', 'SvcParamKeys not in strictly increasing order', pos);
    need(pos + 4, len, end);
    params.push({ key, value: b.subarray(pos + 4, pos + 4 + len) });
    lastKey = key;
    pos += 4 + len;
  }
  return params;
}

/** CAA tags (RFC 8659 §4.1) and NSEC3 next hashed owner names (RFC 5155 §3.2) have at least one octet. */
function checkNotEmpty(kind: FieldKind, pos?: number): void {
  if (kind === 'tag') throw new WireError('bad-rdata', 'empty CAA tag', pos);
  if (kind === 'base32hex8') throw new WireError('bad-rdata', 'empty NSEC3 next hashed owner name', pos);
}

/**
 * Checks one field without building its value and returns the offset after it; for a name
 * that used compression pointers, the offset is negated.
 */
function skipField(kind: FieldKind, b: Uint8Array, pos: number, end: number, allowPointers: boolean): number {
  switch (kind) {
    case 'u8':
      need(pos, 1, end);
      return pos + 1;
    case 'u16':
    case 'type':
      need(pos, 2, end);
      return pos + 2;
    case 'u32':
    case 'ttl':
    case 'time':
    case 'ipv4':
      need(pos, 4, end);
      return pos + 4;
    case 'u48':
      need(pos, 6, end);
      return pos + 6;
    case 'ipv6':
      need(pos, 16, end);
      return pos + 16;
    case 'name':
      return skipName(b, pos, allowPointers, end, 'bad-rdlength');
    case 'string':
    case 'tag':
    case 'hex8':
    case 'base32hex8': {
      need(pos, 1, end);
      const len = b[pos]!;
      need(pos + 1, len, end);
      if (len === 0) checkNotEmpty(kind, pos);
      return pos + 1 + len;
    }
    case 'base64len16': {
      need(pos, 2, end);
      const len = u16(b, pos);
      need(pos + 2, len, end);
      return pos + 2 + len;
    }
    case 'strings': {
      let p = pos;
      do p = skipField('string', b, p, end, false);
      while (p < end);
      return p;
    }
    case 'base64':
    case 'hex':
    case 'textRest':
      return end;
    case 'bitmap':
      decodeBitmap(b, pos, end);
      return end;
    case 'svcParams':
      decodeSvcParams(b, pos, end);
      return end;
  }
}

/** Checks RDATA against its schema; true when a name in it used compression pointers. */
function checkFields(schema: RdataSchema, b: Uint8Array, start: number, end: number, allowPointers: boolean): boolean {
  let pos = start;
  let compressed = false;
  for (const field of schema.fields) {
    const next = skipField(field.kind, b, pos, end, allowPointers);
    if (next < 0) {
      compressed = true;
      pos = -next;
    } else pos = next;
  }
  if (pos !== end) throw new WireError('bad-rdlength', `RDLENGTH leaves ${end - pos} unread bytes`, pos);
  return compressed;
}

/**
 * Reads one field. `toEnd` kinds consume everything up to `end`. Names may use pointers
 * into `buf` only when `allowPointers` (then `buf` is the whole message).
 */
function readField(kind: FieldKind, b: Uint8Array, pos: number, end: number, allowPointers: boolean): [RdataValue, number] {
  switch (kind) {
    case 'u8':
      need(pos, 1, end);
      return [b[pos]!, pos + 1];
    case 'u16':
    case 'type':
      need(pos, 2, end);
      return [u16(b, pos), pos + 2];
    case 'u32':
    case 'ttl':
    case 'time':
      need(pos, 4, end);
      return [u32(b, pos), pos + 4];
    case 'u48':
      need(pos, 6, end);
      return [u16(b, pos) * 2 ** 32 + u32(b, pos + 2), pos + 6];
    case 'ipv4':
      need(pos, 4, end);
      return [formatIpv4(b.subarray(pos, pos + 4)), pos + 4];
    case 'ipv6':
      need(pos, 16, end);
      return [formatIpv6(b.subarray(pos, pos + 16)), pos + 16];
    case 'name': {
      const r = readName(b, pos, allowPointers, end, 'bad-rdlength');
      return [r.name, r.end];
    }
    case 'string':
    case 'tag':
    case 'hex8':
    case 'base32hex8': {
      need(pos, 1, end);
      const len = b[pos]!;
      need(pos + 1, len, end);
      if (len === 0) checkNotEmpty(kind, pos);
      return [b.subarray(pos + 1, pos + 1 + len), pos + 1 + len];
    }
    case 'base64len16': {
      need(pos, 2, end);
      const len = u16(b, pos);
      need(pos + 2, len, end);
      return [b.subarray(pos + 2, pos + 2 + len), pos + 2 + len];
    }
    case 'strings': {
      const strings: Uint8Array[] = [];
      let p = pos;
      do {
        const [s, next] = readField('string', b, p, end, false);
        strings.push(s as Uint8Array);
        p = next;
      } while (p < end);
      return [strings, p];
    }
    case 'base64':
    case 'hex':
    case 'textRest':
      return [b.subarray(pos, end), end];
    case 'bitmap':
      return [decodeBitmap(b, pos, end), end];
    case 'svcParams':
      return [decodeSvcParams(b, pos, end), end];
  }
}

function walk(schema: RdataSchema, b: Uint8Array, start: number, end: number, allowPointers: boolean, into?: RdataFields): number {
  let pos = start;
  for (const field of schema.fields) {
    const [value, next] = readField(field.kind, b, pos, end, allowPointers);
    if (into) into[field.name] = value;
    pos = next;
  }
  if (pos !== end) throw new WireError('bad-rdlength', `RDLENGTH leaves ${end - pos} unread bytes`, pos);
  return pos;
}

/**
 * Takes the RDATA of one record out of a message: checked against its type's layout
 * (a wrong RDLENGTH is an error, never a silently shifted record) and returned
 * uncompressed. RDATA without compression pointers comes back as a view into `message`,
 * with no copy; only RDATA whose names were compressed is rebuilt.
 */
export function extractRdata(message: Uint8Array, start: number, length: number, type: number): Uint8Array {
  const end = start + length;
  if (end > message.length) throw new WireError('truncated', 'RDATA runs past the end of the message', start);
  const schema = rdataSchema(type);
  if (!schema) return message.subarray(start, end);
  if (schema.fixedLength !== undefined) {
    if (length !== schema.fixedLength) throw new WireError('bad-rdlength', `RDLENGTH ${length}, ${schema.fixedLength} expected`, start);
    return message.subarray(start, end);
  }
  if (!checkFields(schema, message, start, end, schema.names !== 'none')) return message.subarray(start, end);
  return decompressRdata(schema, message, start, end);
}

/** Room for any RDATA once decompressed: 65535 octets plus 253 more per name (at most two). */
const decompressed = new Uint8Array(0xffff + 2 * 253);

/** RDATA with its compressed names written out; already checked by `checkFields`. */
function decompressRdata(schema: RdataSchema, message: Uint8Array, start: number, end: number): Uint8Array {
  const out = decompressed;
  let at = 0;
  let pos = start;
  for (const field of schema.fields) {
    if (field.kind === 'name') {
      const r = readName(message, pos, true, end, 'bad-rdlength');
      out.set(r.name.wire, at);
      at += r.name.wire.length;
      pos = r.end;
    } else {
      const next = skipField(field.kind, message, pos, end, true);
      for (let i = pos; i < next; i++) out[at++] = message[i]!;
      pos = next;
    }
  }
  if (at > 0xffff) throw new WireError('too-big', 'RDATA longer than 65535 bytes once decompressed');
  return out.slice(0, at);
}

/** Checks standalone (uncompressed) RDATA against its type's layout. */
export function validateRdata(type: number, rdata: Uint8Array): void {
  const schema = rdataSchema(type);
  if (schema) checkFields(schema, rdata, 0, rdata.length, false);
}

/**
 * Offsets of the name fields in valid uncompressed RDATA, written into `out`; returns how
 * many. For the encoder, which must not allocate per record.
 */
export function nameFieldOffsets(schema: RdataSchema, rdata: Uint8Array, out: number[]): number {
  let count = 0;
  let pos = 0;
  for (const field of schema.fields) {
    if (field.kind === 'name') out[count++] = pos;
    pos = skipField(field.kind, rdata, pos, rdata.length, false);
  }
  return count;
}

/** The typed view of RDATA: one property per schema field; unknown types give `{ data }`. */
export function decodeRdata(type: number, rdata: Uint8Array): RdataFields {
  const schema = rdataSchema(type);
  if (!schema) return { data: rdata };
  const fields: RdataFields = {};
  walk(schema, rdata, 0, rdata.length, false, fields);
  return fields;
}

class ByteSink {
  private buf = new Uint8Array(64);
  length = 0;
  private grow(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  u8(v: number): void {
    this.grow(1);
    this.buf[this.length++] = v;
  }
  u16(v: number): void {
    this.grow(2);
    this.buf[this.length++] = v >> 8;
    this.buf[this.length++] = v & 0xff;
  }
  u32(v: number): void {
    this.u16(Math.floor(v / 65536) & 0xffff);
    this.u16(v & 0xffff);
  }
  bytes(v: Uint8Array): void {
    this.grow(v.length);
    this.buf.set(v, this.length);
    this.length += v.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function checkInt(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
    throw new WireError('bad-rdata', `field ${name}: ${String(v)} is not an integer in 0..${max}`);
  return v;
}

function checkBytes(name: string, v: unknown, max: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new WireError('bad-rdata', `field ${name}: bytes expected`);
  if (v.length > max) throw new WireError('bad-rdata', `field ${name}: ${v.length} bytes, at most ${max}`);
  return v;
}

function writeField(sink: ByteSink, name: string, kind: FieldKind, v: RdataValue | undefined): void {
  switch (kind) {
    case 'u8':
      return sink.u8(checkInt(name, v, 0xff));
    case 'u16':
    case 'type':
      return sink.u16(checkInt(name, v, 0xffff));
    case 'u32':
    case 'ttl':
    case 'time':
      return sink.u32(checkInt(name, v, 0xffffffff));
    case 'u48': {
      const n = checkInt(name, v, 2 ** 48 - 1);
      sink.u16(Math.floor(n / 2 ** 32));
      return sink.u32(n % 2 ** 32);
    }
    case 'ipv4':
      return sink.bytes(parseIpv4(String(v)));
    case 'ipv6':
      return sink.bytes(parseIpv6(String(v)));
    case 'name':
      if (!(v instanceof Name)) throw new WireError('bad-rdata', `field ${name}: a Name expected`);
      return sink.bytes(v.wire);
    case 'string':
    case 'tag':
    case 'hex8':
    case 'base32hex8': {
      const b = checkBytes(name, v, 255);
      if (b.length === 0) checkNotEmpty(kind);
      sink.u8(b.length);
      return sink.bytes(b);
    }
    case 'base64len16': {
      const b = checkBytes(name, v, 0xffff);
      sink.u16(b.length);
      return sink.bytes(b);
    }
    case 'strings': {
      if (!Array.isArray(v) || v.length === 0) throw new WireError('bad-rdata', `field ${name}: at least one string`);
      for (const s of v as Uint8Array[]) writeField(sink, name, 'string', s);
      return;
    }
    case 'base64':
    case 'hex':
    case 'textRest':
      return sink.bytes(checkBytes(name, v, 0xffff));
    case 'bitmap':
      return sink.bytes(encodeBitmap(v as number[]));
    case 'svcParams': {
      const params = [...(v as SvcParam[])].sort((a, b) => a.key - b.key);
      params.forEach((p, i) => {
        if (i > 0 && params[i - 1]!.key === p.key) throw new WireError('bad-rdata', `duplicate SvcParamKey ${p.key}`);
        sink.u16(checkInt(name, p.key, 0xffff));
        sink.u16(p.value.length);
        sink.bytes(p.value);
      });
      return;
    }
  }
}

function encodeRdataFields(schema: RdataSchema, fields: RdataFields): Uint8Array {
  const sink = new ByteSink();
  for (const field of schema.fields) writeField(sink, field.name, field.kind, fields[field.name]);
  if (sink.length > 0xffff) throw new WireError('too-big', 'RDATA longer than 65535 bytes');
  return sink.result();
}

/** Builds RDATA from a typed view (the inverse of `decodeRdata`). */
export function encodeRdata(type: number, fields: RdataFields): Uint8Array {
  const schema = rdataSchema(type);
  if (!schema) return checkBytes('data', fields['data'], 0xffff);
  return encodeRdataFields(schema, fields);
}

/** Offsets and names of the name fields in uncompressed RDATA, for compression and lowercasing. */
export function rdataNames(type: number, rdata: Uint8Array): { offset: number; name: Name }[] {
  const schema = rdataSchema(type);
  if (!schema || !hasNameFields(schema)) return [];
  const found: { offset: number; name: Name }[] = [];
  let pos = 0;
  for (const field of schema.fields) {
    const [value, next] = readField(field.kind, rdata, pos, rdata.length, false);
    if (field.kind === 'name') found.push({ offset: pos, name: value as Name });
    pos = next;
  }
  return found;
}
