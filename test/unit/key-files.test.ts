import { describe, expect, it } from 'vitest';
import {
  Name,
  RRClass,
  RRType,
  type ResourceRecord,
  WireError,
  decodeRdata,
  dssetToText,
  keyFileName,
  keyFileNameInfo,
  keysetToText,
  parseDssetFile,
  parseKeyFile,
  parseKeysetFile,
  rdataFromText,
  tokenizeRdata,
} from '../../src/wire/index.js';
import { expectZoneError, recordSet } from './zone-file-helpers.js';

// Written by BIND 9.18: `dnssec-signzone -C -g` (keyset-, dsset-) and `dnssec-dsfromkey`.
const BIND_KEYSET = `$ORIGIN .
example.com		5	IN DNSKEY 257 3 13 (
					xeN1Y/IBgdSqaANJIUEEc0ltTtL0hfrglBE6
					PERkdBpNl/QTDg1OdnVFV9JmIA5nTU/OZ6xB
					arADbouPvInJIA==
					) ; KSK; alg = ECDSAP256SHA256 ; key id = 48163
`;
const BIND_DSSET = 'example.com.\t\tIN DS 48163 13 2 E9FF982425DE37FA5201174ABA6551AF39BCE2E57FB818F281F6F618 F479B449\n';
const DSFROMKEY = `example.com. IN DS 48163 13 2 E9FF982425DE37FA5201174ABA6551AF39BCE2E57FB818F281F6F618F479B449
example.com. IN DS 48163 13 4 E6EAC301BF57208AEE5972FB27F2C7E51C2EB845BDB7ED12666286260FB55F50385E97EBEAE8A177910772F58C2F55BC
`;
const KEY_FILE = `; This is a key-signing key, keyid 48163, for example.com.
; Created: 20261123115850 (Mon Nov 23 11:58:50 2026)
; Publish: 20261123115850 (Mon Nov 23 11:58:50 2026)
; Activate: 20261123115850 (Mon Nov 23 11:58:50 2026)
example.com. IN DNSKEY 257 3 13 xeN1Y/IBgdSqaANJIUEEc0ltTtL0hfrglBE6PERkdBpNl/QTDg1OdnVF V9JmIA5nTU/OZ6xBarADbouPvInJIA==
`;
const PUBLIC_KEY = 'xeN1Y/IBgdSqaANJIUEEc0ltTtL0hfrglBE6PERkdBpNl/QTDg1OdnVFV9JmIA5nTU/OZ6xBarADbouPvInJIA==';
const DIGEST = 'E9FF982425DE37FA5201174ABA6551AF39BCE2E57FB818F281F6F618F479B449';

const zone = Name.parse('example.com.');

function rr(owner: string, type: number, rdata: string, ttl = 3600): ResourceRecord {
  return { name: Name.parse(owner), type, class: RRClass.IN, ttl, rdata: rdataFromText(type, tokenizeRdata(rdata)) };
}

