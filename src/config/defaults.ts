/**
 * Default values, written as they would be in the YAML file; the schema parses them like
 * user input, so a default can never be something the file itself could not say.
 * These mirror DESIGN.md's example config (with no policy rules and no zones).
 */

import { availableParallelism } from 'node:os';

/** The config file used when no `--config` is given, relative to the working directory. */
export const DEFAULT_CONFIG_FILE = 'config/keymaster.yaml';

/** On an installed host (`keymaster init`, the systemd unit): read before DEFAULT_CONFIG_FILE when it exists. */
export const SYSTEM_CONFIG_FILE = '/etc/keymaster/keymaster.yaml';

export const IANA_ROOT_ANCHORS_URL = 'https://data.iana.org/root-anchors/root-anchors.xml';

export const CONFIG_DEFAULTS = {
  listen: ['127.0.0.1:5300'],
  stateDir: './var',
  control: '127.0.0.1:5380',
  log: { level: 'info' },
  recursion: {
    allow: ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
  },
  resolver: {
    rootHints: 'builtin',
    forwarders: [],
    qnameMinimisation: true,
    aggressiveNsec: true,
    // The work one client query may cause (see README, "Limits").
    limits: { maxReferrals: 30, maxCnameChain: 12, maxNsLookupsPerDelegation: 5, maxUpstreamQueries: 100, maxDepth: 6, deadline: '10s', maxMinimiseSteps: 10, maxInFlight: 1024, maxInFlightPerServer: 256, jostleAfterMs: 200 },
    cache: { maxSize: '128m', minTtl: '0s', maxTtl: '1d', maxNegativeTtl: '1h' },
    // docs/cache.md: on by default, as Unbound's serve-expired and prefetch are deployed.
    serveStale: { enable: true, maxStale: '1d', clientTimeoutMs: 1800 },
    prefetch: true,
    // Unbound's outgoing-range over Linux's ephemeral ports; a fresh random port per query (docs/outgoing-ports.md).
    outgoing: { range: 1024, portMin: 32768, portMax: 60999, queriesPerSocket: 1, maxSocketAgeMs: 2000 },
  },
  // docs/workers.md: one DNS process per core; the single process is `workers: 1`.
  workers: availableParallelism(),
  // DNS-over-TCP connections (docs/resource-limits.md).
  tcp: { maxConnections: 256, maxConnectionsPerPrefix: 64, prefixV4: 24, prefixV6: 56 },
  dnssec: {
    enable: true,
    validation: true,
    clockSkew: '5m',
    bogusTtl: '60s',
    keyTagSignaling: true,
    rootKeySentinel: true,
    // Validation work per client query (KeyTrap, NSEC3 hash exhaustion); see README, "Limits".
    limits: { maxKeysPerKeyTag: 4, maxSignaturesPerRrset: 8, maxSignatureChecks: 64, maxNsec3Hashes: 150, maxNsec3Iterations: 150, maxDenialRecords: 32 },
    // Key rollover of signed local zones (RFC 7583 times); below the RFC values only in labs (warned).
    rollover: { minimumWait: '1h', propagationDelay: '5m', parentPropagationDelay: '1h', dsPollingPeriod: '12h', addHoldDown: '30d', removeHoldDown: '30d', minRefresh: '1h', retiredKeyRetention: '30d' },
  },
  trustAnchors: {
    rootAnchors: IANA_ROOT_ANCHORS_URL,
    import: [],
    rfc5011: { addHoldDown: '30d', removeHoldDown: '30d', minRefresh: '1h' },
  },
  policy: [],
  zones: [],
  // Response rate limiting is off unless set, as BIND and Knot ship it: the right rate depends on
  // the traffic a zone really gets (see docs/authority-safety.md).
  authority: { rateLimit: { responsesPerSecond: 0, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56 } },
  listenTls: [],
  listenHttps: [],
  metrics: true,
  console: true,
  consoleListen: [],
  tsigKeys: [],
} as const;

/** A policy rule's keys other than `namespace`. */
export const POLICY_RULE_DEFAULTS = {
  requireValidation: false,
  logOnly: false,
  noValidation: false,
  forwarders: [],
} as const;

/** A zone's keys other than `name` and `file`; `signing` absent means unsigned. */
export const ZONE_DEFAULTS = { allowTransfer: [], notify: [], serial: 'keep', journal: { maxVersions: 1000, maxSize: '16m' } } as const;

/**
 * `signing: defaults`, and every key left out of a `signing:` table. Modern choices rather than
 * the Microsoft wizard's (RSA/SHA-256, NSEC3 with 50 iterations): ECDSA P-256 and NSEC3 with no
 * extra iterations and no salt (RFC 9276); the lifetimes and validity periods are the wizard's.
 */
export const SIGNING_DEFAULTS = {
  algorithm: 'ECDSAP256SHA256',
  denial: 'nsec3',
  nsec3: { iterations: 0, saltLength: 0, optOut: false },
  kskRollover: '755d',
  zskRollover: '90d',
  dnskeySignatureValidity: '168h',
  dsSignatureValidity: '168h',
  signatureValidity: '240h',
  signatureInception: '1h',
  dnskeyTtl: '1h',
  dsTtl: '1h',
  dsDigest: 'sha256',
  rfc5011: true,
  kskKeySize: 0,
  zskKeySize: 0,
  distributeTrustAnchor: false,
} as const;
