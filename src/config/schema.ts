import { resolve } from 'node:path';
import { keyFileNameInfo } from '../wire/key-files.js';
import { Name } from '../wire/name.js';
import { parseCidr, type CidrPrefix } from './cidr.js';
import { CONFIG_DEFAULTS, POLICY_RULE_DEFAULTS, SIGNING_DEFAULTS, ZONE_DEFAULTS } from './defaults.js';
import { formatDuration, parseDuration } from './duration.js';
import { type CookiesConfig, type LocalZonesConfig, cookiesSchema, localZonesSchema, rootAnchorsSignatureSchema } from './good-citizen-schema.js';
import {
  boolean,
  describeValue,
  either,
  fail,
  Failure,
  integer,
  leaf,
  listOf,
  oneOf,
  optional,
  required,
  table,
  text,
  withDefault,
  type Schema,
} from './schema-kit.js';
import { formatSocketAddress, isLoopbackAddress, parseSocketAddress, type SocketAddress } from './socket-address.js';

// ---------------------------------------------------------------------------------------------
// Types: the validated configuration. Paths are absolute, durations are seconds, addresses parsed.
// ---------------------------------------------------------------------------------------------

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const SIGNING_ALGORITHMS = ['RSASHA256', 'RSASHA512', 'ECDSAP256SHA256', 'ECDSAP384SHA384', 'ED25519', 'ED448'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export type RootHintsSource = { readonly kind: 'builtin' } | { readonly kind: 'file'; readonly path: string };
/** `none`: no root trust point is bootstrapped (a lab with a private root imports its own anchors). */
export type RootAnchorsSource = { readonly kind: 'url'; readonly url: string } | { readonly kind: 'file'; readonly path: string } | { readonly kind: 'none' };

export interface LogConfig {
  readonly level: LogLevel;
}

export interface RecursionConfig {
  /** Clients allowed to ask for recursion; everyone else gets REFUSED for non-local names. */
  readonly allow: readonly CidrPrefix[];
}

export interface ResolverLimitsConfig {
  readonly maxReferrals: number;
  readonly maxCnameChain: number;
  readonly maxNsLookupsPerDelegation: number;
  readonly maxUpstreamQueries: number;
  readonly maxDepth: number;
  /** Seconds. */
  readonly deadline: number;
  readonly maxMinimiseSteps: number;
  /** Upstream queries in flight, in total and to one server; docs/resource-limits.md. */
  readonly maxInFlight: number;
  readonly maxInFlightPerServer: number;
  /** Milliseconds a query in flight must have waited before a new one may take its place. */
  readonly jostleAfterMs: number;
}

/** DNS-over-TCP connections (docs/resource-limits.md). */
export interface TcpConfig {
  readonly maxConnections: number;
  readonly maxConnectionsPerPrefix: number;
  /** Prefix lengths that group client addresses into one network. */
  readonly prefixV4: number;
  readonly prefixV6: number;
}

export interface ResolverCacheConfig {
  /** Bytes. */
  readonly maxSize: number;
  /** Seconds. */
  readonly minTtl: number;
  readonly maxTtl: number;
  readonly maxNegativeTtl: number;
}

/** RFC 8767 (docs/cache.md). */
export interface ServeStaleConfig {
  readonly enable: boolean;
  /** Seconds past expiry an answer may still be served when its servers cannot be reached. */
  readonly maxStale: number;
  /** Milliseconds a client waits for a resolution before it gets the stale answer (RFC 8767 §5); 0: until the resolution ends. */
  readonly clientTimeoutMs: number;
}

export interface ResolverConfig {
  readonly rootHints: RootHintsSource;
  /** Forward-only when not empty. */
  readonly forwarders: readonly SocketAddress[];
  /** RFC 9156. */
  readonly qnameMinimisation: boolean;
  /** RFC 8198: NXDOMAIN/NODATA from validated NSEC/NSEC3 ranges, without an upstream query. */
  readonly aggressiveNsec: boolean;
  readonly limits: ResolverLimitsConfig;
  readonly cache: ResolverCacheConfig;
  readonly serveStale: ServeStaleConfig;
  /** Refresh a cached answer asked for in the last tenth of its TTL (docs/cache.md). */
  readonly prefetch: boolean;
  /** RFC 6761/6303/7686/8375 zones answered here (good-citizen-schema.ts). */
  readonly localZones: LocalZonesConfig;
}

export interface DnssecConfig {
  /** Serve DNSSEC records at all (the Microsoft server's EnableDnsSec). */
  readonly enable: boolean;
  readonly validation: boolean;
  /** Seconds of clock skew tolerated at both ends of a signature's validity window. */
  readonly clockSkew: number;
  /** Seconds a bogus verdict is kept before the data is fetched and checked again. */
  readonly bogusTtl: number;
  readonly limits: ValidationLimitsConfig;
  /** RFC 8145 §5: tell each trust point's servers which key tags we trust (`_ta-` queries). */
  readonly keyTagSignaling: boolean;
  /** RFC 8509: answer root-key-sentinel-is-ta-/not-ta- queries from the root trust anchors. */
  readonly rootKeySentinel: boolean;
  /** Key rollover timers of signed local zones, in seconds (src/authority/rollover/rollover-state.ts). */
  readonly rollover: RolloverConfig;
}

export interface RolloverConfig {
  readonly minimumWait: number;
  readonly propagationDelay: number;
  readonly parentPropagationDelay: number;
  /** The secure delegation polling period: how often the parent's DS is checked while a KSK waits for it. */
  readonly dsPollingPeriod: number;
  readonly addHoldDown: number;
  readonly removeHoldDown: number;
  readonly minRefresh: number;
  /** Retired keys of signed local zones are deleted from the key store this long after they were retired. */
  readonly retiredKeyRetention: number;
}

/** Bounds on the validation work of one client query (KeyTrap, NSEC3 hash exhaustion). */
export interface ValidationLimitsConfig {
  readonly maxKeysPerKeyTag: number;
  readonly maxSignaturesPerRrset: number;
  readonly maxSignatureChecks: number;
  readonly maxNsec3Hashes: number;
  readonly maxNsec3Iterations: number;
  readonly maxDenialRecords: number;
}

/** RFC 5011 timers, in seconds. */
export interface Rfc5011Config {
  readonly addHoldDown: number;
  readonly removeHoldDown: number;
  readonly minRefresh: number;
}

export interface TrustAnchorsConfig {
  readonly rootAnchors: RootAnchorsSource;
  /** The detached signature of rootAnchors (URL or file); absent: beside it, `.xml` → `.p7s`. */
  readonly rootAnchorsSignature?: string;
  /** The CA (PEM) that signature must chain to; absent: the shipped trust-anchors/icannbundle.pem. */
  readonly rootAnchorsCa?: string;
  /** keyset-/dsset- files loaded at start. */
  readonly import: readonly string[];
  readonly rfc5011: Rfc5011Config;
}

/** One NRPT-like rule; the longest matching namespace wins. At most one of the three modes is true. */
export interface PolicyRule {
  /** Lowercased as written: `.corp.example` (leading dot: the suffix), `corp.example`, or `.`. */
  readonly namespace: string;
  readonly requireValidation: boolean;
  /** Validate and log failures, but answer anyway. */
  readonly logOnly: boolean;
  /** Do not validate this namespace (optionally only `until` a time). */
  readonly noValidation: boolean;
  readonly until?: Date;
  /** Forwarders for this namespace; empty: the resolver's own. */
  readonly forwarders: readonly SocketAddress[];
}

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
  readonly kskRollover: number;
  readonly zskRollover: number;
  readonly dnskeySignatureValidity: number;
  /** Validity of signatures over DS RRsets (delegations to signed children). */
  readonly dsSignatureValidity: number;
  readonly signatureValidity: number;
  /** How far before now a new signature's inception is set. */
  readonly signatureInception: number;
  readonly dnskeyTtl: number;
  readonly dsTtl: number;
  readonly dsDigest: 'sha256' | 'sha384';
  /** Roll KSKs with RFC 5011 revocation and hold-down (EnableRfc5011KeyRollover). */
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

/** Response rate limiting of authoritative answers over UDP (src/server/response-rate-limiter.ts). */
export interface RateLimitConfig {
  /** Identical answers per second to one client network; 0 (the default, as BIND and Knot ship): off. */
  readonly responsesPerSecond: number;
  readonly nxdomainsPerSecond?: number;
  readonly errorsPerSecond?: number;
  readonly slip: number;
  readonly ipv4PrefixLength: number;
  readonly ipv6PrefixLength: number;
}

/** The authoritative server's own safety settings. */
export interface AuthorityConfig {
  /** The directory `zone add --file` may read zone files from (and `$INCLUDE` within); absent: STATEDIR/zones. */
  readonly zonesDir?: string;
  readonly rateLimit: RateLimitConfig;
}

export interface KeymasterConfig {
  /** DNS over UDP and TCP. */
  readonly listen: readonly SocketAddress[];
  readonly stateDir: string;
  /** Control API address (loopback only); its token file is in stateDir. */
  readonly control: SocketAddress;
  readonly log: LogConfig;
  readonly recursion: RecursionConfig;
  readonly resolver: ResolverConfig;
  readonly tcp: TcpConfig;
  readonly dnssec: DnssecConfig;
  readonly trustAnchors: TrustAnchorsConfig;
  readonly policy: readonly PolicyRule[];
  readonly zones: readonly ZoneConfig[];
  /** TSIG keys for zone transfers and NOTIFY, besides those of `zones[].update.keys`. */
  readonly tsigKeys: readonly TsigKeyConfig[];
  /** DNS cookies, server and upstream (good-citizen-schema.ts). */
  readonly cookies: CookiesConfig;
  /** Absent in hand-made configs (tests): the defaults. */
  readonly authority?: AuthorityConfig;
  /** DNS over TLS (RFC 7858); needs `tls`. */
  readonly listenTls: readonly SocketAddress[];
  /** DNS over HTTPS (RFC 8484) at /dns-query; needs `tls`. */
  readonly listenHttps: readonly SocketAddress[];
  /** Certificate and key (PEM files) for DoT and DoH; reloaded when either file changes. */
  readonly tls: TlsFilesConfig | undefined;
  /** Prometheus text at /metrics on the control address. */
  readonly metrics: boolean;
  /** The web console on the control address. */
  readonly console: boolean;
  /** The console (and the control API under it) also over HTTPS on these addresses; needs `tls`. */
  readonly consoleListen: readonly SocketAddress[];
}

export interface TlsFilesConfig {
  readonly cert: string;
  readonly key: string;
}

// ---------------------------------------------------------------------------------------------
// Leaf schemas. Those a command-line flag can override are exported for `overrides.ts`.
// ---------------------------------------------------------------------------------------------

function attempt<T>(parse: () => T): T | Failure {
  try {
    return parse();
  } catch (error) {
    return fail((error as Error).message);
  }
}

function socketAddress(defaultPort?: number): Schema<SocketAddress> {
  return text(defaultPort === undefined ? 'ADDR:PORT' : 'ADDR[:PORT]', (value) => attempt(() => parseSocketAddress(value, defaultPort)));
}

const byteSize = leaf('a size such as 128m, 512k or 1g', (value) => {
  const m = /^([0-9]+)([kmg]?)b?$/i.exec(String(value).trim());
  if ((typeof value !== 'string' && typeof value !== 'number') || !m) return fail(`must be a size such as 128m, 512k or 1g, got ${describeValue(value)}`);
  const bytes = Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return bytes >= 1024 * 1024 ? bytes : fail(`${JSON.stringify(value)} is below the minimum of 1m`);
});

const cidr = text<CidrPrefix>('a CIDR prefix such as "10.0.0.0/8"', (value) => attempt(() => parseCidr(value)));

/** A path; relative ones are resolved against the working directory (the context's baseDir). */
export const filePath = text('a file path', (value, ctx) => (value.trim() === '' ? fail('must not be empty') : resolve(ctx.baseDir, value)));

const duration = (minSeconds: number) =>
  leaf('a duration such as 30d, 12h, 90m or 45s', (value) => {
    if (typeof value !== 'string' && typeof value !== 'number')
      return fail(`must be a duration such as 30d, 12h, 90m or 45s, got ${describeValue(value)}`);
    const seconds = attempt(() => parseDuration(value));
    if (seconds instanceof Failure) return seconds;
    return seconds >= minSeconds ? seconds : fail(`must be at least ${formatDuration(minSeconds)}, got ${formatDuration(seconds)}`);
  });

function domainName(value: string): Name | Failure {
  if (/\s/.test(value)) return fail(`"${value}" is not a domain name (contains white space)`);
  return attempt(() => {
    try {
      return Name.parse(value);
    } catch (error) {
      throw new Error(`"${value}" is not a domain name: ${(error as Error).message}`);
    }
  });
}

const zoneName = text('a domain name such as "home.arpa."', (value) => {
  const name = domainName(value);
  return name instanceof Name ? name.lowercase().toString() : name;
});

/** NRPT style: `.corp.example` is the suffix (the name and below), `corp.example` the name, `.` all. */
const namespace = text('a namespace such as ".corp.example"', (value) => {
  if (value === '.') return '.';
  const suffix = value.startsWith('.');
  const body = suffix ? value.slice(1) : value;
  if (body === '' || body.startsWith('.')) return fail(`"${value}" is not a namespace (empty label)`);
  const name = domainName(body);
  if (name instanceof Failure) return name;
  return `${suffix ? '.' : ''}${name.lowercase().toString().slice(0, -1)}`;
});

const timestamp = text<Date>('an ISO 8601 time such as "2026-12-31T00:00:00Z"', (value) => {
  const time = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(time) ? fail(`"${value}" is not an ISO 8601 time (e.g. "2026-12-31T00:00:00Z")`) : new Date(time);
});

export const listenSchema = listOf(socketAddress(53), { minItems: 1, unique: { key: formatSocketAddress } });

export const stateDirSchema = filePath;

export const controlSchema = text<SocketAddress>('a loopback ADDR:PORT', (value) => {
  const address = attempt(() => parseSocketAddress(value));
  if (address instanceof Failure) return address;
  return isLoopbackAddress(address.host)
    ? address
    : fail(`"${value}" is not a loopback address; the control API listens only on 127.0.0.0/8 or ::1`);
});

export const rootHintsSchema = text<RootHintsSource>('"builtin" or a named.root-style file', (value, ctx) => {
  if (value === 'builtin') return { kind: 'builtin' };
  return value.trim() === '' ? fail('must be "builtin" or a file path') : { kind: 'file', path: resolve(ctx.baseDir, value) };
});

/** trustAnchors.import: the zone comes from the name (keyset-ZONE, dsset-ZONE) so a file that cannot be read still fails its zone closed. */
const anchorFilePath = text('a keyset- or dsset- file path', (value, ctx) => {
  if (value.trim() === '') return fail('must not be empty');
  if (!keyFileNameInfo(value)) return fail(`"${value}": the file name must be keyset-ZONE or dsset-ZONE (as BIND and a Key Master name them)`);
  return resolve(ctx.baseDir, value);
});

export const rootAnchorsSchema = text<RootAnchorsSource>('a URL or file of root-anchors.xml, or "none"', (value, ctx) => {
  if (value === 'none') return { kind: 'none' };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (scheme) {
    if (!/^https?$/i.test(scheme[1]!)) return fail(`"${value}": only http and https URLs are fetched; give a file as a path`);
    return attempt(() => ({ kind: 'url' as const, url: new URL(value).href }));
  }
  if (value.trim() === '') return fail('must not be empty');
  return { kind: 'file', path: resolve(ctx.baseDir, value) };
});

// ---------------------------------------------------------------------------------------------
// Tables.
// ---------------------------------------------------------------------------------------------

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

const tsigKeySchema = table<TsigKeyConfig>({
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

const zoneSchema = table<ZoneConfig>(
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

const policyRuleSchema = table<PolicyRule>(
  {
    namespace: required(namespace),
    requireValidation: withDefault(boolean(), POLICY_RULE_DEFAULTS.requireValidation),
    logOnly: withDefault(boolean(), POLICY_RULE_DEFAULTS.logOnly),
    noValidation: withDefault(boolean(), POLICY_RULE_DEFAULTS.noValidation),
    until: optional(timestamp),
    forwarders: withDefault(listOf(socketAddress(53)), POLICY_RULE_DEFAULTS.forwarders),
  },
  (rule, report) => {
    const modes = (['requireValidation', 'logOnly', 'noValidation'] as const).filter((mode) => rule[mode]);
    if (modes.length > 1) report([modes[1]!], `cannot be combined with ${modes[0]}: a rule has one validation mode`);
    if (rule.until !== undefined && !rule.noValidation) report(['until'], 'applies only to a rule with noValidation: true');
  },
);

export const configSchema: Schema<KeymasterConfig> = table<KeymasterConfig>({
  listen: withDefault(listenSchema, CONFIG_DEFAULTS.listen),
  stateDir: withDefault(stateDirSchema, CONFIG_DEFAULTS.stateDir),
  control: withDefault(controlSchema, CONFIG_DEFAULTS.control),
  log: withDefault(table<LogConfig>({ level: withDefault(oneOf(LOG_LEVELS), CONFIG_DEFAULTS.log.level) }), {}),
  recursion: withDefault(table<RecursionConfig>({ allow: withDefault(listOf(cidr), CONFIG_DEFAULTS.recursion.allow) }), {}),
  resolver: withDefault(
    table<ResolverConfig>({
      rootHints: withDefault(rootHintsSchema, CONFIG_DEFAULTS.resolver.rootHints),
      forwarders: withDefault(listOf(socketAddress(53), { unique: { key: formatSocketAddress } }), CONFIG_DEFAULTS.resolver.forwarders),
      qnameMinimisation: withDefault(boolean(), CONFIG_DEFAULTS.resolver.qnameMinimisation),
      aggressiveNsec: withDefault(boolean(), CONFIG_DEFAULTS.resolver.aggressiveNsec),
      limits: withDefault(
        table<ResolverLimitsConfig>({
          maxReferrals: withDefault(integer(1, 100), CONFIG_DEFAULTS.resolver.limits.maxReferrals),
          maxCnameChain: withDefault(integer(1, 64), CONFIG_DEFAULTS.resolver.limits.maxCnameChain),
          maxNsLookupsPerDelegation: withDefault(integer(1, 20), CONFIG_DEFAULTS.resolver.limits.maxNsLookupsPerDelegation),
          maxUpstreamQueries: withDefault(integer(1, 1000), CONFIG_DEFAULTS.resolver.limits.maxUpstreamQueries),
          maxDepth: withDefault(integer(1, 20), CONFIG_DEFAULTS.resolver.limits.maxDepth),
          deadline: withDefault(duration(1), CONFIG_DEFAULTS.resolver.limits.deadline),
          maxMinimiseSteps: withDefault(integer(0, 20), CONFIG_DEFAULTS.resolver.limits.maxMinimiseSteps),
          maxInFlight: withDefault(integer(16, 100_000), CONFIG_DEFAULTS.resolver.limits.maxInFlight),
          maxInFlightPerServer: withDefault(integer(1, 100_000), CONFIG_DEFAULTS.resolver.limits.maxInFlightPerServer),
          jostleAfterMs: withDefault(integer(10, 60_000), CONFIG_DEFAULTS.resolver.limits.jostleAfterMs),
        }, (limits, report) => {
          if (limits.maxInFlightPerServer > limits.maxInFlight) report(['maxInFlightPerServer'], `must not exceed maxInFlight (${limits.maxInFlight})`);
        }),
        {},
      ),
      cache: withDefault(
        table<ResolverCacheConfig>({
          maxSize: withDefault(byteSize, CONFIG_DEFAULTS.resolver.cache.maxSize),
          minTtl: withDefault(duration(0), CONFIG_DEFAULTS.resolver.cache.minTtl),
          maxTtl: withDefault(duration(1), CONFIG_DEFAULTS.resolver.cache.maxTtl),
          maxNegativeTtl: withDefault(duration(0), CONFIG_DEFAULTS.resolver.cache.maxNegativeTtl),
        }),
        {},
      ),
      serveStale: withDefault(
        table<ServeStaleConfig>({
          enable: withDefault(boolean(), CONFIG_DEFAULTS.resolver.serveStale.enable),
          maxStale: withDefault(duration(1), CONFIG_DEFAULTS.resolver.serveStale.maxStale),
          clientTimeoutMs: withDefault(integer(0, 60_000), CONFIG_DEFAULTS.resolver.serveStale.clientTimeoutMs),
        }),
        {},
      ),
      prefetch: withDefault(boolean(), CONFIG_DEFAULTS.resolver.prefetch),
      localZones: withDefault(localZonesSchema, {}),
    }),
    {},
  ),
  tcp: withDefault(
    table<TcpConfig>({
      maxConnections: withDefault(integer(1, 65_535), CONFIG_DEFAULTS.tcp.maxConnections),
      maxConnectionsPerPrefix: withDefault(integer(1, 65_535), CONFIG_DEFAULTS.tcp.maxConnectionsPerPrefix),
      prefixV4: withDefault(integer(8, 32), CONFIG_DEFAULTS.tcp.prefixV4),
      prefixV6: withDefault(integer(16, 128), CONFIG_DEFAULTS.tcp.prefixV6),
    }, (tcp, report) => {
      if (tcp.maxConnectionsPerPrefix > tcp.maxConnections) report(['maxConnectionsPerPrefix'], `must not exceed maxConnections (${tcp.maxConnections})`);
    }),
    {},
  ),
  dnssec: withDefault(
    table<DnssecConfig>({
      enable: withDefault(boolean(), CONFIG_DEFAULTS.dnssec.enable),
      validation: withDefault(boolean(), CONFIG_DEFAULTS.dnssec.validation),
      clockSkew: withDefault(duration(0), CONFIG_DEFAULTS.dnssec.clockSkew),
      bogusTtl: withDefault(duration(1), CONFIG_DEFAULTS.dnssec.bogusTtl),
      keyTagSignaling: withDefault(boolean(), CONFIG_DEFAULTS.dnssec.keyTagSignaling),
      rootKeySentinel: withDefault(boolean(), CONFIG_DEFAULTS.dnssec.rootKeySentinel),
      limits: withDefault(
        table<ValidationLimitsConfig>({
          maxKeysPerKeyTag: withDefault(integer(1, 64), CONFIG_DEFAULTS.dnssec.limits.maxKeysPerKeyTag),
          maxSignaturesPerRrset: withDefault(integer(1, 64), CONFIG_DEFAULTS.dnssec.limits.maxSignaturesPerRrset),
          maxSignatureChecks: withDefault(integer(4, 1000), CONFIG_DEFAULTS.dnssec.limits.maxSignatureChecks),
          maxNsec3Hashes: withDefault(integer(10, 100_000), CONFIG_DEFAULTS.dnssec.limits.maxNsec3Hashes),
          maxNsec3Iterations: withDefault(integer(0, 2500), CONFIG_DEFAULTS.dnssec.limits.maxNsec3Iterations),
          maxDenialRecords: withDefault(integer(2, 1000), CONFIG_DEFAULTS.dnssec.limits.maxDenialRecords),
        }),
        {},
      ),
      rollover: withDefault(
        table<RolloverConfig>({
          minimumWait: withDefault(duration(0), CONFIG_DEFAULTS.dnssec.rollover.minimumWait),
          propagationDelay: withDefault(duration(0), CONFIG_DEFAULTS.dnssec.rollover.propagationDelay),
          parentPropagationDelay: withDefault(duration(0), CONFIG_DEFAULTS.dnssec.rollover.parentPropagationDelay),
          dsPollingPeriod: withDefault(duration(1), CONFIG_DEFAULTS.dnssec.rollover.dsPollingPeriod),
          addHoldDown: withDefault(duration(0), CONFIG_DEFAULTS.dnssec.rollover.addHoldDown),
          removeHoldDown: withDefault(duration(0), CONFIG_DEFAULTS.dnssec.rollover.removeHoldDown),
          minRefresh: withDefault(duration(1), CONFIG_DEFAULTS.dnssec.rollover.minRefresh),
          retiredKeyRetention: withDefault(duration(0), CONFIG_DEFAULTS.dnssec.rollover.retiredKeyRetention),
        }),
        {},
      ),
    }),
    {},
  ),
  trustAnchors: withDefault(
    table<TrustAnchorsConfig>({
      rootAnchors: withDefault(rootAnchorsSchema, CONFIG_DEFAULTS.trustAnchors.rootAnchors),
      rootAnchorsSignature: optional(rootAnchorsSignatureSchema),
      rootAnchorsCa: optional(filePath),
      import: withDefault(listOf(anchorFilePath), CONFIG_DEFAULTS.trustAnchors.import),
      rfc5011: withDefault(
        table<Rfc5011Config>({
          addHoldDown: withDefault(duration(1), CONFIG_DEFAULTS.trustAnchors.rfc5011.addHoldDown),
          removeHoldDown: withDefault(duration(1), CONFIG_DEFAULTS.trustAnchors.rfc5011.removeHoldDown),
          minRefresh: withDefault(duration(1), CONFIG_DEFAULTS.trustAnchors.rfc5011.minRefresh),
        }),
        {},
      ),
    }),
    {},
  ),
  policy: withDefault(listOf(policyRuleSchema, { unique: { key: (rule) => rule.namespace, field: 'namespace' } }), CONFIG_DEFAULTS.policy),
  zones: withDefault(listOf(zoneSchema, { unique: { key: (zone) => zone.name, field: 'name' } }), CONFIG_DEFAULTS.zones),
  cookies: withDefault(cookiesSchema, {}),
  authority: withDefault(
    table<AuthorityConfig>({
      zonesDir: optional(filePath),
      rateLimit: withDefault(
        table<RateLimitConfig>({
          responsesPerSecond: withDefault(integer(0, 1_000_000), CONFIG_DEFAULTS.authority.rateLimit.responsesPerSecond),
          nxdomainsPerSecond: optional(integer(0, 1_000_000)),
          errorsPerSecond: optional(integer(0, 1_000_000)),
          slip: withDefault(integer(0, 10), CONFIG_DEFAULTS.authority.rateLimit.slip),
          ipv4PrefixLength: withDefault(integer(8, 32), CONFIG_DEFAULTS.authority.rateLimit.ipv4PrefixLength),
          ipv6PrefixLength: withDefault(integer(16, 128), CONFIG_DEFAULTS.authority.rateLimit.ipv6PrefixLength),
        }),
        {},
      ),
    }),
    {},
  ),
  listenTls: withDefault(listOf(socketAddress(853), { unique: { key: formatSocketAddress } }), CONFIG_DEFAULTS.listenTls),
  listenHttps: withDefault(listOf(socketAddress(443), { unique: { key: formatSocketAddress } }), CONFIG_DEFAULTS.listenHttps),
  tls: optional(table<TlsFilesConfig>({ cert: required(filePath), key: required(filePath) })),
  metrics: withDefault(boolean(), CONFIG_DEFAULTS.metrics),
  console: withDefault(boolean(), CONFIG_DEFAULTS.console),
  consoleListen: withDefault(listOf(socketAddress(8443), { unique: { key: formatSocketAddress } }), CONFIG_DEFAULTS.consoleListen),
  tsigKeys: withDefault(listOf(tsigKeySchema, { unique: { key: (k) => k.name, field: 'name' } }), CONFIG_DEFAULTS.tsigKeys),
}, (config, report) => {
  // Every key a zone names must be defined: in tsigKeys or in some zone's update.keys.
  const known = new Set([...config.tsigKeys.map((k) => k.name), ...config.zones.flatMap((z) => z.update?.keys.map((k) => k.name) ?? [])]);
  config.zones.forEach((z, i) => {
    if (z.tsig !== undefined && !known.has(z.tsig)) report(['zones', i, 'tsig'], `key ${z.tsig} is not defined (tsigKeys or an update key)`);
    z.allowTransfer.forEach((a, j) => {
      if ('key' in a && !known.has(a.key)) report(['zones', i, 'allowTransfer', j, 'key'], `key ${a.key} is not defined (tsigKeys or an update key)`);
    });
  });
  if (config.consoleListen.length > 0 && !config.console) report(['consoleListen'], 'is set but console is false');
  if (config.tls !== undefined) return;
  if (config.consoleListen.length > 0) report(['consoleListen'], 'the console off loopback is served over HTTPS only: set tls: { cert: FILE, key: FILE }');
  if (config.listenTls.length > 0) report(['listenTls'], 'DNS over TLS needs a certificate: set tls: { cert: FILE, key: FILE }');
  if (config.listenHttps.length > 0) report(['listenHttps'], 'DNS over HTTPS needs a certificate: set tls: { cert: FILE, key: FILE }');
});
