import { type Edns, Opcode, type Question, type ResourceRecord } from '../wire/message.js';
import { decodeEdnsOptions, readQuestion, readRecordHeader } from '../wire/message-decoder.js';
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

/** Decodes an UPDATE message; every structural fault is a WireError (the answer is FORMERR). */
export function decodeUpdateMessage(b: Uint8Array): UpdateMessage {
  if (b.length < 12) throw new WireError('truncated', 'shorter than a DNS header', 0);
  const counts = [u16(b, 4), u16(b, 6), u16(b, 8), u16(b, 10)];
  let pos = 12;
  const zone: Question[] = [];
  for (let i = 0; i < counts[0]!; i++) {
    const q = readQuestion(b, pos, 'zone section');
    zone.push(q.question);
    pos = q.end;
  }
  const sections: ResourceRecord[][] = [[], [], []];
  let edns: Edns | undefined;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const r = readRecordHeader(b, pos);
      const { type, class: cls, ttl, rdlength } = r;
      pos = r.rdataStart;
      if (type === RRType.OPT) {
        if (s !== 2 || edns) throw new WireError('bad-opt', 'OPT record misplaced or repeated', pos);
        edns = { udpSize: cls, version: (ttl >>> 16) & 0xff, dnssecOk: (ttl & 0x8000) !== 0, zFlags: ttl & 0x7fff, options: decodeEdnsOptions(b, pos, pos + rdlength) };
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
