import type { IKeyValue, Namespace, Watcher } from 'etcd3';
import type { DocumentStore, DocumentType, StoredDocument, WriteGuard, WriteOptions } from '../store/document-store.js';
import { storeErrorOf } from '../store/etcd-errors.js';
import { ClusterError, KEY_MASTER_ROLES, roleKey, serverKey, zoneOfRole } from './cluster-keys.js';
import type { ServerLease, ServerRecord } from './server-lease.js';

/** A zone's Key Master as etcd has it: the role key's value, lease and incarnation. */
export interface RoleState {
  readonly zone: string;
  readonly server: string;
  readonly lease: string;
  /** The role key's etcd version and create revision: the fence of every key-state write. */
  readonly version: number;
  readonly created: number;
}

export interface RoleHolder {
  readonly zone: string;
  readonly server: string;
  /** Seconds the holder's lease has left (-1 when etcd says it has expired). */
  readonly leaseRemaining: number;
}

/** Which per-zone role: where its keys live, the prefix of its log events, what people call its holder. */
export interface RoleKind {
  readonly prefix: string;
  readonly event: string;
  readonly title: string;
}

export const KEY_MASTER_ROLE: RoleKind = { prefix: KEY_MASTER_ROLES, event: 'key-master', title: 'Key Master' };

export interface KeyMasterRolesOptions {
  /** Take the role of a followed zone by itself once its holder's lease has expired. */
  readonly autoFailover: boolean;
  readonly log?: { info(o: object, m: string): void; warn(o: object, m: string): void };
  /** Default: the Key Master. The RFC 5011 refresher per trust point is the same mechanism. */
  readonly kind?: RoleKind;
  /** Told when this server took a role (acquire, seize, failover). */
  readonly onAcquired?: (zone: string) => void;
}

/**
 * The Key Master role per zone, held through this server's etcd lease: the key
 * `roles/key-master/ZONE` holds the holder's name and is attached to its lease, so it vanishes
 * when the holder dies or is cut off for a TTL.
 *
 * - `acquire`/`seize` take a vacant role (a transaction on "the key does not exist"): a seize is
 *   refused while the holder's lease is alive, as `Reset-DnsServerZoneKeyMasterRole -SeizeRole`
 *   needs the holder gone;
 * - `transfer` is the holder handing the role to a live named server, at a safe point the caller
 *   supplies (between rollover steps): one transaction rewrites the key with the target's name
 *   and lease, only if this server still holds it;
 * - `isHeld` is false the moment this server's keep-alive is in doubt;
 * - `fencedWrite` (and `fence` for a store write) guard every key-state write by the role key's
 *   create revision and version as this server last saw them, so a deposed holder that wakes up
 *   late cannot write: etcd refuses the transaction.
 */
export class KeyMasterRoles {
  private readonly roles = new Map<string, RoleState>();
  private readonly followed = new Set<string>();
  private watcher?: Watcher;
  private readonly onRenewed = (): void => void this.takeVacant();
  private readonly kind: RoleKind;
  /** Told whenever a zone's holder as seen here changes (the zone domain names its Key Master from it). */
  onHolderChanged: (zone: string, holder: string | undefined) => void = () => {};

  private constructor(
    private readonly ns: Namespace,
    private readonly store: DocumentStore,
    private readonly lease: ServerLease,
    private readonly options: KeyMasterRolesOptions,
  ) {
    this.kind = options.kind ?? KEY_MASTER_ROLE;
  }

  /** Loads every role and watches them from there on (a transfer to this server is seen at once). */
  static async start(ns: Namespace, store: DocumentStore, lease: ServerLease, options: KeyMasterRolesOptions): Promise<KeyMasterRoles> {
    const roles = new KeyMasterRoles(ns, store, lease, options);
    const prefix = roles.kind.prefix;
    const res = await ns
      .getAll()
      .prefix(prefix)
      .exec()
      .catch((error: unknown) => {
        throw storeErrorOf(error, `etcd keys under ${prefix}`);
      });
    for (const kv of res.kvs) roles.apply(kv);
    roles.watcher = await ns
      .watch()
      .prefix(prefix)
      .startRevision(String(Number(res.header.revision) + 1))
      .create()
      .catch((error: unknown) => {
        throw storeErrorOf(error, `etcd watch of ${prefix}`);
      });
    roles.watcher.on('put', (kv) => roles.apply(kv));
    roles.watcher.on('delete', (kv) => roles.vacated(kv));
    // etcd cancelled the watch (a compaction past it): logged, never an uncaught 'error' that ends the process.
    roles.watcher.on('error', (error) => options.log?.warn({ event: 'cluster.watch-error', prefix, error: error.message }, `etcd watch of the ${roles.kind.title} roles failed`));
    lease.on('renewed', roles.onRenewed);
    return roles;
  }

