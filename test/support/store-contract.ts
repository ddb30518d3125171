/**
 * The contract every DocumentStore implementation passes (the file store today, etcd in
 * cluster mode): run `describeStoreContract(name, makeStore)` in a test file.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DocumentStore, type DocumentType, StoreError } from '../../src/store/document-store.js';

export interface Counter {
  readonly count: number;
  readonly note: string;
}

/** A small document type with strict decoding and an upgrade from a version-1 shape. */
export const COUNTER: DocumentType<Counter> = {
  format: 'keymaster-test-counter',
  version: 2,
  encode: (v) => ({ count: v.count, note: v.note }),
  decode(data, fault) {
    const d = data as Record<string, unknown>;
    if (typeof d?.['count'] !== 'number') throw fault('data.count: not a number');
    if (typeof d['note'] !== 'string') throw fault('data.note: not a string');
    return { count: d['count'], note: d['note'] };
  },
  upgrade(doc, fault) {
    if (doc['version'] !== 1) return undefined;
    if (typeof doc['n'] !== 'number') throw fault('n: not a number');
    return { count: doc['n'], note: 'from version 1' };
  },
};

export interface StoreFixture {
  readonly store: DocumentStore;
  /** Another handle on the same stored data, as after a restart. */
  reopen(): Promise<DocumentStore>;
  /** Writes raw text where the implementation keeps `key` (to play damage or an old release). */
  writeRaw(key: string, text: string): Promise<void>;
  cleanup(): Promise<void>;
}

