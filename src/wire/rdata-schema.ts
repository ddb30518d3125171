import { RRType } from './rr-type.js';

/**
 * How a field of RDATA is laid out on the wire and written in presentation format. One
 * generic codec walks these lists, so adding a type is adding a line, not a parser.
 */
export type FieldKind =
  | 'u8'
  | 'u16'
  | 'u32'
  | 'u48'
  | 'ttl' // u32 written as seconds, read also with BIND units (1h30m)
  | 'time' // u32 RRSIG time: YYYYMMDDHHmmSS (RFC 4034 §3.2)
  | 'type' // u16 RR type mnemonic
  | 'ipv4'
  | 'ipv6'
  | 'name'
  | 'string' // one <character-string>
  | 'strings' // one or more <character-string> up to the end
  | 'tag' // <character-string> printed bare (CAA tag)
  | 'textRest' // bytes up to the end printed as one quoted string (CAA value)
  | 'base64' // bytes up to the end, base64
  | 'hex' // bytes up to the end, hex
  | 'hex8' // 1-byte length + bytes, hex, "-" when empty (NSEC3 salt)
  | 'base32hex8' // 1-byte length + bytes, base32hex (NSEC3 next hashed owner)
  | 'bitmap' // RFC 4034 §4.1.2 type bitmap up to the end
  | 'svcParams' // RFC 9460 key=value list up to the end
  | 'base64len16'; // 2-byte length + bytes (TSIG MAC, other data)

export interface Field {
  readonly name: string;
  readonly kind: FieldKind;
}

/**
 * How names inside the RDATA may be compressed: `compress` for the RFC 1035 types (read and
 * written compressed), `decompress` for types RFC 3597 §4 says receivers must still
 * decompress but senders must not compress, `none` for everything newer (RFC 3597 §4).
 */
export type NameCompression = 'compress' | 'decompress' | 'none';

export interface RdataSchema {
  readonly type: number;
  readonly fields: readonly Field[];
  readonly names: NameCompression;
  /** Names are lowercased in canonical form (RFC 4034 §6.2 item 3, as amended by RFC 6840 §5.1). */
  readonly canonicalLowercase: boolean;
  /** Whether any field is a domain name. */
  readonly hasNames: boolean;
  /** The RDATA length when every field has a fixed size (A: 4, AAAA: 16), else undefined. */
  readonly fixedLength: number | undefined;
}

const f = (name: string, kind: FieldKind): Field => ({ name, kind });

// RFC 4034 §6.2 as corrected by RFC 6840 §5.1: NSEC and HINFO are not in the list.
const CANONICAL_LOWERCASE = new Set<number>([
  RRType.NS, RRType.MD, RRType.MF, RRType.CNAME, RRType.SOA, RRType.MB, RRType.MG, RRType.MR,
  RRType.PTR, RRType.MINFO, RRType.MX, RRType.RP, RRType.AFSDB, RRType.RT, RRType.SIG,
  RRType.PX, RRType.NXT, RRType.NAPTR, RRType.KX, RRType.SRV, RRType.DNAME, RRType.A6,
  RRType.RRSIG,
]);

const COMPRESSED = new Set<number>([
  RRType.NS, RRType.MD, RRType.MF, RRType.CNAME, RRType.SOA, RRType.MB, RRType.MG, RRType.MR,
  RRType.PTR, RRType.MINFO, RRType.MX,
]);

const DECOMPRESSED = new Set<number>([
  RRType.RP, RRType.AFSDB, RRType.RT, RRType.SIG, RRType.PX, RRType.NXT, RRType.NAPTR,
  RRType.SRV, RRType.KX, RRType.DNAME,
]);

const sigFields = [
  f('typeCovered', 'type'), f('algorithm', 'u8'), f('labels', 'u8'), f('originalTtl', 'u32'),
  f('expiration', 'time'), f('inception', 'time'), f('keyTag', 'u16'), f('signerName', 'name'),
  f('signature', 'base64'),
];
const keyFields = [f('flags', 'u16'), f('protocol', 'u8'), f('algorithm', 'u8'), f('publicKey', 'base64')];
const dsFields = [f('keyTag', 'u16'), f('algorithm', 'u8'), f('digestType', 'u8'), f('digest', 'hex')];
const svcbFields = [f('priority', 'u16'), f('target', 'name'), f('params', 'svcParams')];
const tlsaFields = [f('usage', 'u8'), f('selector', 'u8'), f('matchingType', 'u8'), f('data', 'hex')];
const singleName = (name: string) => [f(name, 'name')];

