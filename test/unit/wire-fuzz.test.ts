/**
 * Mutation fuzzing of the message codec: 120,000 packets derived from valid messages by a
 * seeded PRNG, so every run tests the same packets and a failure names the one that broke.
 *
 * For every packet: decodeMessage returns or throws a WireError, nothing else. For every
 * packet that decodes: encode → decode → encode gives the same bytes twice, the records are
 * equal (by DNS rules: names case-insensitively, RDATA in canonical form, because compression
 * reuses earlier names case-insensitively), and each record's RDATA printed as text and read
 * back gives the same bytes.
 */
import { describe, expect, it } from 'vitest';
import {
  type Message, RRType, WireError, decodeMessage, encodeMessage, rdataFromText, rdataToText, tokenizeRdata,
} from '../../src/wire/index.js';
import {
  bigReferral, binaryLabelMessage, comparableRecord, concat, ednsQuery, everyTypeMessage, exactRecord, hex,
  mulberry32, ptr, rawMessage, signedNxdomain, typicalResponse, wire,
} from './wire-helpers.js';

const PACKETS = 120_000;
const SEED = 0x5eed_d0c5;

/** A referral whose NS, SOA, MX and SRV RDATA another encoder compressed. */
function foreignCompressed(): Uint8Array {
  return rawMessage({
    question: [{ owner: wire('www.example.com.'), type: RRType.A }],
    answer: [
      { owner: ptr(12), type: RRType.CNAME, rdata: concat(Uint8Array.of(3), Buffer.from('web'), ptr(16)) },
      { owner: ptr(16), type: RRType.MX, rdata: concat(Uint8Array.of(0, 5, 2), Buffer.from('mx'), ptr(16)) },
      { owner: ptr(16), type: RRType.SRV, rdata: concat(Uint8Array.of(0, 1, 0, 2, 0, 3), ptr(12)) },
    ],
    authority: [
      { owner: ptr(16), type: RRType.NS, rdata: concat(Uint8Array.of(3), Buffer.from('ns1'), ptr(16)) },
      { owner: ptr(16), type: RRType.SOA, rdata: concat(Uint8Array.of(3), Buffer.from('ns1'), ptr(16), Uint8Array.of(1, 0x68), ptr(16), new Uint8Array(20).fill(2)) },
    ],
    additional: [{ owner: concat(Uint8Array.of(3), Buffer.from('ns1'), ptr(16)), type: RRType.A, rdata: Uint8Array.of(192, 0, 2, 53) }],
  });
}

function seedCorpus(): Uint8Array[] {
  const messages: Message[] = [typicalResponse(), signedNxdomain(), bigReferral(), ednsQuery(), everyTypeMessage(), binaryLabelMessage()];
  return [...messages.map((m) => encodeMessage(m)), foreignCompressed()];
}

type Rand = () => number;
const INTERESTING = [0x00, 0x01, 0x02, 0x0c, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xc0, 0xff];

/** The mutations; each takes a packet and returns a new one. */
function mutators(corpus: readonly Uint8Array[]): ((p: Uint8Array, r: Rand) => Uint8Array)[] {
  const at = (p: Uint8Array, r: Rand, from = 0) => from + Math.floor(r() * Math.max(1, p.length - from));
  const byte = (r: Rand) => (r() < 0.5 ? INTERESTING[Math.floor(r() * INTERESTING.length)]! : Math.floor(r() * 256));
  return [
    // bit flips
    (p, r) => {
      const q = Uint8Array.from(p);
      for (let n = 1 + Math.floor(r() * 4); n > 0; n--) q[at(q, r)]! ^= 1 << Math.floor(r() * 8);
      return q;
    },
    // byte sets
    (p, r) => {
      const q = Uint8Array.from(p);
      for (let n = 1 + Math.floor(r() * 4); n > 0; n--) q[at(q, r)] = byte(r);
      return q;
    },
    // truncation
    (p, r) => p.slice(0, Math.floor(r() * p.length)),
    // extension
    (p, r) => concat(p, Uint8Array.from({ length: 1 + Math.floor(r() * 16) }, () => byte(r))),
    // splice: the head of this packet, the tail of another
    (p, r) => {
      const other = corpus[Math.floor(r() * corpus.length)]!;
      return concat(p.subarray(0, at(p, r, 12)), other.subarray(at(other, r, 12)));
    },
    // count fields: another small number, one more or less, or the maximum
    (p, r) => {
      const q = Uint8Array.from(p);
      const field = 4 + 2 * Math.floor(r() * 4);
      const old = ((q[field] ?? 0) << 8) | (q[field + 1] ?? 0);
      const roll = r();
      const v = roll < 0.4 ? Math.floor(r() * 6) : roll < 0.8 ? (old + (r() < 0.5 ? 1 : 0xffff)) & 0xffff : 0xffff;
      if (q.length > field + 1) {
        q[field] = v >> 8;
        q[field + 1] = v & 0xff;
      }
      return q;
    },
    // compression pointer injection: mostly backwards, sometimes anywhere
    (p, r) => {
      const q = Uint8Array.from(p);
      const pos = at(q, r, 12);
      const target = r() < 0.8 ? Math.floor(r() * Math.max(1, pos)) : Math.floor(r() * 0x4000);
      q[pos] = 0xc0 | (target >> 8);
      if (pos + 1 < q.length) q[pos + 1] = target & 0xff;
      return q;
    },
    // a 16-bit field (type, class, RDLENGTH...) nudged by one
    (p, r) => {
      const q = Uint8Array.from(p);
      const pos = at(q, r, 12);
      const v = ((((q[pos] ?? 0) << 8) | (q[pos + 1] ?? 0)) + (r() < 0.5 ? 1 : 0xffff)) & 0xffff;
      q[pos] = v >> 8;
      if (pos + 1 < q.length) q[pos + 1] = v & 0xff;
      return q;
    },
    // insertion and deletion of a few bytes
    (p, r) => {
      const pos = at(p, r, 12);
      return concat(p.subarray(0, pos), Uint8Array.from({ length: 1 + Math.floor(r() * 8) }, () => byte(r)), p.subarray(pos));
    },
    (p, r) => {
      const pos = at(p, r, 12);
      return concat(p.subarray(0, pos), p.subarray(Math.min(p.length, pos + 1 + Math.floor(r() * 8))));
    },
  ];
}

