import { WireError } from './wire-error.js';

/** RR type codes (IANA "Resource Record (RR) TYPEs"). */
export const RRType = {
  A: 1, NS: 2, MD: 3, MF: 4, CNAME: 5, SOA: 6, MB: 7, MG: 8, MR: 9, NULL: 10, WKS: 11,
  PTR: 12, HINFO: 13, MINFO: 14, MX: 15, TXT: 16, RP: 17, AFSDB: 18, X25: 19, ISDN: 20,
  RT: 21, NSAP: 22, SIG: 24, KEY: 25, PX: 26, GPOS: 27, AAAA: 28, LOC: 29, NXT: 30,
  SRV: 33, NAPTR: 35, KX: 36, CERT: 37, A6: 38, DNAME: 39, OPT: 41, APL: 42, DS: 43,
  SSHFP: 44, IPSECKEY: 45, RRSIG: 46, NSEC: 47, DNSKEY: 48, DHCID: 49, NSEC3: 50,
  NSEC3PARAM: 51, TLSA: 52, SMIMEA: 53, HIP: 55, CDS: 59, CDNSKEY: 60, OPENPGPKEY: 61,
  CSYNC: 62, ZONEMD: 63, SVCB: 64, HTTPS: 65, SPF: 99, TKEY: 249, TSIG: 250, IXFR: 251,
  AXFR: 252, ANY: 255, URI: 256, CAA: 257,
} as const;

export const RRClass = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

const typeNames = new Map<number, string>(Object.entries(RRType).map(([k, v]) => [v, k]));
const classNames = new Map<number, string>(Object.entries(RRClass).map(([k, v]) => [v, k]));

/** Mnemonic, or RFC 3597 `TYPEnnn` for a type we have no name for. */
export function typeToString(type: number): string {
  return typeNames.get(type) ?? `TYPE${type}`;
}

export function classToString(cls: number): string {
  return classNames.get(cls) ?? `CLASS${cls}`;
}

export function parseType(text: string): number {
  const upper = text.toUpperCase();
  const known = (RRType as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const m = /^TYPE([0-9]{1,5})$/.exec(upper);
  if (m && Number(m[1]) <= 0xffff) return Number(m[1]);
  throw new WireError('bad-text', `unknown RR type "${text}"`);
}

export function tryParseType(text: string): number | undefined {
  try {
    return parseType(text);
  } catch {
    return undefined;
  }
}

export function tryParseClass(text: string): number | undefined {
  const upper = text.toUpperCase();
  const known = (RRClass as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const m = /^CLASS([0-9]{1,5})$/.exec(upper);
  return m && Number(m[1]) <= 0xffff ? Number(m[1]) : undefined;
}

/** Types that only appear in questions or as pseudo-records (RFC 6895 §3.1). */
export function isMetaType(type: number): boolean {
  return type === RRType.OPT || (type >= 128 && type <= 255);
}
