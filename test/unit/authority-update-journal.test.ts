import { appendFileSync, copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZoneJournal, ZoneJournalError } from '../../src/authority/zone-journal.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { Rcode, type ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { parseZoneText } from '../../src/wire/zone-file.js';
import { removeDir, tempDir } from '../support/external-servers.js';
import { ZONE, ZONE_TEXT, exchange, expectZoneSignedAt, rr, servedZone, signedUpdate, startLab, startService } from './authority-update-helpers.js';

/**
 * The journal of dynamic changes: one store document per change, durable before an answer,
 * replayed at start, compacted into a snapshot; a change a crash cut short was never stored, a
 * damaged one is an error naming it, and a zone file edited since makes the journal stale.
 */

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const fileRecords = () => parseZoneText(ZONE_TEXT, { origin: ZONE }).records;
const bytes = Buffer.from(ZONE_TEXT);
const names = (records: readonly ResourceRecord[]) => records.filter((r) => r.type === RRType.A).map((r) => r.name.toString()).sort();

async function journalIn(dir: string): Promise<ZoneJournal> {
  // A store opened anew each time, as after a restart (a crash's temp files are removed then).
  return new ZoneJournal(await FileDocumentStore.open(join(dir, 'state')), join(dir, 'state', 'journal'), ZONE);
}

const journalDir = (dir: string) => join(dir, 'state', 'journals', 'lab.example');
const changeFiles = (dir: string) => readdirSync(journalDir(dir)).filter((f) => f.startsWith('change-')).sort();

