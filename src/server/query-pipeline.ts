import type { Clock } from '../clock.js';
import type { CidrPrefix } from '../config/cidr.js';
import type { Resolution } from '../resolver/iterator.js';
import type { LocalZoneLookup } from '../resolver/iterator.js';
import type { Resolver } from '../resolver/resolver.js';
import { referralFromCache } from '../resolver/cache-referral.js';
import type { LocallyServedZones } from '../resolver/locally-served-zones.js';
import { EdeCode, EdnsOptionCode, defaultEdns, edeOption, findOption } from '../wire/edns.js';
import { decodeMessage } from '../wire/message-decoder.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { type Message, Opcode, Rcode, type ResourceRecord, newMessage } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { RRClass, RRType } from '../wire/rr-type.js';
import { minimumTtl } from '../wire/rrsets.js';
import { WireError } from '../wire/wire-error.js';
import type { Logger } from '../logging/logger.js';
import type { ClientInfo, MultiMessageResponse } from './query-handler.js';
import { ResponseCache } from '../resolver/response-cache.js';
import { type ServerCookies, isWellFormedCookie } from '../cookies/server-cookies.js';
import { COOKIE_RESPONSE_BYTES, CachedAnswers, MAX_UDP_PAYLOAD, type QuickQuestion } from './cached-answers.js';
import { AskedBefore } from '../resolver/asked-before.js';
import type { ResponseRateLimiter } from '../authority/response-rate-limiter.js';
import type { LocalZoneResponse } from '../authority/local-zone-response.js';

export { MAX_UDP_PAYLOAD } from './cached-answers.js';
const DNSSEC_TYPES = new Set<number>([RRType.RRSIG, RRType.NSEC, RRType.NSEC3]);

/** The zones this server is authoritative for (src/authority/zone-service.ts). */
export interface LocalZones {
  /** Undefined when no local zone holds the question's name: the resolver answers. */
  answer(request: Message, client: ClientInfo, wire?: Uint8Array): LocalZoneResponse | undefined;
  /** An RFC 1996 NOTIFY (opcode 4) for a zone; the answer is encoded (and signed) by the zones. */
  notify?(wire: Uint8Array, request: Message, client: ClientInfo): Promise<Uint8Array> | Uint8Array;
  /** An RFC 2136 UPDATE (opcode 5), as the raw bytes its TSIG covers; the answer is encoded (and signed) by the zones. */
  update?(wire: Uint8Array, client: ClientInfo): Promise<Uint8Array>;
  /** For the resolver: what a hosted zone says of a name a resolution reaches (a CNAME into it). */
  lookup?: LocalZoneLookup;
}

export interface PipelineOptions {
  readonly resolver: Resolver;
  /** Answered before the recursion check, for every client; never cached in the response cache. */
  readonly localZones?: LocalZones;
  readonly recursionAllow: readonly CidrPrefix[];
  /** resolver.prefetch: encoded answers are kept for nine tenths of their TTL, so the resolver sees the last tenth. */
  readonly prefetch?: boolean;
  /**
   * Keep every answer encoded from its first ask, not its second (asked-before.ts). With
   * `workers` > 1 the encoded answers are what the workers answer from (docs/workers.md), so a
   * name asked once through a worker is copied to them at once rather than forwarded twice.
   */
  readonly keepFirstAsk?: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  /** dnssec.enable: false (EnableDnsSec off) omits RRSIG/NSEC/NSEC3 from answers even with DO=1. */
  readonly serveDnssecRecords?: boolean;
  /** RFC 6761/6303/7686/8375 zones answered here, after hosted zones and the recursion check. */
  readonly locallyServed?: LocallyServedZones;
  /** RFC 7873 server cookies; absent: COOKIE options are ignored, as before. */
  readonly cookies?: ServerCookies;
  /** Response rate limiting of authoritative answers over UDP (authority.rateLimit); absent: none. */
  readonly rateLimiter?: ResponseRateLimiter;
}

export interface PipelineStats {
  queries: number;
  cachedResponses: number;
  formerr: number;
  refused: number;
  notimp: number;
  servfail: number;
  /** Answered from the locally served zones (RFC 6761, 6303, 7686, 8375). */
  locallyServed: number;
  /** RD=0 questions, and those the cache could not answer (given a referral). */
  cacheOnly: number;
  cacheOnlyMisses: number;
  /** Queries with a valid server cookie, and BADCOOKIE answers sent. */
  validCookies: number;
  badCookies: number;
}

/**
 * The request path of DESIGN.md: decode (FORMERR on garbage), access control (REFUSED),
 * then the resolver, then an encoded answer that fits the client's buffer (TC otherwise).
 * Cached answers to well-formed plain queries skip decoding and encoding entirely.
 */
export class QueryPipeline {
  readonly stats: PipelineStats = { queries: 0, cachedResponses: 0, formerr: 0, refused: 0, notimp: 0, servfail: 0, locallyServed: 0, cacheOnly: 0, cacheOnlyMisses: 0, validCookies: 0, badCookies: 0 };
  readonly responses: ResponseCache;
  /** Answers are kept encoded from a question's second ask (asked-before.ts). */
  private readonly askedBefore: AskedBefore;
  readonly resolver: Resolver;
  /** The cache-hit path, shared with the worker processes (cached-answers.ts). */
  readonly cached: CachedAnswers;

