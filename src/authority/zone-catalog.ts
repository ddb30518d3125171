import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import { type ZoneEntry, zoneName } from './zone-entry.js';
import { ZoneError } from './zone-error.js';
import type { PersistedZone, ZoneStateStore } from './zone-state-store.js';

/**
 * The primary zones hosted here, what the state dir remembers of them (zones.json), and the one
 * queue every change to them goes through: changes are made one at a time, in order.
 */
export class ZoneCatalog {
  readonly zones = new Map<string, ZoneEntry>();
  private persisted = new Map<string, PersistedZone>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Names served as secondary zones, so that asking for one as a primary says so. */
  isSecondary: (name: Name) => boolean = () => false;

  constructor(
    private readonly state: ZoneStateStore,
    readonly serverName: string,
  ) {}

  /** Reads zones.json; returns every zone it remembers. */
  async load(): Promise<readonly PersistedZone[]> {
    const persisted = await this.state.load();
    this.persisted = new Map(persisted.map((z) => [z.name, z]));
    return persisted;
  }

  persistedZone(name: string): PersistedZone | undefined {
    return this.persisted.get(name);
  }

  /** Runs zone changes one at a time, in order. */
  serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The primary zone `zone` names; throws `no-such-zone` (or `secondary-zone`). */
  entry(zone: string): ZoneEntry {
    const name = zoneName(zone);
    const entry = this.zones.get(name.toString());
    if (!entry && this.isSecondary(name)) throw new ZoneError('secondary-zone', `zone ${name.toString()} is a secondary zone: served as transferred from its primaries`);
    if (!entry) throw new ZoneError('no-such-zone', `no local zone ${name.toString()}`);
    return entry;
  }

  /** The local zone that holds `name`: the longest match. */
  findZone(name: Name): ZoneEntry | undefined {
    for (let n = name; ; n = n.parent()) {
      const entry = this.zones.get(n.lowercase().toString());
      if (entry) return entry;
      if (n.isRoot) return undefined;
    }
  }

  /** The zone hosted here that delegates `child` (its nearest enclosing local zone, with NS at the child). */
  localParentOf(child: ZoneEntry): ZoneEntry | undefined {
    if (child.name.isRoot) return undefined;
    const parent = this.findZone(child.name.parent());
    return parent && parent.unsigned.rrset(child.name, RRType.NS) ? parent : undefined;
  }

  /** Records the zone's state in zones.json (atomically); the in-memory copy changes only once it is written. */
  async persist(entry: ZoneEntry | undefined, name: string, removed = false): Promise<void> {
    const next = new Map(this.persisted);
    if (removed || !entry) next.delete(name);
    else {
      const p: PersistedZone = {
        name,
        ...(entry.source === 'added' ? { file: entry.file, allowTransfer: entry.allowTransfer.map((a) => a.text) } : {}),
        ...(entry.signedByCommand === undefined ? {} : { signed: entry.signedByCommand }),
        ...(entry.policy ? { policy: entry.policy } : {}),
        ...(entry.keyMaster !== this.serverName ? { keyMaster: entry.keyMaster } : {}),
        ...(entry.unsigning ? { unsigning: entry.unsigning } : {}),
      };
      next.set(name, p);
    }
    await this.state.save([...next.values()]);
    this.persisted = next;
  }
}
