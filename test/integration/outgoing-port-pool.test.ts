/**
 * The resolver's upstream UDP transport (src/resolver/outgoing-port-pool.ts, pooled-udp-exchange.ts):
 * random source ports from the configured range, bounded sockets, reuse within its bounds, ports
 * in use skipped, and only the real answer accepted while forgeries arrive first.
 * Addresses: 127.10.135.0/24.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfigText } from '../../src/config/loader.js';
import { askDnssec } from '../support/signed-hierarchy.js';
import { startKeymaster } from '../support/external-servers.js';
import { randomQueryId } from '../../src/resolver/dns-transport.js';
import { DEFAULT_OUTGOING, type OutgoingOptions, OutgoingPortPool } from '../../src/resolver/outgoing-port-pool.js';
import { pooledUdpExchange } from '../../src/resolver/pooled-udp-exchange.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { type Message, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseRecordLine } from '../../src/wire/record-text.js';
import { RRType } from '../../src/wire/rr-type.js';

const SERVER = '127.10.135.1';
const OTHER = '127.10.135.2';

interface Responder {
  /** Source port of every query received, in order. */
  readonly ports: number[];
  stop(): Promise<void>;
}

type Reply = (query: Message, from: dgram.RemoteInfo, send: (bytes: Uint8Array, via?: dgram.Socket) => void) => void | Promise<void>;

async function bound(address: string, port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => resolve());
  });
  return s;
}

const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.stop();
});

