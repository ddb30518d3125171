import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { UnsignState } from './rollover/unsign-sequence.js';
import type { SigningPolicy } from './signing-policy.js';

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

export interface PersistedZones {
  readonly version: 1;
  readonly zones: readonly PersistedZone[];
}

export class ZoneStateError extends Error {
  override readonly name = 'ZoneStateError';
}

/** `STATEDIR/zones.json`, written atomically (temp, fsync, rename, directory fsync). */
export class ZoneStateStore {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'zones.json');
  }

  async load(): Promise<PersistedZone[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new ZoneStateError(`${this.path}: cannot read: ${(error as Error).message}`);
    }
    let parsed: PersistedZones;
    try {
      parsed = JSON.parse(text) as PersistedZones;
    } catch (error) {
      throw new ZoneStateError(`${this.path}: not valid JSON (${(error as Error).message}); move it away to start without the zones it lists`);
    }
    if (parsed?.version !== 1 || !Array.isArray(parsed.zones)) throw new ZoneStateError(`${this.path}: not a version 1 zone state file`);
    for (const [i, z] of parsed.zones.entries())
      if (typeof z?.name !== 'string' || !z.name.endsWith('.')) throw new ZoneStateError(`${this.path}: zones[${i}] has no fully qualified name`);
    return [...parsed.zones];
  }

  async save(zones: readonly PersistedZone[]): Promise<void> {
    const body: PersistedZones = { version: 1, zones: [...zones].sort((a, b) => a.name.localeCompare(b.name)) };
    try {
      await writeFileAtomic(this.path, `${JSON.stringify(body, null, 2)}\n`, 0o600);
    } catch (error) {
      throw new ZoneStateError(`${this.path}: cannot write: ${(error as Error).message}`);
    }
  }
}