  get serverName(): string {
    return this.lease.name;
  }

  /** A zone this server serves: with autoFailover, its role is taken whenever it is vacant. */
  async follow(zone: string): Promise<void> {
    this.followed.add(normalise(zone));
    if (this.options.autoFailover) await this.takeVacant();
  }

  /** True only while etcd has this server as the zone's Key Master under its current lease, and that lease is not in doubt. */
  isHeld(zone: string): boolean {
    const state = this.roles.get(normalise(zone));
    return state !== undefined && state.server === this.lease.name && state.lease === this.lease.id && !this.lease.inDoubt();
  }

  /** The holder as this server last saw it (undefined: vacant). */
  holderOf(zone: string): string | undefined {
    return this.roles.get(normalise(zone))?.server;
  }

  /** Takes the role when it is vacant; resolves to the holder afterwards (this server or the one that has it). */
  async acquire(zone: string): Promise<string> {
    const key = roleKey(this.kind.prefix, zone);
    if (this.lease.inDoubt()) throw new ClusterError('lease-lost', `${this.lease.name}: its cluster lease is in doubt; it takes no role until etcd confirms it`);
    const res = await this.ns
      .if(key, 'Create', '==', 0)
      .then(this.ns.put(key).value(this.lease.name).lease(this.lease.id))
      .commit()
      .catch((error: unknown) => {
        throw storeErrorOf(error, `etcd key ${key}`);
      });
    // Read back through the namespace (a transaction's own range answer carries the full etcd key).
    const kv = await this.fetch(key);
    if (kv) this.apply(kv);
    if (res.succeeded) {
      this.options.log?.info({ event: `${this.kind.event}.acquired`, zone: normalise(zone), server: this.lease.name }, `${this.kind.title} role taken`);
      this.options.onAcquired?.(normalise(zone));
    }
    return kv?.value.toString() ?? this.lease.name;
  }

  /** Takes the role of a holder that is gone; refused (code 'held') while its lease is alive. */
  async seize(zone: string): Promise<void> {
    const holder = await this.acquire(zone);
    if (holder !== this.lease.name || !this.isHeld(zone)) {
      const left = (await this.holders([zone]))[0]?.leaseRemaining ?? 0;
      throw new ClusterError('held', `${normalise(zone)}: the ${this.kind.title} ${holder} is alive (its lease has ${left} s left); transfer the role from it, or seize once it is gone`);
    }
  }

  /**
   * Hands the role to `target` (a live server), waiting first for `safePoint` (the caller's: no
   * rollover step half done). Refused when this server does not hold the role, or the target is
   * not a live member.
   */
  async transfer(zone: string, target: string, safePoint: () => Promise<void> = async () => undefined): Promise<void> {
    const z = normalise(zone);
    if (target === this.lease.name) return void (await this.acquire(z));
    this.fence(z); // not the holder: refused before waiting for anything
    const targetKey = serverKey(target);
    const targetKv = await this.fetch(targetKey);
    if (!targetKv) throw new ClusterError('unknown-server', `${target} is not a live member of the cluster (no ${targetKey})`);
    await safePoint();
    const fence = this.fence(z);
    const record = JSON.parse(targetKv.value.toString()) as ServerRecord;
    const key = roleKey(this.kind.prefix, z);
    const res = await this.ns
      .if(key, 'Create', '==', fence[0]!.created!)
      .and(key, 'Version', '==', fence[0]!.revision)
      .and(targetKey, 'Mod', '==', Number(targetKv.mod_revision))
      .then(this.ns.put(key).value(target).lease(record.lease))
      .commit()
      .catch((error: unknown) => {
        throw storeErrorOf(error, `etcd key ${key}`);
      });
    if (!res.succeeded) throw new ClusterError('not-holder', `${z}: the role or ${target} changed meanwhile; nothing was transferred`);
    const kv = await this.fetch(key);
    if (kv) this.apply(kv);
    this.options.log?.info({ event: `${this.kind.event}.transferred`, zone: z, from: this.lease.name, to: target }, `${this.kind.title} role transferred`);
  }

