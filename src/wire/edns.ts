import type { Edns, EdnsOption } from './message.js';
import { WireError } from './wire-error.js';

export const EdnsOptionCode = { NSID: 3, CLIENT_SUBNET: 8, COOKIE: 10, TCP_KEEPALIVE: 11, PADDING: 12, EDE: 15 } as const;

/** Extended DNS Error info-codes (RFC 8914 §4). */
export const EdeCode = {
  OTHER: 0, UNSUPPORTED_DNSKEY_ALGORITHM: 1, UNSUPPORTED_DS_DIGEST_TYPE: 2, STALE_ANSWER: 3,
  FORGED_ANSWER: 4, DNSSEC_INDETERMINATE: 5, DNSSEC_BOGUS: 6, SIGNATURE_EXPIRED: 7,
  SIGNATURE_NOT_YET_VALID: 8, DNSKEY_MISSING: 9, RRSIGS_MISSING: 10, NO_ZONE_KEY_BIT_SET: 11,
  NSEC_MISSING: 12, CACHED_ERROR: 13, NOT_READY: 14, BLOCKED: 15, CENSORED: 16, FILTERED: 17,
  PROHIBITED: 18, STALE_NXDOMAIN_ANSWER: 19, NOT_AUTHORITATIVE: 20, NOT_SUPPORTED: 21,
  NO_REACHABLE_AUTHORITY: 22, NETWORK_ERROR: 23, INVALID_DATA: 24, SIGNATURE_EXPIRED_BEFORE_VALID: 25,
  TOO_EARLY: 26, UNSUPPORTED_NSEC3_ITERATIONS: 27, UNABLE_TO_CONFORM_TO_POLICY: 28, SYNTHESIZED: 29,
} as const;

const edeNames = new Map<number, string>(
  Object.entries(EdeCode).map(([k, v]) => [v, k.toLowerCase().replace(/_/g, ' ').replace(/\bdnssec\b/, 'DNSSEC').replace(/\b(dnskey|ds|nsec3?|nxdomain)\b/gi, (s) => s.toUpperCase())]),
);

export function edeCodeToString(code: number): string {
  return edeNames.get(code) ?? `EDE ${code}`;
}

export interface ExtendedError {
  readonly infoCode: number;
  readonly extraText: string;
}

export function edeOption(infoCode: number, extraText = ''): EdnsOption {
  const text = Buffer.from(extraText, 'utf8');
  const data = new Uint8Array(2 + text.length);
  data[0] = infoCode >> 8;
  data[1] = infoCode & 0xff;
  data.set(text, 2);
  return { code: EdnsOptionCode.EDE, data };
}

export function parseEde(option: EdnsOption): ExtendedError {
  if (option.data.length < 2) throw new WireError('bad-opt', 'EDE option shorter than its info-code');
  return {
    infoCode: (option.data[0]! << 8) | option.data[1]!,
    extraText: Buffer.from(option.data.subarray(2)).toString('utf8'),
  };
}

/** Every well-formed EDE option of a message; malformed ones are skipped (RFC 8914 §3). */
export function extendedErrors(edns: Edns | undefined): ExtendedError[] {
  const out: ExtendedError[] = [];
  for (const o of edns?.options ?? []) {
    if (o.code !== EdnsOptionCode.EDE || o.data.length < 2) continue;
    out.push(parseEde(o));
  }
  return out;
}

export interface Cookie {
  readonly client: Uint8Array;
  readonly server?: Uint8Array;
}

/** RFC 7873 §4: an 8-byte client cookie, optionally followed by an 8–32 byte server cookie. */
export function parseCookie(option: EdnsOption): Cookie {
  const n = option.data.length;
  if (n !== 8 && (n < 16 || n > 40)) throw new WireError('bad-opt', `COOKIE option of ${n} bytes`);
  const client = option.data.subarray(0, 8);
  return n === 8 ? { client } : { client, server: option.data.subarray(8) };
}

export function cookieOption(cookie: Cookie): EdnsOption {
  const data = new Uint8Array(8 + (cookie.server?.length ?? 0));
  data.set(cookie.client);
  if (cookie.server) data.set(cookie.server, 8);
  return { code: EdnsOptionCode.COOKIE, data };
}

export function findOption(edns: Edns | undefined, code: number): EdnsOption | undefined {
  return edns?.options.find((o) => o.code === code);
}

export function defaultEdns(fields: Partial<Edns> = {}): Edns {
  return { udpSize: 1232, version: 0, dnssecOk: false, zFlags: 0, options: [], ...fields };
}

/**
 * Adds an option to the OPT record of an encoded message whose last record is the OPT (as our
 * encoder writes it), without decoding it: the cached-answer path adds each client's own
 * COOKIE this way. Returns undefined when the message has no OPT last.
 */
export function appendEdnsOption(wire: Uint8Array, code: number, data: Uint8Array): Uint8Array | undefined {
  const u16 = (i: number) => (wire[i]! << 8) | wire[i + 1]!;
  const skipName = (p: number): number => {
    for (;;) {
      const len = wire[p];
      if (len === undefined) return wire.length + 1;
      if (len === 0) return p + 1;
      if (len >= 0xc0) return p + 2;
      p += len + 1;
    }
  };
  if (wire.length < 12) return undefined;
  let pos = 12;
  for (let i = 0; i < u16(4); i++) pos = skipName(pos) + 4;
  const records = u16(6) + u16(8) + u16(10);
  let optAt = -1;
  for (let i = 0; i < records && pos < wire.length; i++) {
    const start = pos;
    pos = skipName(pos);
    if (pos + 10 > wire.length) return undefined;
    if (u16(pos) === 41 && i === records - 1) optAt = start;
    pos += 10 + u16(pos + 8);
  }
  if (optAt < 0 || pos !== wire.length || wire[optAt] !== 0) return undefined;
  const out = new Uint8Array(wire.length + 4 + data.length);
  out.set(wire);
  const rdlengthAt = optAt + 1 + 8;
  const rdlength = u16(rdlengthAt) + 4 + data.length;
  out[rdlengthAt] = rdlength >> 8;
  out[rdlengthAt + 1] = rdlength & 0xff;
  out[wire.length] = code >> 8;
  out[wire.length + 1] = code & 0xff;
  out[wire.length + 2] = data.length >> 8;
  out[wire.length + 3] = data.length & 0xff;
  out.set(data, wire.length + 4);
  return out;
}
