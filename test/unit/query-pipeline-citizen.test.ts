import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { parseCidr } from '../../src/config/cidr.js';
import { createLogger } from '../../src/logging/logger.js';
import { LocallyServedZones } from '../../src/resolver/locally-served-zones.js';
import type { Resolver } from '../../src/resolver/resolver.js';
import type { ClientInfo } from '../../src/server/query-handler.js';
import { QueryPipeline } from '../../src/server/query-pipeline.js';
import { ServerCookies } from '../../src/cookies/server-cookies.js';
import { ResponseRateLimiter } from '../../src/authority/response-rate-limiter.js';
import type { LocalZones } from '../../src/server/query-pipeline.js';
import { EdnsOptionCode, defaultEdns, findOption } from '../../src/wire/edns.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { type EdnsOption, Rcode, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseRecordLine } from '../../src/wire/record-text.js';

const udp: ClientInfo = { address: '127.0.0.1', port: 5353, transport: 'udp', localAddress: '127.0.0.1' };
const tcp: ClientInfo = { ...udp, transport: 'tcp' };

/** A pipeline over a resolver that knows one name and counts what it is asked (and how). */
function lab() {
  const clock = new ManualClock(1_700_000_000_000);
  const asked: { name: string; cacheOnly: boolean }[] = [];
  const resolver = {
    resolve: async (q: { name: Name }, opts: { cacheOnly?: boolean } = {}) => {
      asked.push({ name: q.name.toString(), cacheOnly: !!opts.cacheOnly });
      if (opts.cacheOnly) return { rcode: Rcode.SERVFAIL, answer: [], authority: [], security: 'unchecked', cacheMiss: true };
      return { rcode: Rcode.NOERROR, answer: [parseRecordLine('www.example. 300 IN A 192.0.2.1')], authority: [], security: 'unchecked' };
    },
    cache: { rrset: () => undefined, withRemainingTtl: (r: unknown[]) => r },
    flush: () => 0,
  } as unknown as Resolver;
  const secret = new Uint8Array(16).fill(5);
  const cookies = new ServerCookies({ current: () => secret, previous: () => undefined }, clock);
  const pipeline = new QueryPipeline({ resolver, recursionAllow: [parseCidr('127.0.0.0/8')], clock, logger: createLogger({ level: 'silent' }), cookies, locallyServed: new LocallyServedZones() });
  return { pipeline, asked, cookies };
}

const query = (name: string, options: EdnsOption[] = [], rd = true) =>
  encodeMessage(newMessage({ id: 99, rd, question: [{ name: Name.parse(name), type: 1, class: 1 }], edns: defaultEdns({ options }) }));
const cookie = (data: Uint8Array): EdnsOption => ({ code: EdnsOptionCode.COOKIE, data });
const ask = async (p: QueryPipeline, q: Uint8Array, client = udp) => decodeMessage((await p.handle(q, client)) as Uint8Array);

