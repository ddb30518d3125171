import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JournalWriteRefused, ZoneJournal, ZoneJournalError } from '../../src/authority/zone-journal.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import type { ResourceRecord } from '../../src/wire/message.js';
import { RRType } from '../../src/wire/rr-type.js';
import { parseZoneText } from '../../src/wire/zone-file.js';
import { removeDir, tempDir } from '../support/external-servers.js';
import { ZONE, ZONE_TEXT, rr } from './authority-update-helpers.js';

/**
 * The journal shared by several primaries (cluster mode): a change number another primary took
 * first is refused without closing the journal, the changes it committed are read in order (or,
 * compacted away, the snapshot holding them), and nothing a primary does discards or overwrites
 * what another committed.
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const fileRecords = () => parseZoneText(ZONE_TEXT, { origin: ZONE }).records;
const bytes = Buffer.from(ZONE_TEXT);
const names = (records: readonly ResourceRecord[]) => records.filter((r) => r.type === RRType.A).map((r) => r.name.toString()).sort();

/** Two primaries' journals of one zone in one store (as etcd is one store for every primary). */
async function twoPrimaries(): Promise<[ZoneJournal, ZoneJournal, () => ZoneJournal]> {
  const dir = tempDir('shared-journal');
  dirs.push(dir);
  const store = await FileDocumentStore.open(join(dir, 'state'));
  const open = () => new ZoneJournal(store, join(dir, 'state', 'journal'), ZONE, true);
  const a = open();
  const b = open();
  await a.recover(fileRecords(), bytes);
  await b.recover(fileRecords(), bytes);
  return [a, b, open];
}

describe('ZoneJournal shared by several primaries', () => {
  it('a change number taken first by another primary is refused as a conflict; the journal stays open, catches up and appends after it', async () => {
    const [a, b] = await twoPrimaries();
    await b.append({ serial: 2, removed: [], added: [rr('theirs 300 A 192.0.2.9')] }, 0);
    const refused = await a.append({ serial: 2, removed: [], added: [rr('ours 300 A 192.0.2.8')] }, 0).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(JournalWriteRefused);
    expect((refused as JournalWriteRefused).code).toBe('conflict');
    expect((refused as Error).message).toMatch(/another server committed change 1 first/);
    const caught = await a.committedSince();
    expect(caught.kind).toBe('changes');
    expect(caught.kind === 'changes' && caught.entries.map((e) => [e.seq, e.serial, names(e.added)])).toEqual([[1, 2, ['theirs.lab.example.']]]);
    expect(a.sequence).toBe(1);
    expect((await a.append({ serial: 3, removed: [], added: [rr('ours 300 A 192.0.2.8')] }, 0)).seq).toBe(2);
    const more = await b.committedSince();
    expect(more.kind === 'changes' && more.entries.map((e) => e.seq)).toEqual([2]);
    expect(await b.committedSince()).toEqual({ kind: 'changes', entries: [] });
  });

  it('changes another primary compacted away come back as its snapshot; an older compaction never replaces a newer one', async () => {
    const [a, b, open] = await twoPrimaries();
    await a.append({ serial: 2, removed: [], added: [rr('h1 300 A 192.0.2.1')] }, 0);
    await a.append({ serial: 3, removed: [], added: [rr('h2 300 A 192.0.2.2')] }, 0);
    const records = [...fileRecords(), rr('h1 300 A 192.0.2.1'), rr('h2 300 A 192.0.2.2')];
    await a.compact(records, 3, 0);
    const caught = await b.committedSince();
    expect(caught.kind).toBe('snapshot');
    expect(caught.kind === 'snapshot' && [caught.seq, names(caught.records)]).toEqual([2, ['h1.lab.example.', 'h2.lab.example.', 'mail.lab.example.', 'ns.lab.example.', 'www.lab.example.']]);
    expect(b.sequence).toBe(2);
    // b, as far as a, compacts too: nothing changes (a's snapshot is not older).
    await b.compact(records, 3, 0);
    await a.append({ serial: 4, removed: [], added: [rr('h3 300 A 192.0.2.3')] }, 0);
    const restarted = open();
    const r = await restarted.recover(fileRecords(), bytes);
    expect([r.fromSnapshot, r.replayed, names(r.records)]).toEqual([true, 1, ['h1.lab.example.', 'h2.lab.example.', 'h3.lab.example.', 'mail.lab.example.', 'ns.lab.example.', 'www.lab.example.']]);
  });

  it('a change number compacted away by another primary is never taken again: refused, caught up from the snapshot, appended after it', async () => {
    const [a, b] = await twoPrimaries();
    await b.append({ serial: 2, removed: [], added: [rr('h1 300 A 192.0.2.1')] }, 0);
    await b.append({ serial: 3, removed: [], added: [rr('h2 300 A 192.0.2.2')] }, 0);
    await b.compact([...fileRecords(), rr('h1 300 A 192.0.2.1'), rr('h2 300 A 192.0.2.2')], 3, 0);
    // change-1 and change-2 are deleted now: a's create of change-1 would succeed without the head's guard.
    const refused = await a.append({ serial: 2, removed: [], added: [rr('late 300 A 192.0.2.8')] }, 0).catch((e: unknown) => e);
    expect((refused as JournalWriteRefused).code).toBe('conflict');
    const caught = await a.committedSince();
    expect(caught.kind === 'snapshot' && caught.seq).toBe(2);
    expect((await a.append({ serial: 4, removed: [], added: [rr('late 300 A 192.0.2.8')] }, 0)).seq).toBe(3);
    const more = await b.committedSince();
    expect(more.kind === 'changes' && more.entries.map((e) => [e.seq, names(e.added)])).toEqual([[3, ['late.lab.example.']]]);
  });

  it('a primary whose zone file differs is refused; the cluster\'s changes are not discarded', async () => {
    const [a, , open] = await twoPrimaries();
    await a.append({ serial: 2, removed: [], added: [rr('kept 300 A 192.0.2.7')] }, 0);
    const other = open();
    const edited = `${ZONE_TEXT}extra 300 A 192.0.2.99\n`;
    await expect(other.recover(parseZoneText(edited, { origin: ZONE }).records, Buffer.from(edited))).rejects.toThrow(ZoneJournalError);
    await expect(other.recover(parseZoneText(edited, { origin: ZONE }).records, Buffer.from(edited))).rejects.toThrow(/not the one the cluster's journal builds on/);
    const again = open();
    expect(names((await again.recover(fileRecords(), bytes)).records)).toContain('kept.lab.example.');
  });
});
