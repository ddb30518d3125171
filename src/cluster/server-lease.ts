import { EventEmitter } from 'node:events';
import { EtcdLeaseInvalidError, type Lease, type Namespace } from 'etcd3';
import type { Clock } from '../clock.js';
import { storeErrorOf } from '../store/etcd-errors.js';
import { ClusterError, serverKey } from './cluster-keys.js';
import { LeaseValidity } from './lease-validity.js';

export interface ServerLeaseOptions {
  readonly name: string;
  readonly ttlSeconds: number;
  /** Doubt starts this long before the lease could expire (default: a third of the TTL, at least 1 s). */
  readonly marginMs?: number;
  readonly clock: Clock;
  readonly log?: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

/** What `servers/NAME` holds: which lease is this server's now. */
export interface ServerRecord {
  readonly name: string;
  readonly lease: string;
  readonly since: string;
  /** The version of each shared document this server has applied (cluster status: its replication lag), and when it said so. */
  readonly applied?: Readonly<Record<string, number>>;
  /** The number of the last journal change it has applied, per zone (its replication lag on the zones). */
  readonly zones?: Readonly<Record<string, number>>;
  readonly reportedAt?: string;
}

/**
 * This server's presence in the cluster: one etcd lease, kept alive every third of its TTL, and
 * the key `servers/NAME` attached to it. Everything the server holds (Key Master roles) hangs on
 * this lease, so when the server dies or is cut off, etcd frees all of it after the TTL.
 *
 * `inDoubt()` turns true the moment a keep-alive has not been confirmed in time (on the
 * injectable clock); the lease lost, a new one is granted and 'renewed' is emitted (roles are
 * not taken back by themselves: they were freed with the old lease).
 */
export class ServerLease extends EventEmitter {
  private lease?: Lease;
  private leaseId = '';
  private readonly validity: LeaseValidity;
  private timer?: NodeJS.Timeout;
  private inFlight = false;
  private stopped = false;
  private since = '';
  private progress: () => Record<string, number> = () => ({});
  private zoneProgress: () => Record<string, number> = () => ({});
  private reported = '';
  private reporting = false;

  constructor(
    private readonly ns: Namespace,
    private readonly options: ServerLeaseOptions,
  ) {
    super();
    this.validity = new LeaseValidity(options.marginMs ?? Math.max(1000, (options.ttlSeconds * 1000) / 3));
  }

  get name(): string {
    return this.options.name;
  }

  /** The current lease's id (decimal, as etcd3 gives it); '' before the first grant. */
  get id(): string {
    return this.leaseId;
  }

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  inDoubt(): boolean {
    return this.stopped || this.validity.inDoubt(this.options.clock.now());
  }

  remainingMs(): number {
    return this.stopped ? 0 : this.validity.remaining(this.options.clock.now());
  }

  /**
   * What this server has applied of the shared documents: sent with `servers/NAME` now and
   * whenever it changed, at the latest with the next keep-alive (a third of the TTL).
   */
  reportProgress(progress: () => Record<string, number>): void {
    this.progress = progress;
    void this.report();
  }

  /** The same for the zones' journals: the change number applied, by zone. */
  reportZones(progress: () => Record<string, number>): void {
    this.zoneProgress = progress;
    void this.report();
  }

  /** Rewrites `servers/NAME` (on this lease) when what it applied changed since it last said. */
  async report(): Promise<void> {
    const { applied, zones, text } = this.current();
    if (this.reporting || this.stopped || !this.lease || text === this.reported) return;
    this.reporting = true;
    try {
      await this.ns.put(serverKey(this.name)).value(JSON.stringify(this.record(applied, zones))).lease(this.leaseId);
      this.reported = text;
    } catch {
      // etcd unreachable or the lease gone: said again with the next keep-alive (or the new lease).
    } finally {
      this.reporting = false;
    }
  }

