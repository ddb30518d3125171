import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { COUNTER, describeStoreContract } from '../support/store-contract.js';

describeStoreContract('files in the state dir', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keymaster-store-'));
  const store = await FileDocumentStore.open(dir);
  return {
    store,
    reopen: () => FileDocumentStore.open(dir),
    writeRaw: async (key, text) => writeFileSync(store.locate(key), text),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('file store specifics', () => {
  it('writes documents readable by the server user only, and removes temp files a dead writer left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keymaster-store-'));
    try {
      const store = await FileDocumentStore.open(dir);
      await store.write('policy', COUNTER, { count: 1, note: '' });
      expect(statSync(join(dir, 'policy.json')).mode & 0o777).toBe(0o600);
      writeFileSync(join(dir, '.policy.json.999999.abcdef.tmp'), 'half a write');
      await FileDocumentStore.open(dir);
      expect(readdirSync(dir)).toEqual(['policy.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a guard on an incarnation mark, which files do not keep (never passes it silently)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keymaster-store-'));
    try {
      const store = await FileDocumentStore.open(dir);
      await store.write('role', COUNTER, { count: 1, note: '' });
      await expect(store.write('state', COUNTER, { count: 1, note: '' }, { guard: [{ key: 'role', revision: 1, created: 7 }] })).rejects.toMatchObject({ code: 'conflict' });
      expect(await store.read('state', COUNTER)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
