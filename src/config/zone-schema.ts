import { resolve } from 'node:path';
import type { CidrPrefix } from './cidr.js';
import { SIGNING_DEFAULTS, ZONE_DEFAULTS } from './defaults.js';
import { INVALID, boolean, either, fail, integer, listOf, oneOf, optional, required, table, text, withDefault, type Schema } from './schema-kit.js';
import { parseSocketAddress, type SocketAddress } from './socket-address.js';
import { attempt, byteSize, cidr, duration, filePath, socketAddress, zoneName } from './value-schemas.js';

// `zones:` and `tsigKeys:`: local zones, their signing, updates, transfers and key storage.

export const SIGNING_ALGORITHMS = ['RSASHA256', 'RSASHA512', 'ECDSAP256SHA256', 'ECDSAP384SHA384', 'ED25519', 'ED448'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export interface Nsec3Options {
  readonly iterations: number;
  readonly saltLength: number;
  readonly optOut: boolean;
}

/** Zone signing options; durations and TTLs in seconds. */
export interface SigningOptions {
  readonly algorithm: SigningAlgorithm;
  readonly denial: 'nsec' | 'nsec3';
  readonly nsec3: Nsec3Options;
  /** Rollover frequencies: how long a key signs before it is rolled. */
  readonly kskRollover: number;
  readonly zskRollover: number;
  /** How long a signature over the DNSKEY RRset is valid. */
  readonly dnskeySignatureValidity: number;
  /** Validity of signatures over DS RRsets (delegations to signed children). */
  readonly dsSignatureValidity: number;
  /** How long every other signature is valid. */
  readonly signatureValidity: number;
  /** How far before now a new signature's inception is set, for clocks running behind. */
  readonly signatureInception: number;
  readonly dnskeyTtl: number;
  readonly dsTtl: number;
  readonly dsDigest: 'sha256' | 'sha384';
  /** Roll KSKs with RFC 5011 revocation and hold-down (EnableRfc5011KeyRollover): a standby KSK and a pre-published next ZSK from the start. */
  readonly rfc5011: boolean;
  /** RSA key sizes in bits; 0: the algorithm's default (fixed for ECDSA and EdDSA). */
  readonly kskKeySize: number;
  readonly zskKeySize: number;
  /** Put the zone's trust anchor into this server's own trust anchor store. */
  readonly distributeTrustAnchor: boolean;
}

export interface ZoneConfig {
  /** Lowercased, fully qualified (`home.arpa.`). */
  readonly name: string;
  /** The zone file; absent only for a secondary zone (`primary`). */
  readonly file: string;
  /** AXFR/IXFR clients: address prefixes and TSIG keys (docs/zone-transfers.md). */
  readonly allowTransfer: readonly TransferAclEntry[];
  /** Absent: the zone is served unsigned. */
  readonly signing?: SigningOptions;
  /** RFC 2136 dynamic UPDATE; absent: every UPDATE is refused. */
  readonly update?: ZoneUpdateConfig;
  /** Secondaries told of every serial change (RFC 1996): addresses, and "ns" for the NS set's in-zone addresses. */
  readonly notify: readonly (SocketAddress | 'ns')[];
  /** TSIG key (a name from `tsigKeys` or an update key) that signs NOTIFYs sent and transfers fetched. */
  readonly tsig?: string;
  /** How the serial moves on; "keep": as the zone file's serial looks (BIND's serial-update-method). */
  readonly serial: 'keep' | 'increment' | 'date' | 'unixtime';
  /** IXFR history kept (src/authority/ixfr-journal.ts). */
  readonly journal: { readonly maxVersions: number; readonly maxSize: number };
  /** A secondary zone: transferred in from these primaries (no `file`). */
  readonly primary?: readonly SocketAddress[];
  /** Where the zone's private keys are: PKCS#8 files in the state dir (absent, `file`) or a PKCS#11 token. */
  readonly keyStorage?: 'file' | { readonly pkcs11: Pkcs11KeyStorage };
}

/** `keyStorage: { pkcs11: { module, token, pinFile } }` (src/authority/pkcs11-token.ts). */
export interface Pkcs11KeyStorage {
  readonly module: string;
  readonly token: string;
  readonly pinFile: string;
}

/** An `allowTransfer` entry: an address prefix, or a TSIG key (optionally from a prefix too). Both carry `text` for display. */
export type TransferAclEntry = CidrPrefix | { readonly key: string; readonly address?: CidrPrefix; readonly text: string };

export const TSIG_ALGORITHMS = ['hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const;

/** A TSIG key (RFC 8945), as `nsupdate -y ALGORITHM:NAME:SECRET` names it. */
export interface TsigKeyConfig {
  /** Lowercased, fully qualified. */
  readonly name: string;
  readonly algorithm: (typeof TSIG_ALGORITHMS)[number];
  /** The shared secret, base64 (as `tsig-keygen` prints it). */
  readonly secret: string;
}

/** Who may send UPDATEs: signed with one of `keys` (TSIG is required), from an address in `allow` (empty: any address). */
export interface ZoneUpdateConfig {
  readonly keys: readonly TsigKeyConfig[];
  readonly allow: readonly CidrPrefix[];
  /** Records (prerequisites and updates) one UPDATE may hold; more is REFUSED. Default 2000. */
  readonly maxRecords?: number;
}

const nsec3Schema = table<Nsec3Options>({
  iterations: withDefault(integer(0, 500), SIGNING_DEFAULTS.nsec3.iterations),
  saltLength: withDefault(integer(0, 255), SIGNING_DEFAULTS.nsec3.saltLength),
  optOut: withDefault(boolean(), SIGNING_DEFAULTS.nsec3.optOut),
});

const signingTable = table<SigningOptions>(
  {
    algorithm: withDefault(oneOf(SIGNING_ALGORITHMS), SIGNING_DEFAULTS.algorithm),
    denial: withDefault(oneOf(['nsec', 'nsec3'] as const), SIGNING_DEFAULTS.denial),
    nsec3: withDefault(nsec3Schema, {}),
    kskRollover: withDefault(duration(3600), SIGNING_DEFAULTS.kskRollover),
    zskRollover: withDefault(duration(3600), SIGNING_DEFAULTS.zskRollover),
    dnskeySignatureValidity: withDefault(duration(3600), SIGNING_DEFAULTS.dnskeySignatureValidity),
    dsSignatureValidity: withDefault(duration(3600), SIGNING_DEFAULTS.dsSignatureValidity),
    signatureValidity: withDefault(duration(3600), SIGNING_DEFAULTS.signatureValidity),
    signatureInception: withDefault(duration(0), SIGNING_DEFAULTS.signatureInception),
    dnskeyTtl: withDefault(duration(0), SIGNING_DEFAULTS.dnskeyTtl),
    dsTtl: withDefault(duration(0), SIGNING_DEFAULTS.dsTtl),
    dsDigest: withDefault(oneOf(['sha256', 'sha384'] as const), SIGNING_DEFAULTS.dsDigest),
    rfc5011: withDefault(boolean(), SIGNING_DEFAULTS.rfc5011),
    kskKeySize: withDefault(integer(0, 4096), SIGNING_DEFAULTS.kskKeySize),
    zskKeySize: withDefault(integer(0, 4096), SIGNING_DEFAULTS.zskKeySize),
    distributeTrustAnchor: withDefault(boolean(), SIGNING_DEFAULTS.distributeTrustAnchor),
  },
  (options, report) => {
    if (options.denial === 'nsec' && (options.nsec3.iterations !== 0 || options.nsec3.saltLength !== 0 || options.nsec3.optOut))
      report(['nsec3'], 'NSEC3 options are set but denial is "nsec"');
  },
);

/**
 * `signing: defaults` as parsed options: SIGNING_DEFAULTS (defaults.ts, the one definition of the
 * signing defaults) read by the same schema as a config file's `signing:` table.
 */
export function defaultSigningOptions(): SigningOptions {
  const errors: string[] = [];
  const parsed = signingTable.parse({}, ['signing'], { baseDir: '.', report: (path, message) => errors.push(`${path.join('.')}: ${message}`) });
  if (parsed === INVALID || errors.length > 0) throw new Error(`SIGNING_DEFAULTS do not parse: ${errors.join('; ')}`);
  return parsed;
}

const keyStorageSchema = either<'file' | { pkcs11: Pkcs11KeyStorage }>('"file" or { pkcs11: { module, token, pinFile } }', (value) => {
  if (value === 'file') return { expected: '"file"', parse: () => 'file' as const };
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return table<{ pkcs11: Pkcs11KeyStorage }>({
      pkcs11: required(table<Pkcs11KeyStorage>({ module: required(filePath), token: required(text('a token label', (v) => (v.trim() === '' ? fail('must not be empty') : v))), pinFile: required(filePath) })),
    });
  return undefined;
});

const signingSchema = either<SigningOptions>('"defaults" or a table of signing options', (value) => {
  if (value === 'defaults') return { expected: '"defaults"', parse: (_v, path, ctx) => signingTable.parse({}, path, ctx) };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return signingTable;
  return undefined;
});

const tsigSecret = text('a base64 secret such as tsig-keygen prints', (value) => {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) return fail(`"${value.slice(0, 8)}…" is not base64`);
  return Buffer.from(value, 'base64').length >= 16 ? value : fail('a TSIG secret must be at least 16 octets (RFC 8945 §6: as long as the hash)');
});

export const tsigKeySchema = table<TsigKeyConfig>({
  name: required(zoneName),
  algorithm: withDefault(oneOf(TSIG_ALGORITHMS), 'hmac-sha256'),
  secret: required(tsigSecret),
});

const zoneUpdateSchema = table<ZoneUpdateConfig>({
  keys: required(listOf(tsigKeySchema, { minItems: 1, unique: { key: (k) => k.name, field: 'name' } })),
  allow: withDefault(listOf(cidr), []),
  maxRecords: withDefault(integer(1, 65535), 2000),
});

const transferKeyEntry = table<{ key: string; address: CidrPrefix | undefined }>({ key: required(zoneName), address: optional(cidr) });

const transferAclEntry = either<TransferAclEntry>('a CIDR prefix or { key: NAME, address: PREFIX }', (value) => {
  if (typeof value === 'string') return cidr;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return {
    expected: 'a table { key: NAME, address: PREFIX }',
    parse: (v, path, ctx) => {
      const e = transferKeyEntry.parse(v, path, ctx);
      if (typeof e !== 'object') return e;
      return { key: e.key, ...(e.address ? { address: e.address } : {}), text: `key ${e.key}${e.address ? ` from ${e.address.text}` : ''}` };
    },
  } as Schema<TransferAclEntry>;
});

const notifyTarget = text<SocketAddress | 'ns'>('"ns" or ADDR[:PORT]', (value) => (value === 'ns' ? 'ns' : attempt(() => parseSocketAddress(value, 53))));

export const zoneSchema = table<ZoneConfig>(
  {
    name: required(zoneName),
    file: withDefault(text('a file path', (value, ctx) => (value === '' ? '' : resolve(ctx.baseDir, value))), ''),
    allowTransfer: withDefault(listOf(transferAclEntry), ZONE_DEFAULTS.allowTransfer),
    signing: optional(signingSchema),
    update: optional(zoneUpdateSchema),
    notify: withDefault(listOf(notifyTarget), ZONE_DEFAULTS.notify),
    tsig: optional(zoneName),
    serial: withDefault(oneOf(['keep', 'increment', 'date', 'unixtime'] as const), ZONE_DEFAULTS.serial),
    journal: withDefault(
      table<ZoneConfig['journal']>({
        maxVersions: withDefault(integer(1, 1_000_000), ZONE_DEFAULTS.journal.maxVersions),
        maxSize: withDefault(byteSize, ZONE_DEFAULTS.journal.maxSize),
      }),
      {},
    ),
    primary: optional(listOf(socketAddress(53), { minItems: 1 })),
    keyStorage: optional(keyStorageSchema),
  },
  (zone, report) => {
    if (zone.primary === undefined && zone.file === '') report([], 'missing required key "file" (a file path)');
    if (zone.primary !== undefined && zone.file !== '') report(['primary'], 'a secondary zone has no "file": it is transferred from its primaries');
    if (zone.primary !== undefined && (zone.signing !== undefined || zone.update !== undefined))
      report([zone.signing !== undefined ? 'signing' : 'update'], 'a secondary zone is served as transferred: no signing, no updates');
  },
);

