import type { KeyObject } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { exportPrivateKeyPem, importPrivateKey } from '../crypto/private-key-encoding.js';
import { keyMatchesAlgorithm } from '../crypto/algorithm-profile.js';
import type { Name } from '../wire/name.js';
import { syncDirectory, writeFileAtomic } from '../storage/atomic-file.js';
import { type DocumentStore, StoreError, type WriteGuard, type WriteOptions } from '../store/document-store.js';
import { KEY_METADATA_DOCUMENT } from './key-metadata-document.js';
import { type PrivateKeySealing, SEALED_PRIVATE_KEY_DOCUMENT, sealedPrivateKeyKey } from './sealed-private-key.js';
import { zoneStoreLabel } from './zone-store-label.js';
import type { KeyRolloverRecord } from './rollover/rollover-state.js';
import type { Pkcs11Token } from './pkcs11-token.js';
import { type KeyLocation, type KeyPairSource, type PrivateKeyHandle, fileKeyPairs, isTokenKey } from './private-key-handle.js';

/**
 * Where a key is in its life. `active` keys sign; `standby` (a KSK kept ready for an RFC 5011
 * rollover) and `next` (a ZSK pre-published for the next ZSK rollover) are in the DNSKEY RRset
 * but sign nothing; `retired` keys are kept on disk but no longer published.
 * Rollover states (src/authority/rollover/): `inactive` is a rolled ZSK still published, signing
 * nothing, until its signatures are out of every cache; `revoked` is a rolled RFC 5011 KSK
 * published with the REVOKE bit (flags 385) that signs the DNSKEY RRset, for the remove hold-down.
 * Algorithm rollover (RFC 6781 §4.1.4): `presigning` is a key of the new algorithm that signs
 * what its role signs before its DNSKEY is published; `unpublished` is a key of the old algorithm
 * whose DNSKEY is gone but which still signs until no cache holds a DNSKEY RRset listing it.
 */
export type KeyState = 'active' | 'standby' | 'next' | 'retired' | 'inactive' | 'revoked' | 'presigning' | 'unpublished';
export type KeyRole = 'ksk' | 'zsk';

/** What the store keeps beside each private key (never the private key itself). */
export interface KeyMetadata {
  readonly id: string;
  /** The zone, lowercased, fully qualified. */
  readonly zone: string;
  readonly role: KeyRole;
  readonly algorithm: number;
  readonly bits: number;
  readonly keyTag: number;
  /** DNSKEY flags: 257 for a KSK (SEP), 256 for a ZSK. */
  readonly flags: number;
  /** The DNSKEY public key field, base64. */
  readonly publicKey: string;
  readonly state: KeyState;
  /** ISO 8601 times. */
  readonly created: string;
  readonly activated?: string;
  readonly retired?: string;
  /** When the rollover schedule next rolls this key (active keys only). */
  readonly nextRollover?: string;
  /** When the key's DNSKEY was first served (keys made by a rollover); older keys: `created`. */
  readonly published?: string;
  /** Where this key's rollover is (src/authority/rollover/rollover-state.ts), persisted so a restart resumes it. */
  readonly rollover?: KeyRolloverRecord;
  /** Absent: the private key is `ID.pem` beside this file. Else the token that holds it, and its CKA_ID there. */
  readonly storage?: KeyLocation;
}

export interface StoredKey {
  readonly metadata: KeyMetadata;
  readonly privateKey: PrivateKeyHandle;
}

/** The key directory or a key file cannot be written or read; names the path and why. */
export class KeyStoreError extends Error {
  override readonly name = 'KeyStoreError';
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`key store ${path}: ${reason}`, options);
  }
}

const PRIVATE_MODE = 0o600;
const DIR_MODE = 0o700;

function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return `permission denied (${e.code})`;
  if (e?.code === 'EROFS') return 'read-only file system (EROFS)';
  if (e?.code === 'ENOSPC') return 'no space left on device (ENOSPC)';
  if (e?.code === 'ENOTDIR') return 'a path component is not a directory (ENOTDIR)';
  return e?.message ?? String(error);
}

