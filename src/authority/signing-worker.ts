import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { signData } from '../crypto/sign-verify.js';

/**
 * A signing thread (see parallel-signer.ts): receives the zone's keys once, then batches of
 * bytes to sign (each with the index of its key) and answers with the signatures in order.
 * It sees RRSIG signed data only; it does no I/O and logs nothing.
 */
export interface SigningWorkerKeys {
  readonly kind: 'keys';
  readonly keys: readonly { readonly algorithm: number; readonly privateKey: KeyObject }[];
}

export interface SigningWorkerBatch {
  readonly kind: 'batch';
  readonly id: number;
  readonly keyIndex: Uint16Array;
  readonly data: readonly Uint8Array[];
}

export interface SigningWorkerResult {
  readonly id: number;
  readonly signatures?: Uint8Array[];
  readonly error?: string;
}

let keys: SigningWorkerKeys['keys'] = [];

parentPort?.on('message', (message: SigningWorkerKeys | SigningWorkerBatch) => {
  if (message.kind === 'keys') {
    keys = message.keys;
    return;
  }
  try {
    const signatures = message.data.map((data, i) => {
      const key = keys[message.keyIndex[i]!]!;
      return signData(key.algorithm, key.privateKey, data);
    });
    parentPort!.postMessage({ id: message.id, signatures } satisfies SigningWorkerResult);
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: (error as Error).message } satisfies SigningWorkerResult);
  }
});
