import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { ResourceRecord } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { parseZoneText, zoneToText } from '../wire/zone-file.js';
import { zoneDirectoryName } from './key-store.js';

/**
 * What a secondary zone keeps in `STATEDIR/secondary/`, each file written atomically:
 * - `ZONE.zone`: the copy as transferred (DNSSEC records included), in zone file form;
 * - `ZONE.state`: when it was last refreshed and when it expires (JSON), rewritten alone when a
 *   check finds the copy current;
 * - `zones.json`: the secondary zones added by `zone add --primary` (config ones are in the config).
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

export class SecondaryStore {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'secondary');
  }

  private path(zone: Name, ext: string): string {
    return join(this.dir, `${zoneDirectoryName(zone)}.${ext}`);
  }

  async saveCopy(zone: Name, records: readonly ResourceRecord[]): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path(zone, 'zone'), zoneToText(records, zone), 0o600);
  }

  async saveTimes(zone: Name, times: SecondaryTimes): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path(zone, 'state'), `${JSON.stringify({ lastRefresh: new Date(times.lastRefresh).toISOString(), expiresAt: new Date(times.expiresAt).toISOString() })}\n`, 0o600);
  }

  /** The stored copy and its times, or undefined when there is none; a damaged file is an error naming it. */
  async load(zone: Name): Promise<{ records: ResourceRecord[]; times: SecondaryTimes | undefined } | undefined> {
    const file = this.path(zone, 'zone');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    const records = parseZoneText(text, { origin: zone, fileName: file }).records;
    let times: SecondaryTimes | undefined;
    try {
      const raw = JSON.parse(await readFile(this.path(zone, 'state'), 'utf8')) as { lastRefresh: string; expiresAt: string };
      const lastRefresh = Date.parse(raw.lastRefresh);
      const expiresAt = Date.parse(raw.expiresAt);
      if (Number.isFinite(lastRefresh) && Number.isFinite(expiresAt)) times = { lastRefresh, expiresAt };
    } catch {
      times = undefined; // no times: the copy is checked at once and counts as refreshed never
    }
    return { records, times };
  }

  async delete(zone: Name): Promise<void> {
    await rm(this.path(zone, 'zone'), { force: true });
    await rm(this.path(zone, 'state'), { force: true });
  }

  async loadAdded(): Promise<AddedSecondary[]> {
    const file = join(this.dir, 'zones.json');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return [];
    }
    try {
      const raw = JSON.parse(text) as { zones: AddedSecondary[] };
      return raw.zones.map((z) => ({ name: Name.parse(z.name).lowercase().toString(), primaries: [...z.primaries], ...(z.tsig ? { tsig: z.tsig } : {}), allowTransfer: [...(z.allowTransfer ?? [])] }));
    } catch (error) {
      throw new Error(`${file}: not a list of secondary zones: ${(error as Error).message}`);
    }
  }

  async saveAdded(zones: readonly AddedSecondary[]): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.dir, 'zones.json'), `${JSON.stringify({ zones }, null, 2)}\n`, 0o600);
  }
}
