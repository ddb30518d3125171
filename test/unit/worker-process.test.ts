import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { parseCidr } from '../../src/config/cidr.js';
import { createLogger } from '../../src/logging/logger.js';
import type { Resolver } from '../../src/resolver/resolver.js';
import { isPendingResult } from '../../src/server/handler-result.js';
import type { ClientInfo } from '../../src/server/query-handler.js';
import { QueryPipeline } from '../../src/server/query-pipeline.js';
import { ServerCookies } from '../../src/cookies/server-cookies.js';
import { DnsWorker, MAX_PENDING_FORWARDS } from '../../src/workers/worker-process.js';
import type { WorkerMessage } from '../../src/workers/worker-protocol.js';
import { EdnsOptionCode, defaultEdns, findOption } from '../../src/wire/edns.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Rcode, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseRecordLine } from '../../src/wire/record-text.js';

const client: ClientInfo = { address: '127.0.0.1', port: 5353, transport: 'udp', localAddress: '127.0.0.1' };
const outsider: ClientInfo = { ...client, address: '192.0.2.9' };
const logger = createLogger({ level: 'silent' });

/**
 * A worker wired to a primary's pipeline by direct calls, as worker-pool.ts wires them over IPC
 * (structuredClone stands in for the channel): what the worker forwards, the primary answers; what
 * the primary's response cache stores or flushes, the worker copies.
 */
function lab() {
  const clock = new ManualClock(1_700_000_000_000);
  const resolved: string[] = [];
  const resolver = {
    resolve: async (q: { name: Name }) => {
      resolved.push(q.name.toString());
      return { rcode: Rcode.NOERROR, answer: [parseRecordLine(`${q.name} 300 IN A 192.0.2.1`)], authority: [], security: 'unchecked' };
    },
    cache: { rrset: () => undefined, withRemainingTtl: (r: unknown[]) => r },
    flush: () => 0,
  } as unknown as Resolver;
  const secret = new Uint8Array(16).fill(7);
  const secrets = { current: () => secret, previous: () => undefined };
  const pipeline = new QueryPipeline({ resolver, recursionAllow: [parseCidr('127.0.0.0/8')], clock, logger, cookies: new ServerCookies(secrets, clock), keepFirstAsk: true });
  const forwarded: WorkerMessage[] = [];
  /** Everything else the worker sent (counters, synced). */
  const others: WorkerMessage[] = [];
  let worker: DnsWorker;
  const send = (message: WorkerMessage): void => {
    const m = structuredClone(message);
    if (m.t === 'batch') return m.messages.forEach(send);
    if (m.t !== 'query') return void others.push(m);
    forwarded.push(m);
    const result = pipeline.handle(m.query, m.client);
    const reply = (response: unknown) => worker.onMessage(structuredClone({ t: 'answer', id: m.id, response: response as Uint8Array | undefined }));
    if (isPendingResult(result)) void result.then(reply);
    else reply(result);
  };
  worker = new DnsWorker(
    { worker: 1, listen: [], recursionAllow: [parseCidr('127.0.0.0/8')], cookieSecrets: { current: secret }, cacheBytes: 1 << 20, logLevel: 'silent' },
    send,
    logger,
    clock,
  );
  pipeline.responses.observer = {
    stored: (key, name, wire, ttl) => worker.onMessage(structuredClone({ t: 'store', key, name: name.wire, wire, ttl })),
    flushed: (name) => worker.onMessage(structuredClone(name ? { t: 'flush', name: name.wire } : { t: 'flush' })),
  };
  return { clock, pipeline, worker, forwarded, others, resolved };
}

function query(name: string, options: { id?: number; cookie?: Uint8Array } = {}): Uint8Array {
  const edns = defaultEdns({ udpSize: 1232 });
  if (options.cookie) edns.options.push({ code: EdnsOptionCode.COOKIE, data: options.cookie });
  return encodeMessage(newMessage({ id: options.id ?? 1, rd: true, question: [{ name: Name.parse(name), type: 1, class: 1 }], edns }));
}

async function answer(worker: DnsWorker, q: Uint8Array, who: ClientInfo = client): Promise<Uint8Array> {
  const r = await worker.handle(q, who);
  expect(r).toBeInstanceOf(Uint8Array);
  return r as Uint8Array;
}

let open: DnsWorker | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

