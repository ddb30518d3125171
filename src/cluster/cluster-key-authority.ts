import type { ZoneKeyAuthority } from '../authority/zone-key-authority.js';
import { ClusterError } from './cluster-keys.js';
import type { TransferRequests } from './key-master-requests.js';
import type { KeyMasterRoles } from './key-master-role.js';

/** The zone domain's Key Master (authority/zone-key-authority.ts) on the cluster's roles and transfer requests. */
export function clusterKeyAuthority(roles: KeyMasterRoles, requests: TransferRequests): ZoneKeyAuthority {
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
