/**
 * dns-packet as an oracle: messages it builds decode to the same fields with our codec, and
 * what we encode it reads back to the same records. Where the two differ on purpose, a test
 * shows which one keeps the bytes right.
 */
import * as dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import {
  type Message, type Name, type ResourceRecord, RRType, WireError, canonicalRdata, classToString, decodeMessage,
  decodeRdata, encodeMessage, formatIpv6, parseIpv6, rdataSchema, rdataToText, typeToString,
} from '../../src/wire/index.js';
import { binaryLabelMessage, comparableRecord, concat, hex, ptr, rawMessage, wire } from './wire-helpers.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Buffers as hex, recursively, so deep equality compares bytes. */
function plainData(v: unknown): Json {
  if (v instanceof Uint8Array) return hex(v);
  if (Array.isArray(v)) return v.map(plainData);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainData(x)]));
  return v as Json;
}

/** A name as dns-packet writes it: no trailing dot, "." for the root. */
const text = (n: Name) => (n.isRoot ? '.' : n.toString().slice(0, -1));
const u8s = (b: Uint8Array) => Buffer.from(b).toString('utf8');

/** Our RDATA in the shape dns-packet gives its `data`. */
function theirShape(r: ResourceRecord): Json {
  if (r.type === RRType.A) return decodeRdata(r.type, r.rdata)['address'] as string;
  if (r.type === RRType.AAAA) return formatIpv6(parseIpv6(decodeRdata(r.type, r.rdata)['address'] as string));
  const f = decodeRdata(r.type, r.rdata);
  const n = (k: string) => text(f[k] as Name);
  const types = (k: string) => (f[k] as number[]).map(typeToString);
  switch (r.type) {
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
    case RRType.DNAME:
      return n(Object.keys(f)[0]!);
    case RRType.MX:
      return { preference: f['preference'] as number, exchange: n('exchange') };
    case RRType.TXT:
      return plainData(f['strings']);
    case RRType.SOA:
      return plainData({ ...f, mname: n('mname'), rname: n('rname') });
    case RRType.SRV:
      return { priority: f['priority'] as number, weight: f['weight'] as number, port: f['port'] as number, target: n('target') };
    case RRType.CAA:
      return { flags: f['flags'] as number, tag: u8s(f['tag'] as Uint8Array), value: u8s(f['value'] as Uint8Array), issuerCritical: ((f['flags'] as number) & 128) !== 0 };
    case RRType.DS:
      return plainData(f);
    case RRType.DNSKEY:
      return plainData({ flags: f['flags'], algorithm: f['algorithm'], key: f['publicKey'] });
    case RRType.RRSIG:
      return plainData({
        typeCovered: typeToString(f['typeCovered'] as number), algorithm: f['algorithm'], labels: f['labels'],
        originalTTL: f['originalTtl'], expiration: f['expiration'], inception: f['inception'], keyTag: f['keyTag'],
        signersName: n('signerName'), signature: f['signature'],
      });
    case RRType.NSEC:
      return { nextDomain: n('next'), rrtypes: types('types') };
    case RRType.NSEC3:
      return plainData({
        algorithm: f['hashAlgorithm'], flags: f['flags'], iterations: f['iterations'], salt: f['salt'],
        nextDomain: f['nextHashed'], rrtypes: types('types'),
      });
    case RRType.HINFO:
      return { cpu: u8s(f['cpu'] as Uint8Array), os: u8s(f['os'] as Uint8Array) };
    case RRType.NAPTR:
      return {
        order: f['order'] as number, preference: f['preference'] as number, flags: u8s(f['flags'] as Uint8Array),
        services: u8s(f['services'] as Uint8Array), regexp: u8s(f['regexp'] as Uint8Array), replacement: n('replacement'),
      };
    case RRType.TLSA:
      return plainData({ usage: f['usage'], selector: f['selector'], matchingType: f['matchingType'], certificate: f['data'] });
    case RRType.SSHFP:
      return { algorithm: f['algorithm'] as number, hash: f['fpType'] as number, fingerprint: hex(f['fingerprint'] as Uint8Array).toUpperCase() };
    default:
      return hex(r.rdata);
  }
}

