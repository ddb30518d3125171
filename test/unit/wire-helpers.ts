import { expect } from 'vitest';
import {
  type Message, type ResourceRecord, Name, RRClass, RRType, WireError, type WireErrorCode, canonicalRdata,
  cookieOption, defaultEdns, edeOption, EdeCode, newMessage, parseRecordLine,
} from '../../src/wire/index.js';

/** One record from a zone-file line (absolute names). */
export const rr = (line: string): ResourceRecord => parseRecordLine(line);
export const name = (text: string): Name => Name.parse(text);
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const fromHexString = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

/** Runs `fn` and checks it throws a WireError with `code`. */
export function expectWireError(fn: () => unknown, code: WireErrorCode): WireError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a WireError '${code}'`).toBeInstanceOf(WireError);
  expect((caught as WireError).code, (caught as WireError).message).toBe(code);
  return caught as WireError;
}

/**
 * Builds a message byte by byte, without compression or checks, for packets no honest encoder
 * writes: each record is `owner | type | class | ttl | rdlength | rdata` with every part given.
 */
export interface RawRecord {
  readonly owner: Uint8Array;
  readonly type: number;
  readonly cls?: number;
  readonly ttl?: number;
  readonly rdata: Uint8Array;
  /** Written instead of rdata.length when given. */
  readonly rdlength?: number;
}

export function rawMessage(parts: {
  id?: number;
  flags?: number;
  question?: { owner: Uint8Array; type: number; cls?: number }[];
  answer?: RawRecord[];
  authority?: RawRecord[];
  additional?: RawRecord[];
  trailing?: Uint8Array;
}): Uint8Array {
  const out: number[] = [];
  const u16 = (v: number) => out.push((v >> 8) & 0xff, v & 0xff);
  const u32 = (v: number) => (u16(Math.floor(v / 65536) & 0xffff), u16(v & 0xffff));
  const q = parts.question ?? [];
  const sections = [parts.answer ?? [], parts.authority ?? [], parts.additional ?? []];
  u16(parts.id ?? 0x4242);
  u16(parts.flags ?? 0x8100);
  u16(q.length);
  for (const s of sections) u16(s.length);
  for (const x of q) {
    out.push(...x.owner);
    u16(x.type);
    u16(x.cls ?? 1);
  }
  for (const s of sections)
    for (const r of s) {
      out.push(...r.owner);
      u16(r.type);
      u16(r.cls ?? 1);
      u32(r.ttl ?? 300);
      u16(r.rdlength ?? r.rdata.length);
      out.push(...r.rdata);
    }
  if (parts.trailing) out.push(...parts.trailing);
  return Uint8Array.from(out);
}

/** Uncompressed wire form of a name given as text. */
export const wire = (text: string): Uint8Array => Name.parse(text).wire;

/** A two-byte compression pointer to `offset`. */
export const ptr = (offset: number): Uint8Array => Uint8Array.of(0xc0 | (offset >> 8), offset & 0xff);

export const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

/** Deterministic PRNG (mulberry32): the fuzz corpus is the same on every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Records compared as DNS compares them: owner case-insensitively, RDATA in canonical form
 * (our encoder compresses case-insensitively, as BIND does, so a pointer may carry the case
 * of an earlier name).
 */
export function comparableRecord(r: ResourceRecord): string {
  return `${r.name.key}|${r.type}|${r.class}|${r.ttl}|${hex(canonicalRdata(r.type, r.rdata))}`;
}

/** Records exactly: owner and RDATA bytes as they are. */
export function exactRecord(r: ResourceRecord): string {
  return `${hex(r.name.wire)}|${r.type}|${r.class}|${r.ttl}|${hex(r.rdata)}`;
}

const SIG64 = Buffer.alloc(64, 0x5a).toString('base64');
const KEY64 = Buffer.from(Array.from({ length: 64 }, (_, i) => i * 7)).toString('base64');

function sig(owner: string, covered: string, labels: number, signer = 'example.com.'): ResourceRecord {
  return rr(`${owner} 3600 IN RRSIG ${covered} 13 ${labels} 3600 20300101000000 20240101000000 31337 ${signer} ${SIG64}`);
}

/** A typical recursive answer: CNAME chain, NS in authority, glue, EDNS. */
export function typicalResponse(): Message {
  return newMessage({
    id: 0x1234, qr: true, rd: true, ra: true,
    question: [{ name: name('www.example.com.'), type: RRType.A, class: RRClass.IN }],
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

/** A signed NXDOMAIN: SOA and three NSEC3 records, each with its RRSIG; DO set. */
export function signedNxdomain(): Message {
  return newMessage({
    id: 0xbeef, qr: true, aa: true, rd: true, rcode: 3,
    question: [{ name: name('nope.www.example.com.'), type: RRType.A, class: RRClass.IN }],
    authority: [
      rr('example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 3600'),
      sig('example.com.', 'SOA', 2),
      rr('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.com. 3600 IN NSEC3 1 0 0 - 1AVVQN74SG75UKFVF25DGCETHGQ638EK NS SOA RRSIG DNSKEY NSEC3PARAM'),
      sig('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.com.', 'NSEC3', 3),
      rr('b4um86eghhds6nea196smvmlo4ors995.example.com. 3600 IN NSEC3 1 0 0 - GMNFCCCJA6RKNJDE9KDS5PH01CB4LRUS A RRSIG'),
      sig('b4um86eghhds6nea196smvmlo4ors995.example.com.', 'NSEC3', 3),
      rr('35mthgpgcu1qg68fab165klnsnk3dpvl.example.com. 3600 IN NSEC3 1 1 10 AABBCCDD 5UUB0FHM79T2S9L5BRGHV3Q7O1UV5JKQ A AAAA RRSIG'),
      sig('35mthgpgcu1qg68fab165klnsnk3dpvl.example.com.', 'NSEC3', 3),
    ],
    edns: defaultEdns({ udpSize: 1232, dnssecOk: true }),
  });
}

/** A TLD-style referral: 6 NS, v4+v6 glue for each, a signed DS RRset. */
export function bigReferral(): Message {
  const servers = ['a', 'b', 'c', 'd', 'e', 'f'].map((l) => `${l}.nic.example.`);
  return newMessage({
    id: 7, qr: true,
    question: [{ name: name('www.Sub.Example.'), type: RRType.AAAA, class: RRClass.IN }],
    authority: [
      ...servers.map((s) => rr(`sub.example. 172800 IN NS ${s}`)),
      rr('sub.example. 86400 IN DS 31337 13 2 ' + 'AB'.repeat(32)),
      sig('sub.example.', 'DS', 2, 'example.'),
    ],
    additional: servers.flatMap((s, i) => [
      rr(`${s} 172800 IN A 192.0.2.${i + 1}`),
      rr(`${s} 172800 IN AAAA 2001:db8::${i + 1}`),
    ]),
    edns: defaultEdns({ udpSize: 4096, dnssecOk: true }),
  });
}

/** A query with EDNS options: cookie, client subnet, padding, an EDE, an unknown option. */
export function ednsQuery(): Message {
  return newMessage({
    id: 99, rd: true, ad: true,
    question: [{ name: name('example.org.'), type: RRType.DNSKEY, class: RRClass.IN }],
    edns: defaultEdns({
      udpSize: 1400, dnssecOk: true, version: 0,
      options: [
        cookieOption({ client: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), server: new Uint8Array(16).fill(9) }),
        { code: 8, data: Uint8Array.of(0, 1, 24, 0, 192, 0, 2) },
        { code: 12, data: new Uint8Array(20) },
        edeOption(EdeCode.DNSSEC_BOGUS, 'no valid signature'),
        { code: 65001, data: Uint8Array.of(0xde, 0xad) },
      ],
    }),
  });
}

/**
 * One sample in presentation format per RR type the schema knows, plus generic RDATA for an
 * unknown type. Names are mixed case where case matters for canonical form.
 */
export const RDATA_SAMPLES: ReadonlyArray<readonly [string, string]> = [
  ['A', '192.0.2.1'],
  ['NS', 'NS1.Example.COM.'],
  ['MD', 'md.example.'],
  ['MF', 'mf.example.'],
  ['CNAME', 'Target.example.com.'],
  ['SOA', 'NS1.example.com. HostMaster.example.com. 2024010101 7200 3600 1209600 3600'],
  ['MB', 'mb.example.'],
  ['MG', 'mg.example.'],
  ['MR', 'mr.example.'],
  ['PTR', 'host.Example.net.'],
  ['HINFO', '"INTEL-386" "UNIX"'],
  ['MINFO', 'Rmail.example. Email.example.'],
  ['MX', '10 Mail.Example.com.'],
  ['TXT', '"hello world" "\\"quoted\\" back\\\\slash" "\\000\\255\\009" ""'],
  ['RP', 'Admin.example.com. Txt.example.com.'],
  ['AFSDB', '1 AFS.example.com.'],
  ['RT', '10 Relay.example.com.'],
  ['SIG', `A 5 3 86400 20300101000000 20240101000000 2642 Example.com. ${SIG64}`],
  ['KEY', `256 3 13 ${KEY64}`],
  ['PX', '10 Map822.example. MapX400.example.'],
  ['AAAA', '2001:db8::1:0:0:1'],
  ['NXT', 'Next.example. A NXT'],
  ['SRV', '10 60 5060 SIP.Example.com.'],
  ['NAPTR', '100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .'],
  ['KX', '10 Kx.example.'],
  ['DNAME', 'Other.Example.'],
  ['DS', '31337 13 2 ' + '0123456789ABCDEF'.repeat(4)],
  ['SSHFP', '4 2 ' + 'AB'.repeat(32)],
  ['RRSIG', `NSEC3 13 3 3600 20300101000000 20240101000000 31337 Example.COM. ${SIG64}`],
  ['NSEC', 'Host.Example.com. A MX RRSIG NSEC TYPE1234'],
  ['DNSKEY', `257 3 13 ${KEY64}`],
  ['DHCID', 'AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA='],
  ['NSEC3', '1 1 12 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR NS SOA MX RRSIG DNSKEY NSEC3PARAM'],
  ['NSEC3PARAM', '1 0 12 AABBCCDD'],
  ['TLSA', '3 1 1 ' + 'CD'.repeat(32)],
  ['SMIMEA', '3 0 0 ' + '30820102'],
  ['CDS', '0 0 0 00'],
  ['CDNSKEY', `257 3 13 ${KEY64}`],
  ['OPENPGPKEY', KEY64],
  ['CSYNC', '66 3 A NS AAAA'],
  ['ZONEMD', '2018031900 1 1 ' + 'EF'.repeat(48)],
  ['SVCB', '1 svc.example.net. mandatory=alpn,port alpn="h2,h3" port=8443 ipv4hint=192.0.2.1,192.0.2.2 ech=AEX+DQBBpQAgACA= ipv6hint=2001:db8::1 key65000="opaque\\032value"'],
  ['HTTPS', '1 . alpn="h3,h\\\\,odd" no-default-alpn'],
  ['SPF', '"v=spf1 -all"'],
  ['TSIG', 'HMAC-SHA256. 1700000000 300 32 ' + Buffer.alloc(32, 7).toString('base64') + ' 4660 0 0'],
  ['URI', '10 1 "https://www.example.com/path"'],
  ['CAA', '128 issue "letsencrypt.org; validationmethods=dns-01"'],
];

/** Every sample above as one record in an answer section, plus an unknown type. */
export function everyTypeMessage(): Message {
  const answer = RDATA_SAMPLES.map(([type, text], i) => rr(`t${i}.Example.com. 600 IN ${type} ${text}`));
  answer.push(rr('unknown.example.com. 600 IN TYPE65280 \\# 5 0A0000012A'));
  answer.push(rr('empty.example.com. 600 IN TYPE65281 \\# 0'));
  return newMessage({ id: 3, qr: true, aa: true, question: [{ name: name('example.com.'), type: RRType.ANY, class: RRClass.IN }], answer });
}

/** Names with binary labels, escaped dots and upper case: bytes that must survive as they are. */
export function binaryLabelMessage(): Message {
  const odd = Name.fromLabels([Uint8Array.of(0xff, 0x00, 0x80, 0x2e), Uint8Array.of(0x41, 0x2e, 0x62), Buffer.from('example')]);
  return newMessage({
    id: 5, qr: true,
    question: [{ name: odd, type: RRType.TXT, class: RRClass.IN }],
    answer: [
      { name: odd, type: RRType.TXT, class: RRClass.IN, ttl: 60, rdata: Uint8Array.of(3, 0xe2, 0x82, 0xac) },
      { name: odd, type: RRType.CNAME, class: RRClass.IN, ttl: 60, rdata: Name.parse('\\200\\.x.Example.').wire },
    ],
  });
}
