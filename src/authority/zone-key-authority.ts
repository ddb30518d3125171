import type { WriteGuard } from '../store/document-store.js';

/**
 * Who may act on a zone's keys when several primaries share them (cluster mode): the zone's Key
 * Master, one per zone (cluster/key-master-role.ts). Every primary signs its own copy with the
 * stored keys; only the holder generates keys, runs rollover steps, publishes CDS/CDNSKEY and
 * writes key state, every such write guarded by `fence` (etcd refuses it once the role moved).
 * Zones are fully qualified, lowercased names.
 */
export interface ZoneKeyAuthority {
  /** Takes the zone's role when it is vacant; the holder afterwards (this server or another). */
  claim(zone: string): Promise<string>;
  /** The holder as last seen (undefined: vacant). */
  holderOf(zone: string): string | undefined;
  /** This server holds the role under a lease that is not in doubt. */
  isHeld(zone: string): boolean;
  /** The guard of a key-state write; throws unless `isHeld(zone)`. */
  fence(zone: string): WriteGuard[];
  /**
   * `zone key-master ZONE SERVER`: hands the role over at the holder's safe point (from any
   * primary: the holder carries it out). With `seize`, SERVER must be this server: it takes the
   * role of a holder that is gone; refused while the holder's lease is alive.
   */
  move(zone: string, server: string, seize: boolean): Promise<void>;
  /** What a transfer waits for on the holder: no rollover step half done. */
  setSafePoint(safePoint: (zone: string) => Promise<void>): void;
  /** Told whenever a zone's holder changes (taken, transferred, vacant). */
  onHolderChanged(listener: (zone: string, holder: string | undefined) => void): void;
}