interface Stats {
  decoded: number;
  records: number;
  errors: Record<string, number>;
  slowestMs: number;
}

/** Checks one packet; returns a description of what went wrong, or undefined. */
function check(packet: Uint8Array, stats: Stats): string | undefined {
  let m: Message;
  const t0 = performance.now();
  try {
    m = decodeMessage(packet);
  } catch (err) {
    stats.slowestMs = Math.max(stats.slowestMs, performance.now() - t0);
    if (!(err instanceof WireError)) return `decode threw ${String(err)}`;
    stats.errors[err.code] = (stats.errors[err.code] ?? 0) + 1;
    return undefined;
  }
  stats.slowestMs = Math.max(stats.slowestMs, performance.now() - t0);
  stats.decoded++;
  try {
    const first = encodeMessage(m);
    const m2 = decodeMessage(first);
    const second = encodeMessage(m2);
    if (hex(second) !== hex(first)) return 'second encoding differs from the first';
    const m3 = decodeMessage(second);
    const header = (x: Message) =>
      JSON.stringify([x.id, x.qr, x.opcode, x.aa, x.tc, x.rd, x.ra, x.z, x.ad, x.cd, x.rcode, x.edns && { ...x.edns, options: x.edns.options.map((o) => [o.code, hex(o.data)]) }]);
    if (header(m2) !== header(m)) return `header or EDNS changed: ${header(m)} → ${header(m2)}`;
    if (m2.question.length !== m.question.length || m2.question.some((q, i) => !q.name.equals(m.question[i]!.name) || q.type !== m.question[i]!.type || q.class !== m.question[i]!.class))
      return 'question changed';
    for (const section of ['answer', 'authority', 'additional'] as const) {
      const a = m[section].map(comparableRecord).join('\n');
      const b = m2[section].map(comparableRecord).join('\n');
      if (a !== b) return `${section} changed:\n${a}\n→\n${b}`;
      if (m3[section].map(exactRecord).join() !== m2[section].map(exactRecord).join()) return `${section} not byte-stable after one round`;
    }
  } catch (err) {
    return `re-encoding threw ${err instanceof Error ? err.stack : String(err)}`;
  }
  for (const r of [...m.answer, ...m.authority, ...m.additional]) {
    stats.records++;
    let printed = '';
    try {
      printed = rdataToText(r.type, r.rdata);
      const back = rdataFromText(r.type, tokenizeRdata(printed));
      if (hex(back) !== hex(r.rdata)) return `TYPE${r.type} "${printed}" reads back as ${hex(back)}, not ${hex(r.rdata)}`;
    } catch (err) {
      return `TYPE${r.type} ${hex(r.rdata)} as "${printed}": ${String(err)}`;
    }
  }
  return undefined;
}

describe('wire codec fuzz', () => {
  it(`survives ${PACKETS.toLocaleString('en-US')} mutated packets`, () => {
    const corpus = seedCorpus();
    for (const p of corpus) expect(() => decodeMessage(p)).not.toThrow();
    const mutate = mutators(corpus);
    const rand = mulberry32(SEED);
    const stats: Stats = { decoded: 0, records: 0, errors: {}, slowestMs: 0 };
    const failures: string[] = [];
    const start = performance.now();
    for (let i = 0; i < PACKETS && failures.length < 3; i++) {
      let packet = corpus[i % corpus.length]!;
      for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) packet = mutate[Math.floor(rand() * mutate.length)]!(packet, rand);
      const problem = check(packet, stats);
      if (problem) failures.push(`packet ${i} (${packet.length} bytes): ${problem.slice(0, 600)}\n${hex(packet).slice(0, 1200)}`);
    }
    const elapsed = performance.now() - start;
    console.info(
      `wire fuzz: ${PACKETS} packets in ${(elapsed / 1000).toFixed(1)} s; ${stats.decoded} decoded (${stats.records} records ` +
        `round-tripped through text); slowest decode ${stats.slowestMs.toFixed(2)} ms; errors ${JSON.stringify(stats.errors)}`,
    );
    expect(failures).toEqual([]);
    // The mutations must leave enough packets valid to exercise the encoder, and reach the
    // error paths: both outcomes in quantity.
    expect(stats.decoded).toBeGreaterThan(PACKETS / 20);
    expect(Object.keys(stats.errors).sort()).toEqual(
      expect.arrayContaining(['bad-label', 'bad-pointer', 'bad-rdlength', 'bad-rdata', 'compression-forbidden', 'trailing-data', 'truncated']),
    );
  });
});