describe('parseKeysetFile', () => {
  it("reads BIND's keyset- file ($ORIGIN ., owner without a dot, parentheses, comments)", () => {
    const k = parseKeysetFile(BIND_KEYSET, { fileName: '/var/keys/keyset-example.com.' });
    expect(k.kind).toBe('keyset');
    expect(k.zone.toString()).toBe('example.com.');
    expect(k.records).toHaveLength(1);
    const key = k.records[0]!;
    expect(key).toMatchObject({ type: RRType.DNSKEY, class: RRClass.IN, ttl: 5 });
    expect(key.name.equals(zone)).toBe(true);
    expect(decodeRdata(RRType.DNSKEY, key.rdata)).toMatchObject({ flags: 257, protocol: 3, algorithm: 13 });
    expect(Buffer.from(decodeRdata(RRType.DNSKEY, key.rdata)['publicKey'] as Uint8Array).toString('base64')).toBe(PUBLIC_KEY);
  });

  it("reads a dnssec-keygen .key file (comments, no TTL: the default)", () => {
    const k = parseKeysetFile(KEY_FILE, { fileName: 'Kexample.com.+013+48163.key' });
    expect(k.zone.equals(zone)).toBe(true);
    expect(k.records[0]!.ttl).toBe(3600);
    expect(parseKeysetFile(KEY_FILE, { defaultTtl: 60 }).records[0]!.ttl).toBe(60);
    expect(recordSet(k.records.map((r) => ({ ...r, ttl: 5 })))).toEqual(recordSet(parseKeysetFile(BIND_KEYSET).records));
  });

  it('takes names with or without the trailing dot, and the zone with or without it', () => {
    for (const owner of ['example.com', 'example.com.', 'EXAMPLE.com']) {
      for (const z of ['example.com', 'example.com.', zone]) {
        const k = parseKeysetFile(`${owner} 60 IN DNSKEY 256 3 13 ${PUBLIC_KEY}\n`, { zone: z, fileName: 'k' });
        expect(k.zone.equals(zone)).toBe(true);
        expect(k.records[0]!.name.equals(zone)).toBe(true);
      }
    }
  });

  it('takes the zone from the file name, with or without the trailing dot', () => {
    for (const f of ['keyset-example.com.', 'dir/keyset-example.com', 'C:\\keys\\keyset-example.com.']) {
      expectZoneError(() => parseKeysetFile(`other.com. 60 IN DNSKEY 256 3 13 ${PUBLIC_KEY}\n`, { fileName: f }), f, 1, 'owner other.com. is not the zone example.com.');
    }
  });

  it('reads TTL and class in either order, or omitted', () => {
    const text = `example.com. IN 60 DNSKEY 256 3 13 ${PUBLIC_KEY}\nexample.com. DNSKEY 257 3 13 ${PUBLIC_KEY}\n`;
    expect(parseKeysetFile(text).records.map((r) => r.ttl)).toEqual([60, 3600]);
  });

  it('rejects other types, other owners, bad RDATA and empty files, naming file and line', () => {
    const f = 'keyset-example.com.';
    expectZoneError(() => parseKeysetFile(`; header\nexample.com. 60 IN DNSKEY 257 3 13 ${PUBLIC_KEY}\nexample.com. 60 IN DS 1 13 2 ${DIGEST}\n`, { fileName: f }), f, 3,
      'a keyset file holds only DNSKEY records, found DS');
    expectZoneError(() => parseKeysetFile(`example.com. 60 IN DNSKEY 257 3 13 ${PUBLIC_KEY}\n\nwww.example.com. 60 IN DNSKEY 257 3 13 ${PUBLIC_KEY}\n`, { fileName: 'k' }), 'k', 3,
      'owner www.example.com. is not the zone example.com.');
    expectZoneError(() => parseKeysetFile('example.com. 60 IN DNSKEY 257 3 13 not*base64\n', { fileName: f }), f, 1, 'bad DNSKEY RDATA');
    expectZoneError(() => parseKeysetFile('example.com. 60 IN DNSKEY 257 3 13 (\n', { fileName: f }), f, 1, 'unbalanced parentheses');
    expectZoneError(() => parseKeysetFile('; nothing here\n', { fileName: f }), f, 0, 'no DNSKEY records');
    expectZoneError(() => parseKeysetFile('$INCLUDE /etc/passwd\n', { fileName: f }), f, 1, '$INCLUDE is not allowed');
  });
});