async function startResponder(reply: Reply): Promise<Responder> {
  const socket = await bound(SERVER, 53);
  const ports: number[] = [];
  socket.on('message', (msg, from) => {
    const query = decodeMessage(msg);
    ports.push(from.port);
    void reply(query, from, (bytes, via = socket) => via.send(bytes, from.port, from.address));
  });
  const r = { ports, stop: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
  open.push(r);
  return r;
}

function answer(query: Message, address: string, fields: Partial<Message> = {}): Uint8Array {
  const q = query.question[0]!;
  return encodeMessage(newMessage({ id: query.id, qr: true, aa: true, question: [q], answer: [parseRecordLine(`${q.name} 300 IN A ${address}`)], ...fields }));
}

function query(name = 'www.example.'): Message {
  return newMessage({ id: randomQueryId(), question: [{ name: Name.parse(name), type: RRType.A, class: 1 }] });
}

function newPool(options: Partial<OutgoingOptions> = {}): OutgoingPortPool {
  const pool = new OutgoingPortPool({ ...DEFAULT_OUTGOING, ...options });
  open.push({ stop: async () => pool.close() });
  return pool;
}

async function ask(pool: OutgoingPortPool, q = query(), timeoutMs = 2000): Promise<string> {
  const ex = await pooledUdpExchange(pool)({ host: SERVER, port: 53 }, q, encodeMessage(q), timeoutMs);
  return ex.response.answer.map((rr) => [...rr.rdata].join('.')).join(',');
}

describe('answers are accepted only from the port asked, with the ID and question asked', () => {
  it('forgeries from another port, another address, with a wrong ID or another question are ignored; the real answer is taken', async () => {
    const otherPort = await bound(SERVER, 5353);
    const otherAddress = await bound(OTHER, 53);
    open.push({ stop: () => new Promise<void>((r) => otherPort.close(() => r())) }, { stop: () => new Promise<void>((r) => otherAddress.close(() => r())) });
    await startResponder(async (q, _from, send) => {
      send(answer(q, '6.6.6.1'), otherPort);
      send(answer(q, '6.6.6.2'), otherAddress);
      send(answer(q, '6.6.6.3', { id: (q.id + 1) & 0xffff }));
      send(encodeMessage(newMessage({ ...decodeMessage(answer(q, '6.6.6.4')), question: [{ name: Name.parse('evil.example.'), type: RRType.A, class: 1 }] })));
      send(Uint8Array.of(1, 2, 3));
      send(answer(q, '6.6.6.5', { qr: false }));
      send(answer(q, '192.0.2.1'));
    });
    const pool = newPool();
    for (let i = 0; i < 20; i++) expect(await ask(pool)).toBe('192.0.2.1');
  });

  it('a reused socket does not take an answer to the query it carried before', async () => {
    const held: Message[] = [];
    await startResponder((q, _from, send) => {
      // The first query is answered only after the second is sent: its answer reaches the socket while the second is waiting.
      if (q.question[0]!.name.toString() === 'first.example.') {
        held.push(q);
        return;
      }
      send(answer(held[0]!, '6.6.6.6'));
      send(answer(q, '192.0.2.2'));
    });
    const pool = newPool({ queriesPerSocket: 2 });
    await expect(ask(pool, query('first.example.'), 200)).rejects.toThrow(/no answer/);
    expect(await ask(pool, query('second.example.'))).toBe('192.0.2.2');
    expect(pool.stats.opened).toBe(1);
    expect(pool.stats.reused).toBe(1);
  });
});

describe('source ports', () => {
  it('200 queries go out from random ports of the range: spread, not sequential', async () => {
    const server = await startResponder((q, _from, send) => send(answer(q, '192.0.2.1')));
    const pool = newPool();
    for (let i = 0; i < 200; i++) await ask(pool);
    const ports = server.ports;
    expect(ports).toHaveLength(200);
    expect(new Set(ports).size).toBeGreaterThanOrEqual(150);
    for (const p of ports) expect(p >= DEFAULT_OUTGOING.portMin && p <= DEFAULT_OUTGOING.portMax).toBe(true);
    // Consecutive ports one apart (a counter, as an old kernel's or resolver's) would show here.
    const steps = ports.slice(1).map((p, i) => Math.abs(p - ports[i]!));
    expect(steps.filter((s) => s <= 1).length).toBeLessThan(5);
    // Uniform over 28,232 ports: the ports fall in all four quarters of the range.
    const quarter = (DEFAULT_OUTGOING.portMax - DEFAULT_OUTGOING.portMin + 1) / 4;
    const quarters = new Set(ports.map((p) => Math.floor((p - DEFAULT_OUTGOING.portMin) / quarter)));
    expect(quarters.size).toBe(4);
    expect(pool.stats.open).toBe(0);
  });

  it('with reuse, a socket carries at most queriesPerSocket queries, and the next port is drawn at random', async () => {
    const server = await startResponder((q, _from, send) => send(answer(q, '192.0.2.1')));
    const pool = newPool({ queriesPerSocket: 4 });
    // Four at a time, so several sockets are idle when the next query picks one.
    for (let i = 0; i < 50; i++) await Promise.all([ask(pool), ask(pool), ask(pool), ask(pool)]);
    const uses = new Map<number, number>();
    for (const p of server.ports) uses.set(p, (uses.get(p) ?? 0) + 1);
    expect(Math.max(...uses.values())).toBeLessThanOrEqual(4);
    expect(uses.size).toBeGreaterThanOrEqual(50);
    expect(pool.stats.reused).toBeGreaterThan(0);
    expect(pool.stats.open).toBeLessThanOrEqual(4);
  });

  it('a socket older than maxSocketAgeMs is closed, not reused', async () => {
    await startResponder((q, _from, send) => send(answer(q, '192.0.2.1')));
    let now = 0;
    const pool = new OutgoingPortPool({ ...DEFAULT_OUTGOING, queriesPerSocket: 100, maxSocketAgeMs: 1000 }, () => now);
    open.push({ stop: async () => pool.close() });
    await ask(pool);
    await ask(pool);
    expect(pool.stats.opened).toBe(1);
    now = 1000;
    await ask(pool);
    expect(pool.stats.opened).toBe(2);
    expect(pool.stats.open).toBe(1);
  });

  it('an idle socket is closed when it reaches maxSocketAgeMs, with no query to notice it', async () => {
    await startResponder((q, _from, send) => send(answer(q, '192.0.2.1')));
    const pool = newPool({ queriesPerSocket: 100, maxSocketAgeMs: 100 });
    const lease = pool.lease('udp4');
    const socket = await lease.socket;
    const closed = new Promise((resolve) => socket.socket.once('close', resolve));
    pool.release(socket);
    expect(pool.stats.open).toBe(1);
    await closed;
    expect(pool.stats.open).toBe(0);
  });

  it('a port already in use is skipped, and the kernel chooses when every port of the range is taken', async () => {
    const server = await startResponder((q, _from, send) => send(answer(q, '192.0.2.1')));
    const taken = await bound('0.0.0.0', 61_200);
    open.push({ stop: () => new Promise<void>((r) => taken.close(() => r())) });
    const pool = newPool({ portMin: 61_200, portMax: 61_201, range: 2 });
    for (let i = 0; i < 20; i++) await ask(pool);
    expect(new Set(server.ports)).toEqual(new Set([61_201]));
    expect(pool.stats.portsInUse).toBeGreaterThan(0);

    const both = newPool({ portMin: 61_200, portMax: 61_200, range: 1 });
    await ask(both);
    expect(both.stats.kernelPorts).toBe(1);
    expect(server.ports.at(-1)).not.toBe(61_200);
  });

  it('no more than `range` sockets are open: the others wait for one and are answered', async () => {
    const held: Array<() => void> = [];
    await startResponder((q, _from, send) => void held.push(() => send(answer(q, '192.0.2.1'))));
    const pool = newPool({ range: 2 });
    const asked = [ask(pool, query('a.example.')), ask(pool, query('b.example.')), ask(pool, query('c.example.'))];
    while (held.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(pool.stats.open).toBe(2);
    expect(pool.stats.waited).toBe(1);
    held.shift()!();
    while (held.length < 2) await new Promise((r) => setTimeout(r, 5));
    for (const release of held) release();
    expect(await Promise.all(asked)).toEqual(['192.0.2.1', '192.0.2.1', '192.0.2.1']);
    expect(pool.stats.open).toBe(0);
  });
});

describe('Keymaster itself', () => {
  it('forwards from the configured port range, and a forgery sent before the real answer does not reach the client', async () => {
    const otherPort = await bound(SERVER, 5353);
    open.push({ stop: () => new Promise<void>((r) => otherPort.close(() => r())) });
    const server = await startResponder((q, _from, send) => {
      send(answer(q, '6.6.6.1'), otherPort);
      send(answer(q, '6.6.6.3', { id: (q.id + 1) & 0xffff }));
      send(answer(q, '192.0.2.7'));
    });
    const keymaster = await startKeymaster({
      address: '127.10.135.30',
      control: '127.10.135.30:5380',
      rootHints: 'builtin',
      forwarders: [SERVER],
      resolverYaml: '  outgoing: { portMin: 61300, portMax: 61399, range: 64 }\n',
    });
    open.push(keymaster);
    for (let i = 0; i < 10; i++) {
      const r = await askDnssec({ host: '127.10.135.30', port: 53 }, `n${i}.forged.example.`, 'A');
      expect(r.answer.map((rr) => [...rr.rdata].join('.'))).toEqual(['192.0.2.7']);
    }
    expect(server.ports.length).toBeGreaterThanOrEqual(10);
    for (const p of server.ports) expect(p >= 61_300 && p <= 61_399).toBe(true);
  });
});

describe('resolver.outgoing config', () => {
  const issue = (text: string) => {
    try {
      parseConfigText(text, 'k.yaml', { baseDir: '/srv' });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    }
    return [];
  };

  it('names the key that is wrong and accepts a sane block', () => {
    expect(issue('resolver:\n  outgoing:\n    portMin: 40000\n    portMax: 39999\n')).toEqual([expect.stringMatching(/^resolver\.outgoing\.portMax: must not be below portMin/)]);
    expect(issue('resolver:\n  outgoing:\n    range: 4096\n    portMin: 60000\n    portMax: 61000\n')).toEqual([expect.stringMatching(/^resolver\.outgoing\.range: must not exceed the ports/)]);
    expect(issue('resolver:\n  outgoing:\n    portMin: 53\n')).toEqual([expect.stringMatching(/^resolver\.outgoing\.portMin: /)]);
    const ok = parseConfigText('resolver:\n  outgoing:\n    range: 256\n    queriesPerSocket: 8\n', 'k.yaml', { baseDir: '/srv' });
    expect(ok.resolver.outgoing).toEqual({ ...DEFAULT_OUTGOING, range: 256, queriesPerSocket: 8 });
  });
});
