import { resolve } from 'node:path';
import { keyFileNameInfo } from '../wire/key-files.js';
import type { CidrPrefix } from './cidr.js';
import { CONFIG_DEFAULTS, POLICY_RULE_DEFAULTS } from './defaults.js';
import { type CookiesConfig, type LocalZonesConfig, cookiesSchema, localZonesSchema, rootAnchorsSignatureSchema } from './good-citizen-schema.js';
import { type TsigKeyConfig, type ZoneConfig, tsigKeySchema, zoneSchema } from './zone-schema.js';
import { type ClusterConfig, clusterSchema } from './cluster-schema.js';
import { attempt, byteSize, cidr, duration, filePath, namespace, socketAddress, timestamp } from './value-schemas.js';
import {
  boolean,
  fail,
  Failure,
  integer,
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

export * from './zone-schema.js';
export type { ClusterConfig } from './cluster-schema.js';
export { filePath } from './value-schemas.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];


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

/** Where upstream UDP queries go out from (docs/outgoing-ports.md; Unbound's outgoing-range, outgoing-port-permit). */
export interface OutgoingConfig {
  /** UDP sockets open at once; a query waits for one beyond that. */
  readonly range: number;
  /** Source ports are drawn at random from portMin…portMax; ports in use are skipped. */
  readonly portMin: number;
  readonly portMax: number;
  /** Queries a socket carries (one at a time) before it is closed; 1: a fresh port per query. */
  readonly queriesPerSocket: number;
  /** Milliseconds after which a socket is no longer reused. */
  readonly maxSocketAgeMs: number;
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
  readonly outgoing: OutgoingConfig;
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

/**
 * The times key rollovers of signed local zones wait with, in seconds (`dnssec.rollover`). The
 * RFC values are the defaults; lowering any of `minimumWait`, `addHoldDown`, `removeHoldDown`,
 * `minRefresh` is for test labs and is warned about.
 */
export interface RolloverConfig {
  /** The least any wait lasts (the Microsoft DNS Server's one hour). */
  readonly minimumWait: number;
  /** Dprp of RFC 7583 for this zone: how long until every secondary serves a change. */
  readonly propagationDelay: number;
  /** DprpP: the same for the parent zone. */
  readonly parentPropagationDelay: number;
  /** The secure delegation polling period: how often the parent's DS is checked while a KSK waits for it. */
  readonly dsPollingPeriod: number;
  /** RFC 5011 §2.4.1 add hold-down of the resolvers that track the zone as a trust point. */
  readonly addHoldDown: number;
  /** RFC 5011 §2.4.2 remove hold-down: how long a revoked KSK stays published. */
  readonly removeHoldDown: number;
  /** RFC 5011 §2.3 floor of the resolvers' active refresh interval. */
  readonly minRefresh: number;
  /** Retired keys (files, metadata, token objects) are deleted from the key store this long after they were retired. */
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

/** Response rate limiting of authoritative answers over UDP (src/authority/response-rate-limiter.ts). */
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
  /** DNS worker processes answering UDP (docs/workers.md); 1: the single process. Default: the number of cores. */
  readonly workers: number;
  /** Several primaries through etcd (docs/cluster.md); absent: one server, stores in stateDir. */
  readonly cluster?: ClusterConfig | undefined;
}

export interface TlsFilesConfig {
  readonly cert: string;
  readonly key: string;
}

// ---------------------------------------------------------------------------------------------
// Leaf schemas. Those a command-line flag can override are exported for `overrides.ts`.
// ---------------------------------------------------------------------------------------------

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
      outgoing: withDefault(
        table<OutgoingConfig>({
          range: withDefault(integer(1, 65_535), CONFIG_DEFAULTS.resolver.outgoing.range),
          portMin: withDefault(integer(1024, 65_535), CONFIG_DEFAULTS.resolver.outgoing.portMin),
          portMax: withDefault(integer(1024, 65_535), CONFIG_DEFAULTS.resolver.outgoing.portMax),
          queriesPerSocket: withDefault(integer(1, 10_000), CONFIG_DEFAULTS.resolver.outgoing.queriesPerSocket),
          maxSocketAgeMs: withDefault(integer(0, 3_600_000), CONFIG_DEFAULTS.resolver.outgoing.maxSocketAgeMs),
        }, (o, report) => {
          if (o.portMax < o.portMin) report(['portMax'], `must not be below portMin (${o.portMin})`);
          // Fewer ports than sockets: binds would mostly hit ports this server already holds.
          else if (o.portMax - o.portMin + 1 < o.range) report(['range'], `must not exceed the ports in portMin…portMax (${o.portMax - o.portMin + 1})`);
        }),
        {},
      ),
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
  workers: withDefault(integer(1, 256), CONFIG_DEFAULTS.workers),
  cluster: optional(clusterSchema),
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
