import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ResourceRecord } from '../wire/message.js';
import { RRType } from '../wire/rr-type.js';
import { type IncrementalOptions, type RecordDiff, incrementalRefusal } from './incremental-signer.js';
import { signChange } from './online-signer.js';
import { signWith } from './private-key-handle.js';
import { type PendingRrsig, type SigningKey, finishRrsig, prepareRrsig } from './rrset-signer.js';
import type { ZoneData } from './zone-db.js';

/** Signatures made between two turns of the event loop: a few ms of ECDSA or RSA-2048 signing. */
const SLICE = 50;
/** Owners one incremental step changes before the event loop gets a turn. */
const OWNERS_PER_STEP = 100;

type Change = RecordDiff & { readonly records: readonly ResourceRecord[] };
type Result = ReturnType<typeof signChange>;
interface Owed {
  readonly key: SigningKey;
  readonly pending: PendingRrsig;
  readonly record: { rdata: Uint8Array };
}

/**
 * `signChange` without holding the event loop for the whole of a big change: a 2,000-record
 * UPDATE needs ~4,000 signatures and a walk of the NSEC3 chain for each name, and doing all of
 * it at once left every other client unanswered for the whole time. So:
 *
 * - a change the incremental signer takes is applied in steps of OWNERS_PER_STEP owner names
 *   (the SOA in the last), each step's zone the next one's previous, with a turn of the event
 *   loop between steps; the zones between steps are nobody's;
 * - every RRSIG is made with its signature still to come (its other fields and the bytes it
 *   signs are final); the signatures of those the final zone holds are then made a slice at a
 *   time, between turns, and written into them.
 *
 * The zone served meanwhile is the previous one; the result is the one `signChange` gives.
 */
export async function signChangeYielding(previous: ZoneData, change: Change, o: IncrementalOptions): Promise<Result> {
  await nextTurn(); // the UPDATE was decoded and applied in the turn before
  const owed: Owed[] = [];
  const deferred: IncrementalOptions = {
    ...o,
    signRrset: (rrset, key, window) => {
      const pending = prepareRrsig(rrset, key, window);
      const record = finishRrsig(pending, new Uint8Array(0));
      owed.push({ key, pending, record });
      return record;
    },
  };
  let steps = o.refreshBatch === undefined && !incrementalRefusal(previous, change, o) ? ownerSteps(change) : [change];
  let result: Result | undefined;
  const touched = new Set<string>();
  let signedChanged = 0;
  for (let i = 0; i < steps.length; i++) {
    if (i > 0) await nextTurn();
    const before = result?.data ?? previous;
    if (steps.length > 1 && incrementalRefusal(before, steps[i]!, o)) {
      // Never expected (a step is part of a change the incremental signer took); if it happens, the change in one go.
      steps = [change];
      owed.length = 0;
      result = signChange(previous, change, deferred);
      break;
    }
    const step = steps[i]!;
    // `records` (the whole zone) only for the fallback that re-plans everything: never read in steps the incremental signer takes.
    const r = steps.length === 1 ? signChange(before, change, deferred) : signChange(before, { removed: step.removed, added: step.added, get records() { return change.records; } }, deferred);
    signedChanged += r.signedChanged;
    for (const t of r.touched) touched.add(t);
    result = steps.length === 1 ? r : { ...r, signedChanged, touched: [...touched] };
  }
  const data = result!.data;
  // A record signed in one step and replaced in a later one is not in the final zone: not signed.
  const live = steps.length === 1 ? owed : owed.filter((x) => holds(data, x.record as ResourceRecord));
  for (let i = 0; i < live.length; i++) {
    if (i > 0 && i % SLICE === 0) await nextTurn();
    const { key, pending, record } = live[i]!;
    // The record object is the one the new zone holds; only its RDATA is completed.
    record.rdata = finishRrsig(pending, signWith(key.algorithm, key.privateKey, pending.data)).rdata;
  }
  return result!;
}

/** The change cut into steps by owner name; the apex SOA (the serial) goes with the last. */
function ownerSteps(change: RecordDiff): RecordDiff[] {
  const owners = new Map<string, { removed: ResourceRecord[]; added: ResourceRecord[] }>();
  const soa: { removed: ResourceRecord[]; added: ResourceRecord[] } = { removed: [], added: [] };
  const put = (r: ResourceRecord, side: 'removed' | 'added') => {
    if (r.type === RRType.SOA) return void soa[side].push(r);
    let o = owners.get(r.name.key);
    if (!o) owners.set(r.name.key, (o = { removed: [], added: [] }));
    o[side].push(r);
  };
  for (const r of change.removed) put(r, 'removed');
  for (const r of change.added) put(r, 'added');
  if (owners.size <= OWNERS_PER_STEP) return [change];
  const steps: { removed: ResourceRecord[]; added: ResourceRecord[] }[] = [];
  let i = 0;
  for (const o of owners.values()) {
    if (i++ % OWNERS_PER_STEP === 0) steps.push({ removed: [], added: [] });
    steps.at(-1)!.removed.push(...o.removed);
    steps.at(-1)!.added.push(...o.added);
  }
  steps.at(-1)!.removed.push(...soa.removed);
  steps.at(-1)!.added.push(...soa.added);
  return steps;
}

/** Whether `data` holds this very RRSIG record object. */
function holds(data: ZoneData, sig: ResourceRecord): boolean {
  const covered = (sig.rdata[0]! << 8) | sig.rdata[1]!;
  const set = covered === RRType.NSEC3 ? data.nsec3ByOwnerName(sig.name) : data.rrset(sig.name, covered);
  return set?.sigs.includes(sig) ?? false;
}
