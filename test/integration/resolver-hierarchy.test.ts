/**
 * Keymaster as a recursive resolver over a private DNS tree of real NSD servers
 * (test/support/dns-hierarchy.ts), answer for answer against Unbound on the same tree, plus the
 * protocol edges a recursive server is judged on: access control, FORMERR, NOTIMP, BADVERS, TC
 * and TCP (with pipelining), caching and `keymaster cache flush`.
 *
 * Addresses: the tree on 127.10.1.0/24, Keymaster on 127.10.3.1:53 (control 127.10.3.1:5380),
 * Unbound on 127.10.3.2:53. 127.10.3.9 is outside `recursion.allow`.
 */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { type Message, Rcode, rcodeToString } from '../../src/wire/message.js';
import { RRType } from '../../src/wire/rr-type.js';
import {
  type ExpectedAnswer,
  type Hierarchy,
  CACHE_ZONE_RECORDS_V1,
  EXPECTED_ANSWERS,
  answerSet,
  ask,
  authoritySoaOwners,
  buildQuery,
  describeResponse,
  recordKey,
  startHierarchy,
} from '../support/dns-hierarchy.js';
import {
  type KeymasterServer,
  type RunningServer,
  haveTool,
  startKeymaster,
  tcpExchangeRaw,
  tcpFrames,
  udpExchangeRaw,
} from '../support/external-servers.js';

const KEYMASTER = { host: '127.10.3.1', port: 53 };
const UNBOUND = { host: '127.10.3.2', port: 53 };
const CONTROL = '127.10.3.1:5380';
/** Inside 127.10.3.0/29: allowed. */
const INSIDER = '127.10.3.5';
/** Outside every allowed prefix. */
const OUTSIDER = '127.10.3.9';
/** Above Keymaster's 10 s resolution deadline, so a slow answer is a SERVFAIL, not a client timeout. */
const TIMEOUT_MS = 15_000;

const tools = ['nsd', 'unbound'].every(haveTool);

/** The header of any response, even one that echoes undecodable bytes (Unbound does for FORMERR). */
function header(bytes: Uint8Array): { id: number; qr: boolean; opcode: number; rcode: number } {
  expect(bytes.length, 'a response has at least a 12-byte header').toBeGreaterThanOrEqual(12);
  return { id: (bytes[0]! << 8) | bytes[1]!, qr: (bytes[2]! & 0x80) !== 0, opcode: (bytes[2]! >> 3) & 0x0f, rcode: bytes[3]! & 0x0f };
}

function checkAgainstExpected(who: string, e: ExpectedAnswer, response: Message): void {
  const what = `${who}: ${e.label} (${e.name} ${e.type}) got ${describeResponse(response)}`;
  expect(rcodeToString(response.rcode), what).toBe(e.rcode);
  expect(answerSet(response), what).toEqual(e.answer);
  if (e.soaZone !== undefined) expect(authoritySoaOwners(response), what).toContain(e.soaZone);
}

/** A number at a key path like `resolver.cache.hits` (any `…cache…hits…` path), if the status has one. */
function cacheHits(status: unknown, path: string[] = []): number | undefined {
  if (typeof status === 'number') return path.some((p) => /cache/i.test(p)) && /^hits$/i.test(path.at(-1) ?? '') ? status : undefined;
  if (status === null || typeof status !== 'object') return undefined;
  for (const [key, value] of Object.entries(status)) {
    const found = cacheHits(value, [...path, key]);
    if (found !== undefined) return found;
  }
  return undefined;
}

