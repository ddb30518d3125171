import { readFile } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import type { KeymasterConfig } from '../config/schema.js';
import { Resolver } from '../resolver/resolver.js';
import { builtinRootHints, parseRootHints, type RootHints } from '../resolver/root-hints.js';
import { Name } from '../wire/name.js';
import type { ControlApi } from './control-api.js';
import { ControlError } from './control-router.js';
import type { Logger } from './logger.js';
import { QueryPipeline } from './query-pipeline.js';

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

/** The resolver and the query pipeline built from the config, with their control routes. */
export async function createResolverService(config: KeymasterConfig, clock: Clock, logger: Logger): Promise<QueryPipeline> {
  const rootHints = await loadRootHints(config);
  const limits = config.resolver.limits;
  const resolver = new Resolver({
    clock,
    rootHints,
    limits: { ...limits, deadlineMs: limits.deadline * 1000 },
    cacheLimits: { maxBytes: config.resolver.cache.maxSize, minTtl: config.resolver.cache.minTtl, maxTtl: config.resolver.cache.maxTtl, maxNegativeTtl: config.resolver.cache.maxNegativeTtl },
    forwarders: config.resolver.forwarders.map((f) => ({ host: f.host, port: f.port })),
    namespaceForwarders: config.policy
      .filter((r) => r.forwarders.length > 0)
      .map((r) => ({ namespace: Name.parse(r.namespace === '.' ? '.' : r.namespace.replace(/^\./, '') + '.'), servers: r.forwarders.map((f) => ({ host: f.host, port: f.port })) })),
    qnameMinimisation: config.resolver.qnameMinimisation,
  });
  if (config.resolver.rootHints.kind === 'file') logger.info({ event: 'resolver.root-hints', file: config.resolver.rootHints.path, servers: rootHints.servers.length }, 'using private root hints');
  return new QueryPipeline({ resolver, recursionAllow: config.recursion.allow, clock, logger });
}

export interface ResolverStatus {
  readonly queries: number;
  readonly answeredFromResponseCache: number;
  readonly formerr: number;
  readonly refused: number;
  readonly servfail: number;
  readonly cache: { entries: number; bytes: number; maxBytes: number; hits: number; misses: number; hitRatio: number; responses: number };
  readonly upstream: { queries: number; timeouts: number; tcpRetries: number; ednsFallbacks: number; servers: number; backedOff: number };
}

export function resolverStatus(pipeline: QueryPipeline): ResolverStatus {
  const s = pipeline.resolver.stats();
  const p = pipeline.stats;
  const hits = s.cache.hits + p.cachedResponses;
  const lookups = hits + s.cache.misses;
  return {
    queries: p.queries,
    answeredFromResponseCache: p.cachedResponses,
    formerr: p.formerr,
    refused: p.refused,
    servfail: p.servfail,
    cache: { ...s.cache, hits, hitRatio: lookups === 0 ? 0 : hits / lookups, responses: pipeline.responses.size },
    upstream: { ...s.upstream, ...s.servers },
  };
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
