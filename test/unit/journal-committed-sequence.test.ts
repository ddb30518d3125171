import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZoneJournal, committedSequences } from '../../src/authority/zone-journal.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { parseZoneText } from '../../src/wire/zone-file.js';
import { removeDir, tempDir } from '../support/external-servers.js';
import { ZONE, ZONE_TEXT, rr } from './authority-update-helpers.js';

/**
 * The journal as the cluster committed it. `committedSequence`: the last change committed to a
 * zone's journal in the store, what `cluster status` compares each primary's applied change
 * number with (its replication lag on the zone). `recoverCommitted`: a primary opening a zone
 * from the journal alone (its first snapshot and the changes since), without the zone file.
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const committedSequence = async (store: FileDocumentStore, zone: Name) => (await committedSequences(store, [zone])).get(zone);

/** One store (as etcd is one for every primary) and the journals of ZONE in it. */
async function sharedStore() {
  const dir = tempDir('journal-committed');
  dirs.push(dir);
  const store = await FileDocumentStore.open(join(dir, 'state'));
  const open = () => new ZoneJournal(store, join(dir, 'state', 'journal'), ZONE, true);
  return { store, open, records: parseZoneText(ZONE_TEXT, { origin: ZONE }).records };
}

describe('committedSequences (the journal head a primary is measured against)', () => {
  it('is 0 for a fresh journal, the last change appended by any writer, and the snapshot once a compaction deleted the changes', async () => {
    const { store, open, records } = await sharedStore();
    const [a, b] = [open(), open()];
    await a.recover(records, Buffer.from(ZONE_TEXT));
    await b.recover(records, Buffer.from(ZONE_TEXT));
    expect(await committedSequence(store, ZONE)).toBe(0);
    await a.append({ serial: 2, removed: [], added: [rr('h1 300 A 192.0.2.1')] }, 0);
    await a.append({ serial: 3, removed: [], added: [rr('h2 300 A 192.0.2.2')] }, 0);
    // b has applied none of them: its lag is the difference.
    expect(await committedSequence(store, ZONE)).toBe(2);
    expect(b.sequence).toBe(0);
    await a.compact([...records, rr('h1 300 A 192.0.2.1'), rr('h2 300 A 192.0.2.2')], 3, 0);
    expect((await store.keys('journals/')).some((k) => k.includes('change-'))).toBe(false);
    expect(await committedSequence(store, ZONE)).toBe(2);
    await a.append({ serial: 4, removed: [], added: [rr('h3 300 A 192.0.2.3')] }, 0);
    expect(await committedSequence(store, ZONE)).toBe(3);
    await b.committedSince();
    expect(b.sequence).toBe(2);
    // Another zone's journal is its own; several zones are read in one listing.
    const other = Name.parse('other.example.');
    const both = await committedSequences(store, [ZONE, other]);
    expect([both.get(ZONE), both.get(other)]).toEqual([3, 0]);
  });

  it('recoverCommitted opens a zone from its first snapshot and the changes since, and appends after them; no snapshot: undefined (the file is needed)', async () => {
    const { store, open, records } = await sharedStore();
    const adder = open();
    await adder.recover(records, Buffer.from(ZONE_TEXT));
    expect(await open().recoverCommitted()).toBeUndefined();
    // `zone add` in cluster mode: the zone as loaded is the first snapshot, then changes come.
    await adder.compact(records, 1, 0);
    await adder.append({ serial: 2, removed: [], added: [rr('h1 300 A 192.0.2.1')] }, 0);
    const other = open();
    const r = await other.recoverCommitted();
    expect(r).toMatchObject({ replayed: 1, fromSnapshot: true });
    const names = r!.records.filter((x) => x.type === RRType.A).map((x) => x.name.toString()).sort();
    expect(names).toEqual([...records.filter((x) => x.type === RRType.A).map((x) => x.name.toString()), 'h1.lab.example.'].sort());
    expect(other.sequence).toBe(1);
    expect(other.fileDigest).toBe(adder.fileDigest);
    expect((await other.append({ serial: 3, removed: [], added: [rr('h2 300 A 192.0.2.2')] }, 0)).seq).toBe(2);
    expect(await committedSequence(store, ZONE)).toBe(2);
  });
});