describe('parseDssetFile', () => {
  it("reads dnssec-signzone's dsset- file (no TTL, digest split in two)", () => {
    const d = parseDssetFile(BIND_DSSET, { fileName: 'dsset-example.com.' });
    expect(d.kind).toBe('dsset');
    expect(d.zone.equals(zone)).toBe(true);
    expect(d.records).toHaveLength(1);
    expect(d.records[0]!.ttl).toBe(3600);
    const ds = decodeRdata(RRType.DS, d.records[0]!.rdata);
    expect(ds).toMatchObject({ keyTag: 48163, algorithm: 13, digestType: 2 });
    expect(Buffer.from(ds['digest'] as Uint8Array).toString('hex').toUpperCase()).toBe(DIGEST);
  });

  it("reads dnssec-dsfromkey's output with two digests", () => {
    const d = parseDssetFile(DSFROMKEY, { fileName: 'dsfromkey' });
    expect(d.records.map((r) => decodeRdata(RRType.DS, r.rdata)['digestType'])).toEqual([2, 4]);
    expect(recordSet(d.records.slice(0, 1))).toEqual(recordSet(parseDssetFile(BIND_DSSET).records));
  });

  it('reads the root zone file name dsset-.', () => {
    expect(keyFileNameInfo('dsset-.')?.zone.isRoot).toBe(true);
    const d = parseDssetFile(`. 86400 IN DS 20326 8 2 ${DIGEST}\n`, { fileName: 'dsset-.' });
    expect(d.zone.isRoot).toBe(true);
  });

  it('rejects DNSKEY records in a dsset file, and a zone name that is not one', () => {
    expectZoneError(() => parseDssetFile(BIND_KEYSET, { fileName: 'dsset-example.com.' }), 'dsset-example.com.', 2, 'a dsset file holds only DS records, found DNSKEY');
    expectZoneError(() => parseDssetFile(BIND_DSSET, { fileName: 'd', zone: 'a..b' }), 'd', 0, 'bad zone name');
  });

  it('does not take the zone from a file name of the other kind', () => {
    const d = parseKeyFile('dsset', BIND_DSSET, { fileName: 'keyset-other.com.' });
    expect(d.zone.equals(zone)).toBe(true);
  });
});

describe('key file names', () => {
  it('names files as BIND does', () => {
    expect(keyFileName('keyset', zone)).toBe('keyset-example.com.');
    expect(keyFileName('dsset', Name.root)).toBe('dsset-.');
    const info = keyFileNameInfo('/a/b/dsset-example.com');
    expect([info?.kind, info?.zone.toString()]).toEqual(['dsset', 'example.com.']);
    expect(keyFileNameInfo('Kexample.com.+013+48163.key')).toBeUndefined();
    expect(keyFileNameInfo('dsset-a..b')).toBeUndefined();
  });
});

describe('keysetToText / dssetToText', () => {
  const ksk = rr('example.com.', RRType.DNSKEY, `257 3 13 ${PUBLIC_KEY}`);
  const zsk = rr('example.com.', RRType.DNSKEY, `256 3 13 ${PUBLIC_KEY}`);
  const ds = rr('example.com.', RRType.DS, `48163 13 2 ${DIGEST}`);

  it('writes one record per line like dnssec-dsfromkey -T', () => {
    expect(dssetToText([ds])).toBe(`example.com.\t\t3600\tIN DS 48163 13 2 ${DIGEST}\n`);
    expect(keysetToText([ksk, zsk])).toBe(
      `example.com.\t\t3600\tIN DNSKEY 257 3 13 ${PUBLIC_KEY}\nexample.com.\t\t3600\tIN DNSKEY 256 3 13 ${PUBLIC_KEY}\n`,
    );
    expect(dssetToText([])).toBe('');
  });

  it('writes what the parsers read back identically', () => {
    expect(recordSet(parseKeysetFile(keysetToText([ksk, zsk])).records)).toEqual(recordSet([ksk, zsk]));
    expect(recordSet(parseDssetFile(dssetToText([ds])).records)).toEqual(recordSet([ds]));
  });

  it('refuses records of the wrong type or of two owners', () => {
    expect(() => dssetToText([ksk])).toThrow(WireError);
    expect(() => keysetToText([ds])).toThrow(/only DNSKEY/);
    expect(() => keysetToText([ksk, rr('www.example.com.', RRType.DNSKEY, `256 3 13 ${PUBLIC_KEY}`)])).toThrow(/two owners/);
  });
});
