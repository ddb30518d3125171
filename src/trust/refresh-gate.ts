import type { WriteGuard } from '../store/document-store.js';

/**
 * Cluster mode: which primary runs RFC 5011 active refresh of a trust point (one per trust point
 * for the whole cluster, so a hold-down runs once and survives the loss of any one server). The
 * refresher of a trust point queries, runs its timers and writes its state, every write guarded
 * by the role; every other server applies the TrustAnchors document through the store's watch
 * and validates with it. Alone (no gate), a server refreshes every trust point itself.
 */
export interface RefreshGate {
  /** A trust point this server knows: it becomes a candidate for its refresher role (resolves once it tried to take it). */
  follow(zone: string): Promise<void>;
  /** The guard of this trust point's state writes; throws while this server is not its refresher or its lease is in doubt. */
  fence(zone: string): readonly WriteGuard[];
  /** The refresher of the trust point as this server last saw it (undefined: none yet). */
  holderOf(zone: string): string | undefined;
  /** Called whenever this server takes a trust point's refresher role. */
  onAcquired(listener: (zone: string) => void): void;
}
