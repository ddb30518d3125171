import type { JobHandle, Scheduler } from '../scheduler.js';
import type { WorkerPoolStatus } from '../control-contract/status.js';
export type { WorkerPoolStatus } from '../control-contract/status.js';
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../clock.js';
import type { CidrPrefix } from '../config/cidr.js';
import type { LogLevel } from '../config/schema.js';
import type { SocketAddress } from '../config/socket-address.js';
import { logEvent, type Logger } from '../logging/logger.js';
import type { Name } from '../wire/name.js';
import { DnsListenError } from '../server/dns-listeners.js';
import { isPendingResult } from '../server/handler-result.js';
import { createListenerStats, type ListenerStats } from '../server/listener-stats.js';
import type { QueryHandler } from '../server/query-handler.js';
import type { ResponseCache } from '../resolver/response-cache.js';
import type { CookieSecrets } from '../cookies/server-cookies.js';
import { errorFields, ThrottledEventLog } from '../logging/throttled-event-log.js';
import { type CookieSecretsMessage, MessageBatcher, type PrimaryMessage, type WorkerCounters, type WorkerMessage, isWorkerMessage } from './worker-protocol.js';
import { recentExits, restartDelay } from './worker-restart-backoff.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker-process.js', import.meta.url));
/** A worker not gone this long after being told to stop is killed. */
const STOP_GRACE_MS = 3000;
/** A worker that does not answer a sync in this long is not waited for (a wedged worker must not hang the control API). */
const SYNC_GIVE_UP_MS = 2000;
/** How often the cookie secret is compared with what the workers were sent (it rotates hourly at most). */
const SECRET_CHECK_MS = 1000;

/** The counters the workers' cache hits add to (the pipeline's own). */
export interface PoolPipelineStats {
  queries: number;
  cachedResponses: number;
  validCookies: number;
}

export interface WorkerPoolOptions {
  readonly count: number;
  /** UDP addresses, with real ports (not 0). */
  readonly listen: readonly SocketAddress[];
  readonly recursionAllow: readonly CidrPrefix[];
  /** The primary's cookie secrets, when server cookies are on. */
  readonly cookieSecrets?: CookieSecrets;
  readonly cacheBytes: number;
  readonly logLevel: LogLevel;
  /** The primary's query pipeline: its handler, its response cache (copied to the workers) and its counters. */
  readonly handle: QueryHandler;
  readonly responses: ResponseCache;
  readonly stats: PoolPipelineStats;
  /** Told of the workers' cache hits by RCODE (the metrics count responses; the primary never saw these). */
  readonly onHits?: (transport: 'udp', rcode: number, count: number) => void;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Runs the job that sends the workers a rotated cookie secret. */
  readonly scheduler: Scheduler;
}

/** `GET /v1/status` → `workers`. */

interface Slot {
  readonly number: number;
  worker: Worker | undefined;
  ready: boolean;
}

/**
 * The DNS worker processes of the primary (docs/workers.md): forks them through node:cluster (which
 * shares each UDP socket among them), answers the queries they forward with the primary's query
 * pipeline, copies every store and flush of the primary's response cache to all of them, restarts
 * one that dies (with backoff), and stops them with the server.
 */
export class WorkerPool {
  readonly listenerStats: ListenerStats = createListenerStats();
  private readonly slots: Slot[] = [];
  private exits: number[] = [];
  private restarts = 0;
  private stopping = false;
  private readonly handlerErrors: ThrottledEventLog;
  private sentSecret: Uint8Array | undefined;
  private readonly secretJob: JobHandle | undefined;
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private syncSeq = 0;
  /** Per worker: the syncs it has not answered yet, by sequence number. */
  private readonly syncs = new Map<Worker, Map<number, () => void>>();
  /** Per worker: its messages, one IPC message per turn of the event loop. */
  private readonly outboxes = new WeakMap<Worker, MessageBatcher<PrimaryMessage>>();

