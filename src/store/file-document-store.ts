import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDirectory, writeFileAtomic } from '../storage/atomic-file.js';
import { decodeEnvelope, encodeEnvelope } from './document-envelope.js';
import {
  type DocumentChange,
  type DocumentStore,
  type DocumentType,
  type StoredDocument,
  StoreError,
  type WriteOptions,
  checkKey,
} from './document-store.js';

const SUFFIX = '.json';
/** writeFileAtomic's temp files: `.NAME.PID.RANDOM.tmp`. */
const TEMP_FILE = /^\.(.+)\.(\d+)\.[0-9a-f]+\.tmp$/;

/**
 * The embedded store: each document is the file `DIR/KEY.json` (so `policy` is today's
 * `policy.json`), readable by the server's user only, replaced by temp file, fsync, rename and
 * directory fsync. One process writes a state dir; writes of one key are applied in order, and
 * the revision a compare-and-swap checks is the one on disk.
 */
export class FileDocumentStore implements DocumentStore {
  readonly description: string;
  private readonly revisions = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly watchers = new Set<{ prefix: string; listener: (change: DocumentChange) => void }>();

  private constructor(private readonly dir: string) {
    this.description = `files in ${dir}`;
  }

  /** The store in `dir` (created 0700 when missing); temp files a crash left behind are removed. */
  static async open(dir: string): Promise<FileDocumentStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await removeCrashLeftovers(dir);
    return new FileDocumentStore(dir);
  }

  locate(key: string): string {
    return join(this.dir, `${checkKey(key)}${SUFFIX}`);
  }

  async read<T>(key: string, type: DocumentType<T>): Promise<StoredDocument<T> | undefined> {
    const path = this.locate(key);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.revisions.set(key, 0);
        return undefined;
      }
      throw new StoreError('io', path, `cannot be read: ${(error as Error).message}`);
    }
    const doc = decodeEnvelope(text, type, (message) => new StoreError('damaged', path, message));
    this.revisions.set(key, doc.revision);
    return doc;
  }

  async write<T>(key: string, type: DocumentType<T>, value: T, options: WriteOptions = {}): Promise<StoredDocument<T>> {
    const path = this.locate(key);
    return this.serialised(lockedKeys(key, options), async () => {
      const current = await this.currentRevision(key, path);
      this.checkExpected(path, current, options);
      await this.checkGuards(options);
      const revision = current + 1;
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      try {
        await writeFileAtomic(path, encodeEnvelope(type, value, revision), 0o600);
      } catch (error) {
        throw new StoreError('io', path, `cannot be written: ${(error as Error).message}`);
      }
      this.revisions.set(key, revision);
      this.notify({ key, revision });
      return { value, revision };
    });
  }

  async delete(key: string, options: WriteOptions = {}): Promise<boolean> {
    const path = this.locate(key);
    return this.serialised(lockedKeys(key, options), async () => {
      const current = await this.currentRevision(key, path);
      this.checkExpected(path, current, options);
      await this.checkGuards(options);
      if (current === 0) return false;
      try {
        await rm(path);
        await syncDirectory(dirname(path));
      } catch (error) {
        throw new StoreError('io', path, `cannot be removed: ${(error as Error).message}`);
      }
      this.revisions.set(key, 0);
      this.notify({ key });
      return true;
    });
  }

  async keys(prefix: string): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        if (e.isDirectory()) await walk(join(dir, e.name), `${keyPrefix}${e.name}/`);
        else if (e.isFile() && e.name.endsWith(SUFFIX)) found.push(`${keyPrefix}${e.name.slice(0, -SUFFIX.length)}`);
      }
    };
    // Only the directory the prefix names is walked: listing one zone's keys does not read the whole state dir.
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    if (base !== '') checkKey(base.slice(0, -1));
    await walk(join(this.dir, base), base);
    return found.filter((k) => k.startsWith(prefix)).sort();
  }

  watch(prefix: string, listener: (change: DocumentChange) => void): () => void {
    const watcher = { prefix, listener };
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
    this.watchers.clear();
  }

  private async currentRevision(key: string, path: string): Promise<number> {
    const known = this.revisions.get(key);
    if (known !== undefined) return known;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new StoreError('io', path, `cannot be read: ${(error as Error).message}`);
    }
    // Only the revision matters here; a document of an older version counts as revision 1.
    try {
      const revision = (JSON.parse(text) as { revision?: unknown }).revision;
      return typeof revision === 'number' && Number.isSafeInteger(revision) && revision > 0 ? revision : 1;
    } catch {
      return 1;
    }
  }

  private checkExpected(path: string, current: number, options: WriteOptions): void {
    if (options.expectRevision !== undefined && options.expectRevision !== current)
      throw new StoreError('conflict', path, `changed meanwhile: revision ${current}, expected ${options.expectRevision}`);
  }

  /** The guard keys are checked inside their own queues too, so no write of theirs slips in between. */
  private async checkGuards(options: WriteOptions): Promise<void> {
    for (const g of options.guard ?? []) {
      const path = this.locate(g.key);
      if (g.created !== undefined) throw new StoreError('conflict', path, 'this store keeps no creation marks: a guard on "created" cannot hold');
      const current = await this.currentRevision(g.key, path);
      if (current !== g.revision) throw new StoreError('conflict', path, `guard failed: revision ${current}, expected ${g.revision}`);
    }
  }

  private serialised<R>(keys: readonly string[], work: () => Promise<R>): Promise<R> {
    const previous = Promise.all(keys.map((k) => this.queues.get(k)));
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    for (const key of keys) this.queues.set(key, settled);
    void settled.then(() => {
      for (const key of keys) if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return next;
  }

  private notify(change: DocumentChange): void {
    for (const w of this.watchers) if (change.key.startsWith(w.prefix)) w.listener(change);
  }
}

/** A write holds its own key's queue and its guards' (all taken at once, so two writes never wait on each other). */
function lockedKeys(key: string, options: WriteOptions): string[] {
  return [...new Set([checkKey(key), ...(options.guard ?? []).map((g) => checkKey(g.key))])];
}

/** Temp files of writers that died before their rename: what they held was never acknowledged. */
async function removeCrashLeftovers(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const m = TEMP_FILE.exec(e.name);
    if (e.isDirectory() && !e.name.startsWith('.')) await removeCrashLeftovers(join(dir, e.name));
    else if (m && Number(m[2]) !== process.pid) await rm(join(dir, e.name), { force: true });
  }
}
