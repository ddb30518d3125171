import { mkdir, readFile, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { keyFileName } from '../wire/key-files.js';
import type { Name } from '../wire/name.js';
import { KEY_METADATA_DOCUMENT } from './key-metadata-document.js';
import { type KeyMetadata, type KeyStore, KeyStoreError, zoneDirectoryName } from './key-store.js';

/**
 * Keys of removed zones (issue 14, Deliver 7). `zone remove` moves the zone's keys (their
 * metadata out of the store, their private key files) and its dsset-/keyset- files aside into
 * STATEDIR/keys-archive/ZONE@TIME, files only: cold storage this server's operator can see and
 * keep, not state the server runs on; nothing is deleted (a key may still be named by a DS somewhere). A later `zone add` of the same name
 * starts with no keys (so a new signing makes new keys of the algorithm asked for), and says
 * that archived keys exist; `--reuse-keys` puts the newest archive back instead.
 */

export interface ArchivedKeySet {
  /** The archive's directory name, `ZONE@TIME`. */
  readonly archive: string;
  readonly archivedAt: string;
  readonly keys: number;
  /** DNSSEC algorithm numbers of its keys. */
  readonly algorithms: readonly number[];
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export class KeyArchive {
  readonly root: string;

  constructor(
    private readonly store: KeyStore,
    private readonly stateDir: string,
  ) {
    this.root = join(dirname(store.root), 'keys-archive');
  }

  /**
   * Moves the zone's keys and parent files aside; undefined when it had none. The archive is
   * written whole (metadata as plain JSON, as releases before the store contract wrote it) before
   * the keys leave the store; the private key files follow, so a crash in between leaves them
   * unlisted in the zone's directory, where the next archive or restore finds them.
   */
  async archive(zone: Name, now: Date): Promise<ArchivedKeySet | undefined> {
    const live = this.store.zoneDirectory(zone);
    const keys = await this.store.listMetadata(zone);
    if (keys.length === 0) {
      await this.sweepStrayKeyFiles(zone);
      return undefined;
    }
    const stamp = `${zoneDirectoryName(zone)}@${now.toISOString().replace(/[:.]/g, '-')}`;
    let name = stamp;
    for (let n = 2; await exists(join(this.root, name)); n++) name = `${stamp}.${n}`;
    const target = join(this.root, name);
    try {
      await mkdir(target, { recursive: true, mode: 0o700 });
      for (const m of keys) await writeFileAtomic(join(target, `${m.id}.json`), `${JSON.stringify(m, null, 2)}\n`, 0o600);
      for (const m of keys) await this.store.forgetMetadata(zone, m.id);
      for (const m of keys) await moveIfThere(join(live, `${m.id}.pem`), join(target, `${m.id}.pem`));
      for (const kind of ['dsset', 'keyset'] as const) await moveIfThere(join(this.stateDir, keyFileName(kind, zone)), join(target, keyFileName(kind, zone)));
      await rmdir(live).catch(() => undefined); // left when it holds anything else
    } catch (error) {
      throw new KeyStoreError(live, `cannot archive the keys to ${target}: ${(error as Error).message}`, { cause: error });
    }
    return this.describe(name, now.toISOString());
  }

  /** Private key files a crash left in the zone's directory after their metadata was archived: moved to their archive. */
  private async sweepStrayKeyFiles(zone: Name): Promise<void> {
    const live = this.store.zoneDirectory(zone);
    const stray = (await readdir(live).catch(() => [] as string[])).filter((f) => f.endsWith('.pem'));
    for (const set of stray.length > 0 ? await this.list(zone) : []) {
      for (const f of stray) if (await exists(join(this.root, set.archive, f.replace(/\.pem$/, '.json')))) await moveIfThere(join(live, f), join(this.root, set.archive, f));
    }
    await rmdir(live).catch(() => undefined);
  }

  /** The zone's archived key sets, newest first. */
  async list(zone: Name): Promise<ArchivedKeySet[]> {
    const prefix = `${zoneDirectoryName(zone)}@`;
    let names: string[];
    try {
      names = (await readdir(this.root)).filter((n) => n.startsWith(prefix));
    } catch {
      return [];
    }
    const sets = await Promise.all(names.map((n) => this.describe(n)));
    // Newest first; the same second twice is told apart by the `.N` suffix.
    const order = (x: ArchivedKeySet) => `${x.archivedAt.slice(0, 24)}|${(x.archive.match(/\.(\d+)$/)?.[1] ?? '1').padStart(6, '0')}`;
    return sets.sort((a, b) => order(b).localeCompare(order(a)));
  }

  /** Puts an archived key set back as the zone's keys (the zone must have none): private keys first, then their metadata. */
  async restore(zone: Name, set: ArchivedKeySet): Promise<void> {
    const live = this.store.zoneDirectory(zone);
    if ((await this.store.listMetadata(zone)).length > 0) throw new KeyStoreError(live, 'the zone already has keys; they are not replaced');
    const from = join(this.root, set.archive);
    const metadata = await readArchivedMetadata(from);
    for (const m of metadata) checkArchivedMetadata(m, join(from, `${m.id}.json`));
    await mkdir(live, { recursive: true, mode: 0o700 });
    for (const m of metadata) await moveIfThere(join(from, `${m.id}.pem`), join(live, `${m.id}.pem`));
    await this.store.updateMetadata(zone, metadata);
    await rm(from, { recursive: true, force: true }); // its dsset-/keyset- files are written anew when signed
  }

  private async describe(archive: string, archivedAt?: string): Promise<ArchivedKeySet> {
    const metadata = await readArchivedMetadata(join(this.root, archive));
    const at = archivedAt ?? archive.slice(archive.lastIndexOf('@') + 1).replace(/^(\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d)-(\d{3})Z/, '$1:$2:$3.$4Z');
    return { archive, archivedAt: at, keys: metadata.length, algorithms: [...new Set(metadata.map((m) => m.algorithm))].sort((a, b) => a - b) };
  }
}

/** The metadata files of an archive; an unreadable one is still archived, just not counted. */
async function readArchivedMetadata(dir: string): Promise<KeyMetadata[]> {
  const metadata: KeyMetadata[] = [];
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.json'))) {
    try {
      metadata.push(JSON.parse(await readFile(join(dir, f), 'utf8')) as KeyMetadata);
    } catch {
      // not counted
    }
  }
  return metadata;
}

/** Archived metadata is checked as the store checks it before it goes back there. */
function checkArchivedMetadata(m: KeyMetadata, path: string): void {
  KEY_METADATA_DOCUMENT.decode(m, (message) => new KeyStoreError(path, `cannot restore: ${message}`));
}

async function moveIfThere(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** `zone add --reuse-keys` with nothing archived. */
export class NoArchivedKeysError extends Error {
  override readonly name = 'NoArchivedKeysError';
}

const algorithmList = (set: ArchivedKeySet) => set.algorithms.join(', ') || 'unknown';

/**
 * The keys a zone added by command starts with: none, unless `reuse` (the newest archive comes
 * back). Keys found in place (left by an older version, or by hand) are archived first: they are
 * never adopted silently. Returns what to tell the operator.
 */
export async function keysForAddedZone(archive: KeyArchive, zone: Name, reuse: boolean, now: Date): Promise<{ note?: string; reused?: ArchivedKeySet }> {
  await archive.archive(zone, now);
  const sets = await archive.list(zone);
  const newest = sets[0];
  if (reuse) {
    if (!newest) throw new NoArchivedKeysError(`--reuse-keys: there are no archived keys of ${zone.toString()}`);
    await archive.restore(zone, newest);
    return { reused: newest, note: `reusing the ${newest.keys} keys (algorithm ${algorithmList(newest)}) archived at ${newest.archivedAt}` };
  }
  if (!newest) return {};
  return {
    note: `${sets.length} archived key set${sets.length === 1 ? '' : 's'} of ${zone.toString()} (newest ${newest.archivedAt}: ${newest.keys} keys, algorithm ${algorithmList(newest)}) not reused: the zone starts without keys; zone add --reuse-keys adopts the newest`,
  };
}
