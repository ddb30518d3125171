import { describe, expect, it } from 'vitest';
import { Name, RRType, decodeMessage, encodeMessage, newMessage, readName } from '../../src/wire/index.js';
import { concat, expectWireError, hex, mulberry32, name, ptr, rawMessage, wire } from './wire-helpers.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
const label = (n: number, c = 'a') => c.repeat(n);

describe('Name presentation format', () => {
  it('parses \\DDD escapes into raw octets and prints them back', () => {
    const n = name('\\000\\255\\032x.example.');
    expect([...n.label(0)]).toEqual([0, 255, 32, 0x78]);
    expect(n.labelCount).toBe(2);
    expect(n.toString()).toBe('\\000\\255\\032x.example.');
  });

  it('treats \\. as a dot inside a label, not a separator', () => {
    const n = name('a\\.b.example.');
    expect(n.labelCount).toBe(2);
    expect(Buffer.from(n.label(0)).toString('latin1')).toBe('a.b');
    expect(hex(n.wire)).toBe('03612e62076578616d706c6500');
    expect(n.toString()).toBe('a\\.b.example.');
    expect(n.equals(name('a.b.example.'))).toBe(false);
  });

  it('unescapes \\X of any character and prints the specials escaped', () => {
    const n = name('\\"\\(\\)\\;\\@\\$\\\\q.example.');
    expect(Buffer.from(n.label(0)).toString('latin1')).toBe('"();@$\\q');
    expect(n.toString()).toBe('\\"\\(\\)\\;\\@\\$\\\\q.example.');
    expect(name('\\065\\066c.').toString()).toBe('ABc.');
  });

  it('prints every octet so that it parses back to the same octet', () => {
    const all = Array.from({ length: 256 }, (_, i) => i);
    for (let i = 0; i < 256; i += 63) {
      const n = Name.fromLabels([Uint8Array.from(all.slice(i, i + 63))]);
      expect(hex(name(n.toString()).wire)).toBe(hex(n.wire));
    }
  });

  it('rejects bad escapes, empty labels and wide characters', () => {
    expectWireError(() => name('\\256.example.'), 'bad-text');
    expectWireError(() => name('example\\'), 'bad-text');
    expectWireError(() => name('a..example.'), 'bad-text');
    expectWireError(() => name('.example.'), 'bad-text');
    expectWireError(() => name(''), 'bad-text');
    expectWireError(() => name('bücher€.example.'), 'bad-text');
  });

  it('completes relative names with the origin and treats "@" as the origin', () => {
    const origin = name('Example.COM.');
    expect(Name.parse('www', origin).toString()).toBe('www.Example.COM.');
    expect(Name.parse('@', origin)).toBe(origin);
    expect(Name.parse('www.other.', origin).toString()).toBe('www.other.');
    expect(Name.parse('www').toString()).toBe('www.');
    expect(name('.').isRoot).toBe(true);
    expect(name('www.example.com.').toRelativeString(origin)).toBe('www');
    expect(origin.toRelativeString(name('example.com.'))).toBe('@');
    expect(name('www.example.net.').toRelativeString(origin)).toBe('www.example.net.');
  });
});

describe('Name bytes are kept as received', () => {
  it('keeps binary labels and case byte for byte through decode and encode', () => {
    const odd = Name.fromLabels([bytes(0xff, 0x00, 0xc0, 0x2e, 0x41), Buffer.from('Example')]);
    const packet = rawMessage({ question: [{ owner: odd.wire, type: RRType.A }] });
    const m = decodeMessage(packet);
    expect(hex(m.question[0]!.name.wire)).toBe(hex(odd.wire));
    expect(m.question[0]!.name.toString()).toBe('\\255\\000\\192\\.A.Example.');
    expect(hex(encodeMessage(m))).toBe(hex(packet));
  });

  it('compares and keys names case-insensitively, folding ASCII only (RFC 4343)', () => {
    const a = name('WWW.Example.COM.');
    const b = name('www.example.com.');
    expect(a.equals(b)).toBe(true);
    expect(a.key).toBe(b.key);
    expect(hex(a.wire)).not.toBe(hex(b.wire));
    expect(a.toString()).toBe('WWW.Example.COM.');
    expect(a.lowercase().toString()).toBe('www.example.com.');
    expect(b.lowercase()).toBe(b);
    // Latin-1 'Ä' (0xC4) and 'ä' (0xE4) are different octets to DNS.
    const upper = Name.fromLabels([bytes(0xc4)]);
    const lower = Name.fromLabels([bytes(0xe4)]);
    expect(upper.equals(lower)).toBe(false);
    expect(upper.key).not.toBe(lower.key);
    // '@' (0x40) and '`' (0x60) differ by the case bit but are not letters.
    expect(name('\\@.').equals(name('`.'))).toBe(false);
    expect(name('[.').equals(name('{.'))).toBe(false);
  });
});