  private constructor(private readonly o: WorkerPoolOptions) {
    this.handlerErrors = new ThrottledEventLog(o.logger, 'dns.handler-error', 'error');
    for (let n = 1; n <= o.count; n++) this.slots.push({ number: n, worker: undefined, ready: false });
    cluster.setupPrimary({ exec: WORKER_SCRIPT, args: [], serialization: 'advanced' });
    o.responses.observer = {
      stored: (key, name, wire, ttl) => this.broadcast({ t: 'store', key, name: name.wire, wire, ttl }),
      flushed: (name: Name | undefined) => this.broadcast(name ? { t: 'flush', name: name.wire } : { t: 'flush' }),
    };
    if (o.cookieSecrets) {
      this.sentSecret = o.cookieSecrets.current();
      this.secretJob = o.scheduler.every('workers.cookie-secrets', SECRET_CHECK_MS, () => this.sendSecretsIfRotated());
    }
  }

  /** Forks every worker and resolves once all answer; rejects (all stopped) with the first bind failure. */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    try {
      await Promise.all(pool.slots.map((slot) => pool.spawn(slot)));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  status(): WorkerPoolStatus {
    const running = this.slots.filter((s) => s.ready && s.worker);
    return { configured: this.o.count, running: running.length, restarts: this.restarts, pids: running.map((s) => s.worker!.process.pid ?? 0) };
  }

  /**
   * Resolves once every running worker has applied what it was sent before (flushes) and reported
   * its counters: the control API waits for it, so `cache flush` returns when no worker can answer
   * from the flushed copy, and `status` counts every query already answered.
   */
  sync(): Promise<void> {
    const workers = this.slots.filter((s) => s.ready && s.worker?.isConnected()).map((s) => s.worker!);
    if (workers.length === 0) return Promise.resolve();
    const seq = ++this.syncSeq;
    return new Promise<void>((resolve) => {
      let left = workers.length;
      const guard = setTimeout(resolve, SYNC_GIVE_UP_MS);
      const answered = (): void => {
        if (--left > 0) return;
        clearTimeout(guard);
        resolve();
      };
      for (const worker of workers) {
        let waiting = this.syncs.get(worker);
        if (!waiting) this.syncs.set(worker, (waiting = new Map()));
        waiting.set(seq, answered);
        this.send(worker, { t: 'sync', seq });
      }
    });
  }

  /** A worker that answered, or exited: what it owed is settled. */
  private synced(worker: Worker, seq?: number): void {
    const waiting = this.syncs.get(worker);
    if (!waiting) return;
    for (const [s, answered] of waiting) {
      if (seq !== undefined && s !== seq) continue;
      waiting.delete(s);
      answered();
    }
  }

  /** Stops every worker (told first, killed after a grace period). Safe to call more than once. */
  async close(): Promise<void> {
    this.stopping = true;
    this.secretJob?.cancel();
    for (const timer of this.restartTimers) clearTimeout(timer);
    this.restartTimers.clear();
    this.o.responses.observer = undefined;
    await Promise.all(this.slots.map((slot) => this.stopWorker(slot)));
  }

  /** `restart`: replacing a dead worker, whose failure to start is retried (at start, it fails the start). */
  private spawn(slot: Slot, restart = false): Promise<void> {
    const worker = cluster.fork();
    slot.worker = worker;
    slot.ready = false;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      worker.on('message', (message: unknown) => {
        if (!isWorkerMessage(message)) return;
        if (message.t === 'hello') setUp();
        else if (message.t === 'ready' && !settled) {
          settled = true;
          slot.ready = true;
          this.seed(worker);
          logEvent(this.o.logger, 'server.worker-started', { worker: slot.number, pid: worker.process.pid, restarts: this.restarts });
          resolve();
        } else if (message.t === 'failed' && !settled) {
          settled = true;
          reject(new DnsListenError('udp', message.address, message.code, new Error(message.message)));
        } else this.onMessage(worker, message);
      });
      worker.on('error', (error) => logEvent(this.o.logger, 'server.worker-error', { worker: slot.number, ...errorFields(error) }, { level: 'warn' }));
      worker.on('exit', (code, signal) => {
        this.synced(worker);
        this.syncs.delete(worker);
        if (slot.worker === worker) {
          slot.worker = undefined;
          slot.ready = false;
        }
        if (!settled) {
          settled = true;
          reject(new Error(`DNS worker ${slot.number} exited (${signal ?? code}) before it was listening`));
          if (!restart || this.stopping) return;
        }
        if (this.stopping) return;
        this.onExit(slot, worker, code, signal);
      });
      // Alone and at once: the worker looks for it before anything else.
      const setUp = () => this.sendNow(worker, {
        t: 'setup',
        setup: {
          worker: slot.number,
          listen: this.o.listen,
          recursionAllow: this.o.recursionAllow,
          cacheBytes: this.o.cacheBytes,
          logLevel: this.o.logLevel,
          ...(this.o.cookieSecrets ? { cookieSecrets: this.secrets() } : {}),
        },
      });
    });
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    const now = this.o.clock.now();
    this.exits = recentExits([...this.exits, now], now);
    const delay = restartDelay(this.exits, now);
    logEvent(this.o.logger, 'server.worker-exited', { worker: slot.number, pid: worker.process.pid, code, signal, restartInMs: delay }, { level: 'warn', msg: `DNS worker ${slot.number} exited; restarting it` });
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (this.stopping) return;
      this.restarts++;
      this.spawn(slot, true).catch((error: unknown) => {
        // Its exit (if it exits) schedules the next try, later each time.
        logEvent(this.o.logger, 'server.worker-start-failed', { worker: slot.number, ...errorFields(error) }, { level: 'error' });
        if (slot.worker?.isConnected()) slot.worker.kill('SIGKILL');
      });
    }, delay);
    this.restartTimers.add(timer);
  }

  private onMessage(worker: Worker, message: WorkerMessage): void {
    if (message.t === 'batch') {
      for (const m of message.messages) this.onMessage(worker, m);
    } else if (message.t === 'query') {
      const reply = (response: unknown): void => {
        if (response !== undefined && !(response instanceof Uint8Array) && !Array.isArray(response)) response = undefined;
        this.send(worker, { t: 'answer', id: message.id, response: response as Uint8Array | undefined });
      };
      const failed = (error: unknown): void => {
        this.handlerErrors.log({ transport: message.client.transport, client: message.client.address, ...errorFields(error) }, 'query handler failed; query dropped');
        reply(undefined);
      };
      try {
        const result = this.o.handle(message.query, message.client);
        if (isPendingResult(result)) result.then(reply, failed);
        else reply(result);
      } catch (error) {
        failed(error);
      }
    } else if (message.t === 'counters') this.add(message.counters);
    else if (message.t === 'synced') this.synced(worker, message.seq);
  }

  private add(c: WorkerCounters): void {
    this.o.stats.queries += c.queries;
    this.o.stats.cachedResponses += c.cachedResponses;
    this.o.stats.validCookies += c.validCookies;
    if (this.o.onHits) c.hitsByRcode.forEach((n, rcode) => n > 0 && this.o.onHits!('udp', rcode, n));
    const l = this.listenerStats;
    l.udpQueries += c.listener.udpQueries;
    l.dropped += c.listener.dropped;
  }

  /** A new worker gets what the primary already caches: otherwise it would forward those names until they expire. */
  private seed(worker: Worker): void {
    for (const e of this.o.responses.snapshot()) this.send(worker, { t: 'store', key: e.key, name: e.name.wire, wire: e.wire, ttl: e.ttl });
  }

  private secrets(): CookieSecretsMessage {
    const s = this.o.cookieSecrets!;
    const previous = s.previous();
    return { current: s.current(), ...(previous ? { previous } : {}) };
  }

  private sendSecretsIfRotated(): void {
    const current = this.o.cookieSecrets?.current();
    if (!current || current === this.sentSecret) return;
    this.sentSecret = current;
    this.broadcast({ t: 'secrets', secrets: this.secrets() });
  }

  private broadcast(message: PrimaryMessage): void {
    for (const slot of this.slots) if (slot.worker) this.send(slot.worker, message);
  }

  private send(worker: Worker, message: PrimaryMessage): void {
    let outbox = this.outboxes.get(worker);
    if (!outbox) this.outboxes.set(worker, (outbox = new MessageBatcher<PrimaryMessage>((m) => this.sendNow(worker, m))));
    outbox.push(message);
  }

  private sendNow(worker: Worker, message: PrimaryMessage): void {
    if (!worker.isConnected()) return; // dying: its exit handler takes it from here
    try {
      worker.send(message);
    } catch {
      // The channel closed between the check and the send: the same.
    }
  }

  private async stopWorker(slot: Slot): Promise<void> {
    const worker = slot.worker;
    if (!worker || worker.isDead()) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.send(worker, { t: 'stop' });
    const timer = setTimeout(() => worker.process.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}
