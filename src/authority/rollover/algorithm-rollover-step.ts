import type { KeyMetadata, KeyRole } from '../key-store.js';
import { isPublished } from '../key-master.js';
import { algorithmRolloverOf, isCancellable } from './algorithm-rollover.js';
import { byCreated } from './pending-action.js';
import { type KeyRequest, type MethodStep, type RolloverStep, type RollingKey, type StepBuilder, keepHistory, stageEvent } from './rollover-step.js';
import { S, iso } from './rollover-timing.js';

/**
 * One step of an algorithm rollover (algorithm-rollover.ts has the order and why), or undefined
 * when nothing is due. The lead is the old KSK; every key of the zone is replaced.
 */
export const algorithmRolloverStep: MethodStep = (step, roll) => {
  const o = roll.key;
  const to = roll.record.algorithm!;
  // Called off while nothing of the new algorithm is published, when the policy no longer asks for it.
  if (step.policy.algorithm !== to && isCancellable(algorithmRolloverOf(step.keys.all)!, step.keys.all)) return cancelAlgorithm(step, o);
  const due = roll.pending.at !== undefined && roll.pending.at <= step.now;
  switch (roll.record.status) {
    case 'Queued':
      return due ? startAlgorithmRoll(step, o, to) : undefined;
    case 'RollStarted': {
      // 1. The new algorithm signs everything, its DNSKEYs not yet published.
      const ksk = newKey(step, 'ksk', to);
      if (!ksk) return request(step, o, 'ksk', 'presigning');
      if (!newKey(step, 'zsk', to)) return request(step, o, 'zsk', 'presigning');
      step.moveTo(o, 'AlgorithmWaitingForMaxZoneTtl', { successor: ksk.id });
      return step.done();
    }
    case 'AlgorithmWaitingForMaxZoneTtl':
      return due ? publishNewAlgorithm(step, o, to) : undefined;
    case 'AlgorithmWaitingForNewDnsKeyTtl':
      if (!due) return undefined;
      // 3. Every cached DNSKEY RRset has the new keys: the CDS/CDNSKEY now ask for their DS only.
      step.moveTo(o, 'KskWaitingForDSUpdate', { dsMisses: 0 });
      step.keySetChanged = true;
      return step.done();
    case 'KskWaitingForDSUpdate':
      return step.waitForParentDs(roll);
    case 'KskWaitingForDSTtl':
      if (!due) return undefined;
      // 4. No cache holds a DS of the old algorithm: its DNSKEYs go, its signatures stay. The
      // old KSK's first, so a crash between the writes leaves no published key of the old
      // algorithm whose signatures are gone from the data it should sign.
      step.moveTo(o, 'AlgorithmWaitingForOldDnsKeyTtl', {}, { state: 'unpublished' });
      withdrawOldAlgorithm(step, o);
      return step.done();
    case 'AlgorithmWaitingForOldDnsKeyTtl':
      return retireOldAlgorithm(step, roll, due);
    default:
      return undefined;
  }
};

function newKey(step: StepBuilder, role: KeyRole, to: number): KeyMetadata | undefined {
  return step.keys.all.filter((k) => k.role === role && k.algorithm === to && (k.state === 'presigning' || k.state === 'active')).sort(byCreated)[0];
}

function request(step: StepBuilder, o: KeyMetadata, role: KeyRole, state: KeyRequest['state']): RolloverStep {
  return step.done({ generate: { role, state, forKey: o.id, algorithm: o.rollover!.algorithm! } });
}

function startAlgorithmRoll(step: StepBuilder, o: KeyMetadata, to: number): RolloverStep | undefined {
  if (step.rolling.some((k) => k.id !== o.id && k.rollover!.status !== 'Queued')) return undefined;
  // Rolls queued for other keys are part of this one: every key is replaced.
  for (const k of step.rolling) if (k.id !== o.id) step.record(k, { ...keepHistory(k.rollover), status: 'NotRolling', since: iso(step.now) });
  const started = step.moveTo(o, 'RollStarted', { started: iso(step.now) });
  step.event(started, 'key.rollover-started', `keys for the signing key ${o.id} in zone ${step.zone} are starting the rollover process: algorithm ${o.algorithm} to ${to}, every key of the zone`, {
    method: 'Algorithm',
    fromAlgorithm: o.algorithm,
    toAlgorithm: to,
  });
  return step.done();
}

