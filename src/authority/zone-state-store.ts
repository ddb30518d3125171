import { isObject } from '../store/document-envelope.js';
import { type DocumentChange, type DocumentStore, type DocumentType, StoreError } from '../store/document-store.js';
import type { UnsignState } from './rollover/unsign-sequence.js';
import type { SigningPolicy } from './signing-policy.js';
import { zoneStoreLabel } from './zone-store-label.js';

/**
 * What the server remembers about a zone across restarts, beyond the config file: zones added
 * with `zone add`, whether a zone was signed or unsigned by command (which then wins over the
 * config's `signing`), the policy it was signed with, and its Key Master.
 */
export interface PersistedZone {
  /** Lowercased, fully qualified. */
  readonly name: string;
  /** Set for zones added with `zone add` (config zones take their file from the config). */
  readonly file?: string;
  readonly allowTransfer?: readonly string[];
  /** Set once `zone sign`/`zone unsign` has been run: true signed, false unsigned. */
  readonly signed?: boolean;
  readonly policy?: SigningPolicy;
  /** The server that is the zone's Key Master. */
  readonly keyMaster?: string;
  /** A safe unsign under way (rollover/unsign-sequence.ts): resumed after a restart. */
  readonly unsigning?: UnsignState;
}

export class ZoneStateError extends Error {
  override readonly name = 'ZoneStateError';
}

/** Each zone's settings are one document, so that two writers of different zones never conflict. */
export const ZONE_SETTINGS_PREFIX = 'zone-settings/';
/** The one file that held every zone's settings before the store contract (`STATEDIR/zones.json`). */
const LEGACY_ZONES_KEY = 'zones';

const FIELDS = new Set(['name', 'file', 'allowTransfer', 'signed', 'policy', 'keyMaster', 'unsigning']);

function decodeZone(data: unknown, where: string, fault: (message: string) => Error): PersistedZone {
  if (!isObject(data)) throw fault(`${where}: not an object`);
  for (const key of Object.keys(data)) if (!FIELDS.has(key)) throw fault(`${where}.${key}: unknown field`);
  const { name, file, allowTransfer, signed, policy, keyMaster, unsigning } = data;
  if (typeof name !== 'string' || !name.endsWith('.')) throw fault(`${where}.name: missing or not a fully qualified name`);
  if (file !== undefined && typeof file !== 'string') throw fault(`${where}.file: not a string`);
  if (allowTransfer !== undefined && (!Array.isArray(allowTransfer) || allowTransfer.some((a) => typeof a !== 'string')))
    throw fault(`${where}.allowTransfer: not a list of strings`);
  if (signed !== undefined && typeof signed !== 'boolean') throw fault(`${where}.signed: not true or false`);
  if (policy !== undefined && !isObject(policy)) throw fault(`${where}.policy: not an object`);
  if (keyMaster !== undefined && typeof keyMaster !== 'string') throw fault(`${where}.keyMaster: not a string`);
  if (unsigning !== undefined && !isObject(unsigning)) throw fault(`${where}.unsigning: not an object`);
  return data as unknown as PersistedZone;
}

/** One zone's settings as a document of the store contract. */
export const ZONE_SETTINGS_DOCUMENT: DocumentType<PersistedZone> = {
  format: 'keymaster-zone-settings',
  version: 1,
  encode: (zone) => zone,
  decode: (data, fault) => decodeZone(data, 'data', fault),
};

/** `zones.json` as releases before the store contract wrote it: `{ "version": 1, "zones": [...] }`, no checksum. */
const LEGACY_ZONES_DOCUMENT: DocumentType<PersistedZone[]> = {
  format: 'keymaster-zones-before-store',
  version: 0,
  encode: () => {
    throw new Error('zones.json is only read (it is migrated to zone-settings/)');
  },
  decode: () => {
    throw new Error('zones.json is only read');
  },
  unlabelled(doc, fault) {
    if (doc['version'] !== 1 || !Array.isArray(doc['zones'])) throw fault('not a version 1 zone state file');
    return doc['zones'].map((z: unknown, i) => decodeZone(z, `zones[${i}]`, fault));
  },
};

/** A zone's stored settings and the revision they were read or written at. */
export interface StoredZone {
  readonly zone: PersistedZone;
  readonly revision: number;
}

/**
 * Every zone's settings in the store (`zone-settings/LABEL`, zone-store-label.ts). Another
 * writer of the same store (a second primary in cluster mode) is seen through `watch`.
 */
export class ZoneStateStore {
  constructor(private readonly documents: DocumentStore) {}

  /** Where the zone's settings live (a file in the file store), for errors. */
  locate(name: string): string {
    return this.documents.locate(this.keyOf(name));
  }

  /**
   * Every zone's settings. A `zones.json` from before the store contract is read once: each zone
   * becomes its own document, then the file goes; `migrated` is told how many zones it held.
   */
  async load(migrated?: (from: string, zones: number) => void): Promise<Map<string, StoredZone>> {
    try {
      await this.migrate(migrated);
      const zones = new Map<string, StoredZone>();
      for (const key of await this.documents.keys(ZONE_SETTINGS_PREFIX)) {
        const doc = await this.documents.read(key, ZONE_SETTINGS_DOCUMENT);
        if (doc) zones.set(doc.value.name, { zone: doc.value, revision: doc.revision });
      }
      return zones;
    } catch (error) {
      if (error instanceof StoreError) throw new ZoneStateError(`${error.where}: ${error.fault}; move it away to start without the zone settings it holds`);
      throw error;
    }
  }

  /** The settings stored at `key` (as a watch names it), or undefined when there are none. */
  async readKey(key: string): Promise<StoredZone | undefined> {
    const doc = await this.documents.read(key, ZONE_SETTINGS_DOCUMENT).catch((error: unknown) => {
      throw error instanceof StoreError ? new ZoneStateError(error.message) : error;
    });
    return doc && { zone: doc.value, revision: doc.revision };
  }

  /** Stores the zone's settings (durably); returns the revision written. */
  async save(zone: PersistedZone): Promise<number> {
    try {
      return (await this.documents.write(this.keyOf(zone.name), ZONE_SETTINGS_DOCUMENT, zone)).revision;
    } catch (error) {
      throw new ZoneStateError(`${this.locate(zone.name)}: cannot write: ${(error as Error).message}`);
    }
  }

  async delete(name: string): Promise<void> {
    try {
      await this.documents.delete(this.keyOf(name));
    } catch (error) {
      throw new ZoneStateError(`${this.locate(name)}: cannot remove: ${(error as Error).message}`);
    }
  }

  /** Calls `listener` with the key of every zone whose settings change (by this server or another writer). */
  watch(listener: (change: DocumentChange) => void): () => void {
    return this.documents.watch(ZONE_SETTINGS_PREFIX, listener);
  }

  /** The store key of a zone's settings. */
  keyOf(name: string): string {
    return `${ZONE_SETTINGS_PREFIX}${zoneStoreLabel(name)}`;
  }

  private async migrate(migrated?: (from: string, zones: number) => void): Promise<void> {
    const legacy = await this.documents.read(LEGACY_ZONES_KEY, LEGACY_ZONES_DOCUMENT);
    if (!legacy) return;
    // Each zone first, the old file last: a crash in between reads the old file again and rewrites the same documents.
    for (const zone of legacy.value) await this.documents.write(this.keyOf(zone.name), ZONE_SETTINGS_DOCUMENT, zone);
    await this.documents.delete(LEGACY_ZONES_KEY);
    migrated?.(this.documents.locate(LEGACY_ZONES_KEY), legacy.value.length);
  }
}
