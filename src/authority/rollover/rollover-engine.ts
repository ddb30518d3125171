import type { KeyMetadata } from '../key-store.js';
import type { SigningPolicy } from '../signing-policy.js';
import { algorithmRolloverLead, algorithmRolloverOf } from './algorithm-rollover.js';
import { algorithmRolloverStep } from './algorithm-rollover-step.js';
import { doubleSignatureKskStep } from './double-signature-ksk-rollover.js';
import { Keys, byCreated, pendingAction, rolloverMethod } from './pending-action.js';
import { prePublishZskStep } from './prepublish-zsk-rollover.js';
import { rfc5011KskStep } from './rfc5011-ksk-rollover.js';
import { type RolloverMethod, type RolloverStatus, isRolling } from './rollover-state.js';
import { type MethodStep, type RolloverInput, type RolloverStep, type RollingKey, StepBuilder, keepHistory } from './rollover-step.js';
import { S, iso } from './rollover-timing.js';

export { type PendingAction, pendingAction, publishedAt, rolloverMethod, timingOf } from './pending-action.js';
export {
  type KeyRequest,
  type ParentDsObservation,
  type RolloverEvent,
  type RolloverEventName,
  type RolloverInput,
  type RolloverSigningPolicy,
  type RolloverStep,
  stageEvent,
} from './rollover-step.js';

/**
 * The rollover engine: a pure state machine over a zone's key metadata and the time. Given the
 * keys as stored, it says what to write next (in order), whether a new key is needed first,
 * whether the parent's DS should be checked, what to log, and when to look again. It does no
 * I/O and reads no clock, so a restart (the same metadata read back) continues exactly, and tests
 * run months of rollovers in simulated time.
 *
 * Every step changes one thing, and its writes are ordered so that any prefix of them, read back
 * after a crash, is a zone that still validates and that the next step carries on from: a new
 * key is written (published) before anything depends on it, a successor is made active before the
 * old key stops signing, and the old key's record (the rollover's state) is written last.
 *
 * This file steps the zone: rolls under way first (each by its method's file:
 * prepublish-zsk-rollover.ts, double-signature-ksk-rollover.ts, rfc5011-ksk-rollover.ts,
 * algorithm-rollover-step.ts; rollover-step.ts has the transitions they share), then the rolls
 * that are due.
 */

/** A request the engine refuses (`zone roll` of a standby key, `step-rollover` of a key not waiting for its DS). */
export class RolloverRequestError extends Error {
  override readonly name = 'RolloverRequestError';
  constructor(
    readonly code: 'no-such-key' | 'not-rollable' | 'already-rolling' | 'not-waiting-for-ds',
    message: string,
  ) {
    super(message);
  }
}

/** The steps of a rolling key's method: a ZSK is always pre-published, a KSK rolls as its record says. */
function methodStepOf(role: KeyMetadata['role'], method: RolloverMethod): MethodStep {
  if (method === 'Algorithm') return algorithmRolloverStep;
  if (role === 'zsk') return prePublishZskStep;
  return method === 'RFC5011' ? rfc5011KskStep : doubleSignatureKskStep;
}

/**
 * One step of the zone's rollovers at `input.now`. Call again after applying the result until it
 * has no writes, no key request and no DS check due; then call again at `wakeAt`.
 */
export function stepRollover(input: RolloverInput): RolloverStep {
  const step = new StepBuilder(input);
  // Rolls under way first, oldest key first: one change per step.
  for (const o of step.rolling) {
    const r = o.rollover!;
    const successor = r.successor ? step.keys.byId.get(r.successor) : undefined;
    if (r.successor && (!successor || successor.state === 'retired'))
      return step.fail(o, `its successor ${r.successor} is ${successor ? 'retired' : 'missing from the key store'}`);
    const roll: RollingKey = { key: o, record: r, method: r.method ?? rolloverMethod(o.role, input.policy), pending: pendingAction(o, step.keys.all, input)!, successor };
    const result = methodStepOf(o.role, roll.method)(step, roll);
    if (result) return result;
  }
  return startDueRolls(step);
}

/**
 * Keys whose rollover is scheduled: notice a day ahead (event 7667), queue when due. When the
 * zone's keys are not of the policy's algorithm, the algorithm is rolled instead (and nothing else).
 */
function startDueRolls(step: StepBuilder): RolloverStep {
  const { keys, now, policy, timers, zone } = step;
  const successors = keys.successors();
  if (step.algorithmChange) {
    if (algorithmRolloverOf(keys.all)) return step.done();
    const lead = algorithmRolloverLead(keys.all, policy.algorithm, successors);
    if (!lead) return step.done(); // another roll holds the KSKs: the algorithm waits for it
    const queued = step.record(lead, { ...keepHistory(lead.rollover), status: 'Queued', since: iso(now), method: 'Algorithm', algorithm: policy.algorithm });
    step.stage(queued, 'Queued');
    return step.done();
  }
  for (const k of keys.all.sort(byCreated)) {
    if (k.state !== 'active' || k.nextRollover === undefined || isRolling(k.rollover?.status) || k.rollover?.status === 'RollError' || successors.has(k.id)) continue;
    const due = Date.parse(k.nextRollover);
    if (due <= now) {
      const queued = step.record(k, { ...keepHistory(k.rollover), status: 'Queued', since: iso(now), method: rolloverMethod(k.role, policy) });
      step.stage(queued, 'Queued');
      return step.done();
    }
    if (due - timers.advanceNotice * S <= now && k.rollover?.dueNotice !== k.nextRollover) {
      const noticed = step.record(k, { ...(k.rollover ?? { status: 'NotRolling', since: iso(now) }), dueNotice: k.nextRollover });
      step.event(noticed, 'key.rollover-due', `keys for the signing key ${k.id} in zone ${zone} will be rolled over in less than ${Math.round(timers.advanceNotice / 3600)} hours`, { nextRollover: k.nextRollover });
      return step.done();
    }
  }
  return step.done();
}

