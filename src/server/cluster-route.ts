/**
 * `GET /v1/cluster` → 200 ClusterStatus (`keymaster cluster status`). A server without a
 * `cluster:` section answers 409 `not-clustered`; etcd unreachable is 503 `unavailable`.
 */
import { ControlError, type ControlRouter } from './control-router.js';
import { StoreError } from '../store/document-store.js';
import type { ClusterRuntime } from '../cluster/cluster-runtime.js';

export function registerClusterRoute(control: Pick<ControlRouter, 'registerRoute'>, cluster: ClusterRuntime | undefined): void {
  control.registerRoute('GET', '/v1/cluster', async () => {
    if (!cluster) throw new ControlError(409, 'not-clustered', 'this server runs alone: its config has no cluster: section (docs/cluster.md)');
    try {
      return await cluster.status();
    } catch (error) {
      if (error instanceof StoreError && error.code === 'unavailable') throw new ControlError(503, 'unavailable', error.message);
      throw error;
    }
  });
}
