import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Name,
  RRType,
  type ResourceRecord,
  decodeRdata,
  parseKeysetFile,
  parseZoneText,
  typeToString,
  zoneToText,
} from '../../src/wire/index.js';
import { readZoneFile } from '../../src/authority/zone-file-reader.js';
import { haveCommand, recordSet, runOk } from './zone-file-helpers.js';

// Interop with BIND 9 (Debian's bind9-utils): named-checkzone reads our fixture and our
// output; dnssec-signzone's output is read by our parser.

const fixtures = fileURLToPath(new URL('../fixtures/zone-file/', import.meta.url));
const ZONE = 'example.test';
const origin = Name.parse(`${ZONE}.`);

const haveCheckzone = haveCommand('named-checkzone');
const haveSigner = haveCommand('dnssec-keygen') && haveCommand('dnssec-signzone');
if (!haveCheckzone) console.warn('SKIPPED: named-checkzone is not installed (apt-get install bind9-utils); BIND interop tests of the zone-file parser did not run');
if (!haveSigner) console.warn('SKIPPED: dnssec-keygen/dnssec-signzone are not installed (apt-get install bind9-utils); signed-zone interop tests did not run');

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keymaster-zone-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** BIND's view of a zone file: `named-checkzone -D -o -` parsed by our parser. */
function bindDump(file: string, cwd: string): ResourceRecord[] {
  const out = runOk('named-checkzone', ['-D', '-o', '-', ZONE, file], cwd);
  return parseZoneText(out, { origin, fileName: `named-checkzone -D ${file}` }).records;
}

const DNSSEC_TYPES = new Set<number>([RRType.RRSIG, RRType.NSEC, RRType.NSEC3, RRType.NSEC3PARAM, RRType.DNSKEY]);

function typesOf(records: readonly ResourceRecord[]): Set<string> {
  return new Set(records.map((r) => typeToString(r.type)));
}

describe.skipIf(!haveCheckzone)('zone files: interop with named-checkzone', () => {
  it('reads the fixture to the same records as BIND', async () => {
    const ours = await readZoneFile(join(fixtures, 'interop.zone'), origin);
    expect(ours.records.length).toBeGreaterThan(40);
    expect(typesOf(ours.records)).toEqual(
      new Set(['SOA', 'NS', 'MX', 'TXT', 'A', 'AAAA', 'SRV', 'CAA', 'TLSA', 'SSHFP', 'NAPTR', 'HTTPS', 'SVCB', 'DNAME',
        'CNAME', 'TYPE65280', 'TYPE65281', 'HINFO', 'DNSKEY', 'DS', 'PTR']),
    );
    // The fixture's $INCLUDE is relative; BIND resolves it against its working directory.
    const bind = bindDump('interop.zone', fixtures);
    expect(recordSet(bind)).toEqual(recordSet(ours.records));
  });

  it('writes a zone (zoneToText) that named-checkzone accepts and reads to the same records', async () => {
    const ours = await readZoneFile(join(fixtures, 'interop.zone'), origin);
    const dir = tempDir();
    writeFileSync(join(dir, 'out.zone'), zoneToText(ours.records, origin), 'latin1');
    const bind = bindDump('out.zone', dir);
    expect(recordSet(bind)).toEqual(recordSet(ours.records));
    const again = await readZoneFile(join(dir, 'out.zone'), origin);
    expect(recordSet(again.records)).toEqual(recordSet(ours.records));
  });
});