  constructor(private readonly o: PipelineOptions) {
    this.responses = new ResponseCache(o.clock, o.resolver.memory);
    this.askedBefore = AskedBefore.forStore(o.resolver.memory?.bytesFor('responses') ?? 0);
    this.resolver = o.resolver;
    this.cached = new CachedAnswers({ responses: this.responses, recursionAllow: o.recursionAllow, stats: this.stats, ...(o.cookies ? { cookies: o.cookies } : {}) });
  }

  private allowed(address: string): boolean {
    return this.cached.allowed(address);
  }

  readonly handle = (query: Uint8Array, client: ClientInfo): Promise<Uint8Array | MultiMessageResponse | undefined> | Uint8Array | undefined => {
    if (query.length < 12 || query[2]! & 0x80) return undefined; // never answer a response
    this.stats.queries++;
    const hit = this.cached.lookup(query, client);
    if (hit instanceof Uint8Array) return hit;
    return this.slowPath(query, client, hit);
  };

  private async slowPath(query: Uint8Array, client: ClientInfo, quick: QuickQuestion | undefined): Promise<Uint8Array | MultiMessageResponse | undefined> {
    // UPDATE goes to the local zones undecoded: its records may have empty RDATA, and TSIG covers the exact bytes.
    if (((query[2]! >> 3) & 0xf) === Opcode.UPDATE && this.o.localZones?.update) return this.o.localZones.update(query, client);
    let request: Message;
    try {
      request = decodeMessage(query);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.stats.formerr++;
      return headerOnlyResponse(query, Rcode.FORMERR);
    }
    const maxSize = client.transport !== 'udp' ? 0xffff : request.edns ? Math.max(512, Math.min(request.edns.udpSize, MAX_UDP_PAYLOAD)) : 512;
    const cookie = this.o.cookies ? findOption(request.edns, EdnsOptionCode.COOKIE)?.data : undefined;
    if (cookie && !isWellFormedCookie(cookie)) {
      this.stats.formerr++;
      return this.encode(request, { rcode: Rcode.FORMERR, ede: [[EdeCode.OTHER, `malformed COOKIE option of ${cookie.length} bytes (RFC 7873 §5.2.2)`]] }, maxSize);
    }
    const verdict = this.o.cookies?.judge(cookie, client.address) ?? 'none';
    // What the response holds before the cookie is appended; that form is what the response cache keeps.
    const bare = (fields: Partial<Message> & { ede?: readonly (readonly [number, string])[] }) => this.encode(request, fields, maxSize - (cookie ? COOKIE_RESPONSE_BYTES : 0));
    const withCookie = (wire: Uint8Array) => this.cached.withCookie(wire, cookie, verdict, client) ?? wire;
    const reply = (fields: Partial<Message> & { ede?: readonly (readonly [number, string])[] }) => withCookie(bare(fields));
    if (verdict === 'bad' && client.transport === 'udp') {
      // RFC 7873 §5.2.3: a server cookie that is not ours (spoofed, expired, from before a restart
      // with another secret) gets BADCOOKIE and a fresh cookie; the client retries with it.
      this.stats.badCookies++;
      return reply({ rcode: Rcode.BADCOOKIE });
    }

    if (request.opcode === Opcode.NOTIFY && this.o.localZones?.notify) return this.o.localZones.notify(query, request, client);
    if (request.opcode !== Opcode.QUERY) {
      this.stats.notimp++;
      return reply({ rcode: Rcode.NOTIMP });
    }
    if (request.question.length !== 1) {
      this.stats.formerr++;
      return reply({ rcode: Rcode.FORMERR });
    }
    if (request.edns && request.edns.version !== 0) return reply({ rcode: Rcode.BADVERS, question: [] });
    const local = this.o.localZones?.answer(request, client, query);
    if (local) {
      if (local.kind === 'transfer') return local.messages.map((m) => encodeMessage(m));
      if (local.kind === 'wire') return (client.transport === 'tcp' || client.transport === 'tls') && local.stream ? local.messages : local.messages[0];
      const { kind: _kind, wildcard: _wildcard, ...fields } = local;
      // Rate limiting is for spoofed sources: TCP and a valid server cookie (RFC 7873 §5.2.5) prove the address, as Knot exempts them.
      const spoofable = client.transport === 'udp' && verdict !== 'valid';
      const limit = spoofable ? this.o.rateLimiter?.verdict(client.address, { ...local, qname: request.question[0]!.name, qtype: request.question[0]!.type }) : undefined;
      if (limit === 'drop') return undefined;
      if (limit === 'slip') return reply({ tc: true, aa: local.aa, ra: this.allowed(client.address) });
      return reply({ ...fields, ra: this.allowed(client.address) });
    }
    if (!this.allowed(client.address)) {
      this.stats.refused++;
      return reply({ rcode: Rcode.REFUSED, ede: [[EdeCode.PROHIBITED, `recursion is not allowed for ${client.address}`]] });
    }
    const q = request.question[0]!;
    if (q.class !== RRClass.IN || q.type === RRType.AXFR || q.type === RRType.IXFR || q.type === RRType.OPT) {
      this.stats.refused++;
      return reply({ rcode: Rcode.REFUSED, ede: [[EdeCode.NOT_SUPPORTED, 'only class IN queries are resolved; zone transfers are for local zones']] });
    }

    const served = this.o.locallyServed?.answer(q);
    if (served) {
      this.stats.locallyServed++;
      return reply({ rcode: served.rcode, aa: true, answer: served.answer, authority: served.authority });
    }
    if (!request.rd) this.stats.cacheOnly++;
    // Every ask counts (RD=0 too); the answer is kept encoded from the second (asked-before.ts).
    const askedBefore = quick !== undefined && (this.askedBefore.check(quick.key) || this.o.keepFirstAsk === true);
    const result = await this.o.resolver.resolve(q, { checkingDisabled: request.cd, ...(request.rd ? {} : { cacheOnly: true }) });
    if (result.cacheMiss) {
      this.stats.cacheOnlyMisses++;
      return reply({ rcode: Rcode.NOERROR, ...referralFromCache(this.o.resolver.cache, q.name) });
    }
    const clientDo = request.edns?.dnssecOk ?? false;
    const dnssecOk = (this.o.serveDnssecRecords ?? true) && clientDo;
    if (result.rcode === Rcode.SERVFAIL) {
      this.stats.servfail++;
      this.o.logger.debug({ event: 'resolver.servfail', name: q.name.toString(), type: q.type, reason: result.failure?.reason }, 'resolution failed');
      const ede = result.failure?.ede ?? [[result.failure?.limit ? EdeCode.OTHER : EdeCode.NO_REACHABLE_AUTHORITY, result.failure?.reason ?? 'resolution failed']];
      return reply({ rcode: Rcode.SERVFAIL, ede });
    }
    // RFC 6840 §5.7–5.8: AD only on secure data, only when the client asked (AD or DO), never with CD.
    const ad = result.security === 'secure' && !request.cd && (request.ad || clientDo);
    const wire = bare({
      rcode: result.rcode,
      ad,
      answer: visible(result.answer, dnssecOk, q.type),
      authority: negativeAuthority(result, dnssecOk),
      ...(result.stale !== undefined ? { ede: [[result.stale, 'served stale (RFC 8767): no fresh answer from the servers']] }
        : result.outcome?.ede !== undefined && result.outcome.state === 'insecure' ? { ede: [[result.outcome.ede, result.outcome.reason]] } : {}),
    });
    if (result.stale !== undefined) this.o.logger.debug({ event: 'resolver.stale-answer', name: q.name.toString(), type: q.type, rcode: result.rcode }, 'answered from expired data: no fresh answer from the servers');
    // With prefetch, the last tenth of a TTL goes to the resolver, which refreshes the answer then; a stale answer is not kept.
    const ttl = minimumTtl(result.answer, result.authority);
    const keep = this.o.prefetch ? Math.floor(ttl * 0.9) : ttl;
    if (quick && request.rd && !(wire[2]! & 0x02) && result.stale === undefined && askedBefore) this.responses.store(quick.key, q.name, wire, keep);
    return withCookie(wire);
  }

