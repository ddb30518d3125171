import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isObject } from '../store/document-envelope.js';
import type { DocumentStore, DocumentType } from '../store/document-store.js';
import { readTextParts, writeTextParts } from '../store/text-parts.js';
import type { ResourceRecord } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { parseZoneText, zoneToText } from '../wire/zone-file.js';
import { zoneDirectoryName } from './key-store.js';
import { zoneStoreLabel } from './zone-store-label.js';

/**
 * What the secondary zones keep, as documents of the store contract:
 * - `secondary-zones`: the secondary zones added by `zone add --primary` (config ones are in the config);
 * - `secondaries/ZONE/state`: when the copy was last refreshed and when it expires, and which
 *   generation of the copy is current (rewritten alone when a check finds the copy current);
 * - `secondaries/ZONE/copy-GEN-PART`: the copy as transferred (DNSSEC records included), zone
 *   file text in parts (store/text-parts.ts), written before the state names it.
 * The files of the layout before the store (`STATEDIR/secondary/zones.json`, `ZONE.zone`,
 * `ZONE.state`) are read once and removed once their content is stored.
 */

export interface SecondaryTimes {
  /** ms since the epoch. */
  readonly lastRefresh: number;
  readonly expiresAt: number;
}

export interface AddedSecondary {
  readonly name: string;
  readonly primaries: readonly string[];
  readonly tsig?: string;
  /** CIDR prefixes that may transfer the copy on (a chain of secondaries). */
  readonly allowTransfer?: readonly string[];
}

interface CopyState {
  readonly lastRefresh?: string;
  readonly expiresAt?: string;
  readonly copy?: { readonly generation: number; readonly parts: number };
}

function decodeAdded(data: unknown, fault: (message: string) => Error): AddedSecondary[] {
  if (!Array.isArray(data)) throw fault('not a list of secondary zones');
  return data.map((z: unknown, i) => {
    if (!isObject(z) || typeof z['name'] !== 'string' || !Array.isArray(z['primaries'])) throw fault(`zones[${i}]: not { name, primaries }`);
    const allow = z['allowTransfer'];
    return { name: Name.parse(z['name']).lowercase().toString(), primaries: z['primaries'].map(String), ...(typeof z['tsig'] === 'string' ? { tsig: z['tsig'] } : {}), allowTransfer: Array.isArray(allow) ? allow.map(String) : [] };
  });
}

const ADDED_DOCUMENT: DocumentType<AddedSecondary[]> = {
  format: 'keymaster-secondary-zones',
  version: 1,
  encode: (zones) => zones,
  decode: decodeAdded,
  // `secondary/zones.json` before the store: { "zones": [...] }.
  unlabelled: (doc, fault) => decodeAdded(doc['zones'], fault),
};

const STATE_DOCUMENT: DocumentType<CopyState> = {
  format: 'keymaster-secondary-state',
  version: 1,
  encode: (state) => state,
  decode(data, fault) {
    if (!isObject(data)) throw fault('data: not an object');
    const copy = data['copy'];
    if (copy !== undefined && (!isObject(copy) || !Number.isSafeInteger(copy['generation']) || !Number.isSafeInteger(copy['parts']))) throw fault('data.copy: not { generation, parts }');
    return data as CopyState;
  },
};

const ADDED_KEY = 'secondary-zones';
const LEGACY_ADDED_KEY = 'secondary/zones';

export class SecondaryStore {
  /** `STATEDIR/secondary`: the files of the layout before the store. */
  readonly dir: string;

  constructor(
    stateDir: string,
    private readonly documents: DocumentStore,
    /** Told when files of the layout before the store were read into it. */
    private readonly migrated?: (from: string, to: string) => void,
  ) {
    this.dir = join(stateDir, 'secondary');
  }

  private prefix(zone: Name): string {
    return `secondaries/${zoneStoreLabel(zone)}/`;
  }

  private legacyPath(zone: Name, ext: string): string {
    return join(this.dir, `${zoneDirectoryName(zone)}.${ext}`);
  }

  private async state(zone: Name): Promise<CopyState | undefined> {
    return (await this.documents.read(`${this.prefix(zone)}state`, STATE_DOCUMENT))?.value;
  }

