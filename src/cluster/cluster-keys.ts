/**
 * Where cluster state lives under the store prefix (the same namespace as the documents, so a
 * document write can be guarded by a role key in one etcd transaction).
 */

/** `servers/NAME`: one per running primary, attached to its lease (gone when the lease expires). */
export function serverKey(name: string): string {
  return `servers/${name}`;
}

export const KEY_MASTER_ROLES = 'roles/key-master/';

/** `roles/key-master/ZONE` (zone lowercased, the root as `_root.`): value = the holder's name, attached to its lease. */
export function keyMasterRoleKey(zone: string): string {
  return `${KEY_MASTER_ROLES}${zoneLabel(zone)}`;
}

export function zoneOfRoleKey(key: string): string {
  const label = key.slice(KEY_MASTER_ROLES.length);
  return label === '_root.' ? '.' : label;
}

function zoneLabel(zone: string): string {
  const lower = zone.toLowerCase();
  const absolute = lower.endsWith('.') ? lower : `${lower}.`;
  return absolute === '.' ? '_root.' : absolute;
}

export type ClusterErrorCode = 'held' | 'not-holder' | 'unknown-server' | 'name-taken' | 'lease-lost' | 'unavailable';

/** A cluster operation refused; `code` is stable for callers (the control API maps it to HTTP). */
export class ClusterError extends Error {
  override readonly name = 'ClusterError';
  constructor(
    readonly code: ClusterErrorCode,
    message: string,
  ) {
    super(message);
  }
}
