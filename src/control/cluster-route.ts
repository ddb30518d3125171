/**
 * `GET /v1/cluster` → 200 ClusterStatus (`keymaster cluster status`). A server without a
 * `cluster:` section answers 409 `not-clustered`; etcd unreachable is 503 `unavailable`.
 */
import { ControlError } from './control-router.js';
import type { ControlApi } from './control-api.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';
import { StoreError } from '../store/document-store.js';
import type { ClusterRuntime } from '../cluster/cluster-runtime.js';

export function registerClusterRoute(api: ControlApi, cluster: ClusterRuntime | undefined): void {
  api.registerRoute(CONTROL_ROUTES.clusterStatus, async () => {
    if (!cluster) throw new ControlError(409, 'not-clustered', 'this server runs alone: its config has no cluster: section (docs/cluster.md)');
    try {
      return await cluster.status();
    } catch (error) {
      if (error instanceof StoreError && error.code === 'unavailable') throw new ControlError(503, 'unavailable', error.message);
      throw error;
    }
  });
}
