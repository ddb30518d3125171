import { describe, expect, it } from 'vitest';
import {
  type IncludedFile,
  Name,
  RRClass,
  RRType,
  type ResourceRecord,
  ZoneFileError,
  decodeRdata,
  parseZoneText,
  rdataToText,
  typeToString,
  zoneEntries,
  zoneToText,
} from '../../src/wire/index.js';
import { expectZoneError, recordSet } from './zone-file-helpers.js';

const origin = Name.parse('example.com.');

function parse(text: string, options: Parameters<typeof parseZoneText>[1] = {}) {
  return parseZoneText(text, { origin, fileName: 'db.example', ...options });
}

/** `owner TTL CLASS TYPE RDATA` of each record, for readable expectations. */
function lines(records: readonly ResourceRecord[]): string[] {
  return records.map((r) => `${r.name.toString()} ${r.ttl} ${r.class === RRClass.IN ? 'IN' : r.class} ${typeToString(r.type)} ${rdataToText(r.type, r.rdata)}`);
}

const SOA = '@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n';

function files(map: Record<string, string>) {
  const resolved: string[] = [];
  const resolver = (path: string, from: string): IncludedFile => {
    resolved.push(`${from} -> ${path}`);
    const text = map[path];
    if (text === undefined) throw new Error(`ENOENT: no such file "${path}"`);
    return { text, fileName: path };
  };
  return { resolver, resolved };
}

