import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Name,
  RRType,
  type ResourceRecord,
  decodeRdata,
  dssetToText,
  keyFileName,
  keysetToText,
  parseDssetFile,
  parseKeysetFile,
  parseZoneText,
} from '../../src/wire/index.js';
import { haveCommand, recordSet, runOk } from './zone-file-helpers.js';

// Interop with BIND 9's dnssec-keygen, dnssec-signzone (-g, -C) and dnssec-dsfromkey.

const ZONE = 'example.test';
const zone = Name.parse(`${ZONE}.`);
const haveTools = ['dnssec-keygen', 'dnssec-signzone', 'dnssec-dsfromkey', 'named-checkzone'].every(haveCommand);
if (!haveTools)
  console.warn('SKIPPED: dnssec-keygen/dnssec-signzone/dnssec-dsfromkey/named-checkzone are not installed (apt-get install bind9-utils); keyset/dsset interop tests did not run');

const read = (path: string) => readFileSync(path, 'latin1');
const withTtl = (records: readonly ResourceRecord[], ttl: number) => records.map((r) => ({ ...r, ttl }));
const rdataHex = (records: readonly ResourceRecord[]) => records.map((r) => Buffer.from(r.rdata).toString('hex')).sort();

describe.skipIf(!haveTools)('keyset-/dsset- files: interop with BIND', () => {
  let dir: string;
  let kskFile: string;
  let zskFile: string;
  let kskTag: number;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keymaster-keyfiles-'));
    kskFile = runOk('dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', '-f', 'KSK', ZONE], dir).trim();
    zskFile = runOk('dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', ZONE], dir).trim();
    kskTag = Number(/\+(\d+)$/.exec(kskFile)![1]);
    writeFileSync(join(dir, 'zone.db'), '$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n');
    // -g writes dsset-, -C (compatibility) also keyset-.
    runOk('dnssec-signzone', ['-C', '-g', '-K', dir, '-d', dir, '-S', '-o', ZONE, '-f', 'zone.signed', 'zone.db'], dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads dnssec-keygen's .key files", () => {
    for (const f of [kskFile, zskFile]) {
      const k = parseKeysetFile(read(join(dir, `${f}.key`)), { fileName: `${f}.key` });
      expect(k.zone.equals(zone)).toBe(true);
      expect(k.records).toHaveLength(1);
      expect(decodeRdata(RRType.DNSKEY, k.records[0]!.rdata)).toMatchObject({ flags: f === kskFile ? 257 : 256, protocol: 3, algorithm: 13 });
    }
  });

  it("reads dnssec-dsfromkey's output", () => {
    const d = parseDssetFile(runOk('dnssec-dsfromkey', ['-a', 'SHA-256', '-a', 'SHA-384', '-T', '300', `${kskFile}.key`], dir), {
      fileName: 'dnssec-dsfromkey',
      zone: ZONE,
    });
    expect(d.records.map((r) => r.ttl)).toEqual([300, 300]);
    expect(d.records.map((r) => decodeRdata(RRType.DS, r.rdata))).toMatchObject([
      { keyTag: kskTag, algorithm: 13, digestType: 2 },
      { keyTag: kskTag, algorithm: 13, digestType: 4 },
    ]);
    expect(d.records.map((r) => (decodeRdata(RRType.DS, r.rdata)['digest'] as Uint8Array).length)).toEqual([32, 48]);
  });

  it("reads dnssec-signzone's dsset- and keyset- files", () => {
    const files = readdirSync(dir);
    expect(files).toContain(keyFileName('dsset', zone));
    expect(files).toContain(keyFileName('keyset', zone));
    const dsset = parseDssetFile(read(join(dir, keyFileName('dsset', zone))), { fileName: keyFileName('dsset', zone) });
    const fromKey = parseDssetFile(runOk('dnssec-dsfromkey', [`${kskFile}.key`], dir), { fileName: 'dnssec-dsfromkey' });
    expect(recordSet(dsset.records)).toEqual(recordSet(fromKey.records));
    const keyset = parseKeysetFile(read(join(dir, keyFileName('keyset', zone))), { fileName: keyFileName('keyset', zone) });
    const ksk = parseKeysetFile(read(join(dir, `${kskFile}.key`)));
    expect(rdataHex(keyset.records)).toEqual(rdataHex(ksk.records));
  });

  it('writes a keyset that dnssec-dsfromkey (-s and -f) reads to the same DS as from the .key file', () => {
    const out = join(dir, 'ours');
    mkdirSync(out);
    const keys = [kskFile, zskFile].flatMap((f) => withTtl(parseKeysetFile(read(join(dir, `${f}.key`))).records, 3600));
    const text = keysetToText(keys);
    writeFileSync(join(out, keyFileName('keyset', zone)), text, 'latin1');
    expect(recordSet(parseKeysetFile(text, { fileName: 'ours' }).records)).toEqual(recordSet(keys));

    const dsOf = (f: string) => parseDssetFile(runOk('dnssec-dsfromkey', ['-T', '3600', `${f}.key`], dir)).records;
    const kskOnly = recordSet(dsOf(kskFile));
    const both = recordSet([...dsOf(kskFile), ...dsOf(zskFile)]);
    // -s reads keyset-ZONE. from the -K directory and digests every key in it.
    const viaS = runOk('dnssec-dsfromkey', ['-T', '3600', '-s', '-K', out, ZONE], out);
    expect(recordSet(parseDssetFile(viaS, { zone }).records)).toEqual(both);
    // -f reads it as a zone file and digests the KSKs; -A every key.
    const viaF = runOk('dnssec-dsfromkey', ['-T', '3600', '-f', keyFileName('keyset', zone), ZONE], out);
    expect(recordSet(parseDssetFile(viaF, { zone }).records)).toEqual(kskOnly);
    const all = runOk('dnssec-dsfromkey', ['-A', '-T', '3600', '-f', keyFileName('keyset', zone), ZONE], out);
    expect(recordSet(parseDssetFile(all, { zone }).records)).toEqual(both);
  });

  it('writes a dsset that our parser and named-checkzone (in the parent zone) read back identically', () => {
    const ds = withTtl(parseDssetFile(runOk('dnssec-dsfromkey', ['-a', 'SHA-256', '-a', 'SHA-384', `${kskFile}.key`], dir)).records, 86400);
    const text = dssetToText(ds);
    expect(text.split('\n')[0]).toMatch(new RegExp(`^${ZONE}\\.\\t\\t86400\\tIN DS ${kskTag} 13 2 [0-9A-F]{64}$`));
    const back = parseDssetFile(text, { fileName: keyFileName('dsset', zone) });
    expect(recordSet(back.records)).toEqual(recordSet(ds));

    const parentDir = join(dir, 'parent');
    mkdirSync(parentDir);
    const parent = `$TTL 3600\n@ SOA ns hostmaster 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.1\nexample NS ns.example\nns.example A 192.0.2.2\n${text}`;
    writeFileSync(join(parentDir, 'test.zone'), parent, 'latin1');
    const dump = runOk('named-checkzone', ['-D', '-o', '-', 'test', 'test.zone'], parentDir);
    const fromBind = parseZoneText(dump, { origin: 'test.', fileName: 'named-checkzone -D' }).records.filter((r) => r.type === RRType.DS);
    expect(recordSet(fromBind)).toEqual(recordSet(ds));
  });
});
