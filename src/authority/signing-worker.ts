import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { signData } from '../crypto/sign-verify.js';

/**
 * A signing thread (see parallel-signer.ts): receives the zone's keys once, then batches of
 * bytes to sign (each with the index of its key) and answers with the signatures in order.
 * A batch travels as one buffer with end offsets, both ways, and is transferred rather than
 * copied: thousands of small arrays per message cost the main thread more than the signing
 * saves. It sees RRSIG signed data only; it does no I/O and logs nothing.
 */
export interface SigningWorkerKeys {
  readonly kind: 'keys';
  readonly keys: readonly { readonly algorithm: number; readonly privateKey: KeyObject }[];
}

export interface SigningWorkerBatch {
  readonly kind: 'batch';
  readonly id: number;
  /** Per item: the index of its key in `keys`. */
  readonly keyIndex: Uint16Array;
  /** The items' signed data, back to back. */
  readonly data: Uint8Array;
  /** Per item: where its data ends in `data`. */
  readonly ends: Uint32Array;
}

export interface SigningWorkerResult {
  readonly id: number;
  /** The signatures, back to back, in the batch's order. */
  readonly signatures?: Uint8Array;
  /** Per item: where its signature ends in `signatures`. */
  readonly ends?: Uint32Array;
  readonly error?: string;
}

let keys: SigningWorkerKeys['keys'] = [];

/** Signs every item of a batch; the signatures packed like the data. */
function signBatch(batch: Omit<SigningWorkerBatch, 'kind' | 'id'>, batchKeys: SigningWorkerKeys['keys']): { signatures: Uint8Array<ArrayBuffer>; ends: Uint32Array<ArrayBuffer> } {
  const count = batch.ends.length;
  const parts: Uint8Array[] = new Array(count);
  const ends = new Uint32Array(count);
  let start = 0;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const key = batchKeys[batch.keyIndex[i]!];
    if (!key) throw new Error(`batch item ${i}: no key ${batch.keyIndex[i]}`);
    const end = batch.ends[i]!;
    const signature = signData(key.algorithm, key.privateKey, batch.data.subarray(start, end));
    start = end;
    parts[i] = signature;
    total += signature.length;
    ends[i] = total;
  }
  const signatures = new Uint8Array(total);
  let pos = 0;
  for (const s of parts) {
    signatures.set(s, pos);
    pos += s.length;
  }
  return { signatures, ends };
}

parentPort?.on('message', (message: SigningWorkerKeys | SigningWorkerBatch) => {
  if (message.kind === 'keys') {
    keys = message.keys;
    return;
  }
  try {
    const { signatures, ends } = signBatch(message, keys);
    parentPort!.postMessage({ id: message.id, signatures, ends } satisfies SigningWorkerResult, [signatures.buffer, ends.buffer]);
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: (error as Error).message } satisfies SigningWorkerResult);
  }
});
