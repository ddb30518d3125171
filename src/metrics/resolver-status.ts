import type { LocallyServedZones } from '../resolver/locally-served-zones.js';
import type { LocalZonesStatus, ResolverStatus } from '../control-contract/status.js';
import type { QueryPipeline } from '../server/query-pipeline.js';

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

export function localZonesStatus(zones: LocallyServedZones | undefined): LocalZonesStatus {
  return zones ? { enabled: true, zones: zones.list() } : { enabled: false, zones: [] };
}