/** A zone's directory name: its presentation form without the final dot, `/` and `%` escaped; `.` for the root is `root`. */
export function zoneDirectoryName(zone: Name): string {
  if (zone.isRoot) return 'root';
  return zone.lowercase().toString().slice(0, -1).replace(/%/g, '%25').replace(/\//g, '%2F');
}

/**
 * Keys of the zones signed here. The private keys are PKCS#8 PEM files of mode 0600
 * (`STATEDIR/keys/ZONE/ID.pem`, directories 0700) or objects in a PKCS#11 token; their metadata
 * (state, timings, tag, rollover progress) is the store contract's document `keys/ZONE/ID`
 * (key-metadata-document.ts), which the file store keeps beside the PEM file as `ID.json`.
 * A private key is written before its metadata and deleted after it, so a key listed is a key
 * that can sign. Nothing here logs or returns private key material except
 * `StoredKey.privateKey` in memory.
 */
export class KeyStore {
  readonly root: string;
  /** Zones whose new keys are made in a PKCS#11 token (`keyStorage: { pkcs11 }`), by zone name. */
  private readonly tokens = new Map<string, Pkcs11Token>();

  constructor(
    stateDir: string,
    private readonly documents: DocumentStore,
    /** Told when metadata of the release before the store contract was read and rewritten as documents. */
    private readonly migrated?: (zone: Name, keys: number, where: string) => void,
    /** Cluster mode: private keys are kept in the store sealed (sealed-private-key.ts), not in files. */
    private readonly sealing?: PrivateKeySealing,
    /** Cluster mode: the guard of every key-state write (the zone's Key Master role, zone-key-authority.ts); throws when this server may not write. */
    private readonly fence?: (zone: Name) => WriteGuard[],
  ) {
    this.root = join(stateDir, 'keys');
  }

  /** New keys of `zone` are made and kept in `token`; its keys there can be read. */
  useToken(zone: Name, token: Pkcs11Token): void {
    this.tokens.set(zone.lowercase().toString(), token);
  }

  /** Where the zone's new keys are made. */
  keyPairs(zone: Name): KeyPairSource {
    const token = this.tokens.get(zone.lowercase().toString());
    if (!token) return fileKeyPairs;
    return {
      generate: async (algorithm, bits, label) => {
        const pair = token.generate(algorithm, bits, label);
        return { ...pair, storage: { pkcs11: { token: token.config.token, id: pair.privateKey.id } } };
      },
    };
  }

  /** `file`, or `pkcs11:LABEL` for a zone whose keys are made in a token. */
  storageOf(zone: Name): string {
    const token = this.tokens.get(zone.lowercase().toString());
    return token ? `pkcs11:${token.config.token}` : 'file';
  }

  private tokenKey(zone: Name, metadata: KeyMetadata, metaPath: string): PrivateKeyHandle {
    const where = metadata.storage!.pkcs11;
    const token = this.tokens.get(zone.lowercase().toString());
    if (!token || token.config.token !== where.token)
      throw new KeyStoreError(metaPath, `key ${metadata.id} is in PKCS#11 token "${where.token}", which the zone's keyStorage does not name`);
    try {
      return token.key(metadata.algorithm, where.id);
    } catch (error) {
      throw new KeyStoreError(metaPath, (error as Error).message, { cause: error });
    }
  }

  /** Where the zone's private key files are. */
  zoneDirectory(zone: Name): string {
    return join(this.root, zoneStoreLabel(zone));
  }

  /** The store key of a key's metadata. */
  metadataKey(zone: Name, id: string): string {
    return `keys/${zoneStoreLabel(zone)}/${id}`;
  }

  /** Where a key's metadata is (a file, in the file store), for errors. */
  locateMetadata(zone: Name, id: string): string {
    try {
      return this.documents.locate(this.metadataKey(zone, id));
    } catch {
      return join(this.zoneDirectory(zone), `${id}.json`);
    }
  }

  /** Every key of the zone, oldest first; an unreadable or inconsistent key is an error naming where it is. */
  async list(zone: Name): Promise<StoredKey[]> {
    const dir = this.zoneDirectory(zone);
    let names: string[];
    try {
      await this.adoptLegacyDirectory(zone);
      names = await this.documents.keys(`keys/${zoneStoreLabel(zone)}/`);
    } catch (error) {
      throw new KeyStoreError(dir, `cannot list keys: ${reason(error)}`, { cause: error });
    }
    const keys: StoredKey[] = [];
    const upgraded: KeyMetadata[] = [];
    for (const key of names) {
      const id = key.slice(key.lastIndexOf('/') + 1);
      const metaPath = this.locateMetadata(zone, id);
      let metadata: KeyMetadata;
      try {
        const doc = await this.documents.read(key, KEY_METADATA_DOCUMENT);
        if (!doc) continue; // removed since it was listed
        metadata = doc.value;
        if (doc.upgraded) upgraded.push(metadata);
      } catch (error) {
        throw new KeyStoreError(metaPath, `cannot read key metadata: ${error instanceof StoreError ? error.fault : reason(error)}`, { cause: error });
      }
      if (metadata.id !== id) throw new KeyStoreError(metaPath, `cannot read key metadata: it is the metadata of key ${metadata.id}, not ${id}`);
      keys.push({ metadata, privateKey: await this.privateKeyOf(zone, metadata, metaPath) });
    }
    if (upgraded.length > 0) {
      await this.updateMetadata(zone, upgraded);
      this.migrated?.(zone, upgraded.length, dir);
    }
    return keys.sort((a, b) => a.metadata.created.localeCompare(b.metadata.created) || a.metadata.id.localeCompare(b.metadata.id));
  }

  private async privateKeyOf(zone: Name, metadata: KeyMetadata, metaPath: string): Promise<PrivateKeyHandle> {
    if (metadata.storage?.pkcs11) return this.tokenKey(zone, metadata, metaPath);
    if (this.sealing) return this.sealedKeyOf(zone, metadata);
    const pemPath = join(this.zoneDirectory(zone), `${metadata.id}.pem`);
    let privateKey: KeyObject;
    try {
      privateKey = importPrivateKey(await readFile(pemPath, 'utf8'));
    } catch (error) {
      throw new KeyStoreError(pemPath, `cannot read the private key of ${metadata.id}: ${reason(error)}`, { cause: error });
    }
    if (!keyMatchesAlgorithm(metadata.algorithm, privateKey))
      throw new KeyStoreError(pemPath, `the private key is not a key for algorithm ${metadata.algorithm} as ${metadata.id}'s metadata says`);
    const mode = (await stat(pemPath)).mode & 0o777;
    if (mode & 0o077) throw new KeyStoreError(pemPath, `private key file is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
    return privateKey;
  }

  private async sealedKeyOf(zone: Name, metadata: KeyMetadata): Promise<PrivateKeyHandle> {
    const key = sealedPrivateKeyKey(zone, metadata.id);
    const where = this.documents.locate(key);
    let privateKey: KeyObject;
    try {
      const sealed = await this.documents.read(key, SEALED_PRIVATE_KEY_DOCUMENT);
      if (!sealed) throw new Error('it is not in the store');
      const pem = this.sealing!.open(key, sealed.value);
      try {
        privateKey = importPrivateKey(pem.toString('utf8'));
      } finally {
        pem.fill(0);
      }
    } catch (error) {
      throw new KeyStoreError(where, `cannot read the private key of ${metadata.id}: ${error instanceof StoreError ? error.fault : reason(error)}`, { cause: error });
    }
    if (!keyMatchesAlgorithm(metadata.algorithm, privateKey)) throw new KeyStoreError(where, `the private key is not a key for algorithm ${metadata.algorithm} as ${metadata.id}'s metadata says`);
    return privateKey;
  }

  /** A zone whose key directory was named another way before the store contract (`%2F` escapes): renamed once. */
  private async adoptLegacyDirectory(zone: Name): Promise<void> {
    const legacy = join(this.root, zoneDirectoryName(zone));
    const dir = this.zoneDirectory(zone);
    if (legacy === dir) return;
    const exists = (p: string) => stat(p).then(() => true, () => false);
    if ((await exists(legacy)) && !(await exists(dir))) await rename(legacy, dir);
  }

  /** The metadata of the zone's keys, without opening their private keys (the key archive). */
  async listMetadata(zone: Name): Promise<KeyMetadata[]> {
    const found: KeyMetadata[] = [];
    for (const key of await this.documents.keys(`keys/${zoneStoreLabel(zone)}/`)) {
      const doc = await this.documents.read(key, KEY_METADATA_DOCUMENT).catch((error: unknown) => {
        throw new KeyStoreError(this.locateMetadata(zone, key.slice(key.lastIndexOf('/') + 1)), `cannot read key metadata: ${reason(error)}`, { cause: error });
      });
      if (doc) found.push(doc.value);
    }
    return found;
  }

  /** Takes a key's metadata out of the store, leaving its private key (the key archive moves that). */
  async forgetMetadata(zone: Name, id: string): Promise<void> {
    await this.documents.delete(this.metadataKey(zone, id), this.guarded(zone));
  }

  /** The write options of a key-state write: fenced by the zone's Key Master role in cluster mode. */
  private guarded(zone: Name): WriteOptions {
    return this.fence ? { guard: this.fence(zone) } : {};
  }

  /** Checks the key directory can be created and written, before any key is generated. */
  async checkWritable(zone: Name): Promise<void> {
    const dir = this.zoneDirectory(zone);
    try {
      await mkdir(dir, { recursive: true, mode: DIR_MODE });
      await writeFileAtomic(join(dir, '.write-test'), '', PRIVATE_MODE);
      await rm(join(dir, '.write-test'), { force: true });
    } catch (error) {
      throw new KeyStoreError(dir, `cannot write keys: ${reason(error)}`, { cause: error });
    }
  }

  /**
   * Writes new keys: all private keys, then all metadata. If any write fails, the files of
   * this call are removed again and the error names the path, so a failed signing leaves
   * the store as it was.
   */
  async add(zone: Name, keys: readonly StoredKey[]): Promise<void> {
    const dir = this.zoneDirectory(zone);
    const written: string[] = [];
    const listed: string[] = [];
    const sealed: string[] = [];
    let current = dir;
    try {
      await mkdir(dir, { recursive: true, mode: DIR_MODE });
      for (const key of keys) {
        if (isTokenKey(key.privateKey)) continue; // it stays in its token: the metadata says where
        if (this.sealing) {
          const sealedKey = sealedPrivateKeyKey(zone, key.metadata.id);
          current = this.documents.locate(sealedKey);
          const pem = Buffer.from(exportPrivateKeyPem(key.privateKey), 'utf8');
          try {
            await this.documents.write(sealedKey, SEALED_PRIVATE_KEY_DOCUMENT, this.sealing.seal(sealedKey, pem), this.guarded(zone));
          } finally {
            pem.fill(0);
          }
          sealed.push(sealedKey);
          continue;
        }
        current = join(dir, `${key.metadata.id}.pem`);
        await writeFileAtomic(current, exportPrivateKeyPem(key.privateKey), PRIVATE_MODE);
        written.push(current);
      }
      for (const key of keys) {
        current = this.locateMetadata(zone, key.metadata.id);
        await this.documents.write(this.metadataKey(zone, key.metadata.id), KEY_METADATA_DOCUMENT, key.metadata, this.guarded(zone));
        listed.push(key.metadata.id);
      }
    } catch (error) {
      await Promise.all(listed.map((id) => this.documents.delete(this.metadataKey(zone, id)).catch(() => undefined)));
      await Promise.all(written.map((p) => rm(p, { force: true }).catch(() => undefined)));
      await Promise.all(sealed.map((k) => this.documents.delete(k).catch(() => undefined)));
      throw new KeyStoreError(current, `cannot write: ${reason(error)}`, { cause: error });
    }
  }

  /**
   * Deletes a key for good. The metadata goes first (one durable delete in the store):
   * from then on the key is not in the store, so a crash after it leaves at most an unlisted
   * private key file, never a listed key that cannot sign. Then the private key: its file, or
   * its objects in the zone's PKCS#11 token.
   */
  async remove(zone: Name, metadata: KeyMetadata): Promise<void> {
    const dir = this.zoneDirectory(zone);
    let current = this.locateMetadata(zone, metadata.id);
    try {
      if (!(await this.documents.delete(this.metadataKey(zone, metadata.id), this.guarded(zone)))) throw new Error('its metadata is not in the store');
      const where = metadata.storage?.pkcs11;
      if (where) {
        current = `pkcs11:${where.token}/${where.id}`;
        const token = this.tokens.get(zone.lowercase().toString());
        if (!token || token.config.token !== where.token) throw new Error('the zone\'s keyStorage does not name this token; its objects are left there');
        token.destroy(where.id);
        return;
      }
      if (this.sealing) {
        current = this.documents.locate(sealedPrivateKeyKey(zone, metadata.id));
        await this.documents.delete(sealedPrivateKeyKey(zone, metadata.id), this.guarded(zone));
        return;
      }
      current = join(dir, `${metadata.id}.pem`);
      await rm(current, { force: true });
      await syncDirectory(dir);
    } catch (error) {
      throw new KeyStoreError(current, `cannot delete key ${metadata.id}: ${reason(error)}`, { cause: error });
    }
  }

  /** Replaces the metadata of existing keys (state changes, archived keys put back); private keys are untouched. */
  async updateMetadata(zone: Name, metadata: readonly KeyMetadata[]): Promise<void> {
    for (const m of metadata) {
      const path = this.locateMetadata(zone, m.id);
      try {
        await this.documents.write(this.metadataKey(zone, m.id), KEY_METADATA_DOCUMENT, m, this.guarded(zone));
      } catch (error) {
        throw new KeyStoreError(path, `cannot write: ${reason(error)}`, { cause: error });
      }
    }
  }
}
