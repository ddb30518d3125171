import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { anchorFromRdataText, mergeAnchors } from '../../src/trust/anchor-import.js';
import { TRUST_ANCHORS_DOCUMENT, TRUST_ANCHORS_KEY, TrustAnchorStore } from '../../src/trust/trust-anchor-store.js';
import type { TrustPoint } from '../../src/trust/trust-point.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { captureLogger, makeKey, manualScheduler } from './trust-fixtures.js';

/** Cluster mode: a trust anchor store takes what another server wrote (reload), unless changes of its own are not yet written. */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const T0 = Date.UTC(2026, 2, 1);

/** A trust point with one more (new) key than `base`. */
function trustPointFor(zoneText: string, base?: TrustPoint) {
  const zone = Name.parse(zoneText);
  return mergeAnchors(base, anchorFromRdataText(zone, 'DNSKEY', rdataToText(RRType.DNSKEY, makeKey(zone).rdata), T0), T0).trustPoint;
}

/** One document store in a temp dir, and a way to open another server's trust anchor store on it. */
async function sharedStore() {
  const dir = mkdtempSync(join(tmpdir(), 'km-trust-reload-'));
  dirs.push(dir);
  const documents = await FileDocumentStore.open(dir);
  const open = () => TrustAnchorStore.open({ documents, clock: new ManualClock(T0), scheduler: manualScheduler(new ManualClock(T0)), logger: captureLogger().logger });
  return { documents, open };
}

describe('trust anchor store: reload from the shared store', () => {
  it('takes another server\'s trust points into anchors(); two servers writing at once both keep their change (compare-and-swap, merged by zone)', async () => {
    const { documents, open } = await sharedStore();
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

/**
 * The RFC 5011 refresher's write (fenced: it carries a guard) never merges over a trust point
 * another server changed since the refresher read it (an operator's anchor would be lost); it is
 * refused and nothing changes. Other trust points still merge as before.
 */
describe('trust anchor store: a fenced write after another server changed the document', () => {
  it('is refused when the other server changed the same trust point, merged when it changed another', async () => {
    const { documents, open } = await sharedStore();
    const refresher = await open();
    const operator = await open();
    await refresher.commit('.', () => ({ changed: true, trustPoint: trustPointFor('.'), result: undefined }));
    await operator.reload();

    // The operator adds an anchor to the root on another server; the refresher has not seen it.
    await operator.commit('.', (tp) => ({ changed: true, trustPoint: trustPointFor('.', tp), result: undefined }));
    const refreshed = { ...refresher.get('.')!, lastResult: 'ok: refreshed' };
    await expect(refresher.commit('.', () => ({ changed: true, trustPoint: refreshed, result: undefined }), { guard: [] })).rejects.toThrow(/trust point \. was changed on another server meanwhile/);
    const stored = await documents.read(TRUST_ANCHORS_KEY, TRUST_ANCHORS_DOCUMENT);
    expect(stored?.value.trustPoints.find((tp) => tp.zone === '.')?.anchors).toHaveLength(2);
    expect(refresher.get('.')?.lastResult).not.toBe('ok: refreshed');

    // Reloaded, it writes; a change of another trust point on the other server merges as before.
    await refresher.reload();
    await operator.commit('corp.example.', () => ({ changed: true, trustPoint: trustPointFor('corp.example.'), result: undefined }));
    await refresher.commit('.', (tp) => ({ changed: true, trustPoint: { ...tp!, lastResult: 'ok: refreshed' }, result: undefined }), { guard: [] });
    const merged = await documents.read(TRUST_ANCHORS_KEY, TRUST_ANCHORS_DOCUMENT);
    expect(merged?.value.trustPoints.map((tp) => [tp.zone, tp.anchors.length, tp.lastResult ?? null])).toEqual([
      ['.', 2, 'ok: refreshed'],
      ['corp.example.', 1, null],
    ]);
    await Promise.all([refresher.close(), operator.close()]);
  });
});