  /** Stores a new copy: its parts, then the state naming them; then the parts of the copy before go. */
  async saveCopy(zone: Name, records: readonly ResourceRecord[]): Promise<void> {
    const state = await this.state(zone);
    const generation = (state?.copy?.generation ?? 0) + 1;
    const copyPrefix = `${this.prefix(zone)}copy-${String(generation).padStart(12, '0')}`;
    const parts = await writeTextParts(this.documents, copyPrefix, zoneToText(records, zone));
    await this.documents.write(`${this.prefix(zone)}state`, STATE_DOCUMENT, { ...state, copy: { generation, parts } });
    await this.dropOtherCopies(zone, copyPrefix);
  }

  /** Parts of copies the state does not name (older ones, or one a crash left half written). */
  private async dropOtherCopies(zone: Name, keep: string): Promise<void> {
    for (const key of await this.documents.keys(`${this.prefix(zone)}copy-`)) if (!key.startsWith(`${keep}-`)) await this.documents.delete(key);
  }

  async saveTimes(zone: Name, times: SecondaryTimes): Promise<void> {
    const state = await this.state(zone);
    await this.documents.write(`${this.prefix(zone)}state`, STATE_DOCUMENT, { ...state, lastRefresh: new Date(times.lastRefresh).toISOString(), expiresAt: new Date(times.expiresAt).toISOString() });
  }

  /** The stored copy and its times, or undefined when there is none; a damaged one is an error naming it. */
  async load(zone: Name): Promise<{ records: ResourceRecord[]; times: SecondaryTimes | undefined } | undefined> {
    const state = (await this.state(zone)) ?? (await this.migrateCopy(zone));
    if (!state?.copy) return undefined;
    const copyPrefix = `${this.prefix(zone)}copy-${String(state.copy.generation).padStart(12, '0')}`;
    const text = await readTextParts(this.documents, copyPrefix, state.copy.parts, (where, i) => new Error(`${where}: part ${i + 1} of ${state.copy!.parts} of the copy is missing`));
    await this.dropOtherCopies(zone, copyPrefix);
    const records = parseZoneText(text, { origin: zone, fileName: this.documents.locate(`${copyPrefix}-000000000000`) }).records;
    const lastRefresh = Date.parse(state.lastRefresh ?? '');
    const expiresAt = Date.parse(state.expiresAt ?? '');
    // No times: the copy is checked at once and counts as refreshed never.
    return { records, times: Number.isFinite(lastRefresh) && Number.isFinite(expiresAt) ? { lastRefresh, expiresAt } : undefined };
  }

  /** A copy of the layout before the store (`ZONE.zone`, `ZONE.state`): stored, then its files go. */
  private async migrateCopy(zone: Name): Promise<CopyState | undefined> {
    const file = this.legacyPath(zone, 'zone');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    await this.saveCopy(zone, parseZoneText(text, { origin: zone, fileName: file }).records);
    try {
      const raw = JSON.parse(await readFile(this.legacyPath(zone, 'state'), 'utf8')) as { lastRefresh: string; expiresAt: string };
      const lastRefresh = Date.parse(raw.lastRefresh);
      const expiresAt = Date.parse(raw.expiresAt);
      if (Number.isFinite(lastRefresh) && Number.isFinite(expiresAt)) await this.saveTimes(zone, { lastRefresh, expiresAt });
    } catch {
      // no times: checked at once
    }
    await this.removeLegacy(zone);
    this.migrated?.(file, this.prefix(zone));
    return this.state(zone);
  }

  private async removeLegacy(zone: Name): Promise<void> {
    await rm(this.legacyPath(zone, 'zone'), { force: true });
    await rm(this.legacyPath(zone, 'state'), { force: true });
  }

  async delete(zone: Name): Promise<void> {
    for (const key of await this.documents.keys(this.prefix(zone))) await this.documents.delete(key);
    await this.removeLegacy(zone);
  }

  async loadAdded(): Promise<AddedSecondary[]> {
    const stored = await this.documents.read(ADDED_KEY, ADDED_DOCUMENT);
    if (stored) return stored.value;
    const legacy = await this.documents.read(LEGACY_ADDED_KEY, ADDED_DOCUMENT);
    if (!legacy) return [];
    await this.saveAdded(legacy.value);
    await this.documents.delete(LEGACY_ADDED_KEY);
    this.migrated?.(this.documents.locate(LEGACY_ADDED_KEY), ADDED_KEY);
    return legacy.value;
  }

  async saveAdded(zones: readonly AddedSecondary[]): Promise<void> {
    await this.documents.write(ADDED_KEY, ADDED_DOCUMENT, [...zones]);
  }
}