function theirRecordShape(a: dnsPacket.Answer): Json {
  const x = a as unknown as Record<string, unknown>;
  let data = plainData(x['data']);
  if (a.type === 'AAAA') data = formatIpv6(parseIpv6(x['data'] as string));
  return { name: a.name, type: a.type, class: x['class'] as string, ttl: x['ttl'] as number, data };
}

function ourRecordShape(r: ResourceRecord): Json {
  return { name: text(r.name), type: typeToString(r.type), class: classToString(r.class), ttl: r.ttl, data: theirShape(r) };
}

/** Every field dns-packet decodes, compared with ours. */
function expectSameFields(ours: Message, theirs: dnsPacket.DecodedPacket): void {
  const flags = theirs.flags ?? 0;
  const opt = (theirs.additionals ?? []).find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  expect({
    id: ours.id, qr: ours.qr, opcode: ours.opcode, aa: ours.aa, tc: ours.tc, rd: ours.rd, ra: ours.ra, z: ours.z,
    ad: ours.ad, cd: ours.cd, rcode: ours.rcode,
  }).toEqual({
    id: theirs.id, qr: theirs.type === 'response', opcode: (flags >> 11) & 0xf, aa: theirs.flag_aa, tc: theirs.flag_tc,
    rd: theirs.flag_rd, ra: theirs.flag_ra, z: theirs.flag_z, ad: theirs.flag_ad, cd: theirs.flag_cd,
    rcode: (flags & 0xf) | ((opt?.extendedRcode ?? 0) << 4),
  });
  expect(ours.question.map((q) => ({ name: text(q.name), type: typeToString(q.type), class: classToString(q.class) })))
    .toEqual((theirs.questions ?? []).map((q) => ({ name: q.name, type: q.type, class: q.class })));
  expect(ours.answer.map(ourRecordShape)).toEqual((theirs.answers ?? []).map(theirRecordShape));
  expect(ours.authority.map(ourRecordShape)).toEqual((theirs.authorities ?? []).map(theirRecordShape));
  expect(ours.additional.map(ourRecordShape)).toEqual((theirs.additionals ?? []).filter((a) => a.type !== 'OPT').map(theirRecordShape));
  if (opt) {
    expect(ours.edns).toBeDefined();
    expect({
      udpSize: ours.edns!.udpSize, version: ours.edns!.version, do: ours.edns!.dnssecOk,
      options: ours.edns!.options.map((o) => ({ code: o.code, data: hex(o.data) })),
    }).toEqual({
      udpSize: opt.udpPayloadSize, version: opt.ednsVersion, do: opt.flag_do,
      options: (opt.options as unknown as { code: number; data: Buffer }[]).map((o) => ({ code: o.code, data: hex(o.data) })),
    });
  } else expect(ours.edns).toBeUndefined();
}

const b = (h: string) => Buffer.from(h, 'hex');
const key = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff));
const sig = Buffer.alloc(64, 0x5c);
const rrsig = (typeCovered: string, signersName = 'example.com') => ({
  typeCovered, algorithm: 13, labels: 2, originalTTL: 3600, expiration: 1893456000, inception: 1704067200, keyTag: 31337, signersName, signature: sig,
});

