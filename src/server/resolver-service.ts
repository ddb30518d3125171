import { readFile } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import type { KeymasterConfig } from '../config/schema.js';
import type { TrustAnchorSource } from '../dnssec/trust-anchor.js';
import { Resolver, type ResolverPolicy } from '../resolver/resolver.js';
import type { InFlightStats } from '../resolver/in-flight-limiter.js';
import type { MemoryBudget } from '../resolver/memory-budget.js';
import { RRType } from '../wire/rr-type.js';
import { ThrottledEventLog } from './throttled-event-log.js';
import { PolicyTable, parsePolicyNamespace } from '../policy/policy-table.js';
import { policyEntryFromConfig } from '../policy/policy-service.js';
import { anchorKeyTags, keyTagQueryName } from '../dnssec/trust-signals.js';
import type { PolicyService } from '../policy/policy-service.js';
import { builtinRootHints, parseRootHints, type RootHints } from '../resolver/root-hints.js';
import { Name } from '../wire/name.js';
import type { ControlApi } from './control-api.js';
import { ControlError } from './control-router.js';
import type { Logger } from '../logging/logger.js';
import { type LocalZones, QueryPipeline } from './query-pipeline.js';
import type { LocallyServedZones } from '../resolver/locally-served-zones.js';
import type { ServerCookies } from './server-cookies.js';
import { UpstreamCookies } from '../resolver/upstream-cookies.js';
import { cacheLimitsOf } from '../resolver/record-cache.js';
import { ResponseRateLimiter } from './response-rate-limiter.js';

async function loadRootHints(config: KeymasterConfig): Promise<RootHints> {
  const source = config.resolver.rootHints;
  if (source.kind === 'builtin') return builtinRootHints;
  let text: string;
  try {
    text = await readFile(source.path, 'latin1');
  } catch (e) {
    throw new Error(`resolver.rootHints: cannot read ${source.path}: ${(e as Error).message}`);
  }
  return parseRootHints(text, source.path);
}

/** What the resolver consults live: the trust anchors and the policy table. */
export interface ResolverServices {
  readonly anchors?: TrustAnchorSource;
  readonly policy?: ResolverPolicy;
  /** Local zones, answered before the resolver (zone-service.ts). */
  readonly localZones?: LocalZones;
  /** The RFC 6761/6303/7686/8375 zones answered here (good-citizen-service.ts). */
  readonly locallyServed?: LocallyServedZones;
  readonly cookies?: ServerCookies;
  /** Told of each answer that failed validation (metrics), after it is logged. */
  readonly onValidationFailure?: (event: { state: string; ede?: number }) => void;
}