describe('parseZoneText: names, TTL and class', () => {
  it('reads @, relative and absolute names, omitted owners and classes', () => {
    const z = parse(`$TTL 3600
${SOA}	IN	NS	ns1
	NS	ns2.example.net.
www	A	192.0.2.1
	AAAA	2001:db8::1
www.example.com.	TXT	"absolute owner"
`);
    expect(lines(z.records)).toEqual([
      'example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300',
      'example.com. 3600 IN NS ns1.example.com.',
      'example.com. 3600 IN NS ns2.example.net.',
      'www.example.com. 3600 IN A 192.0.2.1',
      'www.example.com. 3600 IN AAAA 2001:db8::1',
      'www.example.com. 3600 IN TXT "absolute owner"',
    ]);
    expect(z.sources.map((s) => s.line)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(z.sources.every((s) => s.fileName === 'db.example')).toBe(true);
    expect(z.origin?.toString()).toBe('example.com.');
    expect(z.defaultTtl).toBe(3600);
  });

  it('takes TTL and class in either order, each optional, with BIND units', () => {
    const z = parse(`$TTL 1h
a 300 IN A 192.0.2.1
b IN 300 A 192.0.2.2
c 1w2d3h4m5s A 192.0.2.3
d IN A 192.0.2.4
e 2H30M in a 192.0.2.5
f CLASS1 TYPE1 192.0.2.6
`);
    expect(z.records.map((r) => [r.name.toString(), r.ttl, r.class, r.type])).toEqual([
      ['a.example.com.', 300, 1, 1],
      ['b.example.com.', 300, 1, 1],
      ['c.example.com.', 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5, 1, 1],
      ['d.example.com.', 3600, 1, 1],
      ['e.example.com.', 9000, 1, 1],
      ['f.example.com.', 3600, 1, 1],
    ]);
  });

  it('accepts the origin as a string, with or without a trailing dot', () => {
    for (const o of ['example.com', 'example.com.']) {
      const z = parseZoneText('$TTL 60\nwww A 192.0.2.1\n', { origin: o, fileName: 'f' });
      expect(z.records[0]!.name.toString()).toBe('www.example.com.');
    }
  });

  it('follows $ORIGIN, relative to the current origin or absolute', () => {
    const z = parse(`$TTL 60
$ORIGIN sub
a A 192.0.2.1
$ORIGIN other.example.
@ A 192.0.2.2
b CNAME a
c CNAME @
$ORIGIN .
d.test A 192.0.2.3
`);
    expect(lines(z.records)).toEqual([
      'a.sub.example.com. 60 IN A 192.0.2.1',
      'other.example. 60 IN A 192.0.2.2',
      'b.other.example. 60 IN CNAME a.other.example.',
      'c.other.example. 60 IN CNAME other.example.',
      'd.test. 60 IN A 192.0.2.3',
    ]);
    expect(z.origin?.toString()).toBe('.');
  });

  it('starts with $ORIGIN in the file when no origin is given', () => {
    const z = parseZoneText('$ORIGIN example.org.\n$TTL 5\n@ NS ns\n', { fileName: 'f' });
    expect(lines(z.records)).toEqual(['example.org. 5 IN NS ns.example.org.']);
  });

  it('keeps escaped and Latin-1 bytes in owner names', () => {
    const z = parse('$TTL 5\na\\.b\\032c TXT x\n\\$x\\@y\\; TXT y\ncaf\xe9 TXT z\n\\200\\255 TXT w\n');
    expect(z.records.map((r) => r.name.toString())).toEqual([
      'a\\.b\\032c.example.com.',
      '\\$x\\@y\\;.example.com.',
      'caf\\233.example.com.',
      '\\200\\255.example.com.',
    ]);
    expect(Array.from(z.records[0]!.name.label(0))).toEqual([0x61, 0x2e, 0x62, 0x20, 0x63]);
    expect(Array.from(z.records[2]!.name.label(0))).toEqual([0x63, 0x61, 0x66, 0xe9]);
  });

  it('reads a wildcard owner', () => {
    const z = parse('$TTL 5\n*.wild A 192.0.2.1\n');
    expect(z.records[0]!.name.isWildcard).toBe(true);
  });
});

describe('parseZoneText: TTL defaults (BIND behaviour)', () => {
  it('uses $TTL for records without a TTL; an explicit TTL does not change it', () => {
    const z = parse('$TTL 100\na 5 A 192.0.2.1\nb A 192.0.2.2\n$TTL 200\nc A 192.0.2.3\n');
    expect(z.records.map((r) => r.ttl)).toEqual([5, 100, 200]);
  });

  it('without $TTL, repeats the previous record TTL (RFC 1035)', () => {
    const z = parse('@ 100 IN SOA ns1 host 1 2 3 4 5\na A 192.0.2.1\nb 7 A 192.0.2.2\nc A 192.0.2.3\n');
    expect(z.records.map((r) => r.ttl)).toEqual([100, 100, 7, 7]);
  });

  it('without $TTL or an earlier TTL, an SOA takes its MINIMUM, which then acts as $TTL', () => {
    const z = parse('@ IN SOA ns1 host 1 2 3 4 1h\n  NS ns1\nb 7 A 192.0.2.2\nc A 192.0.2.3\n');
    expect(z.records.map((r) => r.ttl)).toEqual([3600, 3600, 7, 3600]);
    expect(z.defaultTtl).toBe(3600);
  });

  it('rejects a first non-SOA record without a TTL when nothing gives one', () => {
    expectZoneError(() => parse('\n; comment\nwww A 192.0.2.1\n'), 'db.example', 3, 'no TTL');
  });

  it('uses the defaultTtl option as an initial $TTL', () => {
    const z = parse('a A 192.0.2.1\n$TTL 9\nb A 192.0.2.2\n', { defaultTtl: 42 });
    expect(z.records.map((r) => r.ttl)).toEqual([42, 9]);
  });
});

describe('parseZoneText: syntax', () => {
  it('joins lines inside parentheses and drops comments there', () => {
    const z = parse(`$TTL 60
@ IN SOA ns1.example.com. ( ; primary
        hostmaster ; mailbox
        2024010101 ; serial
        2h 30m ( 2w ) ; nested
        300 )
next A 192.0.2.9
`);
    expect(lines(z.records)).toEqual([
      'example.com. 60 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 1800 1209600 300',
      'next.example.com. 60 IN A 192.0.2.9',
    ]);
    expect(z.sources.map((s) => s.line)).toEqual([2, 7]);
  });

  it('reads a record whose opening parenthesis is alone on a line', () => {
    const z = parse('$TTL 60\nwww A (\n\n 192.0.2.1\n)\n');
    expect(lines(z.records)).toEqual(['www.example.com. 60 IN A 192.0.2.1']);
  });

  it('does not take ; as a comment inside quotes or when escaped', () => {
    const z = parse('$TTL 60\nt TXT "a;b" c\\;d ; real comment "not a string"\n');
    expect(rdataToText(RRType.TXT, z.records[0]!.rdata)).toBe('"a;b" "c;d"');
  });

  it('reads quoted strings with escapes, empty strings and several strings', () => {
    const z = parse('$TTL 60\nt TXT "say \\"hi\\"" "back\\\\slash" "" "\\065\\255" plain\n');
    const strings = decodeRdata(RRType.TXT, z.records[0]!.rdata)['strings'] as Uint8Array[];
    expect(strings.map((s) => Buffer.from(s).toString('latin1'))).toEqual(['say "hi"', 'back\\slash', '', 'A\xff', 'plain']);
  });

  it('ends an unquoted token at a quote, as BIND does', () => {
    const z = parse('$TTL 60\nt TXT foo"bar"baz\n');
    expect(rdataToText(RRType.TXT, z.records[0]!.rdata)).toBe('"foo" "bar" "baz"');
  });

  it('keeps an escaped newline inside a quoted string', () => {
    const z = parse('$TTL 60\nt TXT "line1\\\nline2"\nu A 192.0.2.1\n');
    expect(rdataToText(RRType.TXT, z.records[0]!.rdata)).toBe('"line1\\010line2"');
    expect(z.sources[1]!.line).toBe(4);
  });

  it('reads SvcParams with quoted values (key="value")', () => {
    const z = parse('$TTL 60\nwww HTTPS 1 . alpn="h2,h3" key65000="x y" port=443\n');
    expect(rdataToText(RRType.HTTPS, z.records[0]!.rdata)).toBe('1 . alpn="h2,h3" port=443 key65000="x y"');
  });

  it('reads RFC 3597 generic RDATA for unknown and known types', () => {
    const z = parse('$TTL 60\nu TYPE65280 \\# 4 0A000001\ne TYPE65281 \\# 0\na A \\# 4 C0000201\nb TYPE1 \\# 4 ( C000\n 0202 )\n');
    expect(lines(z.records)).toEqual([
      'u.example.com. 60 IN TYPE65280 \\# 4 0A000001',
      'e.example.com. 60 IN TYPE65281 \\# 0',
      'a.example.com. 60 IN A 192.0.2.1',
      'b.example.com. 60 IN A 192.0.2.2',
    ]);
  });

  it('reads CRLF line endings', () => {
    const z = parse('$TTL 60\r\nwww A 192.0.2.1\r\n\tTXT "x"\r\n');
    expect(lines(z.records)).toEqual(['www.example.com. 60 IN A 192.0.2.1', 'www.example.com. 60 IN TXT "x"']);
  });

  it('reads a file without a final newline, and an empty file', () => {
    expect(parse('$TTL 60\nwww A 192.0.2.1').records).toHaveLength(1);
    expect(parse('').records).toEqual([]);
    expect(parse('; only a comment\n\n   \n').records).toEqual([]);
  });

  it('reads names in RDATA relative to the origin', () => {
    const z = parse('$TTL 60\n@ MX 10 mail\n_sip._tcp SRV 0 5 5060 sip\nn NAPTR 1 1 "S" "SIP+D2U" "" _sip._udp\n');
    expect(lines(z.records)).toEqual([
      'example.com. 60 IN MX 10 mail.example.com.',
      '_sip._tcp.example.com. 60 IN SRV 0 5 5060 sip.example.com.',
      'n.example.com. 60 IN NAPTR 1 1 "S" "SIP+D2U" "" _sip._udp.example.com.',
    ]);
  });
});

describe('zoneEntries', () => {
  it('yields one entry per record with its first line and whether the owner is omitted', () => {
    const entries = [...zoneEntries('a A 1\n  ; c\n\tB ( x\n y )\n"q r" s\n', 'f')];
    expect(entries.map((e) => ({ line: e.line, omitted: e.ownerOmitted, tokens: e.tokens.map((t) => (t.quoted ? `"${t.text}"` : t.text)) }))).toEqual([
      { line: 1, omitted: false, tokens: ['a', 'A', '1'] },
      { line: 3, omitted: true, tokens: ['B', 'x', 'y'] },
      { line: 5, omitted: false, tokens: ['"q r"', 's'] },
    ]);
  });
});

describe('parseZoneText: $INCLUDE', () => {
  it('reads the included file, with its origin, and restores origin and owner after it', () => {
    const { resolver, resolved } = files({
      'inc.db': '\tTXT "inherits the owner"\n@ A 192.0.2.10\nhost A 192.0.2.11\n$ORIGIN deeper\nx A 192.0.2.12\n$TTL 77\n',
    });
    const z = parse(`$TTL 60
www A 192.0.2.1
$INCLUDE inc.db sub ; comment
\tAAAA 2001:db8::1
after A 192.0.2.2
`, { includeResolver: resolver });
    expect(resolved).toEqual(['db.example -> inc.db']);
    expect(lines(z.records)).toEqual([
      'www.example.com. 60 IN A 192.0.2.1',
      'www.example.com. 60 IN TXT "inherits the owner"',
      'sub.example.com. 60 IN A 192.0.2.10',
      'host.sub.example.com. 60 IN A 192.0.2.11',
      'x.deeper.sub.example.com. 60 IN A 192.0.2.12',
      'www.example.com. 77 IN AAAA 2001:db8::1',
      'after.example.com. 77 IN A 192.0.2.2',
    ]);
    expect(z.sources.map((s) => `${s.fileName}:${s.line}`)).toEqual([
      'db.example:2', 'inc.db:1', 'inc.db:2', 'inc.db:3', 'inc.db:5', 'db.example:4', 'db.example:5',
    ]);
    expect(z.origin?.toString()).toBe('example.com.');
  });

  it('uses the current origin when $INCLUDE gives none, and accepts an absolute origin', () => {
    const { resolver } = files({ 'a.db': 'a TXT "a"\n' });
    const z = parse('$TTL 5\n$INCLUDE a.db\n$INCLUDE "a.db" other.test.\n', { includeResolver: resolver });
    expect(z.records.map((r) => r.name.toString())).toEqual(['a.example.com.', 'a.other.test.']);
  });

  it('passes the including file to the resolver for nested includes', () => {
    const { resolver, resolved } = files({ 'a.db': '$INCLUDE b.db\n', 'b.db': 'b 5 A 192.0.2.1\n' });
    const z = parse('$INCLUDE a.db\n', { includeResolver: resolver });
    expect(resolved).toEqual(['db.example -> a.db', 'a.db -> b.db']);
    expect(z.sources).toEqual([{ fileName: 'b.db', line: 1 }]);
  });

  it('detects $INCLUDE loops and names the file and line of the $INCLUDE that closes them', () => {
    const { resolver } = files({ 'a.db': '\n$INCLUDE b.db\n', 'b.db': 'x 5 A 192.0.2.1\n$INCLUDE a.db\n' });
    const err = expectZoneError(() => parse('$INCLUDE a.db\n', { includeResolver: resolver }), 'b.db', 2, '$INCLUDE loop');
    expect(err.reason).toContain('db.example -> a.db -> b.db -> a.db');
    const self = files({ 'db.example': '$INCLUDE db.example\n' });
    expectZoneError(() => parse('$TTL 5\n$INCLUDE db.example\n', { includeResolver: self.resolver }), 'db.example', 2, '$INCLUDE loop');
  });

  it('limits the include depth', () => {
    const resolver = (path: string): IncludedFile => {
      const n = Number(path.slice(1));
      return { text: `$INCLUDE f${n + 1}\n`, fileName: path };
    };
    expectZoneError(() => parse('$INCLUDE f1\n', { includeResolver: resolver, maxIncludeDepth: 3 }), 'f3', 1, 'nested deeper than 3');
    const ok = parseZoneText('$INCLUDE f1\n', {
      origin,
      fileName: 'top',
      maxIncludeDepth: 2,
      includeResolver: (p) => ({ text: p === 'f1' ? '$INCLUDE f2\n' : 'x 5 A 192.0.2.1\n', fileName: p }),
    });
    expect(ok.records).toHaveLength(1);
  });

  it('reports an unreadable file at the $INCLUDE line, and errors inside it at its own line', () => {
    const { resolver } = files({ 'bad.db': '; fine\n\nx 5 A 300.1.1.1\n' });
    expectZoneError(() => parse('$TTL 5\n\n$INCLUDE missing.db\n', { includeResolver: resolver }), 'db.example', 3, /cannot read \$INCLUDE file "missing.db": ENOENT/);
    expectZoneError(() => parse('$TTL 5\n$INCLUDE bad.db\n', { includeResolver: resolver }), 'bad.db', 3, 'bad A RDATA');
  });

  it('rejects $INCLUDE without a resolver, or with bad arguments', () => {
    expectZoneError(() => parse('$TTL 5\n$INCLUDE x.db\n'), 'db.example', 2, '$INCLUDE is not allowed');
    const { resolver } = files({});
    expectZoneError(() => parse('$INCLUDE\n', { includeResolver: resolver }), 'db.example', 1, '$INCLUDE takes a file name');
    expectZoneError(() => parse('$INCLUDE a b c\n', { includeResolver: resolver }), 'db.example', 1, '$INCLUDE takes a file name');
  });
});

describe('parseZoneText: errors name the file and line', () => {
  const cases: Array<[string, string, number, string | RegExp]> = [
    ['bad TTL', '$TTL 60\n\nwww 1x A 192.0.2.1\n', 3, 'bad TTL "1x"'],
    ['bad $TTL', '$TTL forever\n', 1, 'bad TTL "forever"'],
    ['TTL above 2^31-1', 'www 2147483648 A 192.0.2.1\n', 1, 'above 2147483647'],
    ['$TTL without value', '$TTL\n', 1, '$TTL takes one TTL'],
    ['unknown type', '$TTL 60\nwww FOO 1 2 3\n', 2, 'unknown RR type "FOO"'],
    ['missing type', '$TTL 60\nwww 60 IN\n', 2, 'missing RR type'],
    ['meta type', '$TTL 60\nwww IN AXFR \\# 0\n', 2, 'AXFR is a meta-type'],
    ['bad A RDATA', '$TTL 60\nwww A 192.0.2\n', 2, /^bad A RDATA: .*192\.0\.2/],
    ['missing RDATA', '$TTL 60\nwww MX 10\n', 2, 'bad MX RDATA: missing exchange'],
    ['trailing RDATA', '$TTL 60\nwww A 192.0.2.1 extra\n', 2, 'bad A RDATA: unexpected "extra"'],
    ['bad generic RDATA length', '$TTL 60\nx TYPE999 \\# 3 0A00\n', 2, 'bad TYPE999 RDATA: generic RDATA says 3'],
    ['known type without schema text', '$TTL 60\nx TYPE999 1 2\n', 2, 'needs the generic'],
    ['unclosed parenthesis', '$TTL 60\nok A 192.0.2.1\n@ SOA ns host (\n 1 2 3 4 5\n', 3, 'unbalanced parentheses'],
    ['stray closing parenthesis', '$TTL 60\n\nwww A 192.0.2.1 )\n', 3, 'unbalanced parentheses'],
    ['unterminated quote', '$TTL 60\nt TXT "abc\nu TXT "x"\n', 2, 'unterminated quoted string'],
    ['unterminated quote at end', '$TTL 60\nt TXT "abc', 2, 'unterminated quoted string'],
    ['backslash at end of line', '$TTL 60\nt TXT abc\\\n', 2, 'backslash'],
    ['no previous owner', '$TTL 60\n  A 192.0.2.1\n', 2, 'no owner name'],
    ['unknown directive', '$TTL 60\n$FOO bar\n', 2, 'unknown directive "$FOO"'],
    ['$GENERATE', '$GENERATE 1-10 host$ A 192.0.2.$\n', 1, '$GENERATE is not supported'],
    ['class mismatch', '$TTL 60\na IN A 192.0.2.1\nb CH TXT "x"\n', 3, 'class CH does not match'],
    ['bad owner name', '$TTL 60\na..b A 192.0.2.1\n', 2, 'bad owner name "a..b"'],
    ['multi-line entry reports its first line', '$TTL 60\n@ SOA ns host (\n 1 2 3\n 4 x )\n', 2, 'bad SOA RDATA'],
  ];
  for (const [what, text, line, reason] of cases) {
    it(what, () => {
      expectZoneError(() => parse(text), 'db.example', line, reason);
    });
  }

  it('rejects relative names when no origin is set', () => {
    const noOrigin = (text: string) => () => parseZoneText(text, { fileName: 'f.db' });
    expectZoneError(noOrigin('$TTL 5\nwww A 192.0.2.1\n'), 'f.db', 2, 'owner name "www" is relative but no origin');
    expectZoneError(noOrigin('$TTL 5\n@ A 192.0.2.1\n'), 'f.db', 2, 'no origin');
    expectZoneError(noOrigin('$TTL 5\nwww.test. CNAME www\n'), 'f.db', 2, 'a name in the CNAME RDATA is relative but no origin');
    expectZoneError(noOrigin('$TTL 5\nwww.test. MX 10 @\n'), 'f.db', 2, 'no origin');
    expectZoneError(noOrigin('$ORIGIN sub\n'), 'f.db', 1, '$ORIGIN "sub" is relative but no origin');
    const ok = parseZoneText('$TTL 5\nwww.test. CNAME other.test.\n', { fileName: 'f.db' });
    expect(ok.records[0]!.name.toString()).toBe('www.test.');
  });

  it('is a ZoneFileError with fileName, line and reason', () => {
    try {
      parse('$TTL 60\nwww A nope\n');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ZoneFileError);
      expect(err).toBeInstanceOf(Error);
      const e = err as ZoneFileError;
      expect(e.name).toBe('ZoneFileError');
      expect(e.message).toBe(`db.example:2: ${e.reason}`);
    }
  });

  it('defaults the file name to <zone>', () => {
    expectZoneError(() => parseZoneText('www A 192.0.2.1\n', { origin }), '<zone>', 1, 'no TTL');
  });
});