/** Messages as dns-packet builds them: queries and responses, every type it knows. */
const corpus: [string, dnsPacket.Packet][] = [
  ['query with EDNS, DO and a cookie', {
    type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED,
    questions: [{ type: 'A', name: 'www.example.com', class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK, options: [{ code: 10, data: b('0102030405060708') }] } as unknown as dnsPacket.Answer],
  }],
  ['plain response: A, AAAA, NS, CNAME, MX, TXT, SOA, SRV, CAA', {
    type: 'response', id: 0xabcd, flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'ANY' as dnsPacket.RecordType, name: 'example.com', class: 'IN' }],
    answers: [
      { type: 'A', name: 'example.com', ttl: 300, class: 'IN', data: '192.0.2.1' },
      { type: 'AAAA', name: 'example.com', ttl: 300, class: 'IN', data: '2001:db8::1' },
      { type: 'CNAME', name: 'www.example.com', ttl: 60, class: 'IN', data: 'example.com' },
      { type: 'MX', name: 'example.com', ttl: 300, class: 'IN', data: { preference: 10, exchange: 'mail.example.com' } },
      { type: 'TXT', name: 'example.com', ttl: 300, class: 'IN', data: [b('763d73706631202d616c6c'), b('')] },
      { type: 'SRV', name: '_sip._udp.example.com', ttl: 300, class: 'IN', data: { priority: 10, weight: 60, port: 5060, target: 'sip.example.com' } },
      { type: 'CAA', name: 'example.com', ttl: 300, class: 'IN', data: { flags: 128, tag: 'issue', value: 'ca.example.net', issuerCritical: true } },
    ],
    authorities: [
      { type: 'NS', name: 'example.com', ttl: 86400, class: 'IN', data: 'ns1.example.com' },
      { type: 'NS', name: 'example.com', ttl: 86400, class: 'IN', data: 'NS2.Example.COM' },
      { type: 'SOA', name: 'example.com', ttl: 3600, class: 'IN', data: { mname: 'ns1.example.com', rname: 'hostmaster.example.com', serial: 2024010101, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 } },
    ],
    additionals: [
      { type: 'A', name: 'ns1.example.com', ttl: 86400, class: 'IN', data: '198.51.100.1' },
      { type: 'AAAA', name: 'ns1.example.com', ttl: 86400, class: 'IN', data: '2001:db8:0:1::53' },
    ],
  }],
  ['DNSSEC response: DS, DNSKEY, RRSIG, NSEC, NSEC3, with DO', {
    type: 'response', id: 77, flags: dnsPacket.AUTHENTIC_DATA | 3,
    questions: [{ type: 'DS', name: 'sub.example.com', class: 'IN' }],
    answers: [
      { type: 'DS', name: 'sub.example.com', ttl: 3600, class: 'IN', data: { keyTag: 60485, algorithm: 13, digestType: 2, digest: Buffer.alloc(32, 0xab) } },
      { type: 'RRSIG', name: 'sub.example.com', ttl: 3600, class: 'IN', data: rrsig('DS') },
      { type: 'DNSKEY', name: 'example.com', ttl: 3600, class: 'IN', data: { flags: 257, algorithm: 13, key } },
      { type: 'DNSKEY', name: 'example.com', ttl: 3600, class: 'IN', data: { flags: 256, algorithm: 13, key: key.subarray(0, 32) } },
    ],
    authorities: [
      { type: 'NSEC', name: 'a.example.com', ttl: 3600, class: 'IN', data: { nextDomain: 'Z.example.com', rrtypes: ['A', 'MX', 'RRSIG', 'NSEC'] } },
      { type: 'RRSIG', name: 'a.example.com', ttl: 3600, class: 'IN', data: rrsig('NSEC') },
      { type: 'NSEC3', name: '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.com', ttl: 3600, class: 'IN', data: { algorithm: 1, flags: 1, iterations: 12, salt: b('aabbccdd'), nextDomain: Buffer.alloc(20, 0x42), rrtypes: ['NS', 'SOA', 'RRSIG', 'DNSKEY', 'NSEC3PARAM'] } },
      { type: 'NSEC3', name: '2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.com', ttl: 3600, class: 'IN', data: { algorithm: 1, flags: 0, iterations: 0, salt: b(''), nextDomain: Buffer.alloc(20, 0x07), rrtypes: [] } },
      { type: 'RRSIG', name: '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.com', ttl: 3600, class: 'IN', data: rrsig('NSEC3') },
    ],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: dnsPacket.DNSSEC_OK, options: [] } as unknown as dnsPacket.Answer],
  }],
  ['PTR, HINFO, NAPTR, TLSA, DNAME, SSHFP and an opaque NULL', {
    type: 'response', id: 9, flags: dnsPacket.TRUNCATED_RESPONSE | 5,
    questions: [{ type: 'PTR', name: '1.2.0.192.in-addr.arpa', class: 'IN' }, { type: 'TLSA', name: '_443._tcp.example.com', class: 'IN' }],
    answers: [
      { type: 'PTR', name: '1.2.0.192.in-addr.arpa', ttl: 60, class: 'IN', data: 'host.example.com' },
      { type: 'HINFO', name: 'host.example.com', ttl: 60, class: 'IN', data: { cpu: 'INTEL-386', os: 'UNIX' } },
      { type: 'NAPTR', name: 'example.com', ttl: 60, class: 'IN', data: { order: 100, preference: 10, flags: 'U', services: 'E2U+sip', regexp: '!^.*$!sip:info@example.com!', replacement: '.' } },
      { type: 'TLSA', name: '_443._tcp.example.com', ttl: 60, class: 'IN', data: { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, 0xcd) } },
      { type: 'DNAME', name: 'old.example.com', ttl: 60, class: 'IN', data: 'new.example.net' },
      { type: 'SSHFP', name: 'host.example.com', ttl: 60, class: 'IN', data: { algorithm: 4, hash: 2, fingerprint: 'AB'.repeat(32) } },
      { type: 'NULL', name: 'null.example.com', ttl: 60, class: 'IN', data: b('00ff10') },
    ],
  }],
  ['an empty response with every header flag', {
    type: 'response', id: 0xffff,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.TRUNCATED_RESPONSE | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE |
      dnsPacket.AUTHENTIC_DATA | dnsPacket.CHECKING_DISABLED | (1 << 6) | (4 << 11) | 2,
    questions: [{ type: 'SOA', name: '.', class: 'IN' }],
  }],
];

