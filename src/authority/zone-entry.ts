import type { TransferAclEntry } from '../config/schema.js';
import { Name } from '../wire/name.js';
import { checkDsPlacement } from './ds-placement.js';
import type { ManagedKey } from './key-master.js';
import type { UnsignState } from './rollover/unsign-sequence.js';
import type { SigningPolicy } from './signing-policy.js';
import { ZoneData } from './zone-db.js';
import { ZoneError } from './zone-error.js';
import { readZoneFile } from './zone-file-reader.js';
import type { PersistedZone } from './zone-state-store.js';
import { ZonesDirectoryError } from './zones-directory.js';

/** A primary zone hosted here: its file's data, what is served, and how it is signed. */
export interface ZoneEntry {
  readonly name: Name;
  readonly file: string;
  readonly source: 'config' | 'added';
  readonly allowTransfer: readonly TransferAclEntry[];
  /** The zone as its file says, without anything DNSSEC adds. */
  unsigned: ZoneData;
  /** What is served: `unsigned`, or the signed zone. */
  served: ZoneData;
  policy: SigningPolicy | undefined;
  keys: ManagedKey[];
  signedAt: number | undefined;
  keyMaster: string;
  /** From `zone sign`/`unsign`; undefined: the config's `signing` decides. */
  signedByCommand: boolean | undefined;
  /** Set while `zone unsign` waits for the DS to be gone from every cache (unsign-sequence.ts). */
  unsigning: UnsignState | undefined;
}

export interface ZoneSummary {
  readonly name: string;
  readonly file: string;
  readonly source: 'config' | 'added';
  readonly serial: number;
  readonly names: number;
  readonly records: number;
  readonly signed: boolean;
  readonly denial: 'nsec' | 'nsec3' | null;
  readonly keyMaster: string;
  readonly allowTransfer: readonly string[];
  readonly signedAt: string | null;
  /** Present while the zone is being unsigned: where the safe unsign is. */
  readonly unsigning?: UnsignState;
}

/** A freshly loaded zone, unsigned until it is installed; its Key Master and unsign progress from its persisted state. */
export function newZoneEntry(name: Name, file: string, source: 'config' | 'added', allow: readonly TransferAclEntry[], data: ZoneData, p: PersistedZone | undefined, serverName: string): ZoneEntry {
  return {
    name,
    file,
    source,
    allowTransfer: allow,
    unsigned: data,
    served: data,
    policy: undefined,
    keys: [],
    signedAt: undefined,
    keyMaster: p?.keyMaster ?? serverName,
    signedByCommand: p?.signed,
    unsigning: p?.signed !== false ? p?.unsigning : undefined,
  };
}

export function zoneSummary(e: ZoneEntry): ZoneSummary {
  return {
    name: e.name.toString(),
    file: e.file,
    source: e.source,
    serial: e.served.serial,
    names: e.served.nameCount,
    records: e.served.recordCount,
    signed: e.policy !== undefined,
    denial: e.policy?.denial ?? null,
    keyMaster: e.keyMaster,
    allowTransfer: e.allowTransfer.map((a) => a.text),
    signedAt: e.signedAt === undefined ? null : new Date(e.signedAt).toISOString(),
    ...(e.unsigning ? { unsigning: e.unsigning } : {}),
  };
}

export function zoneName(text: string): Name {
  try {
    return Name.parse(text.endsWith('.') ? text : `${text}.`).lowercase();
  } catch (error) {
    throw new ZoneError('bad-zone-name', `"${text}" is not a zone name: ${(error as Error).message}`);
  }
}

export async function loadZoneFile(name: Name, file: string, read = (f: string, n: Name) => readZoneFile(f, n)): Promise<ZoneData> {
  try {
    const parsed = await read(file, name);
    checkDsPlacement(name, parsed.records, parsed.sources);
    return ZoneData.fromRecords(name, parsed.records, parsed.sources);
  } catch (error) {
    if (error instanceof ZonesDirectoryError) throw new ZoneError('outside-zones-dir', error.message);
    throw new ZoneError('bad-zone-file', (error as Error).message);
  }
}
