import { logEvent, type Logger } from '../logging/logger.js';
import type { DocumentStore } from '../store/document-store.js';
import { DEFAULT_SIGNING_POLICY, normalizeSigningPolicy, type SigningPolicy } from './signing-policy.js';
import type { ZoneCatalog } from './zone-catalog.js';
import type { ZoneEntry } from './zone-entry.js';
import type { ZoneKeyAuthority } from './zone-key-authority.js';
import { FOLLOWED_KEYS, type ZoneSigning } from './zone-signing.js';
import { zoneStoreLabel } from './zone-store-label.js';

/** Where key metadata and sealed private keys are in the store (key-store.ts, sealed-private-key.ts). */
const KEY_PREFIXES = ['keys/', 'private-keys/'];

/**
 * Cluster mode: the zone's Key Master changes its keys (a rollover step, new keys, a key
 * removed); every other primary signs its copy again with the keys as stored, under the serial
 * it serves (the Key Master's serial change reaches it through the journal). Several key writes
 * in a row are one re-sign. Returns the way to stop.
 */
export function followKeys(o: { documents: DocumentStore; catalog: ZoneCatalog; signing: ZoneSigning; keyAuthority: ZoneKeyAuthority; logger: Logger }): () => void {
  const pending = new Set<string>();
  // A zone just signed on the Key Master (`zone sign` there): this server followed the settings
  // before the keys were written, could not sign then, and signs once they come.
  const policyOf = (entry: ZoneEntry): SigningPolicy | undefined => {
    if (entry.policy) return entry.policy;
    const p = o.catalog.persistedZone(entry.name.toString());
    return p?.signed ? normalizeSigningPolicy(p.policy ?? DEFAULT_SIGNING_POLICY) : undefined;
  };
  const changed = (key: string): void => {
    const label = key.split('/')[1];
    const entry = [...o.catalog.zones.values()].find((e) => zoneStoreLabel(e.name) === label);
    if (!entry || !policyOf(entry)) return;
    const zone = entry.name.toString();
    if (o.keyAuthority.isHeld(zone) || pending.has(zone)) return; // the holder signed with them when it wrote them
    pending.add(zone);
    void o.catalog.serialize(async () => {
      pending.delete(zone);
      const current = o.catalog.zones.get(zone);
      const policy = current && policyOf(current);
      if (!current || !policy || o.keyAuthority.isHeld(zone)) return;
      await o.signing.install({ ...current }, policy, FOLLOWED_KEYS).then(
        () => logEvent(o.logger, 'zone.keys-followed', { zone, keyMaster: current.keyMaster }, { msg: `the Key Master changed ${zone}'s keys: signed again with them` }),
        (error: Error) => logEvent(o.logger, 'zone.keys-follow-failed', { zone, error: error.message }, { level: 'error', msg: 'the Key Master changed the zone\'s keys but this server could not sign with them; it goes on with the keys it holds' }),
      );
    });
  };
  const stops = KEY_PREFIXES.map((prefix) => o.documents.watch(prefix, (change) => changed(change.key)));
  return () => stops.forEach((stop) => stop());
}
