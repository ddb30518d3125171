import type { PrivateKeySealing } from '../authority/sealed-private-key.js';
import type { ZoneKeyAuthority } from '../authority/zone-key-authority.js';
import { ClusterError } from '../cluster/cluster-keys.js';
import { readKeyEncryptionKey } from '../cluster/key-encryption-key.js';
import { type KeyEncryptionKey, type SealedKey, fileKeyEncryptionKey, openPrivateKey, sealPrivateKey } from '../cluster/key-envelope.js';
import type { TransferRequests } from '../cluster/key-master-requests.js';
import type { KeyMasterRoles } from '../cluster/key-master-role.js';
import type { ClusterRuntime } from '../cluster/cluster-runtime.js';
import type { KeyEncryptionKeySetting } from '../config/cluster-schema.js';
import { openTokenKeyEncryptionKey } from './token-key-encryption-key.js';

/** `cluster.keyEncryptionKey`: the 0600 file's key, or the AES key in a PKCS#11 token (which never leaves it). */
export function openKeyEncryptionKey(setting: KeyEncryptionKeySetting): KeyEncryptionKey {
  return typeof setting === 'string' ? fileKeyEncryptionKey(readKeyEncryptionKey(setting)) : openTokenKeyEncryptionKey(setting.pkcs11);
}

/** What the zone domain is given in cluster mode (authority/zone-service.ts `cluster`). */
export function clusterZones(cluster: ClusterRuntime): { name: string; sealing?: PrivateKeySealing; keyAuthority: ZoneKeyAuthority } {
  const kek = cluster.keyEncryptionKey;
  return { name: cluster.name, keyAuthority: clusterKeyAuthority(cluster.roles, cluster.requests), ...(kek ? { sealing: envelopeSealing(kek) } : {}) };
}

/**
 * Private keys sealed in the AES-256-GCM envelope under the cluster's key-encryption key: the
 * data key wrapped in this process (a KEK file) or by the token (a KEK in an HSM); the document
 * says which.
 */
function envelopeSealing(kek: KeyEncryptionKey): PrivateKeySealing {
  return {
    seal: (name, plaintext) => ({ ...sealPrivateKey(kek, name, plaintext) }),
    open: (name, sealed) => openPrivateKey(kek, name, sealed as unknown as SealedKey),
  };
}

/** The zone domain's Key Master (authority/zone-key-authority.ts) on the cluster's roles and transfer requests. */
function clusterKeyAuthority(roles: KeyMasterRoles, requests: TransferRequests): ZoneKeyAuthority {
  return {
    claim: async (zone) => {
      await roles.follow(zone);
      return roles.acquire(zone);
    },
    holderOf: (zone) => roles.holderOf(zone),
    isHeld: (zone) => roles.isHeld(zone),
    fence: (zone) => roles.fence(zone),
    async move(zone, server, seize) {
      if (seize) {
        if (server !== roles.serverName) throw new ClusterError('not-holder', `--seize takes the role for the server it runs on (${roles.serverName}), not ${server}: run it there`);
        return roles.seize(zone);
      }
      if (roles.holderOf(zone) === server && !roles.isHeld(zone)) return;
      return requests.request(zone, server);
    },
    setSafePoint: (safePoint) => requests.setSafePoint(safePoint),
    onHolderChanged(listener) {
      roles.onHolderChanged = listener;
    },
  };
}
