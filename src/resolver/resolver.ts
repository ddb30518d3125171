import type { Clock } from '../clock.js';
import type { Question } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import type { ServerAddress } from './dns-transport.js';
import { Iterator, type Resolution } from './iterator.js';
import { type CacheLimits, RecordCache } from './record-cache.js';
import { QueryBudget, type ResolutionLimits } from './resolution-limits.js';
import type { RootHints } from './root-hints.js';
import { ServerSelection } from './server-selection.js';
import { UpstreamClient, type UpstreamStats } from './upstream-client.js';

export interface NamespaceForwarders {
  /** Lowercased name the rule covers (itself and below). */
  readonly namespace: Name;
  readonly servers: readonly ServerAddress[];
}

export interface ResolverOptions {
  readonly clock: Clock;
  readonly rootHints: RootHints;
  readonly limits: ResolutionLimits;
  readonly cacheLimits: CacheLimits;
  /** Forward-only for every name when not empty. */
  readonly forwarders: readonly ServerAddress[];
  /** Per-namespace forwarders; the longest match wins over the global list. */
  readonly namespaceForwarders: readonly NamespaceForwarders[];
  readonly qnameMinimisation: boolean;
}

export interface ResolverStats {
  readonly cache: ReturnType<RecordCache['stats']>;
  readonly upstream: UpstreamStats;
  readonly servers: ReturnType<ServerSelection['snapshot']>;
  readonly clientQueries: number;
  readonly servfails: number;
}

/**
 * The recursive side of the server: cache, iterator and forwarders behind one call. The
 * validator and the policy table slot in here, between the iterator's answer and the client.
 */
export class Resolver {
  readonly cache: RecordCache;
  private readonly selection: ServerSelection;
  private readonly upstream: UpstreamClient;
  private readonly iterator: Iterator;
  private clientQueries = 0;
  private servfails = 0;

  constructor(private readonly options: ResolverOptions) {
    this.cache = new RecordCache(options.clock, options.cacheLimits);
    this.selection = new ServerSelection(options.clock);
    this.upstream = new UpstreamClient(this.selection, options.clock);
    const rules = [...options.namespaceForwarders].sort((a, b) => b.namespace.labelCount - a.namespace.labelCount);
    this.iterator = new Iterator({
      clock: options.clock,
      cache: this.cache,
      upstream: this.upstream,
      rootHints: options.rootHints,
      limits: options.limits,
      qnameMinimisation: options.qnameMinimisation,
      forwardersFor: (name) => {
        const rule = rules.find((r) => name.isSubdomainOf(r.namespace));
        if (rule) return rule.servers;
        return options.forwarders.length > 0 ? options.forwarders : undefined;
      },
    });
  }

  async resolve(question: Question): Promise<Resolution> {
    this.clientQueries++;
    const result = await this.iterator.resolve(question, new QueryBudget(this.options.limits, this.options.clock.now()));
    if (result.failure) this.servfails++;
    return result;
  }

  flush(name?: Name): number {
    return this.cache.flush(name);
  }

  stats(): ResolverStats {
    return {
      cache: this.cache.stats(),
      upstream: { ...this.upstream.stats },
      servers: this.selection.snapshot(),
      clientQueries: this.clientQueries,
      servfails: this.servfails,
    };
  }
}