export function describeStoreContract(name: string, make: () => Promise<StoreFixture>): void {
  describe(`store contract: ${name}`, () => {
    let f: StoreFixture;
    beforeEach(async () => {
      f = await make();
    });
    afterEach(async () => {
      await f.store.close();
      await f.cleanup();
    });

    it('reads nothing for a key never written, then what was written, with revisions growing by one', async () => {
      expect(await f.store.read('counter', COUNTER)).toBeUndefined();
      const first = await f.store.write('counter', COUNTER, { count: 1, note: 'a' });
      const second = await f.store.write('counter', COUNTER, { count: 2, note: 'b' });
      expect([first.revision, second.revision]).toEqual([1, 2]);
      expect(await f.store.read('counter', COUNTER)).toEqual({ value: { count: 2, note: 'b' }, revision: 2 });
    });

    it('keeps what was written across a reopen (a restart)', async () => {
      await f.store.write('zones/example.', COUNTER, { count: 7, note: 'x' });
      const again = await f.reopen();
      expect(await again.read('zones/example.', COUNTER)).toEqual({ value: { count: 7, note: 'x' }, revision: 1 });
      await again.close();
    });

    it('compare-and-swap: a write against a stale revision is refused and changes nothing', async () => {
      await f.store.write('counter', COUNTER, { count: 1, note: 'a' }, { expectRevision: 0 });
      await expect(f.store.write('counter', COUNTER, { count: 9, note: 'late' }, { expectRevision: 0 })).rejects.toMatchObject({ code: 'conflict' });
      await f.store.write('counter', COUNTER, { count: 2, note: 'b' }, { expectRevision: 1 });
      await expect(f.store.delete('counter', { expectRevision: 1 })).rejects.toMatchObject({ code: 'conflict' });
      expect((await f.store.read('counter', COUNTER))?.value).toEqual({ count: 2, note: 'b' });
    });

    it('concurrent writes of one key are all applied, each with its own revision', async () => {
      const writes = await Promise.all(Array.from({ length: 20 }, (_, i) => f.store.write('counter', COUNTER, { count: i, note: '' })));
      expect(writes.map((w) => w.revision).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect((await f.store.read('counter', COUNTER))?.revision).toBe(20);
    });

    it('deletes, lists keys under a prefix, and tells watchers of every change', async () => {
      const seen: string[] = [];
      const stop = f.store.watch('zones/', (c) => seen.push(`${c.key}@${c.revision ?? 'deleted'}`));
      await f.store.write('zones/a.', COUNTER, { count: 1, note: '' });
      await f.store.write('zones/b.', COUNTER, { count: 1, note: '' });
      await f.store.write('policy', COUNTER, { count: 1, note: '' });
      expect(await f.store.keys('zones/')).toEqual(['zones/a.', 'zones/b.']);
      expect(await f.store.delete('zones/a.')).toBe(true);
      expect(await f.store.delete('zones/a.')).toBe(false);
      stop();
      await f.store.write('zones/b.', COUNTER, { count: 2, note: '' });
      expect(seen).toEqual(['zones/a.@1', 'zones/b.@1', 'zones/a.@deleted']);
      expect(await f.store.read('zones/a.', COUNTER)).toBeUndefined();
    });

    it('lists keys by a string prefix, as a distributed store does: nested keys, part of a label, nothing', async () => {
      for (const k of ['journals/a/head', 'journals/a/change-01', 'journals/a/change-02', 'journals/ab/head', 'journals/b/x/y'])
        await f.store.write(k, COUNTER, { count: 1, note: '' });
      expect(await f.store.keys('journals/a/change-')).toEqual(['journals/a/change-01', 'journals/a/change-02']);
      expect(await f.store.keys('journals/a/')).toEqual(['journals/a/change-01', 'journals/a/change-02', 'journals/a/head']);
      expect(await f.store.keys('journals/a')).toEqual(['journals/a/change-01', 'journals/a/change-02', 'journals/a/head', 'journals/ab/head']);
      expect(await f.store.keys('journals/')).toHaveLength(5);
      expect(await f.store.keys('nothing/here/')).toEqual([]);
    });

    it('refuses a damaged document, naming where and why, and never reads it as empty', async () => {
      await f.store.write('counter', COUNTER, { count: 1, note: 'a' });
      const cases: [string, RegExp][] = [
        ['', /empty/],
        ['{"format": "keymaster-test-counter", "version": 2, "revi', /not JSON/],
        ['{"format": "other", "version": 2}', /not a keymaster-test-counter document/],
        ['{"format": "keymaster-test-counter", "version": 9, "revision": 1, "data": {}, "sha256": "00"}', /version 9 is not supported/],
        ['{"format": "keymaster-test-counter", "version": 2, "revision": 1, "data": {"count": 2, "note": "a"}, "sha256": "00"}', /checksum mismatch/],
      ];
      for (const [text, message] of cases) {
        await f.writeRaw('counter', text);
        const again = await f.reopen();
        const error = await again.read('counter', COUNTER).then(() => undefined, (e: unknown) => e);
        expect(error, text).toBeInstanceOf(StoreError);
        expect((error as StoreError).message).toMatch(message);
        expect((error as StoreError).message).toContain('counter');
        await again.close();
      }
    });

    it('reads a document of an earlier version once, through its type\'s upgrade', async () => {
      await f.writeRaw('counter', JSON.stringify({ format: 'keymaster-test-counter', version: 1, n: 5 }));
      const again = await f.reopen();
      expect(await again.read('counter', COUNTER)).toEqual({ value: { count: 5, note: 'from version 1' }, revision: 1, upgraded: true });
      const written = await again.write('counter', COUNTER, { count: 6, note: 'now version 2' });
      expect(written.revision).toBe(2);
      await again.close();
    });

    it('guarded writes: applied only while every guard key is at its expected revision, atomically', async () => {
      const role = await f.store.write('roles/key-master/example.', COUNTER, { count: 1, note: 'ns1' });
      const fence = [{ key: 'roles/key-master/example.', revision: role.revision }];
      const ok = await f.store.write('keys/example.', COUNTER, { count: 1, note: 'zsk' }, { guard: fence });
      expect(ok.revision).toBe(1);
      await f.store.write('roles/key-master/example.', COUNTER, { count: 2, note: 'ns2' });
      await expect(f.store.write('keys/example.', COUNTER, { count: 2, note: 'late' }, { guard: fence })).rejects.toMatchObject({ code: 'conflict' });
      await expect(f.store.delete('keys/example.', { guard: fence })).rejects.toMatchObject({ code: 'conflict' });
      await expect(f.store.write('keys/other.', COUNTER, { count: 1, note: '' }, { guard: [{ key: 'roles/none', revision: 1 }] })).rejects.toMatchObject({ code: 'conflict' });
      expect(await f.store.write('keys/other.', COUNTER, { count: 1, note: '' }, { guard: [{ key: 'roles/none', revision: 0 }] })).toMatchObject({ revision: 1 });
      expect(await f.store.read('keys/example.', COUNTER)).toMatchObject({ value: { count: 1, note: 'zsk' }, revision: 1 });
      // Guard and compare-and-swap together: both must hold.
      await expect(f.store.write('keys/example.', COUNTER, { count: 3, note: '' }, { expectRevision: 0, guard: [{ key: 'roles/key-master/example.', revision: 2 }] })).rejects.toMatchObject({ code: 'conflict' });
      expect(await f.store.delete('keys/example.', { expectRevision: 1, guard: [{ key: 'roles/key-master/example.', revision: 2 }] })).toBe(true);
    });

    it('guarded writes racing a change of the guard key: each either lands before the change or is refused', async () => {
      await f.store.write('role', COUNTER, { count: 0, note: 'holder' });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          i === 5
            ? f.store.write('role', COUNTER, { count: 1, note: 'other' }).then(() => 'changed')
            : f.store.write(`state/s${i}`, COUNTER, { count: i, note: '' }, { guard: [{ key: 'role', revision: 1 }] }).then(() => 'ok', (e: StoreError) => e.code),
        ),
      );
      expect(results.every((r) => ['ok', 'conflict', 'changed'].includes(r))).toBe(true);
      // After the change, nothing guarded by the old revision lands.
      await expect(f.store.write('state/late', COUNTER, { count: 1, note: '' }, { guard: [{ key: 'role', revision: 1 }] })).rejects.toMatchObject({ code: 'conflict' });
      expect(await f.store.keys('state/late')).toEqual([]);
    });

    it('refuses keys that are not paths of lowercase labels', async () => {
      for (const key of ['', '../etc/passwd', 'a//b', '/abs', 'UPPER', 'a/../b']) {
        await expect(f.store.write(key, COUNTER, { count: 1, note: '' }), key).rejects.toMatchObject({ code: 'invalid-key' });
      }
    });
  });
}
