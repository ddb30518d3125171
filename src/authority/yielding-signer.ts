import { setImmediate as nextTurn } from 'node:timers/promises';
import { signWith } from './private-key-handle.js';
import type { ResourceRecord } from '../wire/message.js';
import type { IncrementalOptions, RecordDiff } from './incremental-signer.js';
import { signChange } from './online-signer.js';
import { type PendingRrsig, type SigningKey, finishRrsig, prepareRrsig } from './rrset-signer.js';

/** Signatures made between two turns of the event loop: ~5 ms of ECDSA or RSA-2048 signing on one core. */
const SLICE = 50;

type Change = RecordDiff & { readonly records: readonly ResourceRecord[] };

/**
 * `signChange` without holding the event loop for the whole of a big change: a 2,000-record
 * UPDATE needs ~4,000 signatures, and signing them in one go left every other client unanswered
 * for the whole time. So the change is made with RRSIGs whose signature field is still to come
 * (their other fields, and the bytes they sign, are final); the signatures are then made a slice
 * at a time, with a turn of the event loop between slices, and written into those RRSIGs. The
 * new zone is nobody's until this returns: the zone served meanwhile is the previous one.
 */
export async function signChangeYielding(previous: Parameters<typeof signChange>[0], change: Change, o: IncrementalOptions): Promise<ReturnType<typeof signChange>> {
  await nextTurn(); // the UPDATE was decoded and applied in the turn before
  const owed: { key: SigningKey; pending: PendingRrsig; record: { rdata: Uint8Array } }[] = [];
  const result = signChange(previous, change, {
    ...o,
    signRrset: (rrset, key, window) => {
      const pending = prepareRrsig(rrset, key, window);
      const record = finishRrsig(pending, new Uint8Array(0));
      owed.push({ key, pending, record });
      return record;
    },
  });
  for (let i = 0; i < owed.length; i++) {
    if (i > 0 && i % SLICE === 0) await nextTurn();
    const { key, pending, record } = owed[i]!;
    // The record object is the one the new zone holds; only its RDATA is completed.
    record.rdata = finishRrsig(pending, signWith(key.algorithm, key.privateKey, pending.data)).rdata;
  }
  return result;
}