  private current(): { applied: Record<string, number>; zones: Record<string, number>; text: string } {
    const applied = this.progress();
    const zones = this.zoneProgress();
    return { applied, zones, text: JSON.stringify([applied, zones]) };
  }

  private record(applied: Record<string, number>, zones: Record<string, number>): ServerRecord {
    return { name: this.name, lease: this.leaseId, since: this.since, applied, zones, reportedAt: new Date(this.options.clock.now()).toISOString() };
  }

  /** Grants the lease and registers `servers/NAME`; refused when a live server already has the name. */
  async start(): Promise<void> {
    await this.register();
    const interval = Math.max(200, (this.options.ttlSeconds * 1000) / 3);
    this.timer = setInterval(() => void this.keepAlive(), interval);
    this.timer.unref();
  }

  /** Stops keeping the lease alive and revokes it (frees every role at once: a clean shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.lease?.revoke().catch(() => undefined);
  }

  /** Stops keeping the lease alive without revoking it: etcd frees the roles after the TTL (as if the server died). */
  abandon(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.lease?.release();
  }

  private async register(): Promise<void> {
    const lease = this.ns.lease(this.options.ttlSeconds, { autoKeepAlive: false });
    lease.on('lost', () => undefined); // handled by keepAlive(); etcd3 emits it too
    const sentAt = this.options.clock.now();
    let id: string;
    try {
      id = await lease.grant();
    } catch (error) {
      throw storeErrorOf(error, `etcd lease for server ${this.name}`);
    }
    const key = serverKey(this.name);
    const { applied, zones, text } = this.current();
    const record: ServerRecord = { name: this.name, lease: id, since: new Date(this.options.clock.now()).toISOString(), applied, zones, reportedAt: new Date(this.options.clock.now()).toISOString() };
    const res = await this.ns
      .if(key, 'Version', '==', 0)
      .then(this.ns.put(key).value(JSON.stringify(record)).lease(id))
      .else(this.ns.get(key))
      .commit()
      .catch((error: unknown) => {
        throw storeErrorOf(error, `etcd key ${key}`);
      });
    if (!res.succeeded) {
      await lease.revoke().catch(() => undefined);
      throw new ClusterError('name-taken', `another live server is registered as ${this.name} (${key}); each primary needs its own cluster.name`);
    }
    this.lease = lease;
    this.leaseId = id;
    this.since = record.since;
    this.reported = text;
    this.validity.confirmed(sentAt, this.options.ttlSeconds);
    this.options.log?.info({ event: 'cluster.lease-granted', server: this.name, lease: id, ttl: this.options.ttlSeconds }, 'cluster lease granted');
  }

  private async keepAlive(): Promise<void> {
    if (this.inFlight || this.stopped || !this.lease) return;
    this.inFlight = true;
    const sentAt = this.options.clock.now();
    try {
      const res = await this.lease.keepaliveOnce({ deadline: Date.now() + (this.options.ttlSeconds * 1000) / 3 });
      this.validity.confirmed(sentAt, Number(res.TTL));
      void this.report();
    } catch (error) {
      if (error instanceof EtcdLeaseInvalidError) await this.renew();
      else this.options.log?.warn({ event: 'cluster.keepalive-failed', server: this.name, error: (error as Error).message }, 'cluster lease keep-alive failed');
    } finally {
      this.inFlight = false;
    }
  }

  /** The lease expired (we were cut off or frozen past it): everything it held is gone; start again. */
  private async renew(): Promise<void> {
    this.validity.lost();
    this.options.log?.warn({ event: 'cluster.lease-lost', server: this.name, lease: this.leaseId }, 'cluster lease lost: every role it held is free');
    this.emit('lost');
    try {
      await this.register();
      this.emit('renewed');
    } catch (error) {
      this.options.log?.warn({ event: 'cluster.lease-regrant-failed', server: this.name, error: (error as Error).message }, 'cluster lease could not be granted again');
    }
  }
}
