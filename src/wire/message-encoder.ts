import type { Edns, Message, ResourceRecord } from './message.js';
import type { Name } from './name.js';
import { CompressionTable } from './name-codec.js';
import { rdataNames } from './rdata-codec.js';
import { rdataSchema } from './rdata-schema.js';
import { RRType } from './rr-type.js';
import { WireError } from './wire-error.js';

export interface EncodeOptions {
  /** Largest message allowed (UDP payload size); records that do not fit are dropped and TC set. */
  readonly maxSize?: number;
}

class MessageWriter {
  buf: Uint8Array;
  pos = 0;
  readonly compression = new CompressionTable();
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf[this.pos++] = v >> 8;
    this.buf[this.pos++] = v & 0xff;
  }
  u32(v: number): void {
    this.u16((v >>> 16) & 0xffff);
    this.u16(v & 0xffff);
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  name(n: Name, compress: boolean): void {
    this.bytes(compress ? this.compression.encode(n, this.pos) : n.wire);
  }
}

function writeRecord(w: MessageWriter, rr: ResourceRecord): void {
  w.name(rr.name, true);
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(rr.ttl);
  const lengthAt = w.pos;
  w.u16(0);
  const start = w.pos;
  if (rdataSchema(rr.type)?.names === 'compress') {
    let copied = 0;
    for (const { offset, name } of rdataNames(rr.type, rr.rdata)) {
      w.bytes(rr.rdata.subarray(copied, offset));
      w.name(name, true);
      copied = offset + name.wire.length;
    }
    w.bytes(rr.rdata.subarray(copied));
  } else {
    w.bytes(rr.rdata);
  }
  const rdlength = w.pos - start;
  if (rdlength > 0xffff) throw new WireError('too-big', 'RDATA longer than 65535 bytes');
  w.buf[lengthAt] = rdlength >> 8;
  w.buf[lengthAt + 1] = rdlength & 0xff;
}

function optRdataLength(edns: Edns): number {
  return edns.options.reduce((n, o) => n + 4 + o.data.length, 0);
}

function writeOpt(w: MessageWriter, edns: Edns, rcode: number): void {
  w.bytes(new Uint8Array([0]));
  w.u16(RRType.OPT);
  w.u16(edns.udpSize);
  w.u32((((rcode >> 4) & 0xff) << 24) | ((edns.version & 0xff) << 16) | (edns.dnssecOk ? 0x8000 : 0) | (edns.zFlags & 0x7fff));
  w.u16(optRdataLength(edns));
  for (const o of edns.options) {
    w.u16(o.code);
    w.u16(o.data.length);
    w.bytes(o.data);
  }
}

/**
 * Encodes a message with name compression. With `maxSize`, records are written while they
 * fit: a cut in the answer or authority section sets TC (RFC 2181 §9), a cut in the
 * additional section only drops the extra records. The OPT record is always kept.
 */
export function encodeMessage(m: Message, options: EncodeOptions = {}): Uint8Array {
  if (m.rcode > 0xf && !m.edns) throw new WireError('bad-opt', `RCODE ${m.rcode} needs EDNS`);
  const limit = options.maxSize ?? 0xffff;
  const w = new MessageWriter(Math.min(limit, 4096));
  const optSize = m.edns ? 11 + optRdataLength(m.edns) : 0;
  let tc = m.tc;
  w.pos = 12;
  for (const q of m.question) {
    w.name(q.name, true);
    w.u16(q.type);
    w.u16(q.class);
  }
  if (w.pos + optSize > limit) throw new WireError('too-big', 'the question alone does not fit');
  const counts = [m.question.length, 0, 0, 0];
  const sections = [m.answer, m.authority, m.additional];
  outer: for (let s = 0; s < 3; s++) {
    for (const rr of sections[s]!) {
      const before = w.pos;
      writeRecord(w, rr);
      if (w.pos + optSize > limit) {
        w.pos = before;
        if (s < 2) tc = true;
        break outer;
      }
      counts[s + 1]!++;
    }
  }
  if (m.edns) {
    writeOpt(w, m.edns, m.rcode);
    counts[3]!++;
  }
  const flags =
    (m.qr ? 0x8000 : 0) | ((m.opcode & 0xf) << 11) | (m.aa ? 0x0400 : 0) | (tc ? 0x0200 : 0) |
    (m.rd ? 0x0100 : 0) | (m.ra ? 0x0080 : 0) | (m.z ? 0x0040 : 0) | (m.ad ? 0x0020 : 0) |
    (m.cd ? 0x0010 : 0) | (m.rcode & 0xf);
  const header = [m.id, flags, ...counts];
  header.forEach((v, i) => {
    w.buf[i * 2] = (v >> 8) & 0xff;
    w.buf[i * 2 + 1] = v & 0xff;
  });
  return w.buf.slice(0, w.pos);
}
