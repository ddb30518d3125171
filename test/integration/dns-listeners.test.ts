import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSocketAddress } from '../../src/config/socket-address.js';
import { DnsListenError, startDnsListeners, type RunningDnsListeners } from '../../src/server/dns-listeners.js';
import { createLogger, type Logger } from '../../src/logging/logger.js';
import type { ClientInfo, QueryHandler } from '../../src/server/query-handler.js';

// 127.10.4.0/24 belongs to this file; each block below has its own address so that blocks with
// different handlers and limits do not share sockets.
const MAIN = '127.10.4.1';
const GATED = '127.10.4.2';
const IDLE = '127.10.4.3';
const LIMITS = '127.10.4.4';
const REBIND_A = '127.10.4.5';
const REBIND_B = '127.10.4.6';

const WAIT_MS = 5_000;

/** Rejects if `promise` has not settled in WAIT_MS: a missing answer fails the test, never hangs it. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([promise, sleep(WAIT_MS).then(() => Promise.reject(new Error(`timed out waiting for ${what}`)))]);
}

/** A query for `example. A` with the given ID (RD set). */
function query(id: number, flags = 0x0100): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, Buffer.from([7, ...Buffer.from('example'), 0, 0, 1, 0, 1])]);
}

function framed(message: Uint8Array): Buffer {
  const out = Buffer.alloc(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  out.set(message, 2);
  return out;
}

/** The query back with QR set: what every test handler answers unless told otherwise. */
function echo(message: Uint8Array, padTo = 0): Uint8Array {
  const out = new Uint8Array(Math.max(message.length, padTo));
  out.set(message);
  out[2]! |= 0x80;
  return out;
}

const idOf = (message: Uint8Array): number => (message[0]! << 8) | message[1]!;

/** A logger whose JSON lines land in `lines`. */
function memoryLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text !== '') lines.push(JSON.parse(text));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination: stream }), lines };
}

/** A UDP client socket that queues what it receives. */
class UdpClient {
  readonly socket: UdpSocket;
  private readonly received: { message: Buffer; from: RemoteInfo }[] = [];
  private waiter: (() => void) | undefined;

  private constructor(family: 4 | 6) {
    this.socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    this.socket.on('message', (message, from) => {
      this.received.push({ message, from });
      this.waiter?.();
    });
  }

  static async open(family: 4 | 6 = 4): Promise<UdpClient> {
    const client = new UdpClient(family);
    await new Promise<void>((resolve) => client.socket.bind(0, family === 6 ? '::1' : '127.0.0.1', resolve));
    return client;
  }

  send(message: Uint8Array, host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(message, port, host, (error) => (error ? reject(error) : resolve())));
  }

  async next(): Promise<{ message: Buffer; from: RemoteInfo }> {
    while (this.received.length === 0) await within(new Promise<void>((resolve) => (this.waiter = resolve)), 'a UDP answer');
    return this.received.shift()!;
  }

  get pending(): number {
    return this.received.length;
  }

  close(): void {
    this.socket.close();
  }
}