/** 2. Every cached RRset has the new signatures: the new DNSKEYs are published. */
function publishNewAlgorithm(step: StepBuilder, o: KeyMetadata, to: number): RolloverStep {
  const { keys, now, policy } = step;
  const presigning = keys.all.filter((k) => k.algorithm === to && k.state === 'presigning').sort(byCreated);
  if (presigning.length > 0) {
    for (const k of presigning) step.write({ ...k, state: 'active', published: iso(now), activated: iso(now) }, k);
    return step.done();
  }
  if (policy.rfc5011 && !keys.all.some((k) => k.role === 'ksk' && k.algorithm === to && k.state === 'standby')) return request(step, o, 'ksk', 'standby');
  if (policy.rfc5011 && !keys.all.some((k) => k.role === 'zsk' && k.algorithm === to && k.state === 'next')) return request(step, o, 'zsk', 'next');
  step.moveTo(o, 'AlgorithmWaitingForNewDnsKeyTtl');
  return step.done();
}

/** 5. No cache holds a DNSKEY RRset with the old keys: their signatures go, and the roll completes. */
function retireOldAlgorithm(step: StepBuilder, roll: RollingKey, due: boolean): RolloverStep | undefined {
  const { key: o, record: r } = roll;
  const { keys, now } = step;
  // After a crash between the writes of step 4: the rest withdrawn now, and the wait counted from now.
  if (oldAlgorithmKeys(step, o).some((k) => isPublished(k.state))) {
    withdrawOldAlgorithm(step, o);
    step.record(o, { ...r, since: iso(now) });
    return step.done();
  }
  if (!due) return undefined;
  for (const k of oldAlgorithmKeys(step, o)) step.write({ ...k, state: 'retired', retired: iso(now) }, k);
  const zsk = keys.all.find((k) => k.role === 'zsk' && k.algorithm === r.algorithm && k.state === 'active' && k.nextRollover === undefined);
  if (zsk) {
    const nextRollover = iso(Math.max(Date.parse(zsk.activated ?? iso(now)) + step.policy.zskRollover * S, now + step.timers.minimumWait * S));
    step.write({ ...zsk, nextRollover, rollover: { ...keepHistory(zsk.rollover), status: 'NotRolling', since: iso(now), lastRollover: iso(now) } }, zsk);
  }
  return step.complete(o, roll.successor!);
}

/** The old algorithm's keys other than the lead, not yet retired. */
function oldAlgorithmKeys(step: StepBuilder, o: KeyMetadata): KeyMetadata[] {
  return step.keys.all.filter((k) => k.id !== o.id && k.algorithm === o.algorithm && k.state !== 'retired');
}

/** The old algorithm's published keys leave the DNSKEY RRset: the signing ones keep signing (`unpublished`), the rest go. */
function withdrawOldAlgorithm(step: StepBuilder, o: KeyMetadata): void {
  for (const k of oldAlgorithmKeys(step, o)) {
    if (!isPublished(k.state)) continue;
    step.write(k.state === 'active' ? { ...k, state: 'unpublished' } : { ...k, state: 'retired', retired: iso(step.now) }, k);
  }
}

/** Calls the algorithm rollover off: the new algorithm's unpublished keys go, the zone stays as it was. */
function cancelAlgorithm(step: StepBuilder, o: KeyMetadata): RolloverStep {
  const to = o.rollover!.algorithm!;
  for (const k of step.keys.all) if (k.algorithm === to && k.state === 'presigning') step.write({ ...k, state: 'retired', retired: iso(step.now) }, k);
  const back = step.record(o, { ...keepHistory(o.rollover), status: 'NotRolling', since: iso(step.now) });
  step.events.push({ ...stageEvent(step.zone, back, 'NotRolling'), fields: { zone: step.zone.toString(), status: 'NotRolling', cancelled: true, toAlgorithm: to, policyAlgorithm: step.policy.algorithm } });
  return step.done();
}
