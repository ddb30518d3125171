import type { Name } from '../wire/name.js';
import type { KeyMetadata, KeyStore } from './key-store.js';

/** A key `purgeRetiredKeys` deleted, or could not delete (with why). */
export interface PurgedKey {
  readonly metadata: KeyMetadata;
  readonly error?: string;
}

/**
 * The zone's keys that have been retired for at least `retentionSeconds` at `now` (ms). Only
 * keys in state `retired` (no longer published, signing nothing); never one a live key's
 * rollover record still names as its successor, so a rollover in progress never loses its key.
 */
export function keysDueForPurge(keys: readonly KeyMetadata[], now: number, retentionSeconds: number): KeyMetadata[] {
  const named = new Set(keys.filter((k) => k.state !== 'retired').map((k) => k.rollover?.successor).filter((id): id is string => id !== undefined));
  return keys.filter((k) => {
    if (k.state !== 'retired' || named.has(k.id)) return false;
    const since = Date.parse(k.retired ?? k.created);
    return Number.isFinite(since) && now - since >= retentionSeconds * 1000;
  });
}

/**
 * Deletes the zone's keys retired longer than the retention (`dnssec.rollover.retiredKeyRetention`):
 * files or token objects and their metadata (KeyStore.remove). One key that cannot be deleted is
 * reported and the others still go; it is tried again on the next pass.
 */
export async function purgeRetiredKeys(store: KeyStore, zone: Name, now: number, retentionSeconds: number): Promise<PurgedKey[]> {
  const due = keysDueForPurge((await store.list(zone)).map((k) => k.metadata), now, retentionSeconds);
  const purged: PurgedKey[] = [];
  for (const metadata of due) {
    try {
      await store.remove(zone, metadata);
      purged.push({ metadata });
    } catch (error) {
      purged.push({ metadata, error: (error as Error).message });
    }
  }
  return purged;
}
