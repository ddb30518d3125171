import { logEvent, type Logger } from '../logging/logger.js';
import type { Name } from '../wire/name.js';
import type { PrimaryTransfers } from './primary-transfers.js';
import { DEFAULT_SIGNING_POLICY, normalizeSigningPolicy } from './signing-policy.js';
import type { ZoneCatalog } from './zone-catalog.js';
import type { ZoneCommands } from './zone-commands.js';
import { zoneName } from './zone-entry.js';
import { FOLLOWED_SETTINGS, type ZoneSigning } from './zone-signing.js';
import type { PersistedZone } from './zone-state-store.js';

export interface ZoneSettingsFollowerOptions {
  readonly catalog: ZoneCatalog;
  readonly commands: ZoneCommands;
  readonly signing: ZoneSigning;
  readonly transfers: PrimaryTransfers;
  readonly logger: Logger;
  readonly onZoneChanged?: ((zone: Name) => void) | undefined;
  /** Cluster mode: the zone's Key Master is the role's holder (zone-key-authority.ts), not what the settings say. */
  readonly keyMasterOf?: ((zone: string) => string | undefined) | undefined;
}

/**
 * Zone settings changed in the store by another writer (another server sharing it, in cluster
 * mode) take effect here: a zone added there is loaded from its file, one removed there stops
 * being served (its keys and journal stay: they are that server's to archive), and a change of
 * Key Master, signing or unsign progress is applied to the zone as served.
 */
export function followZoneSettings(o: ZoneSettingsFollowerOptions): void {
  const { catalog } = o;
  const apply = async (name: string, now: PersistedZone | undefined, before: PersistedZone | undefined): Promise<void> => {
    const entry = catalog.zones.get(name);
    const fields = { zone: name, by: 'store' };
    if (!now) {
      if (entry?.source !== 'added') return; // a config zone keeps being served, with the config's settings from the next start
      catalog.zones.delete(name);
      await o.transfers.remove(entry.name);
      logEvent(o.logger, 'zone.removed', fields, { msg: `zone ${name} removed by another writer of the store` });
    } else if (!entry) {
      if (!now.file) return;
      await o.commands.loadAddedZone(now);
      logEvent(o.logger, 'zone.added', fields, { msg: `zone ${name} added by another writer of the store` });
    } else {
      entry.keyMaster = o.keyMasterOf?.(name) ?? now.keyMaster ?? catalog.serverName;
      entry.signedByCommand = now.signed;
      entry.unsigning = now.signed !== false ? now.unsigning : undefined;
      if (now.signed !== before?.signed || JSON.stringify(now.policy) !== JSON.stringify(before?.policy)) {
        const policy = now.signed === false ? undefined : now.policy || now.signed ? normalizeSigningPolicy(now.policy ?? DEFAULT_SIGNING_POLICY) : entry.policy;
        await o.signing.install({ ...entry }, policy, FOLLOWED_SETTINGS);
      }
      logEvent(o.logger, 'zone.settings-changed', { ...fields, keyMaster: entry.keyMaster, signed: now.signed ?? null }, { msg: `zone ${name}'s settings changed by another writer of the store` });
    }
    o.onZoneChanged?.(zoneName(name));
  };
  catalog.follow(apply, (zone, error) => logEvent(o.logger, 'zone.settings-change-failed', { zone, error: error.message }, { level: 'error', msg: 'a change of zone settings made in the store could not be applied here' }));
}
