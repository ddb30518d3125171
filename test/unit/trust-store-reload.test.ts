import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { anchorFromRdataText, mergeAnchors } from '../../src/trust/anchor-import.js';
import { TrustAnchorStore } from '../../src/trust/trust-anchor-store.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { captureLogger, makeKey, manualScheduler } from './trust-fixtures.js';

/** Cluster mode: a trust anchor store takes what another server wrote (reload), unless changes of its own are not yet written. */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const T0 = Date.UTC(2026, 2, 1);

function trustPointFor(zoneText: string) {
  const zone = Name.parse(zoneText);
  return mergeAnchors(undefined, anchorFromRdataText(zone, 'DNSKEY', rdataToText(RRType.DNSKEY, makeKey(zone).rdata), T0), T0).trustPoint;
}

describe('trust anchor store: reload from the shared store', () => {
  it('takes another server\'s trust points into anchors(); two servers writing at once both keep their change (compare-and-swap, merged by zone)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'km-trust-reload-'));
    dirs.push(dir);
    const documents = await FileDocumentStore.open(dir);
    const open = () => TrustAnchorStore.open({ documents, clock: new ManualClock(T0), scheduler: manualScheduler(new ManualClock(T0)), logger: captureLogger().logger });
    const a = await open();
    const b = await open();
    b.put(trustPointFor('corp.example.'));
    await b.flush();
    expect(a.anchors().map((x) => x.zone.toString())).toEqual([]);
    expect(await a.reload()).toBe(true);
    expect(a.anchors().map((x) => x.zone.toString())).toEqual(['corp.example.']);
    expect(a.get('corp.example.')?.anchors).toHaveLength(1);

    // A change of a's own not yet written: reload leaves it (it is written next, over b's).
    const pending = await open();
    await pending.reload();
    pending.put(trustPointFor('lab.example.'));
    b.put(trustPointFor('other.example.'));
    await b.flush();
    // `pending` may have written already (write-behind); either way its own point is never dropped.
    await pending.flush();
    await pending.reload();
    expect(pending.get('lab.example.')).toBeDefined();
    await Promise.all([a.close(), b.close(), pending.close()]);
    // Both servers' changes are stored: each write was compare-and-swap, merged on the conflict.
    const fresh = await open();
    expect(fresh.list().map((tp) => tp.zone)).toEqual(['corp.example.', 'lab.example.', 'other.example.']);
    await fresh.close();
  });
});
