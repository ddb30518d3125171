import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IxfrJournal } from '../../src/authority/ixfr-journal.js';
import { withSerial } from '../../src/authority/soa-serial.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { tempDir } from '../support/external-servers.js';
import { ZONE, rr } from './authority-update-helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const SOA = rr('@ 300 SOA ns h 1 3600 900 604800 60');
const a = (i: number) => rr(`h${i} 300 TXT "${'x'.repeat(100)}"`);

/** An IXFR history on a file store in `dir`, opened anew (as after a restart). */
async function history(dir: string, bounds: { maxVersions: number; maxSize: number }): Promise<IxfrJournal> {
  return new IxfrJournal(await FileDocumentStore.open(dir), join(dir, 'journal'), ZONE, bounds);
}

/** A history in a fresh temp dir, opened at serial 1, with versions 1→2 … n→n+1 recorded. */
async function recorded(versions: number, maxVersions: number): Promise<{ dir: string; j: IxfrJournal }> {
  const dir = tempDir('ixfr');
  dirs.push(dir);
  const j = await history(dir, { maxVersions, maxSize: 1 << 20 });
  await j.open(1, 'tie', true, false);
  for (let s = 1; s <= versions; s++) await j.record(withSerial(SOA, s), withSerial(SOA, s + 1), s, s + 1, { removed: [], added: [a(s)] }, false);
  return { dir, j };
}

describe('the IXFR history in the store', () => {
  it('keeps the newest versions within maxVersions and maxSize; a version whose part is missing ends the history', async () => {
    const { dir, j } = await recorded(5, 3);
    expect(j.size).toMatchObject({ versions: 3, oldest: 3 });
    expect(j.plan(2, 6)).toEqual({ kind: 'full' });
    expect(j.plan(3, 6).kind).toBe('incremental');
    expect(j.plan(6, 6).kind).toBe('current');
    await j.close();
    // Read back: the same history; a line cut by a crash ends it there.
    const again = await history(dir, { maxVersions: 3, maxSize: 1 << 20 });
    expect(await again.open(6, 'tie', true, false)).toBe(3);
    await again.close();
    // Three versions stored, the two dropped ones gone.
    const parts = readdirSync(join(dir, 'ixfr', 'lab.example')).filter((f) => f.startsWith('version-')).sort();
    expect(parts).toHaveLength(3);
    rmSync(join(dir, 'ixfr', 'lab.example', parts[2]!));
    const torn = await history(dir, { maxVersions: 3, maxSize: 1 << 20 });
    // The history no longer reaches serial 6: it is dropped, not half used.
    expect(await torn.open(6, 'tie', true, false)).toBe(0);
    // Another tie (the zone file changed): no history.
    await torn.record(withSerial(SOA, 6), withSerial(SOA, 7), 6, 7, { removed: [], added: [a(6)] }, false);
    await torn.close();
    expect(await (await history(dir, { maxVersions: 3, maxSize: 1 << 20 })).open(7, 'other', true, false)).toBe(0);
  });

  it('reads a history of the layout before the store once, up to a torn line, then only the store', async () => {
    const { dir } = await recorded(3, 10);
    // The same three versions as the earlier release wrote them: a header line, one line each, the last torn.
    const lines = ['{"ixfr":1,"zone":"lab.example.","tie":"tie","signed":false}'];
    for (const f of readdirSync(join(dir, 'ixfr', 'lab.example')).filter((x) => x.startsWith('version-')).sort())
      lines.push((JSON.parse(readFileSync(join(dir, 'ixfr', 'lab.example', f), 'utf8')) as { data: string }).data.trimEnd());
    rmSync(join(dir, 'ixfr'), { recursive: true });
    mkdirSync(join(dir, 'journal'));
    writeFileSync(join(dir, 'journal', 'lab.example.ixfr'), `${lines.join('\n').slice(0, -30)}`);
    const migrated = await history(dir, { maxVersions: 10, maxSize: 1 << 20 });
    expect(await migrated.open(3, 'tie', true, false)).toBe(2); // the torn third version ends it, at serial 3
    expect(existsSync(join(dir, 'journal', 'lab.example.ixfr'))).toBe(false);
    expect(migrated.plan(1, 3)).toMatchObject({ kind: 'incremental' });
    expect(await (await history(dir, { maxVersions: 10, maxSize: 1 << 20 })).open(3, 'tie', true, false)).toBe(2);
  });

  it('a version larger than maxSize leaves no history (the next client gets AXFR)', async () => {
    const dir = tempDir('ixfr');
    dirs.push(dir);
    const j = await history(dir, { maxVersions: 100, maxSize: 4096 });
    await j.open(1, '', true, true);
    await j.record(withSerial(SOA, 1), withSerial(SOA, 2), 1, 2, { removed: [], added: [a(1)] }, true);
    expect(j.size.versions).toBe(1);
    const big = Array.from({ length: 100 }, (_, i) => a(i));
    const r = await j.record(withSerial(SOA, 2), withSerial(SOA, 3), 2, 3, { removed: big, added: big }, true);
    expect(r).toEqual({ versions: 0, dropped: 1 });
    expect(j.plan(2, 3)).toEqual({ kind: 'full' });
    expect(await j.lastSigned()).toBe(true);
    await j.close();
  });
});