/**
 * `zone roll ZONE KEY-ID` (Invoke-DnsServerSigningKeyRollover): queue the rollover of an active
 * key now. A key whose roll stopped in RollError is queued again. A KSK of another algorithm than
 * the policy's is queued for an algorithm rollover (every key of the zone is replaced); while
 * one is under way, no key is rolled by itself. Returns the metadata to write.
 */
export function queueRollover(keys: readonly KeyMetadata[], keyId: string, policy: Pick<SigningPolicy, 'rfc5011' | 'algorithm'>, now: number): KeyMetadata {
  const k = keys.find((x) => x.id === keyId);
  if (!k) throw new RolloverRequestError('no-such-key', `no key ${keyId}`);
  const roll = algorithmRolloverOf(keys);
  if (roll && roll.lead.id !== k.id)
    throw new RolloverRequestError('already-rolling', `an algorithm rollover of the zone (${roll.from} to ${roll.to}, key ${roll.lead.id}, ${roll.status}) is under way: it replaces every key`);
  if (isRolling(k.rollover?.status)) throw new RolloverRequestError('already-rolling', `key ${keyId} is already rolling (${k.rollover!.status})`);
  const all = new Keys(keys);
  if (k.state !== 'active' || all.successors().has(k.id))
    throw new RolloverRequestError('not-rollable', `key ${keyId} is ${all.successors().has(k.id) ? 'the successor in a rollover under way' : k.state}: only an active key is rolled (its successor is chosen by the rollover)`);
  if (k.algorithm !== policy.algorithm) {
    if (k.role !== 'ksk')
      throw new RolloverRequestError('not-rollable', `key ${keyId} is of algorithm ${k.algorithm}, the zone's policy of ${policy.algorithm}: the algorithm rollover, which replaces every key, is started with the active KSK`);
    return { ...k, rollover: { ...keepHistory(k.rollover), status: 'Queued', since: iso(now), method: 'Algorithm', algorithm: policy.algorithm } };
  }
  return { ...k, rollover: { ...keepHistory(k.rollover), status: 'Queued', since: iso(now), method: rolloverMethod(k.role, policy) } };
}

/**
 * `zone step-rollover ZONE KEY-ID` (Step-DnsServerSigningKeyRollover): the operator says the
 * parent's DS for the successor is published, when Keymaster cannot see it. The DS TTL is still
 * waited out before the old key goes. Only a KSK in KskWaitingForDSUpdate can be stepped.
 */
export function stepRolloverManually(keys: readonly KeyMetadata[], keyId: string, policy: Pick<SigningPolicy, 'dsTtl'>, now: number): KeyMetadata {
  const k = keys.find((x) => x.id === keyId);
  if (!k) throw new RolloverRequestError('no-such-key', `no key ${keyId}`);
  if (k.rollover?.status !== 'KskWaitingForDSUpdate')
    throw new RolloverRequestError('not-waiting-for-ds', `key ${keyId} is ${k.rollover?.status ?? 'NotRolling'}: only a KSK in KskWaitingForDSUpdate can be stepped (the other waits are what keeps the zone valid)`);
  return { ...k, rollover: { ...k.rollover, status: 'KskWaitingForDSTtl', since: iso(now), dsSeen: iso(now), dsStepped: true, dsTtl: policy.dsTtl } };
}

/** A key's rollover as `zone keys` shows it (the Get-DnsServerSigningKey columns). */
export interface KeyRolloverView {
  readonly currentRolloverStatus: RolloverStatus;
  readonly rolloverMethod: RolloverMethod;
  readonly nextRolloverAction: string | null;
  readonly nextRolloverActionTime: string | null;
  readonly lastRolloverTime: string | null;
  readonly successor: string | null;
  readonly rolloverError: string | null;
}

export function rolloverView(key: KeyMetadata, keys: readonly KeyMetadata[], input: Pick<RolloverInput, 'policy' | 'timers' | 'maxZoneTtl'>): KeyRolloverView {
  const r = key.rollover;
  // The old algorithm's other keys go through an algorithm rollover with its lead (the old KSK).
  const roll = algorithmRolloverOf(keys);
  if (roll && key.id !== roll.lead.id && key.algorithm === roll.from && key.state !== 'retired') {
    const p = pendingAction(roll.lead, keys, input);
    return {
      currentRolloverStatus: roll.status,
      rolloverMethod: 'Algorithm',
      nextRolloverAction: p?.action ?? null,
      nextRolloverActionTime: p?.at === undefined ? null : iso(p.at),
      lastRolloverTime: r?.lastRollover ?? null,
      successor: null,
      rolloverError: null,
    };
  }
  const p = key.state === 'retired' ? undefined : pendingAction(key, keys, input);
  return {
    currentRolloverStatus: r?.status ?? 'NotRolling',
    rolloverMethod: r?.method ?? rolloverMethod(key.role, input.policy),
    nextRolloverAction: p?.action ?? null,
    nextRolloverActionTime: p?.at === undefined ? null : iso(p.at),
    lastRolloverTime: r?.lastRollover ?? null,
    successor: isRolling(r?.status) ? (r?.successor ?? null) : null,
    rolloverError: r?.status === 'RollError' ? (r.error ?? null) : null,
  };
}