  private encode(request: Message, fields: Partial<Message> & { ede?: readonly (readonly [number, string])[] }, maxSize: number): Uint8Array {
    const { ede, ...rest } = fields;
    const response = newMessage({
      id: request.id,
      qr: true,
      opcode: request.opcode,
      rd: request.rd,
      ra: true,
      cd: request.cd,
      question: request.question,
      ...rest,
    });
    if (request.edns) response.edns = defaultEdns({ udpSize: MAX_UDP_PAYLOAD, dnssecOk: request.edns.dnssecOk, options: ede ? ede.map(([code, text]) => edeOption(code, text)) : [] });
    return encodeMessage(response, { maxSize });
  }

  flush(name?: Name): number {
    this.responses.flush(name);
    return this.o.resolver.flush(name);
  }
}

/** RFC 4035 §3.2.1: without DO, no RRSIG/NSEC/NSEC3 unless they were asked for. */
function visible(records: readonly ResourceRecord[], dnssecOk: boolean, qtype: number): ResourceRecord[] {
  return dnssecOk ? [...records] : records.filter((r) => !DNSSEC_TYPES.has(r.type) || r.type === qtype);
}

function negativeAuthority(result: Resolution, dnssecOk: boolean): ResourceRecord[] {
  return result.authority.filter((r) => r.type === RRType.SOA || (dnssecOk && DNSSEC_TYPES.has(r.type)));
}

/** FORMERR to a message we could not parse: its ID and opcode, no sections (RFC 1035 §4.1.1). */
function headerOnlyResponse(query: Uint8Array, rcode: number): Uint8Array {
  const out = new Uint8Array(12);
  out[0] = query[0]!;
  out[1] = query[1]!;
  out[2] = 0x80 | (query[2]! & 0x78) | (query[2]! & 0x01);
  out[3] = 0x80 | rcode;
  return out;
}