describe.skipIf(!haveSigner || !haveCheckzone)('zone files: reading dnssec-signzone output', () => {
  /** Signs a copy of the fixture with a fresh ECDSA P-256 KSK and ZSK; returns the directory. */
  function signedFixture(extraArgs: readonly string[]): { dir: string; signed: string } {
    const dir = tempDir();
    copyFileSync(join(fixtures, 'interop.zone'), join(dir, 'interop.zone'));
    copyFileSync(join(fixtures, 'interop-include.zone'), join(dir, 'interop-include.zone'));
    runOk('dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', '-f', 'KSK', ZONE], dir);
    runOk('dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', ZONE], dir);
    runOk('dnssec-signzone', ['-K', dir, '-S', ...extraArgs, '-o', ZONE, '-f', 'signed.zone', 'interop.zone'], dir);
    return { dir, signed: join(dir, 'signed.zone') };
  }

  async function checkSigned(dir: string, signed: string): Promise<ResourceRecord[]> {
    const original = await readZoneFile(join(fixtures, 'interop.zone'), origin);
    const ours = await readZoneFile(signed, origin);
    // Our reading of BIND's multi-line, commented output equals BIND's own.
    expect(recordSet(bindDump('signed.zone', dir))).toEqual(recordSet(ours.records));
    // The signer added DNSSEC records and kept everything else.
    expect(recordSet(ours.records.filter((r) => !DNSSEC_TYPES.has(r.type)))).toEqual(
      recordSet(original.records.filter((r) => !DNSSEC_TYPES.has(r.type))),
    );
    // Every key dnssec-keygen made is in the DNSKEY RRset, read by the keyset parser from its .key file.
    const keyFiles = readdirSync(dir).filter((f) => f.endsWith('.key'));
    expect(keyFiles).toHaveLength(2);
    const dnskeys = ours.records.filter((r) => r.type === RRType.DNSKEY);
    for (const f of keyFiles) {
      const key = parseKeysetFile(runOk('cat', [join(dir, f)]), { fileName: f });
      expect(key.zone.equals(origin)).toBe(true);
      expect(recordSet(dnskeys).map((k) => k.split('|')[4])).toContain(Buffer.from(key.records[0]!.rdata).toString('hex'));
    }
    expect(dnskeys).toHaveLength(3); // the two new keys and the fixture's
    // RRSIG fields: the wildcard's signatures count labels without the `*` (RFC 4034 §3.1.3).
    const wildSig = ours.records.find((r) => r.type === RRType.RRSIG && r.name.isWildcard);
    expect(wildSig).toBeDefined();
    expect(decodeRdata(RRType.RRSIG, wildSig!.rdata)['labels']).toBe(3);
    const apexSigs = ours.records.filter((r) => r.type === RRType.RRSIG && r.name.equals(origin));
    expect(new Set(apexSigs.map((r) => typeToString(decodeRdata(RRType.RRSIG, r.rdata)['typeCovered'] as number)))).toContain('DNSKEY');
    return ours.records;
  }

  it('reads an NSEC-signed zone (RRSIG, NSEC, DNSKEY)', async () => {
    const { dir, signed } = signedFixture([]);
    const records = await checkSigned(dir, signed);
    const types = typesOf(records);
    for (const t of ['RRSIG', 'NSEC', 'DNSKEY']) expect(types).toContain(t);
    expect(types).not.toContain('NSEC3');
    // The NSEC chain has one record per owner with data, each naming the next.
    const owners = new Set(records.filter((r) => !DNSSEC_TYPES.has(r.type) || r.type === RRType.DNSKEY).map((r) => r.name.key));
    const nsecs = records.filter((r) => r.type === RRType.NSEC);
    expect(nsecs.length).toBeGreaterThan(10);
    for (const n of nsecs) expect(owners.has((decodeRdata(RRType.NSEC, n.rdata)['next'] as Name).key)).toBe(true);
  });

  it('reads an NSEC3-signed zone (-3 -: no salt)', async () => {
    const { dir, signed } = signedFixture(['-3', '-', '-H', '0']);
    const records = await checkSigned(dir, signed);
    const types = typesOf(records);
    for (const t of ['RRSIG', 'NSEC3', 'NSEC3PARAM', 'DNSKEY']) expect(types).toContain(t);
    expect(types).not.toContain('NSEC');
    const param = records.find((r) => r.type === RRType.NSEC3PARAM)!;
    expect(decodeRdata(RRType.NSEC3PARAM, param.rdata)).toMatchObject({ hashAlgorithm: 1, iterations: 0 });
    for (const n of records.filter((r) => r.type === RRType.NSEC3)) {
      expect(n.name.labelCount).toBe(3);
      expect((decodeRdata(RRType.NSEC3, n.rdata)['nextHashed'] as Uint8Array).length).toBe(20);
    }
  });
});