describe('Name.isSubdomainOf', () => {
  it('follows label boundaries, not string suffixes', () => {
    expect(name('xample.com.').isSubdomainOf(name('ample.com.'))).toBe(false);
    expect(name('www.example.com.').isSubdomainOf(name('example.com.'))).toBe(true);
    expect(name('www.example.com.').isSubdomainOf(name('ample.com.'))).toBe(false);
    expect(name('a\\.example.com.').isSubdomainOf(name('example.com.'))).toBe(false);
    expect(name('a\\.example.com.').isSubdomainOf(name('com.'))).toBe(true);
  });

  it('does not mistake label content for a length octet', () => {
    // One 12-octet label whose bytes spell the wire form of "example.com." minus the root.
    const tricky = name('\\007example\\003com.');
    expect(tricky.labelCount).toBe(1);
    expect(hex(tricky.wire.subarray(1))).toBe(hex(wire('example.com.')));
    expect(tricky.isSubdomainOf(name('example.com.'))).toBe(false);
    expect(tricky.isSubdomainOf(name('com.'))).toBe(false);
  });

  it('includes the name itself and the root, folds case, and never goes upwards', () => {
    const n = name('WWW.Example.COM.');
    expect(n.isSubdomainOf(name('www.example.com.'))).toBe(true);
    expect(n.isSubdomainOf(name('com.'))).toBe(true);
    expect(n.isSubdomainOf(Name.root)).toBe(true);
    expect(Name.root.isSubdomainOf(Name.root)).toBe(true);
    expect(Name.root.isSubdomainOf(name('com.'))).toBe(false);
    expect(name('example.com.').isSubdomainOf(n)).toBe(false);
    expect(name('www.example.org.').isSubdomainOf(name('example.com.'))).toBe(false);
  });

  it('parent, suffix, prepend and labels agree', () => {
    const n = name('a.b.c.example.');
    expect(n.labelCount).toBe(4);
    expect(n.parent().toString()).toBe('b.c.example.');
    expect(n.parent(4)).toBe(Name.root);
    expect(n.suffix(2).toString()).toBe('c.example.');
    expect(n.parent(2).prepend('*').toString()).toBe('*.c.example.');
    expect(name('*.x.').isWildcard).toBe(true);
    expect(name('\\*.x.').isWildcard).toBe(true);
    expect(name('a*.x.').isWildcard).toBe(false);
    expect(() => n.parent(5)).toThrow(RangeError);
  });
});

describe('Name limits', () => {
  it('allows 63-octet labels and 255-octet names, not one more', () => {
    expect(name(`${label(63)}.example.`).label(0).length).toBe(63);
    expectWireError(() => name(`${label(64)}.example.`), 'bad-label');
    const longest = `${label(63)}.${label(63)}.${label(63)}.${label(61)}.`;
    expect(name(longest).length).toBe(255);
    expectWireError(() => name(`${label(63)}.${label(63)}.${label(63)}.${label(62)}.`), 'name-too-long');
    expectWireError(() => Name.fromLabels([new Uint8Array(0)]), 'bad-label');
    expect(Name.fromWire(name(longest).wire).length).toBe(255);
  });

  it('checks names from the wire the same way', () => {
    expectWireError(() => Name.fromWire(concat(bytes(64), new Uint8Array(64), bytes(0))), 'bad-label');
    const tooLong = concat(...Array.from({ length: 4 }, () => concat(bytes(63), new Uint8Array(63).fill(0x61))), bytes(0));
    expectWireError(() => Name.fromWire(tooLong), 'name-too-long');
    expectWireError(() => Name.fromWire(bytes(3, 0x61, 0x62)), 'truncated');
    expectWireError(() => Name.fromWire(bytes(1, 0x61, 0, 0)), 'bad-rdata');
    // In a message: a 256-octet name assembled from pointers is refused as well.
    const head = concat(bytes(63), new Uint8Array(63).fill(0x61), bytes(63), new Uint8Array(63).fill(0x62), bytes(0));
    const packet = rawMessage({
      question: [
        { owner: head, type: 1 },
        { owner: concat(bytes(63), new Uint8Array(63).fill(0x63), bytes(62), new Uint8Array(62).fill(0x64), ptr(12)), type: 1 },
      ],
    });
    expectWireError(() => decodeMessage(packet), 'name-too-long');
  });
});