/**
 * Our encoder compresses case-insensitively, as BIND does since 9.9.5: a name may come back
 * with the case of the earlier name its pointer reuses. Owners, and names in the RDATA of the
 * types we compress (NS, CNAME, PTR, MX, SOA), are compared case-folded; nothing else is.
 */
function foldCompressedCase(p: dnsPacket.DecodedPacket): unknown {
  const fold = (a: dnsPacket.Answer) => {
    const x = { ...(a as unknown as Record<string, unknown>) };
    x['name'] = String(x['name']).toLowerCase();
    if (a.type === 'NS' || a.type === 'CNAME' || a.type === 'PTR') x['data'] = String(x['data']).toLowerCase();
    if (a.type === 'MX') x['data'] = { ...a.data, exchange: a.data.exchange.toLowerCase() };
    if (a.type === 'SOA') x['data'] = { ...a.data, mname: a.data.mname.toLowerCase(), rname: a.data.rname.toLowerCase() };
    return x;
  };
  return {
    ...p,
    questions: p.questions?.map((q) => ({ ...q, name: q.name.toLowerCase() })),
    answers: p.answers?.map(fold),
    authorities: p.authorities?.map(fold),
    additionals: p.additionals?.map(fold),
  };
}

describe('differential against dns-packet', () => {
  for (const [label, packet] of corpus) {
    describe(label, () => {
      const theirBytes = dnsPacket.encode(packet);

      it('we decode what dns-packet encodes to the same fields', () => {
        expectSameFields(decodeMessage(theirBytes), dnsPacket.decode(theirBytes));
      });

      it('dns-packet decodes what we encode to the same records, from fewer bytes', () => {
        const ours = encodeMessage(decodeMessage(theirBytes));
        expect(foldCompressedCase(dnsPacket.decode(Buffer.from(ours)))).toEqual(foldCompressedCase(dnsPacket.decode(theirBytes)));
        expect(ours.length).toBeLessThanOrEqual(theirBytes.length);
      });

      it('our decode → encode → decode gives equal records, byte-exact where nothing is compressed', () => {
        const first = decodeMessage(theirBytes);
        const again = decodeMessage(encodeMessage(first));
        const all = (m: Message) => [...m.answer, ...m.authority, ...m.additional];
        expect(all(again).map(comparableRecord)).toEqual(all(first).map(comparableRecord));
        const uncompressed = (m: Message) => all(m).filter((r) => rdataSchema(r.type)?.names !== 'compress').map((r) => `${r.type}/${hex(r.rdata)}`);
        expect(uncompressed(again)).toEqual(uncompressed(first));
      });
    });
  }
});

