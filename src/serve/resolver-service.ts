import { readFile } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import type { KeymasterConfig } from '../config/schema.js';
import type { TrustAnchorSource } from '../dnssec/trust-anchor.js';
import { Resolver, type ResolverPolicy } from '../resolver/resolver.js';
import { RRType } from '../wire/rr-type.js';
import { ThrottledEventLog } from '../logging/throttled-event-log.js';
import { PolicyTable, parsePolicyNamespace } from '../policy/policy-table.js';
import { policyEntryFromConfig } from '../policy/policy-service.js';
import { anchorKeyTags, keyTagQueryName } from '../dnssec/trust-signals.js';
import type { PolicyService } from '../policy/policy-service.js';
import { builtinRootHints, parseRootHints, type RootHints } from '../resolver/root-hints.js';
import { Name } from '../wire/name.js';
import type { Logger } from '../logging/logger.js';
import { type LocalZones, QueryPipeline } from '../server/query-pipeline.js';
import type { LocallyServedZones } from '../resolver/locally-served-zones.js';
import type { ServerCookies } from '../cookies/server-cookies.js';
import { UpstreamCookies } from '../resolver/upstream-cookies.js';
import { cacheLimitsOf } from '../resolver/record-cache.js';
import { ResponseRateLimiter } from '../authority/response-rate-limiter.js';

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
    prefetch: config.resolver.prefetch, keepFirstAsk: config.workers > 1 });
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