describe('zoneToText', () => {
  const source = `$TTL 3600
a\\.b\\032c TXT "escaped owner"
${SOA}@ NS ns1
@ MX 10 mail.example.net.
www 300 A 192.0.2.1
www 300 AAAA 2001:db8::1
t TXT "quote \\" and \\\\ and ; and \\255" "" second
*.w CNAME www
u TYPE65280 \\# 3 010203
s HTTPS 1 . alpn="h2,h3" ipv4hint=192.0.2.1,192.0.2.2 key65000="x y"
c CAA 0 issue "ca.example; policy"
outside.example.org. A 192.0.2.9
\\$d\\@a\\(\\) TXT "specials"
`;

  it('writes a file that parses back to the same records, SOA first', () => {
    const z = parse(source);
    const text = zoneToText(z.records, origin);
    expect(text.startsWith('$ORIGIN example.com.\n$TTL 3600\n@\t3600\tIN\tSOA\t')).toBe(true);
    const back = parseZoneText(text, { fileName: 'out' });
    expect(recordSet(back.records)).toEqual(recordSet(z.records));
    expect(back.records[0]!.type).toBe(RRType.SOA);
    expect(text).toContain('\nwww\t300\tIN\tA\t192.0.2.1\n');
    expect(text).toContain('\noutside.example.org.\t3600\tIN\tA\t192.0.2.9\n');
  });

  it('writes $TTL as asked', () => {
    const z = parse(source);
    expect(zoneToText(z.records, origin, { defaultTtl: false })).not.toContain('$TTL');
    expect(zoneToText(z.records, origin, { defaultTtl: 5 })).toContain('\n$TTL 5\n');
    expect(zoneToText([], origin)).toBe('$ORIGIN example.com.\n');
  });

  it('writes names relative to another origin, and from the root origin', () => {
    const z = parse(source);
    for (const o of [Name.root, Name.parse('com.')]) {
      const back = parseZoneText(zoneToText(z.records, o), { fileName: 'out' });
      expect(recordSet(back.records)).toEqual(recordSet(z.records));
    }
  });
});