describe('DnsWorker', () => {
  it('forwards a miss to the primary, then answers from its copy of the cache, bytes as the primary would', async () => {
    const { pipeline, worker, forwarded, resolved } = lab();
    open = worker;
    const first = await answer(worker, query('www.example.', { id: 10 }));
    expect(forwarded).toHaveLength(1);
    expect(decodeMessage(first).answer.map((r) => r.name.toString())).toEqual(['www.example.']);
    const hit = worker.handle(query('WWW.Example.', { id: 11 }), client);
    expect(hit, 'a cache hit is answered synchronously, not forwarded').toBeInstanceOf(Uint8Array);
    expect(forwarded).toHaveLength(1);
    expect(resolved).toEqual(['www.example.']);
    expect(Buffer.from(hit as Uint8Array)).toEqual(Buffer.from(pipeline.handle(query('WWW.Example.', { id: 11 }), client) as Uint8Array));
  });

  it('forwards everything for a client outside recursion.allow: the primary refuses it', async () => {
    const l = lab();
    open = l.worker;
    await answer(l.worker, query('www.example.'));
    const refused = decodeMessage(await answer(l.worker, query('www.example.'), outsider));
    expect(refused.rcode).toBe(Rcode.REFUSED);
    expect(l.forwarded).toHaveLength(2);
  });

  it('drops its copy when the primary flushes a name, and only under that name', async () => {
    const l = lab();
    open = l.worker;
    await answer(l.worker, query('a.one.example.'));
    await answer(l.worker, query('b.two.example.'));
    l.pipeline.flush(Name.parse('one.example.'));
    await answer(l.worker, query('a.one.example.'));
    await answer(l.worker, query('b.two.example.'));
    expect(l.forwarded.map((m) => (m.t === 'query' ? decodeMessage(m.query).question[0]!.name.toString() : ''))).toEqual(['a.one.example.', 'b.two.example.', 'a.one.example.']);
  });

  it('expires its copy when the primary\'s would, TTLs counted down alike', async () => {
    const l = lab();
    open = l.worker;
    await answer(l.worker, query('www.example.'));
    l.clock.advance(100_000);
    const fromWorker = decodeMessage(l.worker.handle(query('www.example.'), client) as Uint8Array);
    expect(fromWorker.answer[0]!.ttl).toBe(200);
    l.clock.advance(200_000);
    await answer(l.worker, query('www.example.'));
    expect(l.forwarded).toHaveLength(2);
  });

  it('makes server cookies the primary accepts, and accepts the primary\'s (one secret)', async () => {
    const l = lab();
    open = l.worker;
    const clientCookie = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    // The primary (a forwarded miss) makes the first server cookie; the worker's cache hit must take it.
    const first = decodeMessage(await answer(l.worker, query('www.example.', { cookie: clientCookie })));
    const full = findOption(first.edns, EdnsOptionCode.COOKIE)!.data;
    expect(full).toHaveLength(24);
    const before = l.forwarded.length;
    const hit = decodeMessage(l.worker.handle(query('www.example.', { cookie: full }), client) as Uint8Array);
    expect(l.forwarded.length, 'a valid cookie on a cached name is answered by the worker').toBe(before);
    expect(hit.rcode).toBe(Rcode.NOERROR);
    // A cookie the worker made is valid at the primary (a miss, so the primary judges it).
    const workerCookie = findOption(hit.edns, EdnsOptionCode.COOKIE)!.data;
    const atPrimary = decodeMessage(await answer(l.worker, query('fresh.example.', { cookie: workerCookie })));
    expect(atPrimary.rcode).toBe(Rcode.NOERROR);
    expect(l.pipeline.stats.validCookies).toBeGreaterThanOrEqual(1);
    // A forged server cookie is not answered by the worker: the primary says BADCOOKIE, as the single process does.
    const forged = new Uint8Array(full);
    forged[20] = forged[20]! ^ 0xff;
    const bad = decodeMessage(await answer(l.worker, query('www.example.', { cookie: forged })));
    expect(bad.rcode).toBe(Rcode.BADCOOKIE);
  });

  it('drops misses past MAX_PENDING_FORWARDS waiting at the primary, and forwards again once answers come', async () => {
    const sent: WorkerMessage[] = [];
    let ipcMessages = 0;
    const unbatch = (m: WorkerMessage): void => {
      if (m.t === 'batch') m.messages.forEach(unbatch);
      else sent.push(m);
    };
    const worker = new DnsWorker({ worker: 1, listen: [], recursionAllow: [parseCidr('127.0.0.0/8')], cacheBytes: 1 << 20, logLevel: 'silent' }, (m) => {
      ipcMessages++;
      unbatch(m);
    }, logger);
    open = worker;
    const pending = Array.from({ length: MAX_PENDING_FORWARDS }, (_, i) => worker.handle(query(`n${i}.example.`), client));
    expect(worker.handle(query('one-more.example.'), client), 'dropped, not queued').toBeUndefined();
    await new Promise((r) => setImmediate(r));
    expect(sent).toHaveLength(MAX_PENDING_FORWARDS);
    expect(ipcMessages, 'the misses of one turn of the event loop travel as one IPC message').toBe(1);
    const first = sent[0]!;
    if (first.t !== 'query') throw new Error('expected a forwarded query');
    worker.onMessage({ t: 'answer', id: first.id, response: undefined });
    await pending[0];
    expect(isPendingResult(worker.handle(query('one-more.example.'), client))).toBe(true);
  });

  it('answers a sync after what came before it: the counters so far, then synced', async () => {
    const l = lab();
    open = l.worker;
    await answer(l.worker, query('www.example.'));
    expect(l.worker.handle(query('www.example.'), client)).toBeInstanceOf(Uint8Array);
    l.worker.onMessage({ t: 'sync', seq: 7 });
    expect(l.others.map((m) => m.t)).toEqual(['counters', 'synced']);
    expect(l.others[0]).toMatchObject({ counters: { queries: 1, cachedResponses: 1, hitsByRcode: expect.arrayContaining([1]) } });
    expect(l.others[1]).toEqual({ t: 'synced', seq: 7 });
  });
});
