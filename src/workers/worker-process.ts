import cluster from 'node:cluster';
import { type Clock, systemClock } from '../clock.js';
import { formatSocketAddress } from '../config/socket-address.js';
import { createLogger, logEvent, type Logger } from '../logging/logger.js';
import { Name } from '../wire/name.js';
import { CachedAnswers } from '../server/cached-answers.js';
import { tuneHeapForBoundedMemory } from './heap-tuning.js';
import { createListenerStats, type ListenerStats } from '../server/listener-stats.js';
import type { ClientInfo, MultiMessageResponse, QueryHandler } from '../server/query-handler.js';
import { ResponseCache } from '../resolver/response-cache.js';
import { ServerCookies, type CookieSecrets } from '../cookies/server-cookies.js';
import { UdpListener } from '../server/udp-listener.js';
import { type CookieSecretsMessage, MessageBatcher, type PrimaryMessage, type WorkerCounters, type WorkerMessage, type WorkerSetup, isPrimaryMessage } from './worker-protocol.js';

/** A forwarded query the primary has not answered in this long is given up (its client retries). */
const FORWARD_GIVE_UP_MS = 30_000;
const COUNTER_REPORT_MS = 1000;
/**
 * Forwarded queries one worker may have waiting at the primary. The primary sheds upstream work at
 * `resolver.limits.maxInFlight`; past this, a flood of misses is dropped here, as a full receive
 * buffer drops it, instead of queueing without bound in two processes.
 */
export const MAX_PENDING_FORWARDS = 16_384;

type Answer = Uint8Array | MultiMessageResponse | undefined;

/** Cookie secrets as the primary last sent them: one secret for every process. */
class ForwardedCookieSecrets implements CookieSecrets {
  constructor(private secrets: CookieSecretsMessage) {}
  update(secrets: CookieSecretsMessage): void {
    this.secrets = secrets;
  }
  current(): Uint8Array {
    return this.secrets.current;
  }
  previous(): Uint8Array | undefined {
    return this.secrets.previous;
  }
}

/**
 * One DNS worker process (docs/workers.md): UDP sockets shared through node:cluster, answers from
 * its copy of the primary's encoded-answer cache through the same fast path as the single process
 * (cached-answers.ts), and everything else handed to the primary's query pipeline over IPC.
 */
export class DnsWorker {
  private readonly responses: ResponseCache;
  private readonly cached: CachedAnswers;
  private readonly secrets: ForwardedCookieSecrets | undefined;
  private readonly counts = { queries: 0, cachedResponses: 0, validCookies: 0 };
  private hitsByRcode: number[] = new Array<number>(16).fill(0);
  private readonly listenerStats: ListenerStats = createListenerStats();
  private readonly pending = new Map<number, { readonly resolve: (answer: Answer) => void; readonly since: number }>();
  private nextId = 1;
  private readonly listeners: UdpListener[] = [];
  private readonly timer: NodeJS.Timeout;
  /** Forwarded queries, one IPC message per turn of the event loop. */
  private readonly outbox: MessageBatcher<WorkerMessage>;

  constructor(
    private readonly setup: WorkerSetup,
    private readonly send: (message: WorkerMessage) => void,
    private readonly logger: Logger,
    clock: Clock = systemClock,
  ) {
    this.outbox = new MessageBatcher<WorkerMessage>(send);
    this.responses = new ResponseCache(clock, setup.cacheBytes);
    this.secrets = setup.cookieSecrets ? new ForwardedCookieSecrets(setup.cookieSecrets) : undefined;
    this.cached = new CachedAnswers({
      responses: this.responses,
      recursionAllow: setup.recursionAllow,
      stats: this.counts,
      ...(this.secrets ? { cookies: new ServerCookies(this.secrets, clock) } : {}),
    });
    this.timer = setInterval(() => {
      this.report();
      this.giveUpStale();
    }, COUNTER_REPORT_MS);
    this.timer.unref();
  }

  readonly handle: QueryHandler = (query, client) => {
    if (query.length < 12 || query[2]! & 0x80) return undefined; // never answer a response
    const hit = this.cached.lookup(query, client);
    if (hit instanceof Uint8Array) {
      this.counts.queries++;
      this.hitsByRcode[hit[3]! & 0x0f]!++;
      return hit;
    }
    if (this.pending.size >= MAX_PENDING_FORWARDS) return undefined;
    return this.forward(query, client);
  };

