import type { Edns, Message, ResourceRecord } from './message.js';
import { CompressionTable } from './name-codec.js';
import { nameFieldOffsets } from './rdata-codec.js';
import { rdataSchema } from './rdata-schema.js';
import { RRType } from './rr-type.js';
import { WireError } from './wire-error.js';

export interface EncodeOptions {
  /** Largest message allowed (UDP payload size); records that do not fit are dropped and TC set. */
  readonly maxSize?: number;
}

/**
 * One buffer and one compression table serve every message: encoding is synchronous and
 * the result is copied out, so nothing of them outlives a call.
 */
class MessageWriter {
  buf = new Uint8Array(4096);
  pos = 0;
  readonly compression = new CompressionTable();
  private readonly nameOffsets: number[] = [];

  reset(): void {
    this.pos = 0;
    this.compression.clear();
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
    this.buf[this.pos++] = (v >> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }
  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.pos++] = (v >>> 24) & 0xff;
    b[this.pos++] = (v >>> 16) & 0xff;
    b[this.pos++] = (v >>> 8) & 0xff;
    b[this.pos++] = v & 0xff;
  }
  bytes(b: Uint8Array, from = 0, to = b.length): void {
    this.ensure(to - from);
    const out = this.buf;
    let pos = this.pos;
    if (to - from > 32) out.set(b.subarray(from, to), pos);
    else for (let i = from; i < to; i++) out[pos + i - from] = b[i]!;
    this.pos = pos + to - from;
  }
  /** The uncompressed name at `wire[start]`, written compressed. */
  name(wire: Uint8Array, start = 0): void {
    this.ensure(255);
    this.pos = this.compression.write(this.buf, this.pos, wire, start);
  }

  record(rr: ResourceRecord): void {
    this.name(rr.name.wire);
    this.u16(rr.type);
    this.u16(rr.class);
    this.u32(rr.ttl);
    const lengthAt = this.pos;
    this.u16(0);
    const start = this.pos;
    const schema = rdataSchema(rr.type);
    if (schema?.names === 'compress') {
      const rdata = rr.rdata;
      const offsets = this.nameOffsets;
      const count = nameFieldOffsets(schema, rdata, offsets);
      let copied = 0;
      for (let i = 0; i < count; i++) {
        const offset = offsets[i]!;
        this.bytes(rdata, copied, offset);
        this.name(rdata, offset);
        copied = offset;
        while (rdata[copied] !== 0) copied += rdata[copied]! + 1;
        copied++;
      }
      this.bytes(rdata, copied);
    } else {
      this.bytes(rr.rdata);
    }
    const rdlength = this.pos - start;
    if (rdlength > 0xffff) throw new WireError('too-big', 'RDATA longer than 65535 bytes');
    this.buf[lengthAt] = rdlength >> 8;
    this.buf[lengthAt + 1] = rdlength & 0xff;
  }
}

const writer = new MessageWriter();

function optRdataLength(edns: Edns): number {
  let n = 0;
  for (const o of edns.options) n += 4 + o.data.length;
  return n;
}

function writeOpt(w: MessageWriter, edns: Edns, rcode: number): void {
  w.ensure(1);
  w.buf[w.pos++] = 0;
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
  const w = writer;
  w.reset();
  const optSize = m.edns ? 11 + optRdataLength(m.edns) : 0;
  let tc = m.tc;
  w.pos = 12;
  for (const q of m.question) {
    w.name(q.name.wire);
    w.u16(q.type);
    w.u16(q.class);
  }
  if (w.pos + optSize > limit) throw new WireError('too-big', 'the question alone does not fit');
  let an = 0;
  let ns = 0;
  let ar = 0;
  const sections = [m.answer, m.authority, m.additional];
  outer: for (let s = 0; s < 3; s++) {
    for (const rr of sections[s]!) {
      const before = w.pos;
      w.record(rr);
      if (w.pos + optSize > limit) {
        w.pos = before;
        if (s < 2) tc = true;
        break outer;
      }
      if (s === 0) an++;
      else if (s === 1) ns++;
      else ar++;
    }
  }
  if (m.edns) {
    writeOpt(w, m.edns, m.rcode);
    ar++;
  }
  const flags =
    (m.qr ? 0x8000 : 0) | ((m.opcode & 0xf) << 11) | (m.aa ? 0x0400 : 0) | (tc ? 0x0200 : 0) |
    (m.rd ? 0x0100 : 0) | (m.ra ? 0x0080 : 0) | (m.z ? 0x0040 : 0) | (m.ad ? 0x0020 : 0) |
    (m.cd ? 0x0010 : 0) | (m.rcode & 0xf);
  const b = w.buf;
  const header = [m.id, flags, m.question.length, an, ns, ar];
  for (let i = 0; i < 6; i++) {
    b[i * 2] = (header[i]! >> 8) & 0xff;
    b[i * 2 + 1] = header[i]! & 0xff;
  }
  return b.slice(0, w.pos);
}