describe('ZoneJournal', () => {
  it('replays stored changes; a change whose write a crash cut short is not there, and appends go on after the last', async () => {
    const dir = tempDir('journal');
    dirs.push(dir);
    const j = await journalIn(dir);
    expect((await j.recover(fileRecords(), bytes)).replayed).toBe(0);
    for (let i = 1; i <= 3; i++) await j.append({ serial: 1 + i, removed: [], added: [rr(`h${i} 300 A 192.0.2.${i}`)] }, Date.UTC(2026, 0, 1));
    await j.append({ serial: 5, removed: [], added: [rr('h2 300 A 192.0.2.2')].slice(0, 0) }, Date.UTC(2026, 0, 1));
    await j.close();
    expect(changeFiles(dir)).toEqual(['change-000000000001.json', 'change-000000000002.json', 'change-000000000003.json', 'change-000000000004.json']);
    // SIGKILL during the write of change 5: its temp file, never renamed, never acknowledged.
    writeFileSync(join(journalDir(dir), `.change-000000000005.json.999999.abcdef.tmp`), '{"format": "keymaster-zone-change", "ver');

    const again = await journalIn(dir);
    const r = await again.recover(fileRecords(), bytes);
    expect(r).toMatchObject({ replayed: 4, fromSnapshot: false });
    expect(names(r.records)).toEqual(['h1.lab.example.', 'h2.lab.example.', 'h3.lab.example.', 'mail.lab.example.', 'ns.lab.example.', 'www.lab.example.']);
    expect(readdirSync(journalDir(dir)).some((f) => f.endsWith('.tmp'))).toBe(false);
    await again.append({ serial: 6, removed: [rr('h2 300 A 192.0.2.2')], added: [rr('h4 300 A 192.0.2.4')] }, Date.UTC(2026, 0, 1));
    const third = await (await journalIn(dir)).recover(fileRecords(), bytes);
    expect(third.replayed).toBe(5);
    expect(names(third.records)).toEqual(['h1.lab.example.', 'h3.lab.example.', 'h4.lab.example.', 'mail.lab.example.', 'ns.lab.example.', 'www.lab.example.']);
  });

  it('a change number another writer took first is refused, not overwritten, and the journal closes', async () => {
    const dir = tempDir('journal');
    dirs.push(dir);
    const j = await journalIn(dir);
    await j.recover(fileRecords(), bytes);
    const other = await journalIn(dir);
    await other.recover(fileRecords(), bytes);
    await other.append({ serial: 2, removed: [], added: [rr('theirs 300 A 192.0.2.9')] }, 0);
    await expect(j.append({ serial: 2, removed: [], added: [rr('ours 300 A 192.0.2.8')] }, 0)).rejects.toThrow(/change-000000000001.*changed meanwhile/);
    await expect(j.append({ serial: 3, removed: [], added: [rr('ours 300 A 192.0.2.8')] }, 0)).rejects.toThrow(/not open/);
    expect(names((await (await journalIn(dir)).recover(fileRecords(), bytes)).records)).toContain('theirs.lab.example.');
  });

  it('compacts into a snapshot; a crash before the old changes are deleted, or before the head moved, replays nothing twice', async () => {
    const dir = tempDir('journal');
    dirs.push(dir);
    const j = await journalIn(dir);
    let records = (await j.recover(fileRecords(), bytes)).records;
    for (let i = 1; i <= 3; i++) {
      const added = [rr(`c${i} 300 A 192.0.2.${i}`)];
      await j.append({ serial: 1 + i, removed: [], added }, 0);
      records = [...records, ...added];
    }
    const old = changeFiles(dir).map((f) => [f, readFileSync(join(journalDir(dir), f), 'utf8')] as const);
    await j.compact(records, 4, 0);
    expect(j.pending).toBe(0);
    expect(changeFiles(dir)).toEqual([]);
    await j.append({ serial: 5, removed: [], added: [rr('c4 300 A 192.0.2.4')] }, 0);
    await j.close();
    const afterCompaction = await (await journalIn(dir)).recover(fileRecords(), bytes);
    expect(afterCompaction).toMatchObject({ fromSnapshot: true, replayed: 1 });
    expect(names(afterCompaction.records).filter((n) => n.startsWith('c'))).toEqual(['c1.lab.example.', 'c2.lab.example.', 'c3.lab.example.', 'c4.lab.example.']);

    // The crash: the head names the new snapshot but changes 1..3 were not deleted yet.
    for (const [f, text] of old) writeFileSync(join(journalDir(dir), f), text);
    const crashed = await (await journalIn(dir)).recover(fileRecords(), bytes);
    expect(crashed).toMatchObject({ fromSnapshot: true, replayed: 1 });
    expect(names(crashed.records).filter((n) => n.startsWith('c'))).toEqual(['c1.lab.example.', 'c2.lab.example.', 'c3.lab.example.', 'c4.lab.example.']);
    expect(changeFiles(dir)).toEqual(['change-000000000004.json']); // the left-overs went

    // The other crash: a snapshot's parts written, the head not moved to it: ignored, then removed.
    writeFileSync(join(journalDir(dir), 'snapshot-000000000004-000000000000.json'), '{"half": "written"}');
    const early = await (await journalIn(dir)).recover(fileRecords(), bytes);
    expect(early).toMatchObject({ fromSnapshot: true, replayed: 1 });
    expect(readdirSync(journalDir(dir)).filter((f) => f.startsWith('snapshot-'))).toEqual(['snapshot-000000000003-000000000000.json']);
  });

  it('a damaged change is an error naming its document; a changed zone file makes the journal stale, its changes written out', async () => {
    const dir = tempDir('journal');
    dirs.push(dir);
    const j = await journalIn(dir);
    await j.recover(fileRecords(), bytes);
    await j.append({ serial: 2, removed: [], added: [rr('d1 300 A 192.0.2.1')] }, 0);
    await j.append({ serial: 3, removed: [], added: [rr('d2 300 A 192.0.2.2')] }, 0);
    await j.close();
    const first = join(journalDir(dir), 'change-000000000001.json');
    const good = readFileSync(first, 'utf8');
    writeFileSync(first, good.replace('192.0.2.1', '192.0.2.111'));
    await expect((await journalIn(dir)).recover(fileRecords(), bytes)).rejects.toThrow(new RegExp(`${first.replace(/[.]/g, '\\.')}: checksum mismatch`));
    await expect((await journalIn(dir)).recover(fileRecords(), bytes)).rejects.toBeInstanceOf(ZoneJournalError);

    writeFileSync(first, good);
    const edited = Buffer.from(`${ZONE_TEXT}extra A 192.0.2.100\n`);
    const stale = await (await journalIn(dir)).recover(fileRecords(), edited);
    expect(stale.replayed).toBe(0);
    expect(stale.discarded?.length).toBe(1);
    expect(readFileSync(stale.discarded![0]!, 'utf8')).toMatch(/^d2\s.*\sA\s+192\.0\.2\.2$/m);
    expect(readdirSync(join(dir, 'state', 'journal')).filter((f) => f.includes('.discarded-')).length).toBe(1);
    expect(changeFiles(dir)).toEqual([]);
  });
});

