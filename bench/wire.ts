/**
 * Wire codec throughput: decode + encode of the same message, ours against dns-packet
 * (the library DESIGN.md chose not to use), in one run. `npm run bench`.
 *
 * Each case is built once as bytes; every iteration decodes those bytes and encodes the
 * result again, which is what a server does with a query and a forwarder with a response.
 */
import * as dnsPacket from 'dns-packet';
import { decodeMessage, defaultEdns, encodeMessage, newMessage, parseRecordLine, Name, RRType } from '../src/wire/index.js';
import type { Message } from '../src/wire/index.js';

const RUN_MS = Number(process.env['BENCH_MS'] ?? 1500);
const WARMUP_MS = Math.min(500, RUN_MS);

const rr = (line: string) => parseRecordLine(line);

function typicalResponse(): Message {
  return newMessage({
    id: 0x1234, qr: true, rd: true, ra: true,
    question: [{ name: Name.parse('www.example.com.'), type: RRType.A, class: 1 }],
    answer: [
      rr('www.example.com. 300 IN CNAME web.example.com.'),
      rr('web.example.com. 300 IN A 192.0.2.10'),
      rr('web.example.com. 300 IN A 192.0.2.11'),
    ],
    authority: [
      rr('example.com. 86400 IN NS ns1.example.com.'),
      rr('example.com. 86400 IN NS ns2.example.com.'),
      rr('example.com. 86400 IN NS ns3.example.net.'),
    ],
    additional: [
      rr('ns1.example.com. 86400 IN A 192.0.2.53'),
      rr('ns1.example.com. 86400 IN AAAA 2001:db8::53'),
      rr('ns2.example.com. 86400 IN A 198.51.100.53'),
      rr('ns2.example.com. 86400 IN AAAA 2001:db8:1::53'),
    ],
    edns: defaultEdns({ udpSize: 1232 }),
  });
}

const SIG = Buffer.alloc(64, 0xab).toString('base64');

function signedNxdomain(): Message {
  const sig = (covered: string, owner: string, labels: number) =>
    rr(`${owner} 3600 IN RRSIG ${covered} 13 ${labels} 3600 20300101000000 20240101000000 31337 example.com. ${SIG}`);
  return newMessage({
    id: 0xbeef, qr: true, aa: true, rd: true, rcode: 3,
    question: [{ name: Name.parse('nope.www.example.com.'), type: RRType.A, class: 1 }],
    authority: [
      rr('example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 3600'),
      sig('SOA', 'example.com.', 2),
      rr('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.com. 3600 IN NSEC3 1 0 0 - 1AVVQN74SG75UKFVF25DGCETHGQ638EK NS SOA RRSIG DNSKEY NSEC3PARAM'),
      sig('NSEC3', '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.com.', 3),
      rr('b4um86eghhds6nea196smvmlo4ors995.example.com. 3600 IN NSEC3 1 0 0 - GMNFCCCJA6RKNJDE9KDS5PH01CB4LRUS A RRSIG'),
      sig('NSEC3', 'b4um86eghhds6nea196smvmlo4ors995.example.com.', 3),
      rr('35mthgpgcu1qg68fab165klnsnk3dpvl.example.com. 3600 IN NSEC3 1 0 0 - 5UUB0FHM79T2S9L5BRGHV3Q7O1UV5JKQ A AAAA RRSIG'),
      sig('NSEC3', '35mthgpgcu1qg68fab165klnsnk3dpvl.example.com.', 3),
    ],
    edns: defaultEdns({ udpSize: 1232, dnssecOk: true }),
  });
}

interface Result {
  readonly name: string;
  readonly opsPerSec: number;
}

function measure(name: string, fn: () => void): Result {
  const until = (ms: number) => {
    const end = performance.now() + ms;
    let n = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) fn();
      n += 100;
    }
    return n;
  };
  until(WARMUP_MS);
  const start = performance.now();
  const n = until(RUN_MS);
  return { name, opsPerSec: (n * 1000) / (performance.now() - start) };
}

function benchCase(label: string, message: Message): { ours: Result; theirs: Result; bytes: number } {
  const ours = encodeMessage(message);
  // dns-packet must be able to read what we send; it then re-encodes its own view.
  const theirsBuf = dnsPacket.encode(dnsPacket.decode(Buffer.from(ours)));
  let sink = 0;
  const ourResult = measure(`${label}: keymaster`, () => {
    sink += encodeMessage(decodeMessage(ours)).length;
  });
  const theirResult = measure(`${label}: dns-packet`, () => {
    sink += dnsPacket.encode(dnsPacket.decode(theirsBuf)).length;
  });
  if (sink === 0) throw new Error('unreachable');
  return { ours: ourResult, theirs: theirResult, bytes: ours.length };
}

function main(): void {
  const cases = [
    ['typical response (CNAME+A, 3 NS, glue, EDNS)', typicalResponse()],
    ['signed NXDOMAIN (SOA, 3 NSEC3, 4 RRSIG, DO)', signedNxdomain()],
  ] as const;
  const rows: string[][] = [['message', 'bytes', 'keymaster ops/s', 'dns-packet ops/s', 'ratio']];
  for (const [label, message] of cases) {
    const r = benchCase(label, message);
    rows.push([
      label,
      String(r.bytes),
      Math.round(r.ours.opsPerSec).toLocaleString('en-US'),
      Math.round(r.theirs.opsPerSec).toLocaleString('en-US'),
      `${(r.ours.opsPerSec / r.theirs.opsPerSec).toFixed(1)}x`,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log(`decode+encode, ${RUN_MS} ms per case after ${WARMUP_MS} ms warm-up, node ${process.version}`);
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

main();