describe('RFC 4034 §6.1 canonical ordering', () => {
  const ordered = [
    'example.', 'a.example.', 'yljkjljk.a.example.', 'Z.a.example.', 'zABC.a.EXAMPLE.', 'z.example.',
    '\\001.z.example.', '*.z.example.', '\\200.z.example.',
  ];

  it('sorts the RFC example list into the RFC order from any starting order', () => {
    const rand = mulberry32(6_1);
    for (let round = 0; round < 20; round++) {
      const shuffled = [...ordered].sort(() => rand() - 0.5);
      const sorted = shuffled.map(name).sort((a, b) => a.compareCanonical(b));
      expect(sorted.map((n) => n.toString())).toEqual(ordered);
    }
  });

  it('orders case-insensitively and by the most significant label first', () => {
    expect(name('Z.a.example.').compareCanonical(name('z.A.EXAMPLE.'))).toBe(0);
    expect(name('a.example.').compareCanonical(name('example.'))).toBeGreaterThan(0);
    expect(name('b.example.').compareCanonical(name('a.b.example.'))).toBeLessThan(0);
    expect(name('z.a.').compareCanonical(name('a.b.'))).toBeLessThan(0);
    expect(Name.root.compareCanonical(name('a.'))).toBeLessThan(0);
    // Octets above 0x7f sort as unsigned values after letters; 'Z' sorts as 'z'.
    expect(name('\\200.').compareCanonical(name('z.'))).toBeGreaterThan(0);
    expect(name('Z.').compareCanonical(name('\\123.'))).toBeLessThan(0);
  });
});

describe('compression pointer attacks', () => {
  const q = (owner: Uint8Array) => rawMessage({ question: [{ owner, type: 1 }] });

  it('rejects a pointer to itself', () => {
    expectWireError(() => decodeMessage(q(ptr(12))), 'bad-pointer');
  });

  it('rejects forward pointers and pointers past the end', () => {
    // A pointer at 12 to the root label at 14 that follows it: forward.
    expectWireError(() => decodeMessage(concat(q(ptr(14)).subarray(0, 14), bytes(0, 0, 1, 0, 1))), 'bad-pointer');
    expectWireError(() => decodeMessage(q(ptr(0x3fff))), 'bad-pointer');
  });

  it('rejects loops through an earlier part of the same name', () => {
    expectWireError(() => decodeMessage(q(concat(bytes(1, 0x61), ptr(12)))), 'bad-pointer');
    // Two names: the second points back into the first, which points forward into the second.
    const packet = rawMessage({
      question: [
        { owner: concat(bytes(1, 0x61), ptr(19)), type: 1 },
        { owner: ptr(12), type: 1 },
      ],
    });
    expectWireError(() => decodeMessage(packet), 'bad-pointer');
  });

  it('rejects a pointer cut off by the end of the message and reserved label types', () => {
    expectWireError(() => decodeMessage(concat(q(bytes(0)).subarray(0, 12), bytes(0xc0))), 'truncated');
    expectWireError(() => decodeMessage(q(bytes(0x40, 0))), 'bad-label');
    expectWireError(() => decodeMessage(q(bytes(0x80, 0))), 'bad-label');
    expectWireError(() => readName(bytes(1, 0x61), 0, true), 'truncated');
  });

  it('rejects pointers where compression is not allowed', () => {
    const packet = q(bytes(0));
    expectWireError(() => readName(concat(packet, ptr(12)), packet.length, false), 'compression-forbidden');
  });

  it('follows legitimate chains of pointers, one label per hop', () => {
    // 100 questions, each one label plus a pointer to the previous question's name.
    const question: { owner: Uint8Array; type: number }[] = [{ owner: bytes(0), type: 1 }];
    let at = 12;
    for (let i = 0; i < 100; i++) {
      question.push({ owner: concat(bytes(1, 0x61 + (i % 26)), ptr(at)), type: 1 });
      at += question[i]!.owner.length + 4;
    }
    const m = decodeMessage(rawMessage({ question }));
    expect(m.question[100]!.name.labelCount).toBe(100);
  });

  it('refuses long chains of pointer-to-pointer hops (bounded work per name, RFC 9267 §2)', () => {
    // A chain of 200 pointers, each to the one before, ending at the root: every hop is
    // backwards, but following it costs 200 steps per name that points at its top.
    const question: { owner: Uint8Array; type: number }[] = [{ owner: bytes(0), type: 1 }];
    let prev = 12;
    let at = 12 + 5;
    for (let i = 0; i < 200; i++) {
      question.push({ owner: ptr(prev), type: 1 });
      prev = at;
      at += 6;
    }
    expectWireError(() => decodeMessage(rawMessage({ question })), 'pointer-loop');
  });

  it('our encoder compresses against earlier names only, in owners and in CNAME RDATA', () => {
    const m = newMessage({ question: [{ name: name('a.example.'), type: 1, class: 1 }] });
    m.answer.push({ name: name('b.a.example.'), type: RRType.CNAME, class: 1, ttl: 1, rdata: wire('a.example.') });
    const out = encodeMessage(m);
    expect(hex(out.subarray(12))).toBe(
      '0161076578616d706c6500' + '00010001' + '0162c00c' + '0005000100000001' + '0002' + 'c00c',
    );
    expect(decodeMessage(out).answer[0]!.name.toString()).toBe('b.a.example.');
    expect(hex(decodeMessage(out).answer[0]!.rdata)).toBe(hex(wire('a.example.')));
  });
});