describe('the zone service across a crash', () => {
  it('keeps every acknowledged change: a new service on the same state dir serves them, signed, with the serial they reached', async () => {
    const lab = await startLab();
    dirs.push(lab.dir);
    for (let i = 0; i < 5; i++) {
      const { message } = await exchange(lab, signedUpdate(lab, { id: 100 + i, updates: [rr(`n${i} 300 A 192.0.2.${10 + i}`)] }));
      expect(message.rcode).toBe(Rcode.NOERROR);
    }
    await lab.service.addRecord('lab.example', { name: 'www', type: 'TXT', rdata: '"added by command"' });
    await lab.service.removeRecord('lab.example', { name: 'mail', type: 'A' });
    const before = await servedZone(lab);
    // 1 in the file, moved on when the zone was signed at start, then by each of the 7 changes.
    expect(before.serial).toBe(9);
    // No stop(): the old service is simply abandoned, as a killed process would be.
    lab.clock.advance(60_000);
    const restarted = await startService(lab);
    const after = await servedZone({ pipeline: restarted.pipeline });
    // Re-signed at start: a new version, so a new serial (secondaries must fetch the new signatures).
    expect(after.serial).toBe(10);
    for (let i = 0; i < 5; i++) expect(after.rrset(Name.parse(`n${i}.lab.example.`), RRType.A)).toBeDefined();
    expect(after.rrset(Name.parse('www.lab.example.'), RRType.TXT)).toBeDefined();
    expect(after.node(Name.parse('mail.lab.example.'))).toBeUndefined();
    expectZoneSignedAt(after, Math.floor(lab.clock.now() / 1000));
    expect(lab.logs.some((l) => l.includes('"event":"zone.journal-replayed"') && l.includes('"changes":8'))).toBe(true);

    // Compaction: the snapshot holds it all, and the next start reads it instead of the journal.
    await restarted.service.compactJournals();
    expect(JSON.parse(readFileSync(join(lab.stateDir, 'journals', 'lab.example', 'head.json'), 'utf8'))).toMatchObject({ data: { snapshot: { seq: 9, parts: 1 } } });
    const third = await startService(lab);
    const z3 = await servedZone({ pipeline: third.pipeline });
    expect(z3.serial).toBe(11);
    expect(z3.rrset(Name.parse('n4.lab.example.'), RRType.A)).toBeDefined();
    await restarted.service.stop();
    await third.service.stop();
    await lab.service.stop();
  });

  it('a removed zone takes its journal with it: added again, it starts from its file', async () => {
    const lab = await startLab();
    dirs.push(lab.dir);
    const file = join(lab.dir, 'extra.zone');
    writeFileSync(file, '$TTL 300\n@ SOA ns h 7 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\n');
    await lab.service.add('extra.example', file);
    await lab.service.addRecord('extra.example', { name: 'tmp', type: 'A', rdata: '192.0.2.77' });
    expect(existsSync(join(lab.stateDir, 'journals', 'extra.example', 'change-000000000001.json'))).toBe(true);
    await lab.service.remove('extra.example');
    expect(existsSync(join(lab.stateDir, 'journals', 'extra.example', 'change-000000000001.json'))).toBe(false);
    const summary = await lab.service.add('extra.example', file);
    expect(summary.serial).toBe(7);
    await lab.service.stop();
  });
});
