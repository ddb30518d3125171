import * as dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import {
  type Message, Name, RRClass, RRType, Rcode, WireError, canonicalRdata, canonicalRdataSet, canonicalRrsetWire, cookieOption,
  decodeMessage, decodeRdata, defaultEdns, edeOption, EdeCode, EdnsOptionCode, encodeMessage, encodeRdata,
  extendedErrors, newMessage, parseCookie, parseEde, parseType, rdataFromText, rdataSchema, rdataToText,
  tokenizeRdata, typeToString,
} from '../../src/wire/index.js';
import {
  RDATA_SAMPLES, concat, expectWireError, fromHexString, hex, name, ptr, rawMessage, rr, typicalResponse, wire,
} from './wire-helpers.js';

const text = (type: number, t: string) => rdataFromText(type, tokenizeRdata(t));
const answerMessage = (...answer: Message['answer']) =>
  newMessage({ id: 1, qr: true, question: [{ name: name('example.com.'), type: RRType.ANY, class: 1 }], answer });
// Owner and question share no suffix with the samples' names, so compression cannot
// change the case of a name (it matches case-insensitively, see below).
const isolatedMessage = (...answer: Message['answer']) =>
  newMessage({ id: 1, qr: true, question: [{ name: name('q.test.'), type: RRType.ANY, class: 1 }], answer });
const record = (type: number, rdata: Uint8Array, owner = 'x.example.com.') =>
  ({ name: name(owner), type, class: RRClass.IN, ttl: 300, rdata });