describe.skipIf(!tools)('recursive resolver on a private DNS hierarchy (Keymaster against Unbound)', () => {
  let hierarchy: Hierarchy;
  let unbound: RunningServer;
  let keymaster: KeymasterServer;

  beforeAll(async () => {
    hierarchy = await startHierarchy({ prefix: '127.10.1' });
    unbound = await hierarchy.startUnbound(UNBOUND.host);
    keymaster = await startKeymaster({
      address: KEYMASTER.host,
      control: CONTROL,
      rootHints: hierarchy.rootHintsFile,
      allow: ['127.0.0.1/32', '127.10.3.0/29', '::1/128'],
    });
  }, 120_000);

  afterAll(async () => {
    await keymaster?.stop();
    await unbound?.stop();
    await hierarchy?.stop();
  });

  describe('answers every question of the tree like Unbound does', () => {
    // One `it` per question; each asks Unbound (which checks the tree itself) and Keymaster.
    it.each(EXPECTED_ANSWERS)('$label: $name $type', async (e) => {
      const [fromUnbound, fromKeymaster] = await Promise.all([
        ask(UNBOUND, e.name, e.type, { timeoutMs: TIMEOUT_MS }),
        ask(KEYMASTER, e.name, e.type, { timeoutMs: TIMEOUT_MS }),
      ]);
      checkAgainstExpected('Keymaster', e, fromKeymaster.response);
      const k = fromKeymaster.response;
      if (e.unboundMayDiffer === undefined) {
        checkAgainstExpected('Unbound (the tree itself)', e, fromUnbound.response);
        expect(answerSet(k)).toEqual(answerSet(fromUnbound.response));
        expect(k.rcode).toBe(fromUnbound.response.rcode);
      }
      // A recursive answer: RA set, RD echoed, not authoritative (BIND and Unbound never set AA here).
      expect(k.qr && k.ra && k.rd, describeResponse(k)).toBe(true);
      expect(k.aa, 'AA on a recursive answer').toBe(false);
      expect(k.opcode).toBe(0);
      if (e.needsTcp) {
        expect(fromUnbound.truncatedOverUdp, 'Unbound truncated the big answer over UDP').toBe(true);
        expect(fromKeymaster.truncatedOverUdp, 'Keymaster must set TC when the answer exceeds 1232 bytes').toBe(true);
        expect(fromKeymaster.transport).toBe('tcp');
      } else {
        expect(fromKeymaster.truncatedOverUdp, 'no TC for an answer that fits').toBe(false);
      }
    });
  });

  it('keeps lameness per zone: the example. server, lame for upward.example., still answers for example.', async () => {
    // Several fresh names in each lame zone make it all but certain that the lame NS are tried.
    for (const zone of ['lame.example.', 'upward.example.']) {
      for (let i = 0; i < 6; i++) {
        const r = await ask(KEYMASTER, `fresh${i}.${zone}`, 'A', { timeoutMs: TIMEOUT_MS });
        expect(rcodeToString(r.response.rcode), `fresh${i}.${zone} ${describeResponse(r.response)}`).toBe('NXDOMAIN');
        expect(authoritySoaOwners(r.response)).toContain(zone);
      }
    }
    const r = await ask(KEYMASTER, 'nothere.example.', 'A', { timeoutMs: TIMEOUT_MS });
    expect(rcodeToString(r.response.rcode), describeResponse(r.response)).toBe('NXDOMAIN');
    expect(authoritySoaOwners(r.response)).toContain('example.');
  });

  describe('question handling', () => {
    it('echoes the question exactly as asked (case preserved) and matches case-insensitively', async () => {
      const query = buildQuery('HoSt.A.TeSt.', 'A');
      const ex = await udpExchangeRaw(KEYMASTER, encodeMessage(query), { timeoutMs: TIMEOUT_MS });
      expect(ex, 'an answer').toBeDefined();
      const response = decodeMessage(ex!);
      expect(response.id).toBe(query.id);
      expect(response.question).toHaveLength(1);
      expect(Buffer.from(response.question[0]!.name.wire)).toEqual(Buffer.from(query.question[0]!.name.wire));
      expect(answerSet(response)).toEqual([recordKey('host.a.test. A 192.0.2.1')]);
    });

    it('answers an EDNS-less query within 512 bytes', async () => {
      const r = await ask(KEYMASTER, 'host.a.test.', 'A', { udpSize: false, timeoutMs: TIMEOUT_MS });
      expect(r.response.edns, 'no OPT in the answer to a query without one (RFC 6891 §7)').toBeUndefined();
      expect(answerSet(r.response)).toEqual([recordKey('host.a.test. A 192.0.2.1')]);
    });
  });

  describe('access control', () => {
    it('REFUSES recursion to a client outside recursion.allow, and serves one inside', async () => {
      const query = buildQuery('host.a.test.', 'A');
      const refused = await udpExchangeRaw(KEYMASTER, encodeMessage(query), { source: OUTSIDER, timeoutMs: TIMEOUT_MS });
      expect(refused, `an answer to ${OUTSIDER} (REFUSED, not silence)`).toBeDefined();
      const r = decodeMessage(refused!);
      expect(r.id).toBe(query.id);
      expect(r.qr).toBe(true);
      expect(rcodeToString(r.rcode)).toBe('REFUSED');
      expect(r.answer, 'no data leaks to a refused client').toHaveLength(0);

      const allowed = await udpExchangeRaw(KEYMASTER, encodeMessage(buildQuery('host.a.test.', 'A', { id: 4242 })), { source: INSIDER, timeoutMs: TIMEOUT_MS });
      expect(allowed).toBeDefined();
      const a = decodeMessage(allowed!);
      expect(rcodeToString(a.rcode)).toBe('NOERROR');
      expect(answerSet(a)).toEqual([recordKey('host.a.test. A 192.0.2.1')]);
    });

    it('REFUSES the outsider over TCP too', async () => {
      // net.connect cannot choose a source address portably here, so this goes through a bound socket.
      const { createConnection } = await import('node:net');
      const query = buildQuery('host.a.test.', 'A');
      const bytes = await new Promise<Buffer>((resolve, reject) => {
        const socket = createConnection({ host: KEYMASTER.host, port: KEYMASTER.port, localAddress: OUTSIDER });
        let buf = Buffer.alloc(0);
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error('no TCP answer to the outsider'));
        }, TIMEOUT_MS);
        socket.on('connect', () => socket.write(tcpFrames([encodeMessage(query)])));
        socket.on('data', (d) => {
          buf = Buffer.concat([buf, d]);
          if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
            clearTimeout(timer);
            socket.destroy();
            resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          }
        });
        socket.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      const r = decodeMessage(bytes);
      expect(r.id).toBe(query.id);
      expect(rcodeToString(r.rcode)).toBe('REFUSED');
    });
  });

  describe('malformed and unusual queries', () => {
    const base = () => encodeMessage(buildQuery('host.a.test.', 'A', { udpSize: false, id: 0x1234 }));
    const edit = (bytes: Uint8Array, change: (b: Buffer) => void): Uint8Array => {
      const copy = Buffer.from(bytes);
      change(copy);
      return new Uint8Array(copy);
    };
    const withTwoOpts = (): Uint8Array => {
      const q = encodeMessage(buildQuery('host.a.test.', 'A', { id: 0x1234 }));
      const opt = q.subarray(q.length - 11);
      const twice = Buffer.concat([Buffer.from(q), Buffer.from(opt)]);
      twice.writeUInt16BE(2, 10);
      return new Uint8Array(twice);
    };
    const formerrCases: [string, () => Uint8Array][] = [
      ['question cut short', () => base().subarray(0, 17)],
      ['label length past the end', () => edit(base(), (b) => (b[12] = 63))],
      ['no question (QDCOUNT 0)', () => edit(base(), (b) => b.writeUInt16BE(0, 4)).subarray(0, 12)],
      ['compression pointer loop in the question', () => new Uint8Array(Buffer.concat([Buffer.from(base().subarray(0, 12)), Buffer.from([0xc0, 12, 0, 1, 0, 1])]))],
      ['ANCOUNT 1 with no answer record', () => edit(base(), (b) => b.writeUInt16BE(1, 6))],
      ['two OPT records (RFC 6891 §6.1.1)', withTwoOpts],
    ];
    it.each(formerrCases)('FORMERR for %s (as Unbound answers)', async (_label, make) => {
      const packet = make();
      const [k, u] = await Promise.all([udpExchangeRaw(KEYMASTER, packet, { timeoutMs: 5000 }), udpExchangeRaw(UNBOUND, packet, { timeoutMs: 5000 })]);
      expect(u, 'Unbound answers it').toBeDefined();
      expect(header(u!).rcode).toBe(Rcode.FORMERR);
      expect(k, 'Keymaster answers it').toBeDefined();
      const h = header(k!);
      expect(h).toMatchObject({ id: 0x1234, qr: true, rcode: Rcode.FORMERR });
    });

    it.each([1, 2, 3, 15])('NOTIMP for opcode %i', async (opcode) => {
      const packet = edit(base(), (b) => (b[2] = (b[2]! & 0x87) | (opcode << 3)));
      const k = await udpExchangeRaw(KEYMASTER, packet, { timeoutMs: 5000 });
      expect(k, 'an answer').toBeDefined();
      expect(header(k!)).toMatchObject({ id: 0x1234, qr: true, opcode, rcode: Rcode.NOTIMP });
    });

    it('BADVERS for EDNS version 1, with an OPT of version 0 (RFC 6891 §6.1.3)', async () => {
      const query = { ...buildQuery('host.a.test.', 'A'), edns: { udpSize: 1232, version: 1, dnssecOk: false, zFlags: 0, options: [] } };
      const k = await udpExchangeRaw(KEYMASTER, encodeMessage(query), { timeoutMs: 5000 });
      expect(k).toBeDefined();
      const r = decodeMessage(k!);
      expect(r.id).toBe(query.id);
      expect(rcodeToString(r.rcode)).toBe('BADVERS');
      expect(r.edns?.version).toBe(0);
      expect(r.answer).toHaveLength(0);
    });

    it('does not answer a packet with QR set (a response is never answered)', async () => {
      // Decided by order, not by a timeout: the QR packet goes first, then a good query from the
      // same socket; the server handles a socket's packets in order, so an answer to the first
      // would arrive before the answer to the second.
      const packet = edit(base(), (b) => (b[2]! |= 0x80));
      const good = encodeMessage(buildQuery('host.a.test.', 'A', { udpSize: false, id: 0x4321 }));
      const socket = dgram.createSocket('udp4');
      const ids: number[] = [];
      try {
        await new Promise<void>((resolve, reject) => {
          socket.on('error', reject);
          socket.on('message', (m) => {
            ids.push(m.readUInt16BE(0));
            if (m.readUInt16BE(0) === 0x4321) resolve();
          });
          socket.send(packet, KEYMASTER.port, KEYMASTER.host);
          socket.send(good, KEYMASTER.port, KEYMASTER.host);
        });
      } finally {
        socket.close();
      }
      expect(ids).toEqual([0x4321]);
    });
  });

  describe('UDP size, TC and TCP', () => {
    const big = () => EXPECTED_ANSWERS.find((e) => e.needsTcp)!;

    it.each([512, 1232] as const)('sets TC on the big answer over UDP with EDNS size %i, within that size', async (size) => {
      const query = buildQuery('big.a.test.', 'TXT', { udpSize: size });
      const bytes = await udpExchangeRaw(KEYMASTER, encodeMessage(query), { timeoutMs: TIMEOUT_MS });
      expect(bytes).toBeDefined();
      expect(bytes!.length).toBeLessThanOrEqual(size);
      const r = decodeMessage(bytes!);
      expect(r.tc).toBe(true);
      expect(r.id).toBe(query.id);
    });

    it('sets TC without EDNS (512 bytes), and gives the full answer over TCP', async () => {
      const udp = await udpExchangeRaw(KEYMASTER, encodeMessage(buildQuery('big.a.test.', 'TXT', { udpSize: false })), { timeoutMs: TIMEOUT_MS });
      expect(udp!.length).toBeLessThanOrEqual(512);
      expect(decodeMessage(udp!).tc).toBe(true);
      const tcp = await ask(KEYMASTER, 'big.a.test.', 'TXT', { tcp: true, timeoutMs: TIMEOUT_MS });
      expect(tcp.response.tc).toBe(false);
      expect(answerSet(tcp.response)).toEqual(big().answer);
    });

    it('gives the whole answer over UDP when the client offers 4096 bytes', async () => {
      const r = await ask(KEYMASTER, 'big.a.test.', 'TXT', { udpSize: 4096, tcpFallback: false, timeoutMs: TIMEOUT_MS });
      // 3.5 KB fits in 4096: BIND and Unbound (max-udp-size 1232 by default since 2020) differ here,
      // so a TC answer is accepted too, as long as it is marked.
      if (!r.response.tc) expect(answerSet(r.response)).toEqual(big().answer);
    });

    it('answers several queries pipelined on one TCP connection, matched by ID (cached and not)', async () => {
      const known = (label: string) => EXPECTED_ANSWERS.find((e) => e.label === label)!;
      // Names never asked before (slow: resolved from the root, one through a zone with a dead
      // server) mixed with cached ones, so a server that answers as soon as it can answers out of order.
      const cases: ExpectedAnswer[] = [
        { label: 'fresh NXDOMAIN behind a dead server', name: 'fresh.dead.test.', type: 'TXT', rcode: 'NXDOMAIN', answer: [], soaZone: 'dead.test.' },
        { label: 'fresh wildcard', name: 'pipelined.wild.a.test.', type: 'A', rcode: 'NOERROR', answer: [recordKey('pipelined.wild.a.test. A 192.0.2.42')] },
        { label: 'fresh NXDOMAIN behind a lame server', name: 'fresh.lame.example.', type: 'A', rcode: 'NXDOMAIN', answer: [], soaZone: 'lame.example.' },
        known('A'),
        known('CNAME chain across three zones'),
        known('NXDOMAIN'),
        known('deep delegation (four levels below test.)'),
        known('big answer (TXT > 1232 bytes) over TCP after TC'),
        known('glueless TLD (lab. NS in test.)'),
        known('AAAA'),
      ];
      const queries = cases.map((e, i) => buildQuery(e.name, e.type, { id: 0x4000 + i }));
      const { messages } = await tcpExchangeRaw(KEYMASTER, tcpFrames(queries.map((q) => encodeMessage(q))), { expect: queries.length, timeoutMs: 30_000 });
      expect(messages, 'one answer per query on the same connection').toHaveLength(queries.length);
      const responses = messages.map((m) => decodeMessage(m));
      expect(responses.map((m) => m.id).sort()).toEqual(queries.map((q) => q.id).sort());
      for (const [i, e] of cases.entries()) {
        const response = responses.find((m) => m.id === 0x4000 + i)!;
        expect(response.question[0]!.name.toString().toLowerCase()).toBe(e.name);
        checkAgainstExpected('Keymaster over pipelined TCP', e, response);
        expect(response.tc).toBe(false);
      }
    });
  });

  describe('cache', () => {
    const v1 = (name: 'v' | 'w') => recordKey(CACHE_ZONE_RECORDS_V1.find((r) => r.startsWith(`${name}.`))!);
    const v2 = (name: 'v' | 'w') => recordKey(`${name}.cache.example. A 192.0.2.${name === 'v' ? 201 : 202}`);

    it('answers a second identical query from the cache (old data after the zone changed, TTL counting down, hits counted)', async () => {
      const first = await ask(KEYMASTER, 'v.cache.example.', 'A', { timeoutMs: TIMEOUT_MS });
      expect(answerSet(first.response)).toEqual([v1('v')]);
      expect(answerSet((await ask(KEYMASTER, 'w.cache.example.', 'A', { timeoutMs: TIMEOUT_MS })).response)).toEqual([v1('w')]);
      const ttl1 = first.response.answer[0]!.ttl;
      const statusBefore = await keymaster.cli(['status', '--json']);
      expect(statusBefore.code, statusBefore.stderr).toBe(0);

      // New data at the authority: only a resolver that did not ask again still says the old.
      await hierarchy.updateZone('cache.example.', ['v.cache.example. A 192.0.2.201', 'w.cache.example. A 192.0.2.202']);
      // Unbound never asked for v before: it sees the new data, so the change is real.
      expect(answerSet((await ask(UNBOUND, 'v.cache.example.', 'A', { timeoutMs: TIMEOUT_MS })).response)).toEqual([v2('v')]);
      await new Promise((r) => setTimeout(r, 1500));

      const second = await ask(KEYMASTER, 'v.cache.example.', 'A', { timeoutMs: TIMEOUT_MS });
      expect(answerSet(second.response), 'the cached answer').toEqual([v1('v')]);
      expect(second.response.answer[0]!.ttl, 'the TTL of a cached record counts down').toBeLessThan(ttl1);

      const statusAfter = await keymaster.cli(['status', '--json']);
      expect(statusAfter.code, statusAfter.stderr).toBe(0);
      const before = cacheHits(JSON.parse(statusBefore.stdout));
      const after = cacheHits(JSON.parse(statusAfter.stdout));
      if (before === undefined || after === undefined) console.warn('keymaster status --json shows no cache hit counter; checked the TTL only');
      else expect(after, 'status: cache hits increased').toBeGreaterThan(before);
    });

    it('`keymaster cache flush NAME` drops that name (fetched again), and only that name', async () => {
      const flushed = await keymaster.cli(['cache', 'flush', 'v.cache.example.']);
      expect(flushed.code, flushed.stderr).toBe(0);
      expect(answerSet((await ask(KEYMASTER, 'v.cache.example.', 'A', { timeoutMs: TIMEOUT_MS })).response), 'fetched again: the new data').toEqual([v2('v')]);
      expect(answerSet((await ask(KEYMASTER, 'w.cache.example.', 'A', { timeoutMs: TIMEOUT_MS })).response), 'a sibling is still cached').toEqual([v1('w')]);
    });

    it('`keymaster cache flush` drops everything', async () => {
      const flushed = await keymaster.cli(['cache', 'flush']);
      expect(flushed.code, flushed.stderr).toBe(0);
      expect(answerSet((await ask(KEYMASTER, 'w.cache.example.', 'A', { timeoutMs: TIMEOUT_MS })).response)).toEqual([v2('w')]);
      // and resolution from the root still works after the flush
      const e = EXPECTED_ANSWERS.find((c) => c.label.startsWith('CNAME chain'))!;
      checkAgainstExpected('Keymaster after a full flush', e, (await ask(KEYMASTER, e.name, e.type, { timeoutMs: TIMEOUT_MS })).response);
    });
  });

  it('is still running after all of the above', async () => {
    expect(keymaster.alive(), keymaster.log().slice(-4000)).toBe(true);
    const r = await ask(KEYMASTER, 'host.a.test.', 'AAAA', { timeoutMs: TIMEOUT_MS });
    expect(answerSet(r.response)).toEqual([recordKey('host.a.test. AAAA 2001:db8::1')]);
    expect(r.response.answer.every((rr) => rr.type === RRType.AAAA)).toBe(true);
  });
});
