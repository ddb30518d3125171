import { type CidrPrefix, cidrContains } from '../config/cidr.js';
import { EdnsOptionCode, appendEdnsOption } from '../wire/edns.js';
import { lowercaseNameWire } from '../wire/name.js';
import { RRClass, RRType } from '../wire/rr-type.js';
import type { ClientInfo } from './query-handler.js';
import type { ResponseCache } from '../resolver/response-cache.js';
import { CLIENT_COOKIE_LENGTH, type CookieVerdict, SERVER_COOKIE_LENGTH, type ServerCookies, isWellFormedCookie } from '../cookies/server-cookies.js';

/** RFC 6891 §6.2.5 and DNS Flag Day 2020: the most we send over UDP, and advertise. */
export const MAX_UDP_PAYLOAD = 1232;

/** What the COOKIE option adds to a response: option header, client cookie, server cookie. */
export const COOKIE_RESPONSE_BYTES = 4 + CLIENT_COOKIE_LENGTH + SERVER_COOKIE_LENGTH;

export interface QuickQuestion {
  readonly key: string;
  readonly questionEnd: number;
  readonly maxSize: number;
  /** The COOKIE option's data, when the query has one. */
  readonly cookie?: Uint8Array;
}

/** The counters the cached path bumps (a subset of the pipeline's). */
export interface CachedAnswerStats {
  cachedResponses: number;
  validCookies: number;
}

export interface CachedAnswersOptions {
  readonly responses: ResponseCache;
  readonly recursionAllow: readonly CidrPrefix[];
  /** RFC 7873 server cookies; absent: COOKIE options are ignored. */
  readonly cookies?: ServerCookies;
  readonly stats: CachedAnswerStats;
}

/**
 * The fast path of the query pipeline: a plain query from a client allowed recursion, answered
 * from the encoded-response cache with the client's cookie appended. It is the same code in the
 * single process and in every worker process (worker-process.ts), so access control and cookie
 * decisions on a cache hit cannot differ between them; anything it cannot answer goes on.
 */
export class CachedAnswers {
  private readonly allowedClients = new Map<string, boolean>();

  constructor(private readonly o: CachedAnswersOptions) {}

  /** Whether `recursion.allow` covers the client (memoised: the list is fixed for the process's life). */
  allowed(address: string): boolean {
    let ok = this.allowedClients.get(address);
    if (ok === undefined) {
      ok = this.o.recursionAllow.some((p) => cidrContains(p, address));
      if (this.allowedClients.size > 10_000) this.allowedClients.clear();
      this.allowedClients.set(address, ok);
    }
    return ok;
  }

  /**
   * The cached answer (bytes), or else the query's quick parse for the slow path (undefined for a
   * client not allowed recursion or a query out of the ordinary). One return value, no allocation.
   */
  lookup(query: Uint8Array, client: ClientInfo): Uint8Array | QuickQuestion | undefined {
    const quick = this.allowed(client.address) ? quickQuestion(query, client) : undefined;
    const cookies = this.o.cookies;
    if (quick && (!quick.cookie || !cookies)) {
      const cached = this.o.responses.answer(quick.key, query, quick.questionEnd, quick.maxSize);
      if (cached) {
        this.o.stats.cachedResponses++;
        return cached;
      }
    } else if (quick?.cookie && cookies) {
      // A cached answer gets this client's own cookie appended; anything to refuse takes the slow path.
      const verdict = isWellFormedCookie(quick.cookie) ? cookies.judge(quick.cookie, client.address) : 'malformed';
      if (verdict !== 'malformed' && (verdict !== 'bad' || client.transport === 'tcp')) {
        const cached = this.o.responses.answer(quick.key, query, quick.questionEnd, quick.maxSize - COOKIE_RESPONSE_BYTES);
        const answer = cached && this.withCookie(cached, quick.cookie, verdict, client);
        if (answer) {
          this.o.stats.cachedResponses++;
          return answer;
        }
      }
    }
    return quick;
  }

  /** The response with a fresh server cookie for this client (RFC 7873 §5.2), when it sent a client cookie. */
  withCookie(wire: Uint8Array, cookie: Uint8Array | undefined, verdict: CookieVerdict, client: ClientInfo): Uint8Array | undefined {
    if (!cookie || !this.o.cookies) return wire;
    if (verdict === 'valid') this.o.stats.validCookies++;
    const data = new Uint8Array(CLIENT_COOKIE_LENGTH + SERVER_COOKIE_LENGTH);
    data.set(cookie.subarray(0, CLIENT_COOKIE_LENGTH));
    data.set(this.o.cookies.forResponse(cookie, verdict, client.address), CLIENT_COOKIE_LENGTH);
    return appendEdnsOption(wire, EdnsOptionCode.COOKIE, data);
  }
}

/**
 * Reads the question and EDNS of a plain query (one question, at most an OPT record, no
 * compression) without the general decoder, and says how big the answer may be. Anything
 * unusual returns undefined and takes the slow path.
 */
export function quickQuestion(q: Uint8Array, client: ClientInfo): QuickQuestion | undefined {
  const u16 = (i: number) => (q[i]! << 8) | q[i + 1]!;
  if (((q[2]! >> 3) & 0xf) !== 0 || u16(4) !== 1 || u16(6) !== 0 || u16(8) !== 0 || u16(10) > 1) return undefined;
  let pos = 12;
  for (;;) {
    const len = q[pos];
    if (len === undefined || len > 63 || pos - 12 + len + 1 > 255) return undefined;
    pos += len + 1;
    if (len === 0) break;
  }
  if (pos + 4 > q.length) return undefined;
  const nameEnd = pos;
  const qtype = u16(pos);
  const qclass = u16(pos + 2);
  const questionEnd = pos + 4;
  if (qclass !== RRClass.IN || qtype === RRType.AXFR || qtype === RRType.IXFR || qtype === RRType.OPT) return undefined;
  let edns = 0;
  let dnssecOk = 0;
  let udpSize = 512;
  let cookie: Uint8Array | undefined;
  if (u16(10) === 1) {
    pos = questionEnd;
    if (q[pos] !== 0 || pos + 11 > q.length || u16(pos + 1) !== RRType.OPT || q[pos + 6] !== 0) return undefined;
    if (pos + 11 + u16(pos + 9) !== q.length) return undefined;
    edns = 1;
    udpSize = Math.max(512, Math.min(u16(pos + 3), MAX_UDP_PAYLOAD));
    dnssecOk = q[pos + 7]! & 0x80 ? 1 : 0;
    let o = pos + 11;
    for (; o + 4 <= q.length; o += 4 + u16(o + 2)) if (u16(o) === EdnsOptionCode.COOKIE && !cookie) cookie = q.subarray(o + 4, o + 4 + u16(o + 2)); // the first, as findOption
    if (o !== q.length) return undefined;
  } else if (questionEnd !== q.length) return undefined;
  const name = Buffer.from(lowercaseNameWire(q.subarray(12, nameEnd))).toString('latin1');
  const cd = q[3]! & 0x10 ? 1 : 0;
  const ad = q[3]! & 0x20 ? 1 : 0;
  return { key: `${name}|${qtype}|${edns}${dnssecOk}${cd}${ad}`, questionEnd, maxSize: client.transport !== 'udp' ? 0xffff : udpSize, ...(cookie ? { cookie } : {}) };
}
