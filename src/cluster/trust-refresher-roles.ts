import { EventEmitter } from 'node:events';
import type { Namespace } from 'etcd3';
import type { DocumentStore, WriteGuard } from '../store/document-store.js';
import { TRUST_REFRESHER_ROLES } from './cluster-keys.js';
import { KeyMasterRoles, type RoleHolder, type RoleKind } from './key-master-role.js';
import type { ServerLease } from './server-lease.js';

export const TRUST_REFRESHER_ROLE: RoleKind = { prefix: TRUST_REFRESHER_ROLES, event: 'trust-refresher', title: 'RFC 5011 refresher' };

type Log = { info(o: object, m: string): void; warn(o: object, m: string): void };

/**
 * One RFC 5011 refresher per trust point for the whole cluster: the key
 * `roles/trust-refresher/ZONE`, attached to the holder's lease, by the same mechanism as the Key
 * Master role. Every primary is a candidate for every trust point it knows and takes a vacant
 * role by itself (no operator needed: the whole RFC 5011 state is in etcd, and every write of
 * the refresher is fenced by the role, so the next holder simply goes on from it).
 *
 * Per trust point rather than one role for all: a trust point's role is its own fence, a
 * takeover of one trust point leaves the others' refresh undisturbed, and `cluster status` names
 * the refresher of each trust point as it names each zone's Key Master.
 *
 * This is the `RefreshGate` of src/trust/refresh-gate.ts (structurally: cluster/ does not import trust/).
 */
export class TrustRefresherRoles {
  private readonly events = new EventEmitter();
  private readonly followed = new Set<string>();

  private constructor(readonly roles: KeyMasterRoles) {}

  static async start(ns: Namespace, store: DocumentStore, lease: ServerLease, log?: Log): Promise<TrustRefresherRoles> {
    let self: TrustRefresherRoles | undefined;
    const roles = await KeyMasterRoles.start(ns, store, lease, {
      autoFailover: true,
      kind: TRUST_REFRESHER_ROLE,
      ...(log ? { log } : {}),
      onAcquired: (zone) => self?.events.emit('acquired', zone),
    });
    self = new TrustRefresherRoles(roles);
    return self;
  }

  /** A trust point this server knows: it takes its role when vacant, now and whenever its holder goes. */
  async follow(zone: string): Promise<void> {
    if (this.followed.has(zone)) return;
    this.followed.add(zone);
    await this.roles.follow(zone);
  }

  fence(zone: string): readonly WriteGuard[] {
    return this.roles.fence(zone);
  }

  isHeld(zone: string): boolean {
    return this.roles.isHeld(zone);
  }

  holderOf(zone: string): string | undefined {
    return this.roles.holderOf(zone);
  }

  onAcquired(listener: (zone: string) => void): void {
    this.events.on('acquired', listener);
  }

  /** Every trust point's refresher with its lease's time left (asks etcd). */
  holders(): Promise<RoleHolder[]> {
    return this.roles.holders();
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
    await this.roles.close();
  }
}
