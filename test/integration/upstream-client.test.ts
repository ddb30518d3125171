import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { QueryBudget, DEFAULT_RESOLUTION_LIMITS, ResolutionLimitError } from '../../src/resolver/resolution-limits.js';
import { ServerSelection } from '../../src/resolver/server-selection.js';
import { UpstreamClient } from '../../src/resolver/upstream-client.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { type Message, Rcode } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseRecordLine } from '../../src/wire/record-text.js';

// Scripted authoritative servers on loopback that misbehave in the ways the upstream client
// must survive: no EDNS support, truncation, silence.
const HOST = '127.10.6.1';
const QUESTION = { name: Name.parse('www.example.'), type: 1, class: 1 };

interface Script {
  udp(query: Message): Message | undefined;
  tcp?(query: Message): Message;
}

function answer(query: Message, fields: Partial<Message>): Message {
  return { ...query, qr: true, aa: true, edns: undefined, answer: [parseRecordLine('www.example. 60 IN A 192.0.2.1')], ...fields } as Message;
}

async function startScripted(port: number, script: Script, seen: Message[]): Promise<() => Promise<void>> {
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const q = decodeMessage(msg);
    seen.push(q);
    const r = script.udp(q);
    if (r) udp.send(encodeMessage(r), rinfo.port, rinfo.address);
  });
  await new Promise<void>((done) => udp.bind(port, HOST, done));
  const tcp = net.createServer((sock) => {
    sock.on('data', (data) => {
      const q = decodeMessage(data.subarray(2));
      seen.push(q);
      const wire = encodeMessage(script.tcp!(q));
      const frame = Buffer.alloc(2 + wire.length);
      frame.writeUInt16BE(wire.length);
      frame.set(wire, 2);
      sock.end(frame);
    });
  });
  await new Promise<void>((done) => tcp.listen(port, HOST, done));
  return async () => {
    udp.close();
    await new Promise((done) => tcp.close(done));
  };
}

describe('upstream client against misbehaving servers', () => {
  const stops: Array<() => Promise<void>> = [];
  const seen: Record<string, Message[]> = { noEdns: [], truncating: [], silent: [], lossy: [] };
  beforeAll(async () => {
    stops.push(await startScripted(5301, { udp: (q) => (q.edns ? answer(q, { rcode: Rcode.FORMERR, answer: [] }) : answer(q, {})) }, seen.noEdns!));
    stops.push(await startScripted(5302, { udp: (q) => answer(q, { tc: true, answer: [] }), tcp: (q) => answer(q, {}) }, seen.truncating!));
    stops.push(await startScripted(5303, { udp: () => undefined }, seen.silent!));
    // Drops every other query, as a rate-limiting server does under load.
    stops.push(await startScripted(5304, { udp: (q) => (seen.lossy!.length % 2 === 1 ? undefined : answer(q, {})) }, seen.lossy!));
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
  });

  const client = () => new UpstreamClient(new ServerSelection(systemClock), systemClock);
  const budget = () => new QueryBudget(DEFAULT_RESOLUTION_LIMITS, Date.now());

  it('asks again without EDNS when a server answers FORMERR to it, and remembers', async () => {
    const c = client();
    const r = await c.ask([{ host: HOST, port: 5301 }], QUESTION, { recursionDesired: false, dnssecOk: true }, budget());
    expect(r?.response.rcode).toBe(Rcode.NOERROR);
    expect(r?.response.answer).toHaveLength(1);
    expect(seen.noEdns!.map((q) => !!q.edns)).toEqual([true, false]);
    await c.ask([{ host: HOST, port: 5301 }], QUESTION, { recursionDesired: false, dnssecOk: true }, budget());
    expect(seen.noEdns!.map((q) => !!q.edns)).toEqual([true, false, false]);
    expect(c.stats.ednsFallbacks).toBe(1);
  });

  it('retries over TCP when the UDP answer is truncated', async () => {
    const c = client();
    const r = await c.ask([{ host: HOST, port: 5302 }], QUESTION, { recursionDesired: false, dnssecOk: false }, budget());
    expect(r?.response.tc).toBe(false);
    expect(r?.response.answer).toHaveLength(1);
    expect(c.stats.tcpRetries).toBe(1);
    expect(seen.truncating).toHaveLength(2);
  });

  it('moves on from a silent server to a working one, and then prefers the working one', async () => {
    const c = client();
    const servers = [{ host: HOST, port: 5303 }, { host: HOST, port: 5302 }];
    expect(await c.ask([servers[0]!], QUESTION, { recursionDesired: false, dnssecOk: false }, budget())).toBeUndefined();
    // Silence may be a lost packet: asked three times (three rounds) before giving up.
    expect(c.stats.timeouts).toBe(3);
    for (let i = 0; i < 3; i++) {
      const r = await c.ask(servers, QUESTION, { recursionDesired: false, dnssecOk: false }, budget());
      expect(r?.server.port).toBe(5302);
    }
    expect(seen.silent).toHaveLength(3);
    expect(c.isBackedOff({ host: HOST, port: 5303 })).toBe(true);
  });

  it('asks again when an answer is lost, rather than giving up on the only server', async () => {
    const c = client();
    const r = await c.ask([{ host: HOST, port: 5304 }], QUESTION, { recursionDesired: false, dnssecOk: false }, budget());
    expect(r?.response.answer).toHaveLength(1);
    expect(seen.lossy).toHaveLength(2);
    expect(c.stats.timeouts).toBe(1);
  });

  it('charges every query to the budget and stops at its limit', async () => {
    const tight = new QueryBudget({ ...DEFAULT_RESOLUTION_LIMITS, maxUpstreamQueries: 1 }, Date.now());
    await expect(client().ask([{ host: HOST, port: 5301 }], QUESTION, { recursionDesired: false, dnssecOk: true }, tight)).rejects.toBeInstanceOf(ResolutionLimitError);
  });
});
