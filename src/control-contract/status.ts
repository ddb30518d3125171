import type { InFlightStats } from '../resolver/in-flight-limiter.js';
import type { LocalZoneState } from '../resolver/locally-served-zones.js';
import type { MemoryBudget } from '../resolver/memory-budget.js';

/** One socket the server has open. */
export interface ListenerInfo {
  readonly purpose: 'dns' | 'control';
  readonly protocol: 'udp' | 'tcp' | 'tls' | 'https' | 'http';
  /** `127.0.0.1:5300`, `[::1]:53`. */
  readonly address: string;
}

/** The body of `GET /v1/status`. */
export interface ServerStatus {
  readonly version: string;
  readonly pid: number;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly listeners: readonly ListenerInfo[];
  /** Absolute path of the config file read, or null when built-in defaults are in use. */
  readonly configFile: string | null;
  readonly stateDir: string;
  /** Present once the DNS side runs. */
  readonly resolver?: ResolverStatus;
  /** Configuration an operator should change (an open resolver), each with its log event name. */
  readonly warnings: readonly StatusWarning[];
  /** The RFC 6761/6303/7686/8375 zones answered here and what is done with each. */
  readonly localZones?: LocalZonesStatus;
  /** With `workers` > 1: the DNS worker processes (docs/workers.md). */
  readonly workers?: WorkerPoolStatus;
}

/** The DNS worker processes (`workers` > 1). */
export interface WorkerPoolStatus {
  readonly configured: number;
  /** Workers bound and answering now. */
  readonly running: number;
  /** Workers restarted after dying, since start. */
  readonly restarts: number;
  readonly pids: readonly number[];
}

export interface StatusWarning {
  readonly event: string;
  readonly detail: string;
}

export interface ResolverStatus {
  readonly queries: number;
  readonly answeredFromResponseCache: number;
  readonly formerr: number;
  readonly refused: number;
  readonly servfail: number;
  readonly cache: { entries: number; bytes: number; maxBytes: number; hits: number; misses: number; hitRatio: number; responses: number; staleAnswers: number; prefetches: number };
  readonly upstream: { queries: number; timeouts: number; tcpRetries: number; ednsFallbacks: number; servers: number; backedOff: number };
  /** resolver.cache.maxSize and what each store holds of it (docs/resource-limits.md). */
  readonly memory: { maxBytes: number; bytes: number; parts: ReturnType<MemoryBudget['usage']>; process: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number } };
  /** Upstream queries in flight, their caps, and those shed or jostled at the caps. */
  readonly inFlight: InFlightStats;
  /** Verdicts of validated answers (cache hits not counted again) and the signatures checked for them. */
  readonly validation: { secure: number; insecure: number; bogus: number; indeterminate: number; signatureChecks: number; nsec3Hashes: number };
  /** RFC 8198 (resolver.aggressiveNsec): validated ranges kept and answers synthesised from them, without an upstream query. */
  readonly aggressiveNsec?: { ranges: number; zones: number; synthesised: number };
  /** Locally served answers, RD=0 questions (and those the cache could not answer), valid cookies and BADCOOKIE answers. */
  readonly goodCitizen?: {
    locallyServed: number; cacheOnly: number; cacheOnlyMisses: number; validCookies: number; badCookies: number;
    upstreamCookies?: { sent: number; learned: number; spoofed: number; badcookie: number };
  };
}

/** For `keymaster status`: the default zones and what is done with each. */
export interface LocalZonesStatus {
  readonly enabled: boolean;
  readonly zones: readonly { zone: string; rfc: string; state: LocalZoneState }[];
}
