import { StoreError } from './document-store.js';

/**
 * What an etcd3 (gRPC) failure means to a caller of the store contract. Unreachable, timed
 * out, no leader, no quorum: 'unavailable' (nothing was changed; try again when etcd is back).
 * Anything else etcd refused: 'io', with etcd's own words.
 */
export function storeErrorOf(error: unknown, where: string): StoreError {
  if (error instanceof StoreError) return error;
  const e = error as Error;
  const text = `${e?.name ?? ''} ${e?.message ?? String(error)}`;
  if (UNAVAILABLE.test(text)) return new StoreError('unavailable', where, `etcd cannot be reached (${e?.message ?? String(error)}); nothing was changed`);
  return new StoreError('io', where, `etcd refused: ${e?.message ?? String(error)}`);
}

const UNAVAILABLE =
  /GRPCUnavailable|GRPCDeadlineExceeded|GRPCConnectFailed|BrokenCircuit|ClientClosed|UNAVAILABLE|DEADLINE_EXCEEDED|No connection established|ECONNREFUSED|leader changed|no leader|timed out|Deadline exceeded|circuit/i;