  private forward(query: Uint8Array, client: ClientInfo): Promise<Answer> {
    const id = this.nextId++;
    if (this.nextId > 0x7fffffff) this.nextId = 1;
    return new Promise<Answer>((resolve) => {
      this.pending.set(id, { resolve, since: Date.now() });
      this.outbox.push({ t: 'query', id, query, client });
    });
  }

  /** Binds every address; the first that fails is reported and the worker gives up. */
  async listen(): Promise<void> {
    for (const address of this.setup.listen) {
      const udp = new UdpListener({ address, handler: this.handle, logger: this.logger, stats: this.listenerStats });
      try {
        await udp.start();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        this.send({ t: 'failed', address: formatSocketAddress(address), code: typeof code === 'string' ? code : undefined, message: (error as Error).message });
        await this.close();
        return;
      }
      this.listeners.push(udp);
    }
    this.send({ t: 'ready' });
  }

  onMessage(message: PrimaryMessage): void {
    switch (message.t) {
      case 'batch':
        for (const m of message.messages) this.onMessage(m);
        return;
      case 'answer': {
        const waiting = this.pending.get(message.id);
        if (!waiting) return;
        this.pending.delete(message.id);
        waiting.resolve(message.response as Answer);
        return;
      }
      case 'store':
        this.responses.store(message.key, new Name(message.name), message.wire, message.ttl);
        return;
      case 'flush':
        this.responses.flush(message.name ? new Name(message.name) : undefined);
        return;
      case 'secrets':
        this.secrets?.update(message.secrets);
        return;
      case 'sync':
        this.report();
        this.send({ t: 'synced', seq: message.seq });
        return;
      case 'stop':
        void this.close().then(() => {
          this.report();
          process.disconnect();
        });
        return;
      case 'setup':
        return;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.listeners.map((l) => l.close()));
    for (const waiting of this.pending.values()) waiting.resolve(undefined);
    this.pending.clear();
  }

  private report(): void {
    const l = this.listenerStats;
    if (this.counts.queries === 0 && l.udpQueries === 0 && l.dropped === 0) return;
    const counters: WorkerCounters = { ...this.counts, hitsByRcode: this.hitsByRcode, listener: { ...l } };
    this.counts.queries = this.counts.cachedResponses = this.counts.validCookies = 0;
    this.hitsByRcode = new Array<number>(16).fill(0);
    l.udpQueries = l.tcpQueries = l.tcpConnections = l.tcpRejected = l.dropped = 0;
    this.send({ t: 'counters', counters });
  }

  private giveUpStale(): void {
    const before = Date.now() - FORWARD_GIVE_UP_MS;
    for (const [id, waiting] of this.pending) {
      if (waiting.since > before) break; // in insertion order: the rest are younger
      this.pending.delete(id);
      waiting.resolve(undefined);
    }
  }
}

/** The worker's main: wait for the setup, bind, serve; exit with the primary. */
function runWorker(): void {
  const send = (message: WorkerMessage): void => {
    if (process.connected) process.send!(message);
  };
  // The primary stops its workers; a signal to the whole process group (Ctrl-C) must not race it.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  // No orphans: the primary gone (killed, crashed), the channel closes and the worker goes too.
  process.on('disconnect', () => process.exit(0));
  tuneHeapForBoundedMemory();
  let worker: DnsWorker | undefined;
  process.on('message', (message: unknown) => {
    if (!isPrimaryMessage(message)) return;
    if (message.t === 'setup' && !worker) {
      const logger = createLogger({ level: message.setup.logLevel }).child({ worker: message.setup.worker });
      worker = new DnsWorker(message.setup, send, logger);
      worker.listen().catch((error: unknown) => {
        logEvent(logger, 'server.worker-failed', { err: error }, { level: 'error' });
        process.exit(1);
      });
      return;
    }
    if (worker) worker.onMessage(message);
    // Told to stop before it was set up (the server stopping while it started): nothing to close.
    else if (message.t === 'stop' || (message.t === 'batch' && message.messages.some((m) => m.t === 'stop'))) process.disconnect();
  });
  send({ t: 'hello' });
}

if (cluster.isWorker) runWorker();
