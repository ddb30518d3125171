import type { Edns, EdnsOption, Message, Question, ResourceRecord } from './message.js';
import type { Name } from './name.js';
import { readName } from './name-codec.js';
import { extractRdata } from './rdata-codec.js';
import { RRType } from './rr-type.js';
import { WireError } from './wire-error.js';

const u16 = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;

/** The options in an OPT record's RDATA (b[start, end)), as views of `b`. */
export function decodeEdnsOptions(b: Uint8Array, start: number, end: number): EdnsOption[] {
  const options: EdnsOption[] = [];
  let pos = start;
  while (pos < end) {
    if (pos + 4 > end) throw new WireError('bad-opt', 'EDNS option header runs past RDATA', pos);
    const code = u16(b, pos);
    const len = u16(b, pos + 2);
    if (pos + 4 + len > end) throw new WireError('bad-opt', `EDNS option ${code} runs past RDATA`, pos);
    options.push({ code, data: b.subarray(pos + 4, pos + 4 + len) });
    pos += 4 + len;
  }
  return options;
}

/** One question (or UPDATE zone) entry at `pos`; `section` names it in the truncation error. */
export function readQuestion(b: Uint8Array, pos: number, section = 'question'): { question: Question; end: number } {
  const r = readName(b, pos, true);
  if (r.end + 4 > b.length) throw new WireError('truncated', `${section} runs past the end`, r.end);
  return { question: { name: r.name, type: u16(b, r.end), class: u16(b, r.end + 2) }, end: r.end + 4 };
}

/** A resource record's owner and fixed fields; its RDATA is b[rdataStart, rdataStart + rdlength). */
export interface RecordHeader {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  readonly rdlength: number;
  readonly rdataStart: number;
}

/** Reads the record at `pos` up to its RDATA, which is checked to lie within `b`. */
export function readRecordHeader(b: Uint8Array, pos: number): RecordHeader {
  const r = readName(b, pos, true);
  pos = r.end;
  if (pos + 10 > b.length) throw new WireError('truncated', 'record header runs past the end', pos);
  const rdlength = u16(b, pos + 8);
  const rdataStart = pos + 10;
  if (rdataStart + rdlength > b.length) throw new WireError('truncated', 'RDATA runs past the end', rdataStart);
  const ttl = ((b[pos + 4]! << 24) >>> 0) + (b[pos + 5]! << 16) + (b[pos + 6]! << 8) + b[pos + 7]!;
  return { name: r.name, type: u16(b, pos), class: u16(b, pos + 2), ttl, rdlength, rdataStart };
}

/**
 * Decodes a DNS message. Every structural fault (truncation, bad pointers, RDATA that does
 * not match its RDLENGTH, a second OPT, trailing bytes) throws a WireError; nothing is
 * guessed. Record data is not copied unless it held compressed names.
 */
export function decodeMessage(b: Uint8Array): Message {
  if (b.length < 12) throw new WireError('truncated', 'shorter than a DNS header', 0);
  const flags = u16(b, 2);
  const counts = [u16(b, 4), u16(b, 6), u16(b, 8), u16(b, 10)] as const;
  let pos = 12;
  const question: Question[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const q = readQuestion(b, pos);
    question.push(q.question);
    pos = q.end;
  }
  const sections: ResourceRecord[][] = [[], [], []];
  let opt: { udpSize: number; ttl: number; options: EdnsOption[] } | undefined;
  for (let s = 0; s < 3; s++) {
    const list = sections[s]!;
    for (let i = 0; i < counts[s + 1]!; i++) {
      const r = readRecordHeader(b, pos);
      const { type, class: cls, ttl, rdlength } = r;
      pos = r.rdataStart;
      if (type === RRType.OPT) {
        if (s !== 2) throw new WireError('bad-opt', 'OPT outside the additional section', pos);
        if (opt) throw new WireError('bad-opt', 'more than one OPT record', pos);
        if (!r.name.isRoot) throw new WireError('bad-opt', 'OPT owner is not the root', pos);
        opt = { udpSize: cls, ttl, options: decodeEdnsOptions(b, pos, pos + rdlength) };
      } else {
        list.push({ name: r.name, type, class: cls, ttl, rdata: extractRdata(b, pos, rdlength, type) });
      }
      pos += rdlength;
    }
  }
  if (pos !== b.length) throw new WireError('trailing-data', `${b.length - pos} bytes after the last record`, pos);
  let edns: Edns | undefined;
  let rcode = flags & 0xf;
  if (opt) {
    rcode |= (opt.ttl >>> 24) << 4;
    edns = {
      udpSize: opt.udpSize,
      version: (opt.ttl >>> 16) & 0xff,
      dnssecOk: (opt.ttl & 0x8000) !== 0,
      zFlags: opt.ttl & 0x7fff,
      options: opt.options,
    };
  }
  const message: Message = {
    id: u16(b, 0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    z: (flags & 0x0040) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode,
    question,
    answer: sections[0]!,
    authority: sections[1]!,
    additional: sections[2]!,
  };
  if (edns) message.edns = edns;
  return message;
}