/** A TCP client with its own (naive, independent) reassembly of length-prefixed answers. */
class TcpClient {
  private buffered = Buffer.alloc(0);
  private readonly messages: Buffer[] = [];
  private waiter: (() => void) | undefined;
  readonly closed: Promise<void>;
  readonly ended: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 2 && this.buffered.length >= 2 + this.buffered.readUInt16BE(0)) {
        const length = this.buffered.readUInt16BE(0);
        this.messages.push(this.buffered.subarray(2, 2 + length));
        this.buffered = this.buffered.subarray(2 + length);
      }
      this.waiter?.();
    });
    socket.on('error', () => {});
    this.ended = new Promise((resolve) => socket.once('end', resolve));
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.waiter?.();
        resolve();
      }),
    );
  }

  static connect(host: string, port: number, localAddress?: string): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new TcpClient(socket));
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (error) => (error ? reject(error) : resolve())));
  }

  async next(): Promise<Buffer> {
    while (this.messages.length === 0) {
      if (this.isClosed) throw new Error('connection closed before an answer arrived');
      await within(new Promise<void>((resolve) => (this.waiter = resolve)), 'a TCP answer');
    }
    return this.messages.shift()!;
  }

  async take(count: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    while (out.length < count) out.push(await this.next());
    return out;
  }

  get pending(): number {
    return this.messages.length;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function portOf(listeners: RunningDnsListeners, protocol: 'udp' | 'tcp', prefix: string): number {
  const info = listeners.listeners.find((l) => l.protocol === protocol && l.address.startsWith(prefix));
  if (!info) throw new Error(`no ${protocol} listener on ${prefix}`);
  return Number(info.address.slice(info.address.lastIndexOf(':') + 1));
}

describe('DNS listeners: UDP and TCP with an echo handler', () => {
  let dns: RunningDnsListeners;
  let lines: Record<string, unknown>[];
  let v6Port: number;
  const calls: { id: number; client: ClientInfo }[] = [];

  // IDs pick the behaviour: 0xdead throws, 0xbeef rejects, 0xd0d0 drops, 0x6xxx answers after a
  // short delay, 0x7xxx answers with 60 000 bytes (to fill TCP windows), anything else echoes now.
  const handler: QueryHandler = (message, client) => {
    const id = idOf(message);
    calls.push({ id, client });
    if (id === 0xdead) throw new Error('handler bug');
    if (id === 0xbeef) return Promise.reject(new Error('async handler bug'));
    if (id === 0xd0d0) return undefined;
    if ((id & 0xf000) === 0x6000) return sleep(50).then(() => echo(message));
    if ((id & 0xf000) === 0x7000) return echo(message, 60_000);
    return echo(message);
  };

  beforeAll(async () => {
    const memory = memoryLogger();
    lines = memory.lines;
    dns = await startDnsListeners([parseSocketAddress(`${MAIN}:53`), parseSocketAddress('[::1]:0')], handler, memory.logger);
    v6Port = portOf(dns, 'udp', '[::1]');
  });

  afterAll(async () => {
    await dns?.close();
  });

  it('reports one UDP and one TCP listener per address, v6 on one shared free port', () => {
    expect(dns.listeners).toEqual([
      { purpose: 'dns', protocol: 'udp', address: `${MAIN}:53` },
      { purpose: 'dns', protocol: 'tcp', address: `${MAIN}:53` },
      { purpose: 'dns', protocol: 'udp', address: `[::1]:${v6Port}` },
      { purpose: 'dns', protocol: 'tcp', address: `[::1]:${v6Port}` },
    ]);
    expect(v6Port).toBeGreaterThan(0);
  });

  it('UDP: answers from the bound address and port, and tells the handler who asked', async () => {
    const client = await UdpClient.open();
    try {
      await client.send(query(0x1234), MAIN, 53);
      const { message, from } = await client.next();
      expect(from.address).toBe(MAIN);
      expect(from.port).toBe(53);
      expect(Buffer.from(message)).toEqual(Buffer.from(echo(query(0x1234))));
      expect(calls.at(-1)!.client).toEqual({ address: '127.0.0.1', port: client.socket.address().port, transport: 'udp', localAddress: MAIN });
    } finally {
      client.close();
    }
  });

  it('UDP: drops responses (QR=1) and runts without calling the handler', async () => {
    const client = await UdpClient.open();
    try {
      const before = dns.stats();
      const callsBefore = calls.length;
      await client.send(query(0x2001, 0x8180), MAIN, 53); // a response
      await client.send(Buffer.alloc(11), MAIN, 53); // shorter than a header
      await client.send(Buffer.alloc(0), MAIN, 53);
      await client.send(query(0x2002), MAIN, 53);
      // One socket, in order: the good query's answer comes after anything the others caused.
      const { message } = await client.next();
      expect(idOf(message)).toBe(0x2002);
      expect(client.pending).toBe(0);
      expect(calls.slice(callsBefore).map((c) => c.id)).toEqual([0x2002]);
      const after = dns.stats();
      expect(after.udpQueries - before.udpQueries).toBe(4);
      expect(after.dropped - before.dropped).toBe(3);
    } finally {
      client.close();
    }
  });

  it('UDP: a handler that throws, rejects or drops sends nothing; the socket keeps serving', async () => {
    const client = await UdpClient.open();
    try {
      for (const id of [0xdead, 0xbeef, 0xd0d0]) await client.send(query(id), MAIN, 53);
      await client.send(query(0x6001), MAIN, 53); // delayed, so the rejection has surely settled
      expect(idOf((await client.next()).message)).toBe(0x6001);
      expect(client.pending).toBe(0);
      const errors = lines.filter((l) => l['event'] === 'dns.handler-error');
      expect(errors.map((l) => l['error'])).toEqual(expect.arrayContaining(['handler bug', 'async handler bug']));
      expect(errors[0]).toMatchObject({ level: 'error', transport: 'udp', client: '127.0.0.1' });
    } finally {
      client.close();
    }
  });

  it('UDP and TCP over IPv6 [::1]', async () => {
    const udp = await UdpClient.open(6);
    try {
      await udp.send(query(0x3001), '::1', v6Port);
      const { message, from } = await udp.next();
      expect([idOf(message), from.address, from.port]).toEqual([0x3001, '::1', v6Port]);
      expect(calls.at(-1)!.client).toMatchObject({ address: '::1', transport: 'udp', localAddress: '::1' });
    } finally {
      udp.close();
    }
    const tcp = await TcpClient.connect('::1', v6Port);
    try {
      await tcp.write(framed(query(0x3002)));
      expect(idOf(await tcp.next())).toBe(0x3002);
      expect(calls.at(-1)!.client).toMatchObject({ address: '::1', transport: 'tcp', localAddress: '::1' });
    } finally {
      tcp.destroy();
    }
  });

  it('TCP: reassembles queries written one byte at a time, across length prefixes', async () => {
    const tcp = await TcpClient.connect(MAIN, 53);
    try {
      const bytes = Buffer.concat([framed(query(0x4001)), framed(query(0x4002))]);
      for (const byte of bytes) {
        await tcp.write(Buffer.from([byte]));
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect((await tcp.take(2)).map(idOf)).toEqual([0x4001, 0x4002]);
      expect(calls.at(-1)!.client).toMatchObject({ address: '127.0.0.1', transport: 'tcp', localAddress: MAIN });
    } finally {
      tcp.destroy();
    }
  });

  it('TCP: answers pipelined queries sent in one write, each answer whole, matched by ID', async () => {
    const tcp = await TcpClient.connect(MAIN, 53);
    try {
      const ids = [0x6010, 0x4010, 0x6011, 0x4011, 0x4012];
      await tcp.write(Buffer.concat(ids.map((id) => framed(query(id)))));
      const answers = await tcp.take(ids.length);
      expect(answers.map(idOf).sort()).toEqual([...ids].sort());
      for (const answer of answers) expect(answer).toEqual(Buffer.from(echo(query(idOf(answer)))));
      // The immediate ones overtake the delayed ones.
      expect(answers.slice(0, 3).map(idOf).sort()).toEqual([0x4010, 0x4011, 0x4012]);
    } finally {
      tcp.destroy();
    }
  });

  it('TCP: a throwing or rejecting handler drops that query only; the connection keeps serving', async () => {
    const tcp = await TcpClient.connect(MAIN, 53);
    try {
      await tcp.write(Buffer.concat([framed(query(0xdead)), framed(query(0xbeef)), framed(query(0xd0d0)), framed(query(0x6020))]));
      expect(idOf(await tcp.next())).toBe(0x6020);
      await tcp.write(framed(query(0x4020)));
      expect(idOf(await tcp.next())).toBe(0x4020);
      expect(tcp.pending).toBe(0);
      expect(tcp.isClosed).toBe(false);
    } finally {
      tcp.destroy();
    }
  });

  it('TCP: a response (QR=1) gets no answer and does not reach the handler; the connection stays', async () => {
    const tcp = await TcpClient.connect(MAIN, 53);
    try {
      const callsBefore = calls.length;
      await tcp.write(Buffer.concat([framed(query(0x4030, 0x8180)), framed(query(0x4031))]));
      expect(idOf(await tcp.next())).toBe(0x4031);
      expect(calls.slice(callsBefore).map((c) => c.id)).toEqual([0x4031]);
    } finally {
      tcp.destroy();
    }
  });

  it('TCP: a zero-length frame closes the connection after answering what came before it', async () => {
    const tcp = await TcpClient.connect(MAIN, 53);
    await tcp.write(Buffer.concat([framed(query(0x6030)), Buffer.from([0, 0]), framed(query(0x4040))]));
    expect(idOf(await tcp.next())).toBe(0x6030);
    await within(tcp.closed, 'the server to close');
    expect(tcp.pending).toBe(0); // 0x4040 came after the bad frame: never read
  });

  it('TCP: a frame shorter than a DNS header closes the connection', async () => {
    const tcp = await TcpClient.connect(MAIN, 53);
    await tcp.write(framed(Buffer.alloc(5)));
    await within(tcp.closed, 'the server to close');
  });

  it('TCP: a client that half-closes after its query still gets the answer, then our FIN', async () => {
    const tcp = await TcpClient.connect(MAIN, 53);
    await tcp.write(Buffer.concat([framed(query(0x6040)), framed(query(0x6041))]));
    tcp.socket.end();
    expect((await tcp.take(2)).map(idOf).sort()).toEqual([0x6040, 0x6041]);
    await within(tcp.ended, 'the server FIN');
  });

  it('TCP: respects write backpressure: a client that stops reading stops being served, then gets everything', async () => {
    const tcp = await TcpClient.connect(MAIN, 53);
    try {
      const count = 400; // 400 answers of 60 000 bytes: 24 MB, more than loopback socket buffers hold
      const ids = Array.from({ length: count }, (_, i) => 0x7000 + i);
      const callsBefore = calls.length;
      tcp.socket.pause();
      await tcp.write(Buffer.concat(ids.map((id) => framed(query(id)))));
      await sleep(300);
      expect(calls.length - callsBefore).toBeLessThan(count);
      tcp.socket.resume();
      const answers = await tcp.take(count);
      expect(answers.map(idOf)).toEqual(ids);
      expect(answers.every((a) => a.length === 60_000)).toBe(true);
    } finally {
      tcp.destroy();
    }
  });

  it('counts what it saw', () => {
    const stats = dns.stats();
    expect(stats.udpQueries).toBeGreaterThan(0);
    expect(stats.tcpQueries).toBeGreaterThan(0);
    expect(stats.tcpConnections).toBeGreaterThanOrEqual(9);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.tcpRejected).toBe(0);
  });
});

describe('DNS listeners: TCP pipelining with a handler the test releases', () => {
  let dns: RunningDnsListeners;
  const gate: { id: number; release: () => void }[] = [];
  let arrived: (() => void) | undefined;
  const MAX_PIPELINED = 4;

  const handler: QueryHandler = (message) =>
    new Promise((resolve) => {
      gate.push({ id: idOf(message), release: () => resolve(echo(message)) });
      arrived?.();
    });

  async function waitForCalls(count: number): Promise<void> {
    while (gate.length < count) await within(new Promise<void>((resolve) => (arrived = resolve)), `${count} handler calls`);
  }

  beforeAll(async () => {
    dns = await startDnsListeners([parseSocketAddress(`${GATED}:53`)], handler, memoryLogger().logger, {
      maxPipelinedPerConnection: MAX_PIPELINED,
    });
  });

  afterAll(async () => {
    await dns?.close();
  });

  it('answers in the order answers become ready, not the order queries came', async () => {
    gate.length = 0;
    const tcp = await TcpClient.connect(GATED, 53);
    try {
      await tcp.write(Buffer.concat([1, 2, 3, 4].map((id) => framed(query(id)))));
      await waitForCalls(4);
      expect(gate.map((g) => g.id)).toEqual([1, 2, 3, 4]);
      for (const g of [...gate].reverse()) g.release();
      expect((await tcp.take(4)).map(idOf)).toEqual([4, 3, 2, 1]);
    } finally {
      tcp.destroy();
    }
  });

  it(`stops reading at ${MAX_PIPELINED} queries in flight and resumes as answers go out`, async () => {
    gate.length = 0;
    const tcp = await TcpClient.connect(GATED, 53);
    try {
      const ids = Array.from({ length: 10 }, (_, i) => 0x100 + i);
      await tcp.write(Buffer.concat(ids.map((id) => framed(query(id)))));
      await waitForCalls(MAX_PIPELINED);
      await sleep(100);
      expect(gate.length).toBe(MAX_PIPELINED);
      gate[0]!.release();
      expect(idOf(await tcp.next())).toBe(0x100);
      await waitForCalls(MAX_PIPELINED + 1);
      expect(gate.length).toBe(MAX_PIPELINED + 1);
      const answers: number[] = [0x100];
      for (let released = 1; answers.length < ids.length; ) {
        while (released < gate.length) gate[released++]!.release();
        answers.push(idOf(await tcp.next()));
      }
      expect(answers.sort()).toEqual(ids);
    } finally {
      tcp.destroy();
    }
  });

  it('an answer ready after the client went away does no harm; the listener keeps serving', async () => {
    gate.length = 0;
    const gone = await TcpClient.connect(GATED, 53);
    await gone.write(framed(query(0x200)));
    await waitForCalls(1);
    gone.destroy();
    await gone.closed;
    await sleep(50);
    gate[0]!.release();
    const tcp = await TcpClient.connect(GATED, 53);
    try {
      await tcp.write(framed(query(0x201)));
      await waitForCalls(2);
      gate[1]!.release();
      expect(idOf(await tcp.next())).toBe(0x201);
    } finally {
      tcp.destroy();
    }
  });
});

describe('DNS listeners: TCP idle timeout', () => {
  let dns: RunningDnsListeners;
  const handler: QueryHandler = (message) => ((idOf(message) & 0xf000) === 0x6000 ? sleep(400).then(() => echo(message)) : echo(message));

  beforeAll(async () => {
    dns = await startDnsListeners([parseSocketAddress(`${IDLE}:53`)], handler, memoryLogger().logger, { tcpIdleTimeoutMs: 200 });
  });

  afterAll(async () => {
    await dns?.close();
  });

  it('closes a connection that sends nothing', async () => {
    const started = Date.now();
    const tcp = await TcpClient.connect(IDLE, 53);
    await within(tcp.closed, 'the idle close');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('closes a connection that goes quiet after an answer', async () => {
    const tcp = await TcpClient.connect(IDLE, 53);
    await tcp.write(framed(query(0x0001)));
    expect(idOf(await tcp.next())).toBe(0x0001);
    await within(tcp.closed, 'the idle close');
  });

  it('does not count bytes of an unfinished message as activity', async () => {
    const tcp = await TcpClient.connect(IDLE, 53);
    const bytes = framed(Buffer.alloc(1000)); // a long message, one byte every 50 ms
    let next = 0;
    const drip = setInterval(() => {
      if (!tcp.isClosed) tcp.socket.write(bytes.subarray(next, ++next));
    }, 50);
    try {
      await within(tcp.closed, 'the idle close');
    } finally {
      clearInterval(drip);
    }
    expect(next).toBeGreaterThan(2); // it was dripping, and closed mid-message
  });

  it('keeps a connection whose query takes longer than the timeout, and answers it', async () => {
    const tcp = await TcpClient.connect(IDLE, 53);
    await tcp.write(framed(query(0x6001)));
    expect(idOf(await tcp.next())).toBe(0x6001);
    await within(tcp.closed, 'the idle close after the answer');
  });
});

describe('DNS listeners: TCP connection limits', () => {
  let dns: RunningDnsListeners;
  let lines: Record<string, unknown>[];

  beforeAll(async () => {
    const memory = memoryLogger();
    lines = memory.lines;
    // /32 prefixes here, so that three loopback addresses are three client networks.
    dns = await startDnsListeners([parseSocketAddress(`${LIMITS}:53`)], (m) => echo(m), memory.logger, {
      tcpLimits: { maxConnections: 3, maxConnectionsPerPrefix: 2, prefixV4: 32 },
    });
  });

  afterAll(async () => {
    await dns?.close();
  });

  /** Connects and proves the server kept the connection by getting an answer on it. */
  async function served(localAddress: string, id: number): Promise<TcpClient> {
    const tcp = await TcpClient.connect(LIMITS, 53, localAddress);
    await tcp.write(framed(query(id)));
    expect(idOf(await tcp.next())).toBe(id);
    return tcp;
  }

  it('a new connection is always served: a full prefix closes its own idlest, a full server the idlest of the largest prefix', async () => {
    const a1 = await served('127.10.4.50', 0x0001);
    await sleep(5); // a1's last answer strictly before a2's
    const a2 = await served('127.10.4.50', 0x0002);
    const a3 = await served('127.10.4.50', 0x0003);
    await within(a1.closed, 'the per-prefix eviction of the idlest connection');
    await sleep(5);
    const b1 = await served('127.10.4.51', 0x0004);
    const c1 = await served('127.10.4.52', 0x0005); // full: .50 holds the most, its idlest (a2) goes
    await within(a2.closed, 'the total eviction');
    expect(dns.stats().tcpRejected).toBe(2);
    expect(lines.filter((l) => l['event'] === 'dns.tcp-connection-evicted').map((l) => [l['client'], l['evicted'], l['limit']])).toEqual([
      ['127.10.4.50', '127.10.4.50/32', 'per-prefix'],
      ['127.10.4.52', '127.10.4.50/32', 'total'],
    ]);
    // The survivors still answer.
    for (const [tcp, id] of [[a3, 0x0013], [b1, 0x0014], [c1, 0x0015]] as const) {
      await tcp.write(framed(query(id)));
      expect(idOf(await tcp.next())).toBe(id);
    }
    for (const tcp of [a3, b1, c1]) tcp.destroy();
  });
});

describe('DNS listeners: binding and closing', () => {
  const logger = memoryLogger().logger;
  const echoHandler: QueryHandler = (m) => echo(m);

  async function canBind(host: string, port: number): Promise<boolean> {
    const server = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen({ host, port }, () => resolve(true));
    });
    if (ok) await new Promise((resolve) => server.close(resolve));
    const udp = createSocket('udp4');
    const udpOk = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind({ address: host, port }, () => resolve(true));
    });
    udp.close();
    return ok && udpOk;
  }

  it('close() releases every port: binding again succeeds', async () => {
    const addresses = [parseSocketAddress(`${REBIND_A}:53`), parseSocketAddress(`${REBIND_B}:53`)];
    const first = await startDnsListeners(addresses, echoHandler, logger);
    const tcp = await TcpClient.connect(REBIND_A, 53);
    await tcp.write(framed(query(1)));
    await tcp.next();
    await first.close();
    await first.close(); // idempotent
    await within(tcp.closed, 'connections closed by close()');
    const second = await startDnsListeners(addresses, echoHandler, logger);
    await second.close();
    expect(await canBind(REBIND_A, 53)).toBe(true);
  });

  it('rejects naming the address in use, after closing what it had opened', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen({ host: REBIND_B, port: 53 }, resolve));
    try {
      const attempt = startDnsListeners([parseSocketAddress(`${REBIND_A}:53`), parseSocketAddress(`${REBIND_B}:53`)], echoHandler, logger);
      await expect(attempt).rejects.toThrow(DnsListenError);
      await expect(attempt).rejects.toThrow(`cannot listen for DNS over TCP on ${REBIND_B}:53: address already in use (EADDRINUSE)`);
      await expect(attempt).rejects.toMatchObject({ code: 'EADDRINUSE', protocol: 'tcp', address: `${REBIND_B}:53` });
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    expect(await canBind(REBIND_A, 53)).toBe(true);
    expect(await canBind(REBIND_B, 53)).toBe(true);
  });

  it('binds 0.0.0.0 and [::] on the same port (v6 sockets are v6-only)', async () => {
    const v4 = await startDnsListeners([parseSocketAddress('0.0.0.0:0')], echoHandler, logger);
    try {
      const port = portOf(v4, 'udp', '0.0.0.0');
      const v6 = await startDnsListeners([parseSocketAddress(`[::]:${port}`)], echoHandler, logger);
      try {
        const udp = await UdpClient.open(4);
        await udp.send(query(0x0a01), '127.0.0.1', port);
        expect(idOf((await udp.next()).message)).toBe(0x0a01);
        udp.close();
        const tcp = await TcpClient.connect('::1', port);
        await tcp.write(framed(query(0x0a02)));
        expect(idOf(await tcp.next())).toBe(0x0a02);
        tcp.destroy();
      } finally {
        await v6.close();
      }
    } finally {
      await v4.close();
    }
  });
});
