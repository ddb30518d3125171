import { describe, expect, it } from 'vitest';
import { defaultEdns } from '../../src/wire/edns.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { type Message, Rcode, type ResourceRecord, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type Lab, client, exchange, labsStoppedAfterAll } from './authority-update-helpers.js';

/**
 * Issue 14, Deliver 8 and 9 on the answer path: every RRSIG carries its RRset's TTL as sent
 * (RFC 4034 §3, RFC 4035 §3.1.3: the SOA of a negative answer has the negative TTL, and so must
 * its RRSIG), and ANY over UDP gets one RRset (RFC 8482), not an amplifier's worth.
 */

const startLab = labsStoppedAfterAll();

const query = (name: string, type: number) => encodeMessage(newMessage({ id: 7, question: [{ name: Name.parse(name), type, class: 1 }], edns: defaultEdns({ dnssecOk: true, udpSize: 1232 }) }));

/** Every RRSIG of every section has the TTL of the RRset it covers in that section. */
function expectSignatureTtlsMatch(m: Message): number {
  let checked = 0;
  for (const section of [m.answer, m.authority, m.additional] as ResourceRecord[][]) {
    for (const sig of section.filter((r) => r.type === RRType.RRSIG)) {
      const covered = (sig.rdata[0]! << 8) | sig.rdata[1]!;
      const set = section.filter((r) => r.type === covered && r.name.equals(sig.name));
      expect(set.length, `${sig.name.toString()} RRSIG covers something in its section`).toBeGreaterThan(0);
      for (const r of set) expect(sig.ttl, `RRSIG ${sig.name.toString()}/${covered} TTL`).toBe(r.ttl);
      checked++;
    }
  }
  return checked;
}

for (const denial of ['nsec3', 'nsec'] as const) {
  describe(`${denial}: RRSIG TTL equals its RRset's TTL in every section`, () => {
    let l: Lab;
    it('NXDOMAIN and NODATA: the SOA and its RRSIG both carry the negative TTL (the SOA minimum, 60 s, under the SOA TTL of 300 s)', async () => {
      l = await startLab({ nsec: denial === 'nsec' });
      for (const [name, type, rcode] of [['nothing.lab.example.', RRType.A, Rcode.NXDOMAIN], ['www.lab.example.', RRType.AAAA, Rcode.NOERROR], ['lab.example.', RRType.TXT, Rcode.NOERROR]] as const) {
        const { message } = await exchange(l, query(name, type));
        expect(message.rcode).toBe(rcode);
        const soa = message.authority.find((r) => r.type === RRType.SOA)!;
        expect(soa.ttl).toBe(60);
        const soaSig = message.authority.find((r) => r.type === RRType.RRSIG && r.name.equals(soa.name) && ((r.rdata[0]! << 8) | r.rdata[1]!) === RRType.SOA)!;
        expect(soaSig.ttl).toBe(60);
        expect(expectSignatureTtlsMatch(message)).toBeGreaterThanOrEqual(2);
      }
    });
    it('positive answers, referrals with glue and MX additionals match too', async () => {
      for (const [name, type] of [['www.lab.example.', RRType.A], ['lab.example.', RRType.MX], ['lab.example.', RRType.DNSKEY], ['lab.example.', RRType.SOA]] as const) {
        const { message } = await exchange(l, query(name, type));
        expect(message.rcode).toBe(Rcode.NOERROR);
        expect(expectSignatureTtlsMatch(message)).toBeGreaterThan(0);
      }
    });
  });
}

describe('ANY (RFC 8482)', () => {
  it('over UDP: one RRset and its RRSIGs; over TCP: everything; a name without data: NODATA', async () => {
    const l = await startLab();
    const udp = (await exchange(l, query('lab.example.', RRType.ANY), client('192.0.2.53', 'udp'))).message;
    expect(udp.rcode).toBe(Rcode.NOERROR);
    const types = new Set(udp.answer.filter((r) => r.type !== RRType.RRSIG).map((r) => r.type));
    expect(types.size).toBe(1);
    expect(udp.answer.some((r) => r.type === RRType.RRSIG)).toBe(true);
    expect(udp.answer.every((r) => r.type !== RRType.RRSIG || ((r.rdata[0]! << 8) | r.rdata[1]!) === [...types][0])).toBe(true);
    const tcp = (await exchange(l, query('lab.example.', RRType.ANY), client('192.0.2.53', 'tcp'))).message;
    const all = new Set(tcp.answer.filter((r) => r.type !== RRType.RRSIG).map((r) => r.type));
    expect([...all]).toEqual(expect.arrayContaining([RRType.SOA, RRType.NS, RRType.MX, RRType.DNSKEY]));
    // The amplification: the UDP answer is a fraction of the full one.
    const udpBytes = (await exchange(l, query('lab.example.', RRType.ANY), client('192.0.2.53', 'udp'))).bytes.length;
    const tcpBytes = (await exchange(l, query('lab.example.', RRType.ANY), client('192.0.2.53', 'tcp'))).bytes.length;
    expect(udpBytes * 3).toBeLessThan(tcpBytes);
    const queryBytes = query('lab.example.', RRType.ANY).length;
    console.log(`ANY lab.example. (signed, DO): query ${queryBytes} bytes; answer ${udpBytes} bytes over UDP (${(udpBytes / queryBytes).toFixed(1)}x), ${tcpBytes} over TCP (${(tcpBytes / queryBytes).toFixed(1)}x)`);
  });
});
