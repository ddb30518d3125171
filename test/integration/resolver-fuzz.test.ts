/**
 * The live server under fuzzed queries. Keymaster resolves from a private tree of NSD servers
 * (test/support/dns-hierarchy.ts) while one socket throws 24,000 mutated query packets at it
 * over UDP (bit flips, truncation, random counts, garbage EDNS, compression-pointer loops, random
 * bytes, bad labels, oversized packets), paced in batches but never waiting for answers, and a
 * second client keeps asking real questions that must keep getting correct answers. Then the
 * same over TCP with garbage frames. Afterwards the process is alive and answering.
 *
 * Packets come from a seeded PRNG, so every run sends the same ones; a failing packet is printed
 * in hex. Addresses: all in 127.10.5.0/24: the tree on .1–.17 (and the dead .250), Keymaster on
 * .200:53 (control :5380), garbage TCP connections from .100–.199.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Edns, type Message, newMessage } from '../../src/wire/message.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Name } from '../../src/wire/name.js';
import { parseType } from '../../src/wire/rr-type.js';
import { EXPECTED_ANSWERS, type ExpectedAnswer, type Hierarchy, answerSet, ask, authoritySoaOwners, describeResponse, startHierarchy } from '../support/dns-hierarchy.js';
import { type KeymasterServer, haveTool, startKeymaster, tcpExchangeRaw, tcpFrames } from '../support/external-servers.js';
import { mulberry32 } from '../unit/wire-helpers.js';

const KEYMASTER = { host: '127.10.5.200', port: 53 };
const CONTROL = '127.10.5.200:5380';
const UDP_PACKETS = 24_000;
const BATCH = 100;
const BATCH_PAUSE_MS = 30;
const TCP_CONNECTIONS = 400;
const TCP_PARALLEL = 25;
const SEED = 0x6b65_796d;

const tools = ['nsd', 'unbound'].every(haveTool);

type Rand = () => number;

const prng: (seed: number) => Rand = mulberry32;

const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
const int = (r: Rand, below: number) => Math.floor(r() * below);
const randomBytes = (r: Rand, n: number) => Uint8Array.from({ length: n }, () => int(r, 256));
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))));
const INTERESTING = [0x00, 0x01, 0x0c, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xff];

/** Valid queries the mutations start from: the tree's questions and a few more, with and without EDNS. */
function seedQueries(r: Rand): Uint8Array[] {
  const names = [...EXPECTED_ANSWERS.map((e) => [e.name, e.type] as const), ['a.test.', 'NS'], ['.', 'NS'], ['example.', 'SOA'], ['x.b.example.', 'ANY'], ['4.2.0.192.in-addr.arpa.', 'PTR']] as const;
  const out: Uint8Array[] = [];
  for (const [name, type] of names) {
    for (const edns of [undefined, { udpSize: 1232, version: 0, dnssecOk: r() < 0.5, zFlags: 0, options: [] }] as (Edns | undefined)[]) {
      const m: Message = newMessage({ id: int(r, 0x10000), rd: true, question: [{ name: Name.parse(name), type: parseType(type), class: 1 }], ...(edns ? { edns } : {}) });
      out.push(encodeMessage(m));
    }
  }
  return out;
}

const HEADER = 12;

/** A copy of the packet, padded with zero bytes to at least a full header (truncation may have cut it). */
function withHeader(p: Uint8Array): Buffer {
  return p.length >= HEADER ? Buffer.from(p) : Buffer.concat([Buffer.from(p), Buffer.alloc(HEADER - p.length)]);
}