  /** The guard of a key-state write for `zone`; throws 'not-holder' unless `isHeld(zone)`. */
  fence(zone: string): WriteGuard[] {
    const z = normalise(zone);
    const state = this.roles.get(z);
    if (!state || !this.isHeld(z))
      throw new ClusterError('not-holder', `${z}: ${this.lease.name} is not the ${this.kind.title}${state ? ` (${state.server} is)` : ''}${this.lease.inDoubt() ? ' or its lease is in doubt' : ''}; no key action`);
    return [{ key: roleKey(this.kind.prefix, z), revision: state.version, created: state.created }];
  }

  /** A key-state write that lands only while this server holds the zone's role (checked by etcd in the same transaction). */
  async fencedWrite<T>(zone: string, key: string, type: DocumentType<T>, value: T, options: WriteOptions = {}): Promise<StoredDocument<T>> {
    return this.store.write(key, type, value, { ...options, guard: [...(options.guard ?? []), ...this.fence(zone)] });
  }

  /** Every zone's Key Master with its lease's time left (asks etcd). */
  async holders(zones?: readonly string[]): Promise<RoleHolder[]> {
    const wanted = zones?.map(normalise);
    const prefix = this.kind.prefix;
    const res = await this.ns
      .getAll()
      .prefix(prefix)
      .exec()
      .catch((error: unknown) => {
        throw storeErrorOf(error, `etcd keys under ${prefix}`);
      });
    const out: RoleHolder[] = [];
    for (const kv of res.kvs) {
      const zone = zoneOfRole(prefix, kv.key.toString());
      if (wanted && !wanted.includes(zone)) continue;
      const ttl = await this.ns.leaseClient.leaseTimeToLive({ ID: kv.lease }).then((r) => Number(r.TTL), () => -1);
      out.push({ zone, server: kv.value.toString(), leaseRemaining: ttl });
    }
    return out;
  }

  async close(): Promise<void> {
    this.lease.off('renewed', this.onRenewed);
    await this.watcher?.cancel().catch(() => undefined);
  }

  private apply(kv: IKeyValue): void {
    const zone = zoneOfRole(this.kind.prefix, kv.key.toString());
    const before = this.roles.get(zone);
    const state: RoleState = { zone, server: kv.value.toString(), lease: kv.lease, version: Number(kv.version), created: Number(kv.create_revision) };
    // An older event never replaces a newer state (a watch may lag our own transaction's answer).
    if (before && before.created === state.created && before.version >= state.version) return;
    if (before && before.created > state.created) return;
    this.roles.set(zone, state);
    if (before?.server !== state.server) this.onHolderChanged(zone, state.server);
  }

  private vacated(kv: IKeyValue): void {
    const zone = zoneOfRole(this.kind.prefix, kv.key.toString());
    // A late delete of an earlier incarnation does not clear the one taken since.
    const state = this.roles.get(zone);
    if (state && state.created > Number(kv.mod_revision)) return;
    this.roles.delete(zone);
    this.options.log?.info({ event: `${this.kind.event}.vacant`, zone }, `${this.kind.title} role vacant (its holder lease expired or was revoked)`);
    this.onHolderChanged(zone, undefined);
    if (this.options.autoFailover && this.followed.has(zone)) void this.acquire(zone).catch((error: unknown) => this.warnFailover(zone, error));
  }

  private async takeVacant(): Promise<void> {
    if (!this.options.autoFailover) return;
    for (const zone of this.followed) if (!this.roles.has(zone)) await this.acquire(zone).catch((error: unknown) => this.warnFailover(zone, error));
  }

  private warnFailover(zone: string, error: unknown): void {
    this.options.log?.warn({ event: `${this.kind.event}.failover-failed`, zone, error: (error as Error).message }, `could not take the vacant ${this.kind.title} role`);
  }

  private async fetch(key: string): Promise<IKeyValue | undefined> {
    const res = await this.ns
      .get(key)
      .exec()
      .catch((error: unknown) => {
        throw storeErrorOf(error, `etcd key ${key}`);
      });
    const kv = res.kvs[0];
    // etcd3's single-key get leaves the namespace prefix on the key (its getAll removes it).
    return kv && { ...kv, key: Buffer.from(key) };
  }
}

function normalise(zone: string): string {
  return zoneOfRole(KEY_MASTER_ROLES, roleKey(KEY_MASTER_ROLES, zone));
}