const definitions: ReadonlyArray<readonly [number, readonly Field[]]> = [
  [RRType.A, [f('address', 'ipv4')]],
  [RRType.NS, singleName('nsdname')],
  [RRType.MD, singleName('madname')],
  [RRType.MF, singleName('madname')],
  [RRType.CNAME, singleName('target')],
  [RRType.SOA, [
    f('mname', 'name'), f('rname', 'name'), f('serial', 'u32'), f('refresh', 'ttl'),
    f('retry', 'ttl'), f('expire', 'ttl'), f('minimum', 'ttl'),
  ]],
  [RRType.MB, singleName('madname')],
  [RRType.MG, singleName('mgmname')],
  [RRType.MR, singleName('newname')],
  [RRType.PTR, singleName('ptrdname')],
  [RRType.HINFO, [f('cpu', 'string'), f('os', 'string')]],
  [RRType.MINFO, [f('rmailbx', 'name'), f('emailbx', 'name')]],
  [RRType.MX, [f('preference', 'u16'), f('exchange', 'name')]],
  [RRType.TXT, [f('strings', 'strings')]],
  [RRType.RP, [f('mbox', 'name'), f('txt', 'name')]],
  [RRType.AFSDB, [f('subtype', 'u16'), f('hostname', 'name')]],
  [RRType.RT, [f('preference', 'u16'), f('host', 'name')]],
  [RRType.SIG, sigFields],
  [RRType.KEY, keyFields],
  [RRType.PX, [f('preference', 'u16'), f('map822', 'name'), f('mapx400', 'name')]],
  [RRType.AAAA, [f('address', 'ipv6')]],
  [RRType.NXT, [f('next', 'name'), f('types', 'bitmap')]],
  [RRType.SRV, [f('priority', 'u16'), f('weight', 'u16'), f('port', 'u16'), f('target', 'name')]],
  [RRType.NAPTR, [
    f('order', 'u16'), f('preference', 'u16'), f('flags', 'string'), f('services', 'string'),
    f('regexp', 'string'), f('replacement', 'name'),
  ]],
  [RRType.KX, [f('preference', 'u16'), f('exchanger', 'name')]],
  [RRType.DNAME, singleName('target')],
  [RRType.DS, dsFields],
  [RRType.SSHFP, [f('algorithm', 'u8'), f('fpType', 'u8'), f('fingerprint', 'hex')]],
  [RRType.RRSIG, sigFields],
  [RRType.NSEC, [f('next', 'name'), f('types', 'bitmap')]],
  [RRType.DNSKEY, keyFields],
  [RRType.DHCID, [f('data', 'base64')]],
  [RRType.NSEC3, [
    f('hashAlgorithm', 'u8'), f('flags', 'u8'), f('iterations', 'u16'), f('salt', 'hex8'),
    f('nextHashed', 'base32hex8'), f('types', 'bitmap'),
  ]],
  [RRType.NSEC3PARAM, [f('hashAlgorithm', 'u8'), f('flags', 'u8'), f('iterations', 'u16'), f('salt', 'hex8')]],
  [RRType.TLSA, tlsaFields],
  [RRType.SMIMEA, tlsaFields],
  [RRType.CDS, dsFields],
  [RRType.CDNSKEY, keyFields],
  [RRType.OPENPGPKEY, [f('key', 'base64')]],
  [RRType.CSYNC, [f('serial', 'u32'), f('flags', 'u16'), f('types', 'bitmap')]],
  [RRType.ZONEMD, [f('serial', 'u32'), f('scheme', 'u8'), f('hashAlgorithm', 'u8'), f('digest', 'hex')]],
  [RRType.SVCB, svcbFields],
  [RRType.HTTPS, svcbFields],
  [RRType.SPF, [f('strings', 'strings')]],
  [RRType.TSIG, [
    f('algorithm', 'name'), f('timeSigned', 'u48'), f('fudge', 'u16'), f('mac', 'base64len16'),
    f('originalId', 'u16'), f('error', 'u16'), f('otherData', 'base64len16'),
  ]],
  [RRType.URI, [f('priority', 'u16'), f('weight', 'u16'), f('target', 'textRest')]],
  [RRType.CAA, [f('flags', 'u8'), f('tag', 'tag'), f('value', 'textRest')]],
];

const FIXED_SIZES: Partial<Record<FieldKind, number>> = { u8: 1, u16: 2, u32: 4, u48: 6, ttl: 4, time: 4, type: 2, ipv4: 4, ipv6: 16 };

function fixedLength(fields: readonly Field[]): number | undefined {
  let n = 0;
  for (const field of fields) {
    const size = FIXED_SIZES[field.kind];
    if (size === undefined) return undefined;
    n += size;
  }
  return n;
}

const schemas = new Map<number, RdataSchema>(
  definitions.map(([type, fields]) => [
    type,
    {
      type,
      fields,
      names: COMPRESSED.has(type) ? 'compress' : DECOMPRESSED.has(type) ? 'decompress' : 'none',
      canonicalLowercase: CANONICAL_LOWERCASE.has(type),
      hasNames: fields.some((x) => x.kind === 'name'),
      fixedLength: fixedLength(fields),
    },
  ]),
);

/** The schema of a type, or undefined for types handled as opaque RFC 3597 data. */
export function rdataSchema(type: number): RdataSchema | undefined {
  return schemas.get(type);
}

export function hasNameFields(schema: RdataSchema): boolean {
  return schema.hasNames;
}
