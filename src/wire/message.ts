import type { Name } from './name.js';

export interface Question {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
}

/** One record. RDATA is uncompressed wire bytes; `decodeRdata` gives its typed view. */
export interface ResourceRecord {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  readonly rdata: Uint8Array;
}

export interface EdnsOption {
  readonly code: number;
  readonly data: Uint8Array;
}

/** The OPT pseudo-record, lifted out of the additional section (RFC 6891 §6). */
export interface Edns {
  readonly udpSize: number;
  readonly version: number;
  readonly dnssecOk: boolean;
  /** The 15 flag bits after DO, kept so a message round-trips exactly. */
  readonly zFlags: number;
  readonly options: readonly EdnsOption[];
}

export interface Message {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  /** The reserved header bit; must be zero on send, kept on receive. */
  z: boolean;
  ad: boolean;
  cd: boolean;
  /** The full 12-bit RCODE: the header's 4 bits plus OPT's upper 8 (RFC 6891 §6.1.3). */
  rcode: number;
  question: Question[];
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  /** Additional records without the OPT pseudo-record. */
  additional: ResourceRecord[];
  edns?: Edns;
}

export const Opcode = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5, DSO: 6 } as const;

export const Rcode = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6,
  YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10, BADVERS: 16, BADSIG: 16, BADKEY: 17,
  BADTIME: 18, BADMODE: 19, BADNAME: 20, BADALG: 21, BADTRUNC: 22, BADCOOKIE: 23,
} as const;

const rcodeNames = new Map<number, string>();
for (const [k, v] of Object.entries(Rcode)) if (!rcodeNames.has(v)) rcodeNames.set(v, k);
const opcodeNames = new Map<number, string>(Object.entries(Opcode).map(([k, v]) => [v, k]));

export function rcodeToString(rcode: number): string {
  return rcodeNames.get(rcode) ?? `RCODE${rcode}`;
}

export function opcodeToString(opcode: number): string {
  return opcodeNames.get(opcode) ?? `OPCODE${opcode}`;
}

export function newMessage(fields: Partial<Message> = {}): Message {
  return {
    id: 0, qr: false, opcode: 0, aa: false, tc: false, rd: false, ra: false, z: false, ad: false,
    cd: false, rcode: 0, question: [], answer: [], authority: [], additional: [], ...fields,
  };
}
