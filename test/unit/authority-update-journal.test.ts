import { appendFileSync, copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZoneJournal, ZoneJournalError } from '../../src/authority/zone-journal.js';
import { Rcode, type ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { parseZoneText } from '../../src/wire/zone-file.js';
import { removeDir, tempDir } from '../support/external-servers.js';
import { ZONE, ZONE_TEXT, exchange, expectZoneSignedAt, rr, servedZone, signedUpdate, startLab, startService } from './authority-update-helpers.js';

/**
 * The journal of dynamic changes: appended and fsynced before an answer, replayed at start,
 * compacted into a snapshot; a torn last line (never acknowledged) is dropped, a damaged one
 * elsewhere is an error naming the line, and a zone file edited since makes the journal stale.
 */

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const fileRecords = () => parseZoneText(ZONE_TEXT, { origin: ZONE }).records;
const bytes = Buffer.from(ZONE_TEXT);
const names = (records: readonly ResourceRecord[]) => records.filter((r) => r.type === RRType.A).map((r) => r.name.toString()).sort();

async function journalIn(dir: string): Promise<ZoneJournal> {
  return new ZoneJournal(join(dir, 'journal'), ZONE);
}

describe('ZoneJournal', () => {
  it('replays appended changes, drops a torn last line, and appends after it on a line of its own', async () => {
    const dir = tempDir('journal');
    dirs.push(dir);
    const j = await journalIn(dir);
    expect((await j.recover(fileRecords(), bytes)).replayed).toBe(0);
    for (let i = 1; i <= 3; i++) await j.append({ serial: 1 + i, removed: [], added: [rr(`h${i} 300 A 192.0.2.${i}`)] }, Date.UTC(2026, 0, 1));
    await j.append({ serial: 5, removed: [rr('h2 300 A 192.0.2.2')], added: [] }, Date.UTC(2026, 0, 1));
    await j.close();
    appendFileSync(j.journalPath, '{"seq":5,"serial":6,"time":"2026-01-01T00:00:00.000Z","del":[],"add":["h9.lab.exa'); // SIGKILL mid-write

    const again = await journalIn(dir);
    const r = await again.recover(fileRecords(), bytes);
    expect(r).toMatchObject({ replayed: 4, droppedTornLine: true, fromSnapshot: false });
    expect(names(r.records)).toEqual(['h1.lab.example.', 'h3.lab.example.', 'mail.lab.example.', 'ns.lab.example.', 'www.lab.example.']);
    await again.append({ serial: 6, removed: [], added: [rr('h4 300 A 192.0.2.4')] }, Date.UTC(2026, 0, 1));
    await again.close();
    expect(readFileSync(again.journalPath, 'utf8').endsWith('"add":["h4.lab.example.\\t300\\tIN\\tA\\t192.0.2.4"]}\n')).toBe(true);
    const third = await journalIn(dir);
    const r3 = await third.recover(fileRecords(), bytes);
    expect(r3.replayed).toBe(5);
    expect(r3.droppedTornLine).toBe(false);
    expect(names(r3.records)).toContain('h4.lab.example.');
    await third.close();
  });

  it('compacts into a snapshot; a crash between snapshot and journal reset replays nothing twice', async () => {
    const dir = tempDir('journal');
    dirs.push(dir);
    const j = await journalIn(dir);
    let records = (await j.recover(fileRecords(), bytes)).records;
    for (let i = 1; i <= 3; i++) {
      const added = [rr(`c${i} 300 A 192.0.2.${i}`)];
      await j.append({ serial: 1 + i, removed: [], added }, 0);
      records = [...records, ...added];
    }
    const oldJournal = join(dir, 'old.jnl');
    copyFileSync(j.journalPath, oldJournal);
    await j.compact(records, 4, 0);
    expect(j.pending).toBe(0);
    await j.append({ serial: 5, removed: [], added: [rr('c4 300 A 192.0.2.4')] }, 0);
    await j.close();
    const afterCompaction = await (await journalIn(dir)).recover(fileRecords(), bytes);
    expect(afterCompaction).toMatchObject({ fromSnapshot: true, replayed: 1 });
    expect(names(afterCompaction.records).filter((n) => n.startsWith('c'))).toEqual(['c1.lab.example.', 'c2.lab.example.', 'c3.lab.example.', 'c4.lab.example.']);

    // The crash: the snapshot was written but the journal still holds entries 1..3.
    copyFileSync(oldJournal, j.journalPath);
    const crashed = await (await journalIn(dir)).recover(fileRecords(), bytes);
    expect(crashed).toMatchObject({ fromSnapshot: true, replayed: 0 });
    expect(names(crashed.records).filter((n) => n.startsWith('c'))).toEqual(['c1.lab.example.', 'c2.lab.example.', 'c3.lab.example.']);
  });

  it('a damaged line that is not the last is an error naming the file and line; a changed zone file makes the journal stale', async () => {
    const dir = tempDir('journal');
    dirs.push(dir);
    const j = await journalIn(dir);
    await j.recover(fileRecords(), bytes);
    await j.append({ serial: 2, removed: [], added: [rr('d1 300 A 192.0.2.1')] }, 0);
    await j.append({ serial: 3, removed: [], added: [rr('d2 300 A 192.0.2.2')] }, 0);
    await j.close();
    const good = readFileSync(j.journalPath, 'utf8');
    const lines = good.split('\n');
    writeFileSync(j.journalPath, [lines[0], '{"seq":1,"serial":2,"del":[],"add":["d1 300 A not-an-address"]}', lines[2], ''].join('\n'));
    await expect((await journalIn(dir)).recover(fileRecords(), bytes)).rejects.toThrow(new RegExp(`${j.journalPath.replace(/[.]/g, '\\.')}:2: `));
    await expect((await journalIn(dir)).recover(fileRecords(), bytes)).rejects.toBeInstanceOf(ZoneJournalError);

    writeFileSync(j.journalPath, good);
    const edited = Buffer.from(`${ZONE_TEXT}extra A 192.0.2.100\n`);
    const stale = await (await journalIn(dir)).recover(fileRecords(), edited);
    expect(stale.replayed).toBe(0);
    expect(stale.discarded?.length).toBe(1);
    expect(existsSync(stale.discarded![0]!)).toBe(true);
    expect(readdirSync(join(dir, 'journal')).filter((f) => f.includes('.discarded-')).length).toBe(1);
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
    expect(readFileSync(join(lab.stateDir, 'journal', 'lab.example.snapshot'), 'utf8')).toMatch(/^; keymaster-zone-snapshot \{.*"seq":9/);
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
    expect(existsSync(join(lab.stateDir, 'journal', 'extra.example.jnl'))).toBe(true);
    await lab.service.remove('extra.example');
    expect(existsSync(join(lab.stateDir, 'journal', 'extra.example.jnl'))).toBe(false);
    const summary = await lab.service.add('extra.example', file);
    expect(summary.serial).toBe(7);
    await lab.service.stop();
  });
});