/** The resolver and the query pipeline built from the config, with their control routes. */
export async function createResolverService(config: KeymasterConfig, clock: Clock, logger: Logger, services: ResolverServices = {}): Promise<QueryPipeline> {
  const rootHints = await loadRootHints(config);
  // The TrustAnchors store (src/trust/trust-service.ts); none: nothing validates as secure.
  const anchors = services.anchors ?? { anchors: () => [] };
  const failures = new ThrottledEventLog(logger, 'validation.failed', 'warn', { perWindow: 20 });
  const shed = new ThrottledEventLog(logger, 'resolver.upstream-shed', 'warn');
  const limits = config.resolver.limits;
  const resolver = new Resolver({
    clock,
    rootHints,
    limits: { ...limits, deadlineMs: limits.deadline * 1000 },
    cacheLimits: cacheLimitsOf(config.resolver.cache),
    forwarders: config.resolver.forwarders.map((f) => ({ host: f.host, port: f.port })),
    qnameMinimisation: config.resolver.qnameMinimisation,
    aggressiveNsec: config.resolver.aggressiveNsec,
    validation: { enabled: config.dnssec.validation, anchors, limits: { ...config.dnssec.limits, clockSkew: config.dnssec.clockSkew }, bogusTtl: config.dnssec.bogusTtl, rootKeySentinel: config.dnssec.rootKeySentinel },
    // The live policy table carries the config's rules too; without one, a table of the config's rules (one matching rule for both).
    policy: services.policy ?? new PolicyTable(config.policy.map(policyEntryFromConfig)),
    ...(services.localZones?.lookup ? { localZones: services.localZones.lookup.bind(services.localZones) } : {}),
    onValidationFailure: (event) => {
      failures.log({ ...event });
      services.onValidationFailure?.(event);
    },
    ...(config.cookies.upstream ? { upstreamCookies: new UpstreamCookies() } : {}),
    inFlightLimits: { maxInFlight: limits.maxInFlight, maxInFlightPerServer: limits.maxInFlightPerServer, jostleAfterMs: limits.jostleAfterMs },
    onUpstreamShed: (event) => shed.log({ ...event }, 'upstream query not sent: too many in flight'),
    serveStale: { enable: config.resolver.serveStale.enable, maxStaleMs: config.resolver.serveStale.maxStale * 1000, clientTimeoutMs: config.resolver.serveStale.clientTimeoutMs },
    prefetch: config.resolver.prefetch,
    outgoing: config.resolver.outgoing,
  });
  if (config.resolver.rootHints.kind === 'file') logger.info({ event: 'resolver.root-hints', file: config.resolver.rootHints.path, servers: rootHints.servers.length }, 'using private root hints');
  const rateLimit = config.authority?.rateLimit;
  const rateLimiter = rateLimit && rateLimit.responsesPerSecond > 0 ? new ResponseRateLimiter(rateLimit, clock) : undefined;
  return new QueryPipeline({ resolver, recursionAllow: config.recursion.allow, clock, logger, serveDnssecRecords: config.dnssec.enable, ...(services.localZones ? { localZones: services.localZones } : {}),
    ...(services.locallyServed ? { locallyServed: services.locallyServed } : {}), ...(services.cookies ? { cookies: services.cookies } : {}), ...(rateLimiter ? { rateLimiter } : {}),
    prefetch: config.resolver.prefetch });
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

export function resolverStatus(pipeline: QueryPipeline): ResolverStatus {
  const s = pipeline.resolver.stats();
  const memory = pipeline.resolver.memory;
  const p = pipeline.stats;
  const hits = s.cache.hits + p.cachedResponses;
  const lookups = hits + s.cache.misses;
  return {
    queries: p.queries,
    answeredFromResponseCache: p.cachedResponses,
    formerr: p.formerr,
    refused: p.refused,
    servfail: p.servfail,
    // bytes and maxBytes: the whole budget (resolver.cache.maxSize), every store together.
    cache: { ...s.cache, bytes: memory.totalBytes(), maxBytes: memory.maxBytes, hits, hitRatio: lookups === 0 ? 0 : hits / lookups, responses: pipeline.responses.size, staleAnswers: s.staleAnswers, prefetches: s.prefetches },
    upstream: { ...s.upstream, ...s.servers },
    validation: s.validation,
    ...(s.aggressiveNsec ? { aggressiveNsec: s.aggressiveNsec } : {}),
    goodCitizen: {
      locallyServed: p.locallyServed, cacheOnly: p.cacheOnly, cacheOnlyMisses: p.cacheOnlyMisses, validCookies: p.validCookies, badCookies: p.badCookies,
      ...(s.upstreamCookies ? { upstreamCookies: s.upstreamCookies } : {}),
    },
    memory: { maxBytes: memory.maxBytes, bytes: memory.totalBytes(), parts: memory.usage(), process: processMemory() },
    inFlight: pipeline.resolver.inFlight.stats(),
  };
}

/** What the whole process holds, beside what the budget charges (the difference: code, buffers, garbage not yet collected). */
function processMemory(): ResolverStatus['memory']['process'] {
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}

export function registerCacheRoutes(api: ControlApi, pipeline: QueryPipeline, logger: Logger): void {
  api.registerRoute('POST', '/v1/cache/flush', (request) => {
    const body = (request.body ?? {}) as { name?: unknown };
    let name: Name | undefined;
    if (body.name !== undefined && body.name !== null) {
      if (typeof body.name !== 'string') throw new ControlError(400, 'bad-name', 'name must be a string');
      try {
        name = Name.parse(body.name);
      } catch (e) {
        throw new ControlError(400, 'bad-name', `"${body.name}" is not a domain name: ${(e as Error).message}`);
      }
    }
    const flushed = pipeline.flush(name);
    logger.info({ event: 'cache.flushed', name: name?.toString() ?? null, entries: flushed }, 'cache flushed');
    return { name: name?.toString() ?? null, flushed };
  });
}

/**
 * Keeps the resolver in step with the policy table: a change drops cached answers and verdicts
 * under its namespace, and each negative trust anchor added by `keymaster policy add` is checked
 * again periodically and removed once its zone validates (RFC 7646 §2.1).
 */
export function watchPolicy(policy: PolicyService, pipeline: QueryPipeline): void {
  policy.onChange((change) => {
    pipeline.flush(parsePolicyNamespace(change.namespace).name);
  });
  policy.onRecheck(async (rule) => {
    if (rule.mode !== 'no-validation') return;
    const zone = parsePolicyNamespace(rule.namespace).name;
    const answer = await pipeline.resolver.resolve({ name: zone, type: RRType.SOA, class: 1 }, { ignorePolicy: true, explain: true });
    if (answer.security === 'secure') await policy.remove(rule.namespace, 'zone validates again');
  });
}

/**
 * RFC 8145 §5: after a trust point's DNSKEY refresh, one query (type NULL, CD) for
 * `_ta-<tags>.<zone>` tells the zone's operators which keys resolvers trust; its answer is ignored.
 */
export function signalKeyTags(resolver: Resolver, zone: Name, anchors: TrustAnchorSource): void {
  const name = keyTagQueryName(zone, anchorKeyTags(anchors.anchors().find((a) => a.zone.equals(zone))));
  if (!name) return;
  resolver.resolve({ name, type: RRType.NULL, class: 1 }, { checkingDisabled: true }).catch(() => undefined);
}