describe('where dns-packet and we differ, and why ours is right', () => {
  it('binary labels: dns-packet reads them as UTF-8 and writes different bytes; we keep them', () => {
    const bytes = encodeMessage(binaryLabelMessage());
    const ourAgain = encodeMessage(decodeMessage(bytes));
    expect(hex(ourAgain)).toBe(hex(bytes));
    const theirs = dnsPacket.decode(Buffer.from(bytes));
    expect(theirs.questions![0]!.name).toContain('\ufffd');
    // The 0x2e octet comes back as a label separator and U+FFFD as three octets: the packet
    // dns-packet writes is not even well-formed any more.
    const theirAgain = dnsPacket.encode(theirs);
    expect(hex(theirAgain)).not.toBe(hex(bytes));
    expect(() => decodeMessage(theirAgain)).toThrow(WireError);
  });

  it('case: both keep it, but our compression reuses earlier names case-insensitively', () => {
    const theirBytes = dnsPacket.encode({
      type: 'response',
      questions: [{ type: 'NS', name: 'example.com', class: 'IN' }],
      answers: [{ type: 'NS', name: 'EXAMPLE.com', ttl: 1, class: 'IN', data: 'NS2.Example.COM' }],
    });
    const first = decodeMessage(theirBytes);
    expect(rdataToText(RRType.NS, first.answer[0]!.rdata)).toBe('NS2.Example.COM.');
    expect(first.answer[0]!.name.toString()).toBe('EXAMPLE.com.');
    const again = decodeMessage(encodeMessage(first));
    expect(again.question[0]!.name.toString()).toBe('example.com.');
    expect(again.answer[0]!.name.toString()).toBe('example.com.');
    expect(rdataToText(RRType.NS, again.answer[0]!.rdata)).toBe('NS2.example.com.');
    expect(again.answer[0]!.name.equals(first.answer[0]!.name)).toBe(true);
    expect(hex(canonicalRdata(RRType.NS, again.answer[0]!.rdata))).toBe(hex(canonicalRdata(RRType.NS, first.answer[0]!.rdata)));
  });

  it('a dot inside a label: dns-packet splits it into two labels on the way back', () => {
    const packet = rawMessage({ question: [{ owner: wire('a\\.b.example.'), type: RRType.A }] });
    expect(decodeMessage(packet).question[0]!.name.labelCount).toBe(2);
    const theirs = dnsPacket.decode(Buffer.from(packet));
    expect(theirs.questions![0]!.name).toBe('a.b.example');
    expect(decodeMessage(dnsPacket.encode(theirs)).question[0]!.name.labelCount).toBe(3);
  });

  it('types dns-packet has no name for: it writes type 0; we keep the number', () => {
    const theirs = dnsPacket.encode({
      type: 'response',
      answers: [{ type: 'HTTPS' as 'NULL', name: 'example.com', ttl: 1, class: 'IN', data: b('000100') }],
    });
    expect(decodeMessage(theirs).answer[0]!.type).toBe(0);
    const ours = decodeMessage(encodeMessage(decodeMessage(rawMessage({
      answer: [{ owner: wire('example.com.'), type: RRType.HTTPS, rdata: b('000100') }],
    }))));
    expect(ours.answer[0]!.type).toBe(RRType.HTTPS);
    expect(typeToString(ours.answer[0]!.type)).toBe('HTTPS');
  });

  it('a type bitmap with a trailing zero octet: dns-packet accepts it, we refuse (RFC 4034 §4.1.2)', () => {
    const rdata = concat(wire('b.example.'), Uint8Array.of(0, 2, 0x40, 0));
    const packet = rawMessage({ answer: [{ owner: wire('a.example.'), type: RRType.NSEC, rdata }] });
    expect((dnsPacket.decode(Buffer.from(packet)).answers![0] as dnsPacket.NsecAnswer).data.rrtypes).toEqual(['A']);
    expect(() => decodeMessage(packet)).toThrow(/zero octet/);
  });

  it('compression pointers where RFC 4034 forbids them: dns-packet follows them, we refuse', () => {
    const rdata = concat(Uint8Array.of(1, 0x62), ptr(12), Uint8Array.of(0, 1, 0x40));
    const packet = rawMessage({ question: [{ owner: wire('a.example.'), type: RRType.NSEC }], answer: [{ owner: ptr(12), type: RRType.NSEC, rdata }] });
    expect((dnsPacket.decode(Buffer.from(packet)).answers![0] as dnsPacket.NsecAnswer).data.nextDomain).toBe('b.a.example');
    expect(() => decodeMessage(packet)).toThrow(/compression pointer/);
  });
});
