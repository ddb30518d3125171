import { randomUUID } from 'node:crypto';
import type { IKeyValue, Namespace, Watcher } from 'etcd3';
import { storeErrorOf } from '../store/etcd-errors.js';
import { ClusterError, keyMasterRoleKey } from './cluster-keys.js';
import type { KeyMasterRoles } from './key-master-role.js';
import type { ServerLease } from './server-lease.js';

export const KEY_MASTER_REQUESTS = 'requests/key-master/';

/** What `requests/key-master/ZONE` holds: hand the role to `target` (asked by `by`); `error` once the holder refused. */
interface TransferRequest {
  readonly target: string;
  readonly by: string;
  readonly id: string;
  readonly error?: string;
}

/**
 * `zone key-master ZONE SERVER` typed on any primary: the transfer has to happen on the holder
 * (only it knows when a rollover step is done). The asking server writes a request key (attached
 * to its own lease, so a request of a dead server vanishes); the holder watches them, hands the
 * role over at its safe point, and removes the request, or writes why it refused. The asker
 * resolves once etcd has the target as holder.
 */
export class TransferRequests {
  private watcher?: Watcher;
  private safePoint: (zone: string) => Promise<void> = async () => undefined;

  private constructor(
    private readonly ns: Namespace,
    private readonly roles: KeyMasterRoles,
    private readonly lease: ServerLease,
    private readonly log?: { info(o: object, m: string): void; warn(o: object, m: string): void },
  ) {}

  static async start(ns: Namespace, roles: KeyMasterRoles, lease: ServerLease, log?: TransferRequests['log']): Promise<TransferRequests> {
    const requests = new TransferRequests(ns, roles, lease, log);
    const fail = (error: unknown): never => {
      throw storeErrorOf(error, `etcd keys under ${KEY_MASTER_REQUESTS}`);
    };
    const res = await ns.getAll().prefix(KEY_MASTER_REQUESTS).exec().catch(fail);
    requests.watcher = await ns.watch().prefix(KEY_MASTER_REQUESTS).startRevision(String(Number(res.header.revision) + 1)).create().catch(fail);
    requests.watcher.on('put', (kv) => void requests.handle(kv));
    requests.watcher.on('error', (error) => log?.warn({ event: 'cluster.watch-error', prefix: KEY_MASTER_REQUESTS, error: error.message }, 'etcd watch of the transfer requests failed'));
    for (const kv of res.kvs) void requests.handle(kv);
    return requests;
  }

  /** The holder's safe point before a requested hand-over (the rollover engine: between two steps). */
  setSafePoint(safePoint: (zone: string) => Promise<void>): void {
    this.safePoint = safePoint;
  }

  /** Hands the zone's role to `target`, from whichever server holds it; resolves once etcd has `target` as holder. */
  async request(zone: string, target: string, timeoutMs = 30_000): Promise<void> {
    if (this.roles.isHeld(zone)) return this.roles.transfer(zone, target, () => this.safePoint(zone));
    const holder = (await this.roles.holders([zone]))[0];
    if (!holder) throw new ClusterError('not-holder', `${zone}: no server holds the Key Master role (a seize takes it)`);
    if (holder.server === target) return;
    const key = requestKey(zone);
    const request: TransferRequest = { target, by: this.lease.name, id: randomUUID() };
    await this.ns.put(key).value(JSON.stringify(request)).lease(this.lease.id).exec().catch((error: unknown) => {
      throw storeErrorOf(error, `etcd key ${key}`);
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const [now] = await this.roles.holders([zone]);
      if (now?.server === target) return;
      const pending = await this.read(key);
      if (pending?.id === request.id && pending.error) {
        await this.ns.if(key, 'Value', '==', JSON.stringify(pending)).then(this.ns.delete().key(key)).commit().catch(() => undefined);
        throw new ClusterError('held', `${zone}: the Key Master ${holder.server} refused to hand over to ${target}: ${pending.error}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await this.ns.if(key, 'Value', '==', JSON.stringify(request)).then(this.ns.delete().key(key)).commit().catch(() => undefined);
    throw new ClusterError('held', `${zone}: the Key Master ${holder.server} did not hand over within ${timeoutMs / 1000} s (is it up? a seize takes the role once its lease has expired)`);
  }

  async close(): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
  }

  /** On the holder: a request for one of its zones is carried out at the safe point, or answered with why not. */
  private async handle(kv: IKeyValue): Promise<void> {
    const key = kv.key.toString();
    const zone = key.slice(KEY_MASTER_REQUESTS.length);
    let request: TransferRequest;
    try {
      request = JSON.parse(kv.value.toString()) as TransferRequest;
    } catch {
      return;
    }
    if (request.error || !this.roles.isHeld(zone === '_root.' ? '.' : zone)) return;
    const unchanged = () => this.ns.if(key, 'Mod', '==', Number(kv.mod_revision));
    try {
      await this.roles.transfer(zone, request.target, () => this.safePoint(zone));
      await unchanged().then(this.ns.delete().key(key)).commit();
    } catch (error) {
      this.log?.warn({ event: 'key-master.transfer-refused', zone, target: request.target, by: request.by, error: (error as Error).message }, 'Key Master transfer request refused');
      await unchanged()
        .then(this.ns.put(key).value(JSON.stringify({ ...request, error: (error as Error).message })).ignoreLease())
        .commit()
        .catch(() => undefined);
    }
  }

  private async read(key: string): Promise<TransferRequest | undefined> {
    const text = await this.ns.get(key).string().catch(() => null);
    try {
      return text ? (JSON.parse(text) as TransferRequest) : undefined;
    } catch {
      return undefined;
    }
  }
}

function requestKey(zone: string): string {
  return `${KEY_MASTER_REQUESTS}${keyMasterRoleKey(zone).split('/').pop()}`;
}
