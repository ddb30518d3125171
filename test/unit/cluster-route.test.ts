import { describe, expect, it } from 'vitest';
import type { ClusterRuntime } from '../../src/cluster/cluster-runtime.js';
import { registerClusterRoute } from '../../src/control/cluster-route.js';
import type { ControlHandler } from '../../src/control/control-router.js';
import { StoreError } from '../../src/store/document-store.js';

function route(cluster: ClusterRuntime | undefined): ControlHandler {
  let handler: ControlHandler | undefined;
  registerClusterRoute({ registerRoute: (r: { method: string; path: string }, h: ControlHandler) => void (r.method === 'GET' && r.path === '/v1/cluster' && (handler = h)) } as never, cluster);
  return handler!;
}

describe('GET /v1/cluster', () => {
  it('409 not-clustered on a server without cluster:', async () => {
    await expect(Promise.resolve(route(undefined)({} as never))).rejects.toMatchObject({ status: 409, code: 'not-clustered' });
  });

  it('503 unavailable, with the store\'s words, when etcd cannot be reached', async () => {
    const cluster = { status: async () => Promise.reject(new StoreError('unavailable', 'etcd http://a:2379', 'etcd cannot be reached (no connection); nothing was changed')) } as unknown as ClusterRuntime;
    await expect(Promise.resolve(route(cluster)({} as never))).rejects.toMatchObject({ status: 503, code: 'unavailable', message: expect.stringMatching(/etcd cannot be reached/) });
  });
});
