import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import { type ZoneEntry, zoneName } from './zone-entry.js';
import { ZoneError } from './zone-error.js';
import type { PersistedZone, StoredZone, ZoneStateStore } from './zone-state-store.js';

/** What another writer of the store did to a zone's settings: `now` undefined when it removed them. */
export type ZoneSettingsChange = (name: string, now: PersistedZone | undefined, before: PersistedZone | undefined) => Promise<void>;

/**
 * The primary zones hosted here, what the store remembers of them (zone-state-store.ts), and the
 * one queue every change to them goes through: changes are made one at a time, in order.
 */
export class ZoneCatalog {
  readonly zones = new Map<string, ZoneEntry>();
  private persisted = new Map<string, StoredZone>();
  private queue: Promise<unknown> = Promise.resolve();
  private unwatch: (() => void) | undefined;
  /** Names served as secondary zones, so that asking for one as a primary says so. */
  isSecondary: (name: Name) => boolean = () => false;

  constructor(
    private readonly state: ZoneStateStore,
    readonly serverName: string,
  ) {}

  /** Reads every zone's settings (migrating a `zones.json` of before the store contract); returns them. */
  async load(migrated?: (from: string, zones: number) => void): Promise<readonly PersistedZone[]> {
    this.persisted = await this.state.load(migrated);
    return [...this.persisted.values()].map((s) => s.zone);
  }

  persistedZone(name: string): PersistedZone | undefined {
    return this.persisted.get(name)?.zone;
  }

  /**
   * Follows the zone settings in the store: a change this catalog did not write (another server
   * sharing the store) is handed to `apply` in the queue, after the changes before it.
   */
  follow(apply: ZoneSettingsChange, failed: (name: string, error: Error) => void): void {
    this.unwatch?.();
    this.unwatch = this.state.watch((change) => {
      void this.serialize(async () => {
        const stored = change.revision === undefined ? undefined : await this.state.readKey(change.key).catch((error: Error) => {
          failed(change.key, error); // a damaged document is not a removal
          return null;
        });
        if (stored === null) return;
        const name = stored?.zone.name ?? [...this.persisted.keys()].find((n) => this.state.keyOf(n) === change.key);
        if (name === undefined) return;
        const before = this.persisted.get(name);
        if (!stored && !before) return;
        if (stored && before && stored.revision === before.revision && JSON.stringify(stored.zone) === JSON.stringify(before.zone)) return; // written here
        if (stored) this.persisted.set(name, stored);
        else this.persisted.delete(name);
        await apply(name, stored?.zone, before?.zone).catch((error: Error) => failed(name, error));
      });
    });
  }

  stopFollowing(): void {
    this.unwatch?.();
    this.unwatch = undefined;
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

  /** Records the zone's settings in the store (atomically); the in-memory copy changes only once they are written. */
  async persist(entry: ZoneEntry | undefined, name: string, removed = false): Promise<void> {
    if (removed || !entry) {
      await this.state.delete(name);
      this.persisted.delete(name);
    } else {
      const p: PersistedZone = {
        name,
        ...(entry.source === 'added' ? { file: entry.file, allowTransfer: entry.allowTransfer.map((a) => a.text) } : {}),
        ...(entry.signedByCommand === undefined ? {} : { signed: entry.signedByCommand }),
        ...(entry.policy ? { policy: entry.policy } : {}),
        ...(entry.keyMaster !== this.serverName ? { keyMaster: entry.keyMaster } : {}),
        ...(entry.unsigning ? { unsigning: entry.unsigning } : {}),
      };
      const revision = await this.state.save(p);
      this.persisted.set(name, { zone: p, revision });
    }
  }
}
