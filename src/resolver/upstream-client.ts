import type { Clock } from '../clock.js';
import { defaultEdns } from '../wire/edns.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { type Message, type Question, Rcode, newMessage } from '../wire/message.js';
import { type ServerAddress, TransportError, exchangeTcp, exchangeUdp, randomQueryId } from './dns-transport.js';
import { InFlightLimiter, DEFAULT_IN_FLIGHT_LIMITS } from './in-flight-limiter.js';
import type { QueryBudget } from './resolution-limits.js';
import type { ServerSelection } from './server-selection.js';
import type { UpstreamCookies } from './upstream-cookies.js';

export interface UpstreamAnswer {
  readonly response: Message;
  readonly server: ServerAddress;
}

export interface AskOptions {
  readonly recursionDesired: boolean;
  readonly dnssecOk: boolean;
  /** False for an answer that rules the server out for this question (lame, REFUSED, SERVFAIL). */
  readonly usable?: (response: Message) => boolean;
  /** Passes over the servers that stay silent (default RETRY_ROUNDS); the caller may spread them out. */
  readonly rounds?: number;
  /**
   * Servers already ruled out for this question (an unusable answer or a network error): they
   * are skipped, and those this call rules out are added, so the caller's next call skips them.
   */
  readonly ruledOut?: Set<string>;
}

/** How the client talks to one server; the real transports unless a test injects its own. */
export interface Exchanges {
  readonly udp: typeof exchangeUdp;
  readonly tcp: typeof exchangeTcp;
}

export interface UpstreamStats {
  queries: number;
  timeouts: number;
  tcpRetries: number;
  ednsFallbacks: number;
  /** Answers received and their summed round-trip times (the metrics' RTT summary). */
  answers: number;
  rttMsSum: number;
}

export function serverKey(s: ServerAddress): string {
  return `${s.host}#${s.port}`;
}

const MAX_SERVERS_TRIED = 6;
/** Passes over the servers when answers are lost (Unbound re-sends up to 5 times: outbound-msg-retry). */
export const RETRY_ROUNDS = 3;

/**
 * Asks upstream servers one question: the fastest first, the next on timeout or unusable
 * answer; TCP when the answer is truncated; without EDNS for servers that reject it
 * (RFC 6891 §7). Every query sent is charged to the client query's budget.
 */
export class UpstreamClient {
  readonly stats: UpstreamStats = { queries: 0, timeouts: 0, tcpRetries: 0, ednsFallbacks: 0, answers: 0, rttMsSum: 0 };

  constructor(
    private readonly selection: ServerSelection,
    private readonly clock: Clock,
    /** Caps the queries in flight (in-flight-limiter.ts); a shed query is a server not asked. */
    readonly inFlight: InFlightLimiter = new InFlightLimiter(DEFAULT_IN_FLIGHT_LIMITS, clock),
    /** RFC 7873 client cookies; absent: none sent. */
    private readonly cookies?: UpstreamCookies,
    private readonly exchanges: Exchanges = { udp: exchangeUdp, tcp: exchangeTcp },
  ) {}

  isBackedOff(server: ServerAddress): boolean {
    return this.selection.isBackedOff(serverKey(server));
  }

  async ask(servers: readonly ServerAddress[], question: Question, options: AskOptions, budget: QueryBudget): Promise<UpstreamAnswer | undefined> {
    const byKey = new Map(servers.map((s) => [serverKey(s), s]));
    const ruledOut = options.ruledOut;
    let order = this.selection.order([...byKey.keys()].filter((k) => !ruledOut?.has(k))).slice(0, MAX_SERVERS_TRIED);
    // A lost packet (a busy or rate-limiting server drops some) is not a dead server: servers that
    // only timed out are asked again, in later rounds, while the client query's budget lasts.
    for (let round = 0; round < (options.rounds ?? RETRY_ROUNDS) && order.length > 0; round++) {
      const silent: string[] = [];
      for (const key of order) {
        const server = byKey.get(key)!;
        const response = await this.askOne(server, key, question, options, budget);
        if (response === 'timeout') {
          silent.push(key);
          continue;
        }
        if (!response) {
          ruledOut?.add(key);
          continue;
        }
        if (options.usable && !options.usable(response)) {
          this.selection.recordFailure(key);
          ruledOut?.add(key);
          continue;
        }
        return { response, server };
      }
      if (budget.remainingMs(this.clock.now()) <= 0) break;
      order = silent;
    }
    return undefined;
  }

  private async askOne(server: ServerAddress, key: string, question: Question, options: AskOptions, budget: QueryBudget): Promise<Message | 'timeout' | undefined> {
    let useEdns = !this.selection.noEdns(key);
    let tcp = false;
    let cookieRetried = false;
    for (let attempt = 0; attempt < 3; attempt++) {
      budget.spendUpstreamQuery(this.clock.now());
      this.stats.queries++;
      const query = newMessage({
        id: randomQueryId(),
        rd: options.recursionDesired,
        cd: options.dnssecOk,
        question: [question],
        ...(useEdns ? { edns: defaultEdns({ dnssecOk: options.dnssecOk, options: this.cookies ? [this.cookies.optionFor(server)] : [] }) } : {}),
      });
      const wire = encodeMessage(query);
      const timeout = Math.min(this.selection.timeoutFor(key) * (tcp ? 2 : 1), budget.remainingMs(this.clock.now()));
      const started = performance.now();
      const slot = this.inFlight.acquire(key);
      if (!slot) return undefined;
      try {
        const ex = tcp ? await this.exchanges.tcp(server, query, wire, timeout, slot.signal) : await this.exchanges.udp(server, query, wire, timeout, slot.signal);
        slot.release(true);
        const r = ex.response;
        // RFC 7873 §5.3: a reply echoing another client cookie is forged (asked again over TCP); BADCOOKIE is asked again once with the new cookie.
        const cookie = useEdns ? this.cookies?.check(server, r) : undefined;
        if (cookie === 'spoofed' && !tcp) {
          tcp = true;
          continue;
        }
        if (cookie === 'spoofed') return undefined;
        if (cookie === 'retry' && !cookieRetried) {
          cookieRetried = true;
          attempt--;
          continue;
        }
        const rttMs = performance.now() - started;
        this.stats.answers++;
        this.stats.rttMsSum += rttMs;
        this.selection.recordAnswer(key, rttMs);
        if (r.tc && !tcp) {
          this.stats.tcpRetries++;
          tcp = true;
          continue;
        }
        if (useEdns && !r.edns && (r.rcode === Rcode.FORMERR || r.rcode === Rcode.NOTIMP || r.rcode === Rcode.SERVFAIL)) {
          this.stats.ednsFallbacks++;
          this.selection.markNoEdns(key);
          useEdns = false;
          continue;
        }
        return r;
      } catch (e) {
        if (!(e instanceof TransportError)) throw e;
        if (slot.signal.aborted) return undefined; // jostled out: not the server's fault
        this.selection.recordFailure(key);
        if (e.code === 'timeout') {
          this.stats.timeouts++;
          return 'timeout';
        }
        return undefined;
      } finally {
        slot.release();
      }
    }
    return undefined;
  }
}
