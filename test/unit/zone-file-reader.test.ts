import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Name, RRType, ZoneFileError, decodeRdata } from '../../src/wire/index.js';
import { readZoneFile } from '../../src/authority/zone-file-reader.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keymaster-zone-reader-'));
  mkdirSync(join(dir, 'zones', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'zones', 'main.zone'), '$TTL 60\n@ SOA ns host 1 2 3 4 5\n$INCLUDE sub/inc.zone\n$INCLUDE sub/missing.zone\n');
  writeFileSync(join(dir, 'zones', 'sub', 'inc.zone'), 'a A 192.0.2.1\n$INCLUDE ../other.zone\n');
  writeFileSync(join(dir, 'zones', 'other.zone'), 'b A 192.0.2.2\n');
  writeFileSync(join(dir, 'zones', 'ok.zone'), '$TTL 60\n$INCLUDE sub/inc.zone\n');
  writeFileSync(join(dir, 'zones', 'abs.zone'), `$TTL 60\n$INCLUDE ${join(dir, 'zones', 'other.zone')}\n`);
  writeFileSync(join(dir, 'latin1.zone'), Buffer.concat([Buffer.from('$TTL 60\ncaf'), Buffer.of(0xe9), Buffer.from(' TXT "'), Buffer.of(0xff, 0x80), Buffer.from('"\n')]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readZoneFile', () => {
  it('resolves $INCLUDE paths against the including file', async () => {
    const z = await readZoneFile(join(dir, 'zones', 'ok.zone'), 'example.com');
    expect(z.records.map((r) => r.name.toString())).toEqual(['a.example.com.', 'b.example.com.']);
    expect(z.sources).toEqual([
      { fileName: join(dir, 'zones', 'sub', 'inc.zone'), line: 1 },
      { fileName: join(dir, 'zones', 'other.zone'), line: 1 },
    ]);
  });

  it('reads an absolute $INCLUDE path as given', async () => {
    const z = await readZoneFile(join(dir, 'zones', 'abs.zone'), Name.parse('example.com.'));
    expect(z.records.map((r) => r.name.toString())).toEqual(['b.example.com.']);
  });

  it('reports a missing $INCLUDE file at the line of the $INCLUDE', async () => {
    const file = join(dir, 'zones', 'main.zone');
    await expect(readZoneFile(file, 'example.com')).rejects.toMatchObject({
      name: 'ZoneFileError',
      fileName: file,
      line: 4,
      message: expect.stringMatching(/main\.zone:4: cannot read \$INCLUDE file "sub\/missing\.zone": .*ENOENT/),
    });
  });

  it('reports an unreadable zone file with line 0', async () => {
    const file = join(dir, 'nope.zone');
    const err = await readZoneFile(file, 'example.com').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZoneFileError);
    expect(err).toMatchObject({ fileName: file, line: 0 });
    expect((err as Error).message).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}: cannot read the zone file: .*ENOENT`));
  });

  it('reads bytes above 0x7f unchanged (Latin-1)', async () => {
    const z = await readZoneFile(join(dir, 'latin1.zone'), 'example.com');
    const rr = z.records[0]!;
    expect(Array.from(rr.name.label(0))).toEqual([0x63, 0x61, 0x66, 0xe9]);
    expect(Array.from((decodeRdata(RRType.TXT, rr.rdata)['strings'] as Uint8Array[])[0]!)).toEqual([0xff, 0x80]);
  });
});