describe('the query pipeline: cookies, local zones, RD=0', () => {
  it('a cached answer never goes to a wrong server cookie over UDP: BADCOOKIE; over TCP the answer with a fresh cookie', async () => {
    const { pipeline } = lab();
    const client = new Uint8Array(8).fill(1);
    await ask(pipeline, query('www.example.'));
    const forged = Uint8Array.from([...client, 1, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00, ...new Uint8Array(8)]);
    const r = await ask(pipeline, query('www.example.', [cookie(forged)]));
    expect(r.rcode).toBe(Rcode.BADCOOKIE);
    expect(r.answer).toEqual([]);
    const fresh = findOption(r.edns, EdnsOptionCode.COOKIE)!.data;
    expect(fresh.subarray(0, 8)).toEqual(client);
    expect(fresh.subarray(8)).not.toEqual(forged.subarray(8));
    const overTcp = await ask(pipeline, query('www.example.', [cookie(forged)]), tcp);
    expect(overTcp.rcode).toBe(Rcode.NOERROR);
    expect(overTcp.answer).toHaveLength(1);
    // With the fresh cookie, the cached answer (quick path) carries the cookie back.
    const good = await ask(pipeline, query('www.example.', [cookie(fresh)]));
    expect(good.answer).toHaveLength(1);
    expect(findOption(good.edns, EdnsOptionCode.COOKIE)!.data).toEqual(fresh);
    expect(pipeline.stats.badCookies).toBe(1);
    expect(pipeline.stats.validCookies).toBe(1);
  });

  it('random COOKIE options never throw: FORMERR for a bad length, BADCOOKIE or an answer otherwise', async () => {
    const { pipeline } = lab();
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 300; i++) {
      const length = Math.floor(rand() * 48);
      const data = Uint8Array.from({ length }, () => Math.floor(rand() * 256));
      const r = await ask(pipeline, query('www.example.', [cookie(data), ...(rand() < 0.3 ? [cookie(data)] : [])]), rand() < 0.5 ? udp : tcp);
      const expected = length === 8 || (length >= 16 && length <= 40) ? [Rcode.NOERROR, Rcode.BADCOOKIE] : [Rcode.FORMERR];
      expect(expected, `length ${length}`).toContain(r.rcode);
    }
  });

  it('a locally served name never reaches the resolver; RD=0 asks the resolver cache-only and the miss is not kept as an answer', async () => {
    const { pipeline, asked } = lab();
    const local = await ask(pipeline, query('3.2.1.10.in-addr.arpa.'));
    expect(local.rcode).toBe(Rcode.NXDOMAIN);
    expect(local.aa).toBe(true);
    expect(asked).toEqual([]);
    const rd0 = await ask(pipeline, query('www.example.', [], false));
    expect(rd0.rcode).toBe(Rcode.NOERROR);
    expect(rd0.answer).toEqual([]);
    expect(asked).toEqual([{ name: 'www.example.', cacheOnly: true }]);
    const rd1 = await ask(pipeline, query('www.example.'));
    expect(rd1.answer).toHaveLength(1);
    expect(asked.at(-1)).toEqual({ name: 'www.example.', cacheOnly: false });
    // Now cached: RD=0 is answered from the response cache without asking anyone.
    const again = await ask(pipeline, query('www.example.', [], false));
    expect(again.answer).toHaveLength(1);
    expect(again.rd).toBe(false);
    expect(asked).toHaveLength(2);
  });
});

describe('response rate limiting and cookies', () => {
  it('a client with a valid server cookie is exempt from the limit meant for spoofed sources; one without is limited', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const secret = new Uint8Array(16).fill(9);
    const cookies = new ServerCookies({ current: () => secret, previous: () => undefined }, clock);
    const record = parseRecordLine('www.zone.example. 300 IN A 192.0.2.7');
    const localZones: LocalZones = { answer: () => ({ kind: 'answer', rcode: Rcode.NOERROR, aa: true, answer: [record], authority: [], additional: [] }) };
    const pipeline = new QueryPipeline({
      resolver: {} as Resolver, recursionAllow: [parseCidr('127.0.0.0/8')], clock, logger: createLogger({ level: 'silent' }),
      cookies, localZones, rateLimiter: new ResponseRateLimiter({ responsesPerSecond: 2, slip: 0 }, clock),
    });
    // The first answer gives the client its server cookie.
    const first = await ask(pipeline, query('www.zone.example.', [cookie(new Uint8Array(8).fill(3))]));
    const full = findOption(first.edns, EdnsOptionCode.COOKIE)!.data;
    let withCookie = 0;
    let without = 0;
    for (let i = 0; i < 50; i++) {
      if (await pipeline.handle(query('www.zone.example.', [cookie(full)]), udp)) withCookie++;
      if (await pipeline.handle(query('www.zone.example.'), { ...udp, address: '127.0.0.2' })) without++;
    }
    expect(withCookie).toBe(50);
    expect(without).toBeLessThanOrEqual(3);
  });
});
