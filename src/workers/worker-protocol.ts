import type { CidrPrefix } from '../config/cidr.js';
import type { LogLevel } from '../config/schema.js';
import type { SocketAddress } from '../config/socket-address.js';
import type { ListenerStats } from '../server/listener-stats.js';
import type { ClientInfo } from '../server/query-handler.js';

/**
 * The messages between the primary process and its DNS worker processes (docs/workers.md), over
 * node:cluster's IPC channel with `serialization: 'advanced'` (structured clone: bytes travel as
 * bytes). Plain data only: no class instances cross the channel.
 */

/** What a worker needs to answer from its cache: the same inputs the single process's fast path has. */
export interface WorkerSetup {
  readonly worker: number;
  readonly listen: readonly SocketAddress[];
  readonly recursionAllow: readonly CidrPrefix[];
  /** The server-cookie secrets, when `cookies.enable`; later rotations arrive as `secrets` messages. */
  readonly cookieSecrets?: CookieSecretsMessage;
  /** The worker's own encoded-answer cache, in bytes. */
  readonly cacheBytes: number;
  readonly logLevel: LogLevel;
}

export interface CookieSecretsMessage {
  readonly current: Uint8Array;
  readonly previous?: Uint8Array;
}

export type PrimaryMessage =
  | { readonly t: 'setup'; readonly setup: WorkerSetup }
  | { readonly t: 'batch'; readonly messages: readonly PrimaryMessage[] }
  /** The pipeline's answer to a forwarded query; undefined: send nothing. */
  | { readonly t: 'answer'; readonly id: number; readonly response: Uint8Array | readonly Uint8Array[] | undefined }
  /** An answer the primary's response cache stored: the worker keeps a copy, for the same time. */
  | { readonly t: 'store'; readonly key: string; readonly name: Uint8Array; readonly wire: Uint8Array; readonly ttl: number }
  /** The primary flushed its response cache (a zone changed, `cache flush`, a policy change); no name: all. */
  | { readonly t: 'flush'; readonly name?: Uint8Array }
  | { readonly t: 'secrets'; readonly secrets: CookieSecretsMessage }
  /** Report the counters now, then answer `synced`: every message before this one has been applied. */
  | { readonly t: 'sync'; readonly seq: number }
  /** Close the sockets, report the last counters, exit. */
  | { readonly t: 'stop' };

/** Counters since the worker's previous report. */
export interface WorkerCounters {
  readonly queries: number;
  readonly cachedResponses: number;
  readonly validCookies: number;
  /** Cache hits answered, by RCODE (index 0–15): the metrics' responses by RCODE. */
  readonly hitsByRcode: readonly number[];
  readonly listener: ListenerStats;
}

export type WorkerMessage =
  /** Listening for messages: the primary sends the setup (sent earlier, it could be lost while the module loads). */
  | { readonly t: 'hello' }
  | { readonly t: 'batch'; readonly messages: readonly WorkerMessage[] }
  | { readonly t: 'ready' }
  | { readonly t: 'failed'; readonly address: string; readonly code: string | undefined; readonly message: string }
  /** A query the worker's cache could not answer, for the primary's query pipeline. */
  | { readonly t: 'query'; readonly id: number; readonly query: Uint8Array; readonly client: ClientInfo }
  | { readonly t: 'counters'; readonly counters: WorkerCounters }
  | { readonly t: 'synced'; readonly seq: number };

/** Both ends check the shape's tag only: the other end is this same program. */
function tagged(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { t?: unknown }).t === 'string';
}

export function isPrimaryMessage(value: unknown): value is PrimaryMessage {
  return tagged(value);
}

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return tagged(value);
}

/**
 * Messages sent in order, those of one turn of the event loop together: one IPC message (one
 * serialisation, one write, one read) per turn instead of one per query. Under load a worker reads
 * many datagrams per turn; measured, this is what made the forwarded path affordable.
 */
export class MessageBatcher<M extends { readonly t: string }> {
  private queue: M[] = [];
  private scheduled = false;

  constructor(private readonly send: (message: M | { readonly t: 'batch'; readonly messages: readonly M[] }) => void) {}

  push(message: M): void {
    this.queue.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  /** Sends what is queued now (also called by the timer). */
  readonly flush = (): void => {
    this.scheduled = false;
    const queue = this.queue;
    if (queue.length === 0) return;
    this.queue = [];
    this.send(queue.length === 1 ? queue[0]! : { t: 'batch', messages: queue });
  };
}
