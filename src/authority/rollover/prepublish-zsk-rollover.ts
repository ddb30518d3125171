import type { KeyMetadata } from '../key-store.js';
import type { MethodStep, RolloverStep, StepBuilder } from './rollover-step.js';
import { iso } from './rollover-timing.js';

/**
 * The ZSK pre-publish rollover (RFC 6781 §4.1.1.1, RFC 7583 §3.2): the successor is published
 * and waits out the DNSKEY TTL, then signs in place of the old key, which stays published until
 * every signature it made has expired from caches (TTLsig).
 */
export const prePublishZskStep: MethodStep = (step, roll) => {
  const o = roll.key;
  switch (roll.record.status) {
    case 'Queued':
      return step.startQueued(roll);
    case 'RollStarted': {
      const nexts = step.keys.of('zsk', 'next', o.algorithm);
      const need = step.policy.rfc5011 ? 2 : 1;
      if (nexts.length < need) return step.done({ generate: step.successorRequest(o, 'zsk', 'next') });
      // The successor is recorded before anything else changes, so a redo after a crash
      // continues with the same key (the swap happens in the next step when it is ready).
      step.moveTo(o, 'ZskWaitingForDnsKeyTtl', { successor: nexts[0]!.id });
      return step.done();
    }
    case 'ZskWaitingForDnsKeyTtl':
      return step.notDue(roll) ? undefined : swapZsk(step, o, roll.successor!);
    case 'ZskWaitingForMaxZoneTtl':
      return step.notDue(roll) ? undefined : step.complete(o, roll.successor!);
    default:
      return undefined;
  }
};

function swapZsk(step: StepBuilder, o: KeyMetadata, s: KeyMetadata): RolloverStep {
  // The successor signs first (for a moment both do), then the old key stops signing.
  if (s.state !== 'active') step.write({ ...s, state: 'active', activated: iso(step.now) }, s);
  step.moveTo(o, 'ZskWaitingForMaxZoneTtl', { successor: s.id }, { state: 'inactive' });
  return step.done();
}