describe('every RR type of the schema round-trips from presentation text', () => {
  it('has a sample for every type the schema knows', () => {
    const sampled = new Set(RDATA_SAMPLES.map(([t]) => parseType(t)));
    for (let type = 0; type < 65536; type++) if (rdataSchema(type)) expect(sampled, typeToString(type)).toContain(type);
  });

  for (const [mnemonic, sample] of RDATA_SAMPLES) {
    it(`${mnemonic}: text → wire → message → decode → encode is stable, and back to text`, () => {
      const type = parseType(mnemonic);
      const rdata = text(type, sample);
      // typed view and presentation both give the same bytes back
      expect(hex(encodeRdata(type, decodeRdata(type, rdata)))).toBe(hex(rdata));
      const printed = rdataToText(type, rdata);
      expect(printed).not.toMatch(/^\\# /);
      expect(hex(text(type, printed))).toBe(hex(rdata));
      // and the message codec keeps them
      const first = encodeMessage(isolatedMessage(record(type, rdata, 'Some.RR.test.')));
      const decoded = decodeMessage(first);
      expect(decoded.answer).toHaveLength(1);
      expect(decoded.answer[0]!.type).toBe(type);
      expect(hex(decoded.answer[0]!.rdata)).toBe(hex(rdata));
      expect(decoded.answer[0]!.name.toString()).toBe('Some.RR.test.');
      const second = encodeMessage(decoded);
      expect(hex(second)).toBe(hex(first));
      expect(hex(decodeMessage(second).answer[0]!.rdata)).toBe(hex(rdata));
    });
  }

  it('unknown types travel as RFC 3597 generic RDATA, and \\# works for known types too', () => {
    const unknown = text(65280, '\\# 5 0A0000012A');
    expect(hex(unknown)).toBe('0a0000012a');
    expect(rdataToText(65280, unknown)).toBe('\\# 5 0A0000012A');
    expect(rdataToText(65280, new Uint8Array(0))).toBe('\\# 0');
    expect(hex(text(RRType.A, '\\# 4 C0000201'))).toBe('c0000201');
    expectWireError(() => text(RRType.A, '\\# 3 C00002'), 'bad-rdlength');
    expectWireError(() => text(RRType.A, '\\# 4 C00002'), 'bad-text');
    expectWireError(() => text(65280, '1 2 3'), 'bad-text');
    const m = decodeMessage(encodeMessage(answerMessage(record(65280, unknown))));
    expect(typeToString(m.answer[0]!.type)).toBe('TYPE65280');
    expect(hex(m.answer[0]!.rdata)).toBe('0a0000012a');
  });
});

describe('typed fields decode to what the text said', () => {
  it('RRSIG', () => {
    const f = decodeRdata(RRType.RRSIG, text(RRType.RRSIG, 'NSEC3 13 3 3600 20300101000000 20240101000000 31337 Example.COM. AAECAw=='));
    expect(f).toMatchObject({ typeCovered: RRType.NSEC3, algorithm: 13, labels: 3, originalTtl: 3600, keyTag: 31337 });
    expect(f['expiration']).toBe(Date.UTC(2030, 0, 1) / 1000);
    expect(f['inception']).toBe(Date.UTC(2024, 0, 1) / 1000);
    expect((f['signerName'] as Name).toString()).toBe('Example.COM.');
    expect([...(f['signature'] as Uint8Array)]).toEqual([0, 1, 2, 3]);
  });

  it('NSEC3 and NSEC3PARAM', () => {
    const f = decodeRdata(RRType.NSEC3, text(RRType.NSEC3, '1 1 12 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR NS SOA MX RRSIG DNSKEY NSEC3PARAM'));
    expect(f).toMatchObject({ hashAlgorithm: 1, flags: 1, iterations: 12, types: [2, 6, 15, 46, 48, 51] });
    expect(hex(f['salt'] as Uint8Array)).toBe('aabbccdd');
    expect((f['nextHashed'] as Uint8Array).length).toBe(20);
    expect(hex(text(RRType.NSEC3PARAM, '1 0 0 -'))).toBe('0100000000');
    expect(rdataToText(RRType.NSEC3PARAM, text(RRType.NSEC3PARAM, '1 0 0 -'))).toBe('1 0 0 -');
  });

  it('DS: the RFC 4034 §5.4 example, byte for byte', () => {
    const ds = text(RRType.DS, '60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118');
    expect(hex(ds)).toBe('ec4505012bb183af5f22588179a53b0a98631fad1a292118');
    expect(rdataToText(RRType.DS, ds)).toBe('60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118');
  });

  it('NSEC3 next hashed owner names are at least one octet (RFC 5155 §3.2)', () => {
    const empty = fromHexString('01 00 0000 00 00 0002 2000');
    expectWireError(() => decodeRdata(RRType.NSEC3, empty), 'bad-rdata');
    expectWireError(() => decodeMessage(rawMessage({ answer: [{ owner: wire('x.'), type: RRType.NSEC3, rdata: empty }] })), 'bad-rdata');
    expectWireError(() => encodeRdata(RRType.NSEC3, { ...decodeRdata(RRType.NSEC3, text(RRType.NSEC3, '1 0 0 - 00 A')), nextHashed: new Uint8Array(0) }), 'bad-rdata');
  });

  it('type bitmaps have one form only: windows in order, none empty, no trailing zero octets (RFC 4034 §4.1.2)', () => {
    const nsec = (bitmap: string) => concat(wire('a.'), fromHexString(bitmap));
    expect(decodeRdata(RRType.NSEC, nsec('0001 40 0101 40'))['types']).toEqual([1, 257]);
    expect(decodeRdata(RRType.NSEC, nsec(''))['types']).toEqual([]);
    for (const bad of ['0101 40 0001 40', '0001 40 0001 40', '0000', '0001 00', '0002 4000', '0021' + '00'.repeat(32) + '01', '0001'])
      expect(() => decodeRdata(RRType.NSEC, nsec(bad)), bad).toThrow(WireError);
    // So the type list in text gives exactly the bytes on the wire, whatever its order.
    expect(hex(text(RRType.NSEC, 'a. TYPE257 A A'))).toBe(hex(nsec('0001 40 0101 40')));
  });

  it('NSEC type bitmap: RFC 4034 §4.3 example', () => {
    const nsec = text(RRType.NSEC, 'host.example.com. A MX RRSIG NSEC TYPE1234');
    expect(hex(nsec)).toBe(
      hex(wire('host.example.com.')) + '0006400100000003' + '041b000000000000000000000000000000000000000000000000000020',
    );
  });

  it('SOA, MX, SRV, NAPTR, CAA, TXT', () => {
    expect(decodeRdata(RRType.SOA, text(RRType.SOA, 'ns. h. 1 2 3 4 5'))).toMatchObject({ serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 });
    expect(text(RRType.SOA, 'ns. h. 1 1h 30m 1w 1d').subarray(-16)).toEqual(Uint8Array.of(0, 0, 14, 16, 0, 0, 7, 8, 0, 9, 58, 128, 0, 1, 81, 128));
    expect(hex(text(RRType.MX, '10 mx.'))).toBe('000a026d7800');
    expect(hex(text(RRType.SRV, '1 2 3 t.'))).toBe('00010002000301' + '7400');
    const naptr = decodeRdata(RRType.NAPTR, text(RRType.NAPTR, '100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .'));
    expect(Buffer.from(naptr['regexp'] as Uint8Array).toString()).toBe('!^.*$!sip:info@example.com!');
    expect(hex(text(RRType.CAA, '0 issue "ca.example"'))).toBe('0005' + hex(Buffer.from('issueca.example')));
    expect(rdataToText(RRType.CAA, text(RRType.CAA, '128 tbs "Unknown"'))).toBe('128 tbs "Unknown"');
    expect(hex(text(RRType.TXT, '"a b" c "" "\\065\\""'))).toBe('03612062' + '0163' + '00' + '024122');
    expect(rdataToText(RRType.TXT, Uint8Array.of(2, 0x22, 0x5c, 1, 0xff))).toBe('"\\"\\\\" "\\255"');
  });

  describe('SVCB/HTTPS: RFC 9460 Appendix D vectors', () => {
    const vectors: [string, string][] = [
      ['0 foo.example.com.', '0000 03666f6f076578616d706c6503636f6d00'],
      ['1 .', '0001 00'],
      ['16 foo.example.com. port=53', '0010 03666f6f076578616d706c6503636f6d00 0003 0002 0035'],
      ['1 foo.example.com. key667=hello', '0001 03666f6f076578616d706c6503636f6d00 029b 0005 68656c6c6f'],
      ['1 foo.example.com. key667="hello\\210qoo"', '0001 03666f6f076578616d706c6503636f6d00 029b 0009 68656c6c6fd2716f6f'],
      ['1 foo.example.com. ipv6hint="2001:db8::1,2001:db8::53:1"', '0001 03666f6f076578616d706c6503636f6d00 0006 0020 20010db8000000000000000000000001 20010db8000000000000000000530001'],
      ['1 example.com. ipv6hint="2001:db8:122:344::192.0.2.33"', '0001 076578616d706c6503636f6d00 0006 0010 20010db80122034400000000c0000221'],
      ['16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1', '0010 03666f6f076578616d706c65036f726700 0000 0004 00010004 0001 0009 026832 0568332d3139 0004 0004 c0000201'],
      ['16 foo.example.org. alpn="f\\\\\\\\oo\\\\,bar,h2"', '0010 03666f6f076578616d706c65036f726700 0001 000c 08665c6f6f2c626172 026832'],
      ['16 foo.example.org. alpn=f\\\\\\092oo\\092,bar,h2', '0010 03666f6f076578616d706c65036f726700 0001 000c 08665c6f6f2c626172 026832'],
    ];
    for (const [presentation, wireHex] of vectors) {
      it(presentation, () => {
        const rdata = text(RRType.SVCB, presentation);
        expect(hex(rdata)).toBe(wireHex.replace(/ /g, ''));
        // printing may choose other escapes; it must read back to the same bytes
        expect(hex(text(RRType.SVCB, rdataToText(RRType.SVCB, rdata)))).toBe(hex(rdata));
      });
    }

    it('prints alpn ids with commas, backslashes and spaces so they read back', () => {
      const value = concat(Uint8Array.of(3), Buffer.from('a,b'), Uint8Array.of(2), Buffer.from('c\\'), Uint8Array.of(3), Buffer.from('d e'));
      const rdata = concat(Uint8Array.of(0, 1, 0), Uint8Array.of(0, 1, 0, value.length), value);
      expect(rdataToText(RRType.HTTPS, rdata)).toBe('1 . alpn="a\\\\,b,c\\\\\\\\,d e"');
      expect(tokenizeRdata('1 . alpn="a b" key9="x\\" y"').map((t) => t.text)).toEqual(['1', '.', 'alpn="a b"', 'key9="x\\" y"']);
      expect(hex(text(RRType.HTTPS, rdataToText(RRType.HTTPS, rdata)))).toBe(hex(rdata));
    });

    it('prints values that break their key\'s format as generic RDATA, which reads back', () => {
      const bad = [
        [0, Uint8Array.of(0, 1, 0)], // mandatory: odd length
        [1, Uint8Array.of(5, 0x68)], // alpn: id runs past the value
        [1, new Uint8Array(0)], // alpn: empty
        [2, Uint8Array.of(1)], // no-default-alpn with a value
        [3, Uint8Array.of(1)], // port: one byte
        [4, Uint8Array.of(1, 2, 3)], // ipv4hint: not whole addresses
        [6, new Uint8Array(15)], // ipv6hint: not whole addresses
      ] as const;
      for (const [key, value] of bad) {
        const rdata = concat(Uint8Array.of(0, 1, 0), Uint8Array.of(0, key, 0, value.length), value);
        const printed = rdataToText(RRType.SVCB, rdata);
        expect(printed, `key ${key}`).toMatch(/^\\# /);
        expect(hex(text(RRType.SVCB, printed))).toBe(hex(rdata));
      }
    });

    it('rejects SvcParamKeys out of order or repeated on the wire', () => {
      const rdata = fromHexString('0001 00 0003 0002 0035 0001 0003 026832');
      expectWireError(() => decodeRdata(RRType.SVCB, rdata), 'bad-rdata');
      expectWireError(() => text(RRType.SVCB, '1 . port=1 port=2'), 'bad-rdata');
    });
  });

  it('CAA tags that are not letters and digits print as generic RDATA, which reads back', () => {
    for (const tag of ['is sue', 'a"b', 'x\\y', 'caf\u00e9']) {
      const rdata = concat(Uint8Array.of(0, Buffer.from(tag, 'latin1').length), Buffer.from(tag, 'latin1'), Buffer.from('v'));
      const printed = rdataToText(RRType.CAA, rdata);
      expect(hex(text(RRType.CAA, printed)), printed).toBe(hex(rdata));
    }
  });
});

describe('RDLENGTH must match the RDATA (dns-packet shifts or ignores instead)', () => {
  // An answer record for x. with the given type, RDATA, and a declared RDLENGTH.
  const packet = (type: number, rdata: Uint8Array, rdlength: number, extra: Uint8Array = new Uint8Array(0)) =>
    rawMessage({ question: [{ owner: wire('x.'), type }], answer: [{ owner: ptr(12), type, rdata: concat(rdata, extra), rdlength }] });

  const cases: [string, number, Uint8Array][] = [
    ['A', RRType.A, Uint8Array.of(192, 0, 2, 1)],
    ['AAAA', RRType.AAAA, text(RRType.AAAA, '2001:db8::1')],
    ['SOA', RRType.SOA, text(RRType.SOA, 'ns.x. h.x. 1 2 3 4 5')],
    ['MX', RRType.MX, text(RRType.MX, '10 mx.x.')],
    ['DS', RRType.DS, Uint8Array.of(1, 2, 13, 2)],
    ['NSEC3PARAM', RRType.NSEC3PARAM, text(RRType.NSEC3PARAM, '1 0 1 AB')],
  ];

  for (const [mnemonic, type, rdata] of cases) {
    it(`${mnemonic}: one byte short`, () => {
      const p = packet(type, rdata.subarray(0, rdata.length - 1), rdata.length - 1);
      expectWireError(() => decodeMessage(p), 'bad-rdlength');
    });
    if (mnemonic !== 'DS')
      it(`${mnemonic}: one byte long`, () => {
        expectWireError(() => decodeMessage(packet(type, rdata, rdata.length + 1, Uint8Array.of(0))), 'bad-rdlength');
      });
  }

  it('DS shorter than its fixed part', () => {
    expectWireError(() => decodeMessage(packet(RRType.DS, Uint8Array.of(1, 2, 13), 3)), 'bad-rdlength');
  });

  it('a RDLENGTH that ends inside a name in RDATA is bad-rdlength, not truncation', () => {
    const soa = text(RRType.SOA, 'ns.x. h.x. 1 2 3 4 5');
    expectWireError(() => decodeMessage(packet(RRType.SOA, soa.subarray(0, 3), 3, soa.subarray(3))), 'bad-rdlength');
    expectWireError(() => decodeMessage(packet(RRType.NS, wire('ns.x.').subarray(0, 2), 2, wire('ns.x.').subarray(2))), 'bad-rdlength');
  });

  it('a RDLENGTH past the end of the message is truncation', () => {
    expectWireError(() => decodeMessage(packet(RRType.A, Uint8Array.of(1, 2, 3, 4), 5)), 'truncated');
  });

  it('dns-packet accepts the same packets and reads shifted or made-up data', () => {
    const a = Uint8Array.of(192, 0, 2, 1);
    // Long: the extra byte is silently skipped over.
    expect((dnsPacket.decode(Buffer.from(packet(RRType.A, a, 5, Uint8Array.of(0)))).answers![0] as dnsPacket.StringAnswer).data).toBe('192.0.2.1');
    // Short: it reads four bytes anyway, the fourth of which is past the RDATA.
    expect((dnsPacket.decode(Buffer.from(packet(RRType.A, a.subarray(0, 3), 3, Uint8Array.of(7)))).answers![0] as dnsPacket.StringAnswer).data).toBe('192.0.2.7');
    // SOA with a RDLENGTH that ends in its first name: it reads the whole SOA regardless.
    const soa = text(RRType.SOA, 'ns.x. h.x. 1 2 3 4 5');
    const decoded = dnsPacket.decode(Buffer.from(packet(RRType.SOA, soa.subarray(0, 3), 3, soa.subarray(3))));
    expect((decoded.answers![0] as dnsPacket.SoaAnswer).data.serial).toBe(1);
  });
});

describe('names inside RDATA', () => {
  it('decompresses pointers in NS, CNAME, SOA and MX RDATA (and in SRV from other encoders)', () => {
    const q = wire('example.com.');
    const p = rawMessage({
      question: [{ owner: q, type: RRType.ANY }],
      answer: [
        { owner: ptr(12), type: RRType.NS, rdata: concat(Uint8Array.of(3), Buffer.from('ns1'), ptr(12)) },
        { owner: ptr(12), type: RRType.CNAME, rdata: ptr(12) },
        { owner: ptr(12), type: RRType.SOA, rdata: concat(ptr(12), Uint8Array.of(1, 0x68), ptr(12), new Uint8Array(20).fill(1)) },
        { owner: ptr(12), type: RRType.MX, rdata: concat(Uint8Array.of(0, 10, 2), Buffer.from('mx'), ptr(12)) },
        { owner: ptr(12), type: RRType.SRV, rdata: concat(Uint8Array.of(0, 1, 0, 2, 0, 3), ptr(12)) },
      ],
    });
    const m = decodeMessage(p);
    const rdataText = m.answer.map((r) => rdataToText(r.type, r.rdata));
    expect(rdataText).toEqual([
      'ns1.example.com.',
      'example.com.',
      'example.com. h.example.com. 16843009 16843009 16843009 16843009 16843009',
      '10 mx.example.com.',
      '1 2 3 example.com.',
    ]);
    expect(hex(m.answer[1]!.rdata)).toBe(hex(q));
    // Our encoder compresses NS/CNAME/SOA/MX RDATA again but writes SRV's target in full (RFC 2782).
    const again = encodeMessage(m);
    expect(again.length).toBe(p.length + q.length - 2);
    expect(hex(again.subarray(again.length - q.length))).toBe(hex(q));
  });

  for (const [mnemonic, type, rdata] of [
    ['RRSIG signer name', RRType.RRSIG, concat(fromHexString('0001 0d 02 00000e10 00000000 00000000 1234'), ptr(12), Uint8Array.of(1, 2, 3))],
    ['NSEC next name', RRType.NSEC, concat(Uint8Array.of(1, 0x61), ptr(12), Uint8Array.of(0, 1, 0x40))],
    ['SVCB target', RRType.SVCB, concat(Uint8Array.of(0, 1), ptr(12))],
  ] as const) {
    it(`refuses a compression pointer in the ${mnemonic} (RFC 4034 §3.1.7, §4.1.1; RFC 9460 §2.2)`, () => {
      const p = rawMessage({ question: [{ owner: wire('example.com.'), type }], answer: [{ owner: ptr(12), type, rdata }] });
      expectWireError(() => decodeMessage(p), 'compression-forbidden');
    });
  }

  it('never compresses names in RRSIG, NSEC or SRV RDATA when encoding', () => {
    const m = answerMessage(
      rr('example.com. 1 IN RRSIG A 13 2 1 20300101000000 20240101000000 1 example.com. AAAA'),
      rr('example.com. 1 IN NSEC example.com. A'),
      rr('example.com. 1 IN SRV 0 0 1 example.com.'),
    );
    const out = encodeMessage(m);
    const records = out.subarray(12 + 13 + 4);
    const q = hex(wire('example.com.'));
    expect(hex(records).split(q).length - 1).toBe(3);
  });
});

describe('canonical form (RFC 4034 §6.2, RFC 6840 §5.1)', () => {
  it('lowercases names in RRSIG, SOA, MX, NS, CNAME, SRV, NAPTR, DNAME RDATA', () => {
    for (const [mnemonic, upper, lower] of [
      ['RRSIG', 'A 13 2 1 20300101000000 20240101000000 1 EXAMPLE.Com. AAAA', 'A 13 2 1 20300101000000 20240101000000 1 example.com. AAAA'],
      ['SOA', 'NS.Example. Host.MASTER. 1 2 3 4 5', 'ns.example. host.master. 1 2 3 4 5'],
      ['MX', '10 MX.Example.', '10 mx.example.'],
      ['NS', 'NS.Example.', 'ns.example.'],
      ['CNAME', 'A.B.', 'a.b.'],
      ['SRV', '1 2 3 T.Example.', '1 2 3 t.example.'],
      ['NAPTR', '1 2 "U" "S" "" Repl.Example.', '1 2 "U" "S" "" repl.example.'],
      ['DNAME', 'X.Y.', 'x.y.'],
    ] as const) {
      const type = parseType(mnemonic);
      expect(hex(canonicalRdata(type, text(type, upper))), mnemonic).toBe(hex(text(type, lower)));
    }
  });

  it('leaves the NSEC next name, HINFO, TXT and SVCB target as they are', () => {
    for (const [mnemonic, sample] of [
      ['NSEC', 'Host.EXAMPLE. A RRSIG'],
      ['HINFO', '"INTEL-386" "UNIX"'],
      ['TXT', '"Mixed Case"'],
      ['SVCB', '1 Svc.EXAMPLE.'],
    ] as const) {
      const type = parseType(mnemonic);
      const rdata = text(type, sample);
      expect(hex(canonicalRdata(type, rdata)), mnemonic).toBe(hex(rdata));
    }
  });

  it('sorts an RRset by canonical RDATA and drops duplicates (RFC 4034 §6.3)', () => {
    const a = (ip: string) => text(RRType.A, ip);
    expect(canonicalRdataSet(RRType.A, [a('10.0.0.2'), a('10.0.0.10'), a('10.0.0.2'), a('9.255.0.1')]).map((r) => rdataToText(RRType.A, r)))
      .toEqual(['9.255.0.1', '10.0.0.2', '10.0.0.10']);
    // Left-justified octet strings: the length octet of a TXT string sorts first.
    expect(canonicalRdataSet(RRType.TXT, [text(RRType.TXT, '"ab"'), text(RRType.TXT, '"z"')]).map((r) => rdataToText(RRType.TXT, r)))
      .toEqual(['"z"', '"ab"']);
    // MX names that differ only in case are one record in canonical form...
    expect(canonicalRdataSet(RRType.MX, [text(RRType.MX, '10 A.example.'), text(RRType.MX, '10 a.EXAMPLE.')])).toHaveLength(1);
    // ...but NSEC next names keep their case, so these are two.
    const nsecs = canonicalRdataSet(RRType.NSEC, [text(RRType.NSEC, 'b.example. A'), text(RRType.NSEC, 'B.example. A')]);
    expect(nsecs.map((r) => rdataToText(RRType.NSEC, r))).toEqual(['B.example. A', 'b.example. A']);
  });

  it('writes the signed RRset with lowercased owner, original TTL and sorted RDATA', () => {
    const rrs = [rr('WWW.Example. 60 IN MX 20 B.Example.'), rr('www.example. 60 IN MX 10 Z.example.'), rr('www.example. 60 IN MX 20 b.example.')];
    const out = canonicalRrsetWire(rrs, 3600);
    const one = (rdata: string) => hex(wire('www.example.')) + '000f0001' + '00000e10' + hex(Uint8Array.of(0, text(RRType.MX, rdata).length)) + hex(text(RRType.MX, rdata));
    expect(hex(out)).toBe(one('10 z.example.') + one('20 b.example.'));
  });
});

describe('EDNS (RFC 6891)', () => {
  const query = (edns: Message['edns'], rcode = 0) =>
    newMessage({ id: 7, qr: true, rcode, question: [{ name: name('example.'), type: 1, class: 1 }], ...(edns ? { edns } : {}) });

  it('carries the DO bit, the UDP size, the version and the other flag bits', () => {
    const out = encodeMessage(query(defaultEdns({ udpSize: 1232, dnssecOk: true, zFlags: 0x1234 })));
    expect(hex(out.subarray(-11))).toBe('00' + '0029' + '04d0' + '00' + '00' + '9234' + '0000');
    const m = decodeMessage(out);
    expect(m.edns).toEqual({ udpSize: 1232, version: 0, dnssecOk: true, zFlags: 0x1234, options: [] });
    expect(m.additional).toHaveLength(0);
    const theirs = dnsPacket.decode(Buffer.from(out)).additionals![0] as dnsPacket.OptAnswer & { flag_do: boolean };
    expect(theirs.flag_do).toBe(true);
  });

  it('splits an extended RCODE between the header and OPT (BADVERS = 16)', () => {
    const out = encodeMessage(query(defaultEdns(), Rcode.BADVERS));
    expect(out[3]! & 0xf).toBe(0);
    expect(out[out.length - 11 + 5]).toBe(1);
    expect(decodeMessage(out).rcode).toBe(16);
    expect(decodeMessage(encodeMessage(query(defaultEdns(), 0xfff))).rcode).toBe(0xfff);
    expectWireError(() => encodeMessage(query(undefined, Rcode.BADVERS)), 'bad-opt');
  });

  it('refuses a second OPT, an OPT outside the additional section, and an OPT owner other than root', () => {
    const opt = { owner: Uint8Array.of(0), type: RRType.OPT, cls: 1232, ttl: 0, rdata: new Uint8Array(0) };
    const q = [{ owner: wire('x.'), type: 1 }];
    expectWireError(() => decodeMessage(rawMessage({ question: q, additional: [opt, opt] })), 'bad-opt');
    expectWireError(() => decodeMessage(rawMessage({ question: q, answer: [opt] })), 'bad-opt');
    expectWireError(() => decodeMessage(rawMessage({ question: q, authority: [opt] })), 'bad-opt');
    expectWireError(() => decodeMessage(rawMessage({ question: q, additional: [{ ...opt, owner: wire('x.') }] })), 'bad-opt');
    expectWireError(() => decodeMessage(rawMessage({ question: q, additional: [{ ...opt, rdata: Uint8Array.of(0, 10, 0, 8, 1) }] })), 'bad-opt');
    expect(decodeMessage(rawMessage({ question: q, additional: [opt] })).edns?.udpSize).toBe(1232);
  });

  it('builds and parses Extended DNS Errors (RFC 8914)', () => {
    const o = edeOption(EdeCode.DNSSEC_BOGUS, 'RRSIG expired');
    expect(hex(o.data)).toBe('0006' + hex(Buffer.from('RRSIG expired')));
    expect(o.code).toBe(15);
    const m = decodeMessage(encodeMessage(query(defaultEdns({ options: [o, edeOption(EdeCode.STALE_ANSWER), { code: 15, data: Uint8Array.of(1) }] }))));
    expect(extendedErrors(m.edns)).toEqual([
      { infoCode: 6, extraText: 'RRSIG expired' },
      { infoCode: 3, extraText: '' },
    ]);
    expect(parseEde({ code: 15, data: Uint8Array.of(0, 9, 0xe2, 0x82, 0xac) })).toEqual({ infoCode: 9, extraText: '€' });
    expectWireError(() => parseEde({ code: 15, data: Uint8Array.of(1) }), 'bad-opt');
  });

  it('checks cookie sizes (RFC 7873 §4: 8, or 16 to 40 octets)', () => {
    const cookie = (n: number) => ({ code: EdnsOptionCode.COOKIE, data: new Uint8Array(n).map((_, i) => i) });
    for (const n of [8, 16, 24, 40]) expect(parseCookie(cookie(n)).client).toEqual(Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7));
    expect(parseCookie(cookie(8)).server).toBeUndefined();
    expect(parseCookie(cookie(40)).server?.length).toBe(32);
    for (const n of [0, 7, 9, 15, 41]) expectWireError(() => parseCookie(cookie(n)), 'bad-opt');
    const round = cookieOption({ client: new Uint8Array(8).fill(1), server: new Uint8Array(16).fill(2) });
    expect(round.data.length).toBe(24);
    expect(parseCookie(round).server).toEqual(new Uint8Array(16).fill(2));
  });
});

describe('message framing', () => {
  it('refuses bytes after the last record', () => {
    const out = encodeMessage(typicalResponse());
    expectWireError(() => decodeMessage(concat(out, Uint8Array.of(0))), 'trailing-data');
    expect(() => dnsPacket.decode(Buffer.from(concat(out, Uint8Array.of(0))))).not.toThrow();
  });

  it('refuses messages shorter than their counts say', () => {
    const out = encodeMessage(typicalResponse());
    for (let cut = 0; cut < out.length; cut++) expectWireError(() => decodeMessage(out.subarray(0, cut)), 'truncated');
  });

  it('keeps header flags, the Z bit and the opcode', () => {
    const m = newMessage({ id: 0xfedc, qr: true, opcode: 5, aa: true, tc: true, rd: true, ra: true, z: true, ad: true, cd: true, rcode: 9 });
    const out = encodeMessage(m);
    expect(hex(out)).toBe('fedc' + 'aff9' + '0000000000000000');
    expect(decodeMessage(out)).toEqual(m);
  });
});

describe('truncation with maxSize', () => {
  const big = () => {
    const m = typicalResponse();
    for (let i = 0; i < 30; i++) m.answer.push(rr(`web.example.com. 300 IN A 10.0.0.${i}`));
    return m;
  };

  it('sets TC when answer records are dropped and keeps OPT', () => {
    const out = encodeMessage(big(), { maxSize: 256 });
    expect(out.length).toBeLessThanOrEqual(256);
    const m = decodeMessage(out);
    expect(m.tc).toBe(true);
    expect(m.answer.length).toBeLessThan(33);
    expect(m.authority).toHaveLength(0);
    expect(m.edns?.udpSize).toBe(1232);
  });

  it('does not set TC when only additional records are dropped', () => {
    const full = encodeMessage(typicalResponse());
    const out = encodeMessage(typicalResponse(), { maxSize: full.length - 20 });
    const m = decodeMessage(out);
    expect(m.tc).toBe(false);
    expect(m.answer).toHaveLength(3);
    expect(m.authority).toHaveLength(3);
    expect(m.additional.length).toBeLessThan(4);
    expect(m.edns).toBeDefined();
  });

  it('sets TC when authority records are dropped', () => {
    const full = encodeMessage(typicalResponse());
    const m = decodeMessage(encodeMessage(typicalResponse(), { maxSize: full.length - 100 }));
    expect(m.tc).toBe(true);
    expect(m.authority.length).toBeLessThan(3);
    expect(m.additional).toHaveLength(0);
  });

  it('refuses when not even the question and OPT fit', () => {
    expectWireError(() => encodeMessage(typicalResponse(), { maxSize: 40 }), 'too-big');
  });

  it('a record dropped for size leaves no pointer behind into the dropped bytes', () => {
    for (let size = 60; size < 400; size += 7) {
      const out = encodeMessage(big(), { maxSize: size });
      expect(() => decodeMessage(out), `maxSize ${size}`).not.toThrow();
      expect(out.length).toBeLessThanOrEqual(size);
    }
  });
});

describe('decompressed names and case', () => {
  it('echoes the question case (0x20) and compresses answer owners case-insensitively', () => {
    const m = newMessage({
      qr: true,
      question: [{ name: name('wWw.ExAmPlE.cOm.'), type: 1, class: 1 }],
      answer: [rr('www.example.com. 60 IN A 192.0.2.1')],
    });
    const out = encodeMessage(m);
    const d = decodeMessage(out);
    expect(d.question[0]!.name.toString()).toBe('wWw.ExAmPlE.cOm.');
    expect(d.answer[0]!.name.equals(name('www.example.com.'))).toBe(true);
    expect(out.length).toBe(12 + 17 + 4 + 2 + 10 + 4);
  });

  it('copies names out of the packet, also from a Buffer: reusing the buffer changes no name', () => {
    const out = encodeMessage(typicalResponse());
    const names = (m: Message) => [...m.question, ...m.answer, ...m.authority, ...m.additional].map((r) => r.name.toString()).join();
    const expected = names(decodeMessage(out));
    expect(expected).toContain('web.example.com.');
    for (const packet of [Uint8Array.from(out), Buffer.from(out)]) {
      const m = decodeMessage(packet);
      packet.fill(0x41, 12);
      expect(names(m)).toBe(expected);
    }
  });
});