function mutators(): ((p: Uint8Array, r: Rand) => Uint8Array)[] {
  const at = (p: Uint8Array, r: Rand, from = 0) => from + int(r, Math.max(1, p.length - from));
  return [
    // bit flips anywhere past the ID
    (p, r) => {
      const q = Uint8Array.from(p);
      for (let n = 1 + int(r, 6); n > 0; n--) q[at(q, r, 2)]! ^= 1 << int(r, 8);
      return q;
    },
    // interesting bytes
    (p, r) => {
      const q = Uint8Array.from(p);
      for (let n = 1 + int(r, 3); n > 0; n--) q[at(q, r, 2)] = pick(r, INTERESTING);
      return q;
    },
    // truncation (including below the header)
    (p, r) => p.subarray(0, int(r, p.length)),
    // random section counts
    (p, r) => {
      const q = withHeader(p);
      for (let i = 0; i < 4; i++) if (r() < 0.6) q.writeUInt16BE(r() < 0.5 ? int(r, 4) : int(r, 0x10000), 4 + 2 * i);
      return new Uint8Array(q);
    },
    // garbage EDNS: an OPT record with random name, size, version, flags, RDLENGTH and options
    (p, r) => {
      const q = withHeader(p);
      const owner = r() < 0.8 ? Uint8Array.of(0) : Uint8Array.of(3, 0x66, 0x6f, 0x6f, 0);
      const options = randomBytes(r, int(r, 40));
      const rdlength = r() < 0.7 ? options.length : int(r, 0x10000);
      const fixed = Buffer.alloc(10);
      fixed.writeUInt16BE(41, 0);
      fixed.writeUInt16BE(r() < 0.5 ? int(r, 0x10000) : pick(r, [0, 1, 511, 512, 1232, 4096, 65535]), 2);
      fixed.writeUInt8(int(r, 256), 4); // extended rcode
      fixed.writeUInt8(r() < 0.7 ? 0 : int(r, 256), 5); // version
      fixed.writeUInt16BE(int(r, 0x10000), 6); // DO + Z
      fixed.writeUInt16BE(rdlength, 8);
      const opts = r() < 0.3 ? 1 + int(r, 2) : 1;
      q.writeUInt16BE(q.readUInt16BE(10) + opts, 10);
      const records: Uint8Array[] = [];
      for (let i = 0; i < opts; i++) records.push(owner, fixed, options);
      return concat(q, ...records);
    },
    // compression-pointer loops and wild pointers in the question name
    (p, r) => {
      const q = withHeader(p.subarray(0, HEADER));
      q.writeUInt16BE(1, 4);
      const kind = int(r, 4);
      const name =
        kind === 0
          ? Uint8Array.of(0xc0, HEADER) // points at itself
          : kind === 1
            ? Uint8Array.of(1, 0x61, 0xc0, HEADER) // a. then back to the start
            : kind === 2
              ? Uint8Array.of(0xc0, 14, 0xc0, HEADER) // two pointers pointing at each other
              : Uint8Array.of(0xc0 | int(r, 64), int(r, 256)); // anywhere, even past the end
      return concat(q, name, Uint8Array.of(0, 1, 0, 1));
    },
    // label types 01 and 10 (extended / reserved), over-long labels and names
    (p, r) => {
      const q = withHeader(p.subarray(0, HEADER));
      q.writeUInt16BE(1, 4);
      const labels: Uint8Array[] = [];
      const kind = int(r, 3);
      if (kind === 0) labels.push(Uint8Array.of(0x40 | int(r, 64)), randomBytes(r, 8));
      else if (kind === 1) labels.push(Uint8Array.of(64), randomBytes(r, 64));
      else for (let i = 0; i < 70; i++) labels.push(Uint8Array.of(3), Buffer.from('abc'));
      return concat(q, ...labels, Uint8Array.of(0, 0, 1, 0, 1));
    },
    // random bytes, any length up to a big UDP payload
    (_p, r) => randomBytes(r, int(r, r() < 0.9 ? 600 : 4000)),
    // a valid query followed by junk (trailing bytes, or an oversized packet)
    (p, r) => concat(p, randomBytes(r, r() < 0.8 ? 1 + int(r, 30) : 1000 + int(r, 3000))),
    // random opcode, flags and rcode in the header
    (p, r) => {
      const q = Uint8Array.from(p);
      if (q.length >= 4) {
        q[2] = int(r, 256) & 0x7f; // QR stays 0 here; other mutations set it
        q[3] = int(r, 256);
      }
      return q;
    },
    // two queries spliced
    (p, r) => concat(p.subarray(0, at(p, r)), p.subarray(at(p, r))),
    // random class and type
    (p, r) => {
      const q = withHeader(p);
      const end = q.length - (q.readUInt16BE(10) > 0 ? 11 : 0);
      if (end - 4 > HEADER) {
        q.writeUInt16BE(pick(r, [0, 3, 4, 254, 255, int(r, 0x10000)]), end - 2);
        q.writeUInt16BE(pick(r, [0, 41, 250, 251, 252, 253, 254, 255, int(r, 0x10000)]), end - 4);
      }
      return new Uint8Array(q);
    },
  ];
}

/** `count` packets from the seed corpus, each mutated one to three times. */
function fuzzPackets(count: number, seed: number): Uint8Array[] {
  const r = prng(seed);
  const corpus = seedQueries(r);
  const mutate = mutators();
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    let p = pick(r, corpus);
    for (let n = 1 + int(r, 3); n > 0; n--) p = pick(r, mutate)(p, r);
    out.push(p);
  }
  return out;
}

