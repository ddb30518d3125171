import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { IxfrJournal } from '../../src/authority/ixfr-journal.js';
import { withSerial } from '../../src/authority/soa-serial.js';
import { tempDir } from '../support/external-servers.js';
import { ZONE, rr } from './authority-update-helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const SOA = rr('@ 300 SOA ns h 1 3600 900 604800 60');
const a = (i: number) => rr(`h${i} 300 TXT "${'x'.repeat(100)}"`);

describe('the IXFR journal file', () => {
  it('keeps the newest versions within maxVersions and maxSize, rewritten atomically; a torn line ends the history', async () => {
    const dir = tempDir('ixfr');
    dirs.push(dir);
    const j = new IxfrJournal(dir, ZONE, { maxVersions: 3, maxSize: 1 << 20 });
    await j.open(1, 'tie', true, false);
    for (let s = 1; s <= 5; s++) await j.record(withSerial(SOA, s), withSerial(SOA, s + 1), s, s + 1, { removed: [], added: [a(s)] }, false);
    expect(j.size).toMatchObject({ versions: 3, oldest: 3 });
    expect(j.plan(2, 6)).toEqual({ kind: 'full' });
    expect(j.plan(3, 6).kind).toBe('incremental');
    expect(j.plan(6, 6).kind).toBe('current');
    await j.close();
    // Read back: the same history; a line cut by a crash ends it there.
    const again = new IxfrJournal(dir, ZONE, { maxVersions: 3, maxSize: 1 << 20 });
    expect(await again.open(6, 'tie', true, false)).toBe(3);
    await again.close();
    const text = readFileSync(again.path, 'utf8');
    writeFileSync(again.path, text.slice(0, text.length - 40));
    const torn = new IxfrJournal(dir, ZONE, { maxVersions: 3, maxSize: 1 << 20 });
    // The history no longer reaches serial 6: it is dropped, not half used.
    expect(await torn.open(6, 'tie', true, false)).toBe(0);
    // Another tie (the zone file changed): no history.
    await torn.record(withSerial(SOA, 6), withSerial(SOA, 7), 6, 7, { removed: [], added: [a(6)] }, false);
    await torn.close();
    expect(await new IxfrJournal(dir, ZONE, { maxVersions: 3, maxSize: 1 << 20 }).open(7, 'other', true, false)).toBe(0);
  });

  it('a version larger than maxSize leaves no history (the next client gets AXFR)', async () => {
    const dir = tempDir('ixfr');
    dirs.push(dir);
    const j = new IxfrJournal(dir, ZONE, { maxVersions: 100, maxSize: 4096 });
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
