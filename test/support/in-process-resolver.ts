import type { Clock } from '../../src/clock.js';
import type { TrustAnchor } from '../../src/dnssec/trust-anchor.js';
import { DEFAULT_VALIDATION_LIMITS } from '../../src/dnssec/validation-budget.js';
import { DEFAULT_CACHE_LIMITS } from './default-cache-limits.js';
import { DEFAULT_RESOLUTION_LIMITS } from '../../src/resolver/resolution-limits.js';
import { Resolver, type ResolverOptions } from '../../src/resolver/resolver.js';
import { parseRootHints } from '../../src/resolver/root-hints.js';

/**
 * A validating resolver in-process with the default limits, iterating from one root server
 * (a scripted one on loopback) and trusting `rootAnchor`; `extra` overrides any option.
 */
export function validatingResolver(clock: Clock, rootServer: string, rootAnchor: TrustAnchor, extra: Partial<ResolverOptions> = {}): Resolver {
  return new Resolver({
    clock,
    rootHints: parseRootHints(`. 3600 IN NS ns1.\nns1. 3600 IN A ${rootServer}\n`),
    limits: DEFAULT_RESOLUTION_LIMITS,
    cacheLimits: DEFAULT_CACHE_LIMITS,
    forwarders: [],
    qnameMinimisation: false,
    validation: { enabled: true, anchors: { anchors: () => [rootAnchor] }, limits: DEFAULT_VALIDATION_LIMITS, bogusTtl: 60 },
    ...extra,
  });
}