/** RSS of a process in KiB, from /proc. */
function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function isCorrect(e: ExpectedAnswer, response: Message): boolean {
  const rcode = e.rcode === 'NOERROR' ? 0 : 3;
  if (response.rcode !== rcode) return false;
  if (JSON.stringify(answerSet(response)) !== JSON.stringify(e.answer)) return false;
  return e.soaZone === undefined || authoritySoaOwners(response).includes(e.soaZone);
}

/**
 * Asks the tree's questions in turn until `stop()` is called; each question gets three tries of
 * 5 s (a stub resolver retries too). Returns what went wrong, and how many were asked.
 */
function validClient(): { stop: () => Promise<{ asked: number; failures: string[] }> } {
  let running = true;
  const failures: string[] = [];
  let asked = 0;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const e = EXPECTED_ANSWERS[i % EXPECTED_ANSWERS.length]!;
      let last = 'no answer';
      let ok = false;
      for (let attempt = 0; attempt < 3 && !ok; attempt++) {
        try {
          const { response } = await ask(KEYMASTER, e.name, e.type, { timeoutMs: 5000 });
          ok = isCorrect(e, response);
          last = describeResponse(response);
        } catch (error) {
          last = (error as Error).message;
        }
      }
      asked++;
      if (!ok) failures.push(`${e.label} (${e.name} ${e.type}): ${last}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { asked, failures };
    },
  };
}

describe.skipIf(!tools)('resolver under fuzzed queries (live server)', () => {
  let hierarchy: Hierarchy;
  let keymaster: KeymasterServer;

  beforeAll(async () => {
    hierarchy = await startHierarchy({ prefix: '127.10.5' });
    keymaster = await startKeymaster({ address: KEYMASTER.host, control: CONTROL, rootHints: hierarchy.rootHintsFile, extraYaml: 'log:\n  level: warn\n' });
    // warm up: every question once, so the valid client measures the server, not first lookups
    for (const e of EXPECTED_ANSWERS) await ask(KEYMASTER, e.name, e.type, { timeoutMs: 15_000 }).catch(() => undefined);
  }, 120_000);

  afterAll(async () => {
    await keymaster?.stop();
    await hierarchy?.stop();
  });

  it(`survives ${UDP_PACKETS} mutated UDP queries while another client keeps getting correct answers`, async () => {
    const packets = fuzzPackets(UDP_PACKETS, SEED);
    // Each packet carries its index as ID (when it has an ID at all), so answers can be traced back.
    const sentWithQr = new Set<number>();
    for (const [i, p] of packets.entries()) {
      if (p.length >= 2) {
        p[0] = (i >> 8) & 0xff;
        p[1] = i & 0xff;
      }
      if (p.length >= 3 && (p[2]! & 0x80) !== 0) sentWithQr.add(i & 0xffff);
    }
    const socket = dgram.createSocket('udp4');
    const problems: string[] = [];
    let answers = 0;
    socket.on('message', (msg) => {
      answers++;
      if (msg.length < 12) return void problems.push(`answer shorter than a header: ${msg.toString('hex')}`);
      const id = msg.readUInt16BE(0);
      if ((msg[2]! & 0x80) === 0) problems.push(`answer without QR for packet ${id}: ${msg.subarray(0, 40).toString('hex')}`);
      if (sentWithQr.has(id)) problems.push(`answered packet ${id}, which had QR set (a response): ${Buffer.from(packets[id]!).toString('hex')}`);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));

    const client = validClient();
    try {
      for (let i = 0; i < packets.length; i += BATCH) {
        await Promise.all(
          packets.slice(i, i + BATCH).map((p) => new Promise<void>((resolve) => socket.send(p, KEYMASTER.port, KEYMASTER.host, () => resolve()))),
        );
        await new Promise((r) => setTimeout(r, BATCH_PAUSE_MS));
        if (!keymaster.alive()) break;
      }
      await new Promise((r) => setTimeout(r, 2000)); // stragglers
    } finally {
      socket.close();
    }
    const valid = await client.stop();

    expect(keymaster.alive(), `the server died:\n${keymaster.log().slice(-6000)}`).toBe(true);
    expect(problems.slice(0, 10)).toEqual([]);
    expect(valid.failures, `${valid.failures.length} of ${valid.asked} real questions failed during the fuzzing; server log:\n${keymaster.log().slice(-4000)}`).toEqual([]);
    expect(valid.asked, 'the real client kept asking throughout').toBeGreaterThanOrEqual(20);
    expect(answers, 'the fuzzed queries that are answerable got answers').toBeGreaterThan(UDP_PACKETS / 20);
    console.log(`fuzz: ${UDP_PACKETS} packets sent, ${answers} answered; real client: ${valid.asked} questions, all correct; RSS ${Math.round(rssKiB(keymaster.child.pid!) / 1024)} MiB`);
  }, 300_000);

  it(`survives ${TCP_CONNECTIONS} TCP connections of garbage frames, and keeps answering over TCP`, async () => {
    const r = prng(SEED ^ 0x7c9);
    const corpus = seedQueries(r);
    const mutate = mutators();
    const fuzzed = () => {
      let p = pick(r, corpus);
      for (let n = 1 + int(r, 2); n > 0; n--) p = pick(r, mutate)(p, r);
      return p;
    };
    // Half-open connections held across the run: a partial length prefix, a partial frame.
    const held = await Promise.all(
      [Uint8Array.of(0), Uint8Array.of(0, 40, 1, 2, 3), Uint8Array.of(0xff, 0xff, 0, 0)].map(
        (bytes) =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(KEYMASTER, () => {
              s.write(bytes);
              resolve(s);
            });
            s.on('error', () => undefined);
          }),
      ),
    );
    const problems: string[] = [];
    const scenarios: (() => Promise<void>)[] = [];
    for (let i = 0; i < TCP_CONNECTIONS; i++) {
      const kind = int(r, 6);
      let payload: Uint8Array;
      if (kind === 0) payload = tcpFrames(Array.from({ length: 1 + int(r, 5) }, fuzzed)); // framed garbage
      else if (kind === 1) payload = concat(Uint8Array.of(int(r, 256), int(r, 256)), randomBytes(r, int(r, 300))); // a length that lies
      else if (kind === 2) payload = tcpFrames([new Uint8Array(0), new Uint8Array(0), fuzzed()]); // empty frames
      else if (kind === 3) payload = concat(Uint8Array.of(0xff, 0xff), randomBytes(r, 2000)); // a 64 KB frame, cut short
      else if (kind === 4) payload = randomBytes(r, 1 + int(r, 100)); // no framing at all
      else payload = tcpFrames([fuzzed(), fuzzed()]);
      const chunks = r() < 0.3 ? 1 + int(r, 8) : 1;
      // Spread over many source addresses: the server caps TCP connections per client (RFC 7766 §6.2.2).
      const source = `127.10.5.${100 + (i % 100)}`;
      scenarios.push(async () => {
        const { messages } = await tcpExchangeRaw(KEYMASTER, payload, { expect: 10, timeoutMs: 300, chunks, source });
        for (const m of messages) if (m.length < 12 || (m[2]! & 0x80) === 0) problems.push(`TCP answer without QR: ${Buffer.from(m).toString('hex')}`);
      });
    }
    for (let i = 0; i < scenarios.length; i += TCP_PARALLEL) await Promise.all(scenarios.slice(i, i + TCP_PARALLEL).map((s) => s()));

    expect(keymaster.alive(), `the server died:\n${keymaster.log().slice(-6000)}`).toBe(true);
    expect(problems.slice(0, 10)).toEqual([]);
    // A query written one byte at a time is reassembled, while the half-open connections are still open.
    const e = EXPECTED_ANSWERS.find((x) => x.label === 'A')!;
    const query = newMessage({ id: 0x5151, rd: true, question: [{ name: Name.parse(e.name), type: parseType(e.type), class: 1 }] });
    const bytes = tcpFrames([encodeMessage(query)]);
    const slow = await tcpExchangeRaw(KEYMASTER, bytes, { expect: 1, timeoutMs: 10_000, chunks: bytes.length });
    expect(slow.messages).toHaveLength(1);
    const tcp = await ask(KEYMASTER, 'big.a.test.', 'TXT', { tcp: true, timeoutMs: 15_000 });
    expect(isCorrect(EXPECTED_ANSWERS.find((x) => x.needsTcp)!, tcp.response), describeResponse(tcp.response)).toBe(true);
    for (const s of held) s.destroy();
  }, 300_000);

  it('is alive afterwards: every question answered correctly, control API up, no fatal log line, memory bounded', async () => {
    expect(keymaster.alive()).toBe(true);
    for (const e of EXPECTED_ANSWERS) {
      const { response } = await ask(KEYMASTER, e.name, e.type, { timeoutMs: 15_000 });
      expect(isCorrect(e, response), `${e.label}: ${describeResponse(response)}`).toBe(true);
    }
    const status = await keymaster.cli(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).pid).toBe(keymaster.child.pid);
    const fatal = keymaster
      .log()
      .split('\n')
      .filter((line) => /"level":60|uncaught|unhandled/i.test(line));
    expect(fatal.slice(0, 5)).toEqual([]);
    expect(rssKiB(keymaster.child.pid!), 'RSS under 1 GiB').toBeLessThan(1024 * 1024);
  }, 120_000);
});
