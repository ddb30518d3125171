import { type Edns, type EdnsOption, Opcode, type Question, type ResourceRecord } from '../wire/message.js';
import { readName } from '../wire/name-codec.js';
import { extractRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { WireError } from '../wire/wire-error.js';

/**
 * An RFC 2136 UPDATE message (§2): the header's four counts are ZOCOUNT, PRCOUNT, UPCOUNT and
 * ADCOUNT. Read by its own decoder because UPDATE puts records with empty RDATA in the
 * prerequisite and update sections ("delete an RRset" is class ANY, RDLENGTH 0), which the
 * general decoder rightly refuses for types of fixed length.
 */
export interface UpdateMessage {
  readonly id: number;
  readonly opcode: number;
  /** The zone section: one entry, type SOA (§2.3). */
  readonly zone: readonly Question[];
  readonly prerequisites: readonly ResourceRecord[];
  readonly updates: readonly ResourceRecord[];
  /** Additional records other than OPT (and TSIG, which the caller takes off first). */
  readonly additional: readonly ResourceRecord[];
  readonly edns?: Edns;
}

const u16 = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;

function options(b: Uint8Array, start: number, end: number): EdnsOption[] {
  const out: EdnsOption[] = [];
  for (let pos = start; pos < end; ) {
    if (pos + 4 > end) throw new WireError('bad-opt', 'EDNS option header runs past RDATA', pos);
    const len = u16(b, pos + 2);
    if (pos + 4 + len > end) throw new WireError('bad-opt', 'EDNS option runs past RDATA', pos);
    out.push({ code: u16(b, pos), data: b.slice(pos + 4, pos + 4 + len) });
    pos += 4 + len;
  }
  return out;
}

/** Decodes an UPDATE message; every structural fault is a WireError (the answer is FORMERR). */
export function decodeUpdateMessage(b: Uint8Array): UpdateMessage {
  if (b.length < 12) throw new WireError('truncated', 'shorter than a DNS header', 0);
  const counts = [u16(b, 4), u16(b, 6), u16(b, 8), u16(b, 10)];
  let pos = 12;
  const zone: Question[] = [];
  for (let i = 0; i < counts[0]!; i++) {
    const r = readName(b, pos, true);
    if (r.end + 4 > b.length) throw new WireError('truncated', 'zone section runs past the end', r.end);
    zone.push({ name: r.name, type: u16(b, r.end), class: u16(b, r.end + 2) });
    pos = r.end + 4;
  }
  const sections: ResourceRecord[][] = [[], [], []];
  let edns: Edns | undefined;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const r = readName(b, pos, true);
      pos = r.end;
      if (pos + 10 > b.length) throw new WireError('truncated', 'record header runs past the end', pos);
      const type = u16(b, pos);
      const cls = u16(b, pos + 2);
      const ttl = ((b[pos + 4]! << 24) >>> 0) + (b[pos + 5]! << 16) + (b[pos + 6]! << 8) + b[pos + 7]!;
      const rdlength = u16(b, pos + 8);
      pos += 10;
      if (pos + rdlength > b.length) throw new WireError('truncated', 'RDATA runs past the end', pos);
      if (type === RRType.OPT) {
        if (s !== 2 || edns) throw new WireError('bad-opt', 'OPT record misplaced or repeated', pos);
        edns = { udpSize: cls, version: (ttl >>> 16) & 0xff, dnssecOk: (ttl & 0x8000) !== 0, zFlags: ttl & 0x7fff, options: options(b, pos, pos + rdlength) };
      } else {
        // Empty RDATA is how UPDATE says "any value" (RFC 2136 §2.4.1, §2.5.2); copy, never a view of the packet.
        const rdata = rdlength === 0 ? new Uint8Array(0) : Uint8Array.from(extractRdata(b, pos, rdlength, type));
        sections[s]!.push({ name: r.name, type, class: cls, ttl, rdata });
      }
      pos += rdlength;
    }
  }
  if (pos !== b.length) throw new WireError('trailing-data', `${b.length - pos} bytes after the last record`, pos);
  return {
    id: u16(b, 0),
    opcode: (b[2]! >> 3) & 0xf,
    zone,
    prerequisites: sections[0]!,
    updates: sections[1]!,
    additional: sections[2]!,
    ...(edns ? { edns } : {}),
  };
}

/** True when the header says UPDATE and not a response. */
export function isUpdateRequest(wire: Uint8Array): boolean {
  return wire.length >= 12 && (wire[2]! & 0x80) === 0 && ((wire[2]! >> 3) & 0xf) === Opcode.UPDATE;
}
