import type { MethodStep } from './rollover-step.js';
import { publishedAt, statusOf, timingOf } from './pending-action.js';
import { S, publishInterval } from './rollover-timing.js';

/**
 * The KSK double-signature rollover (RFC 6781 §4.1.2, RFC 7583 §3.3.2): the successor is
 * published and signs the DNSKEY RRset beside the old key; once the parent's DS for it is seen
 * and the old DS has expired from caches, the old key goes.
 */
export const doubleSignatureKskStep: MethodStep = (step, roll) => {
  const o = roll.key;
  switch (roll.record.status) {
    case 'Queued':
      return step.startQueued(roll);
    case 'RollStarted': {
      const s = step.keys.of('ksk', 'active', o.algorithm).filter((k) => k.id !== o.id && statusOf(k) === 'NotRolling' && k.nextRollover === undefined)[0];
      if (!s) return step.done({ generate: step.successorRequest(o, 'ksk', 'active') });
      step.moveTo(o, 'KskWaitingForDSUpdate', { successor: s.id, dsMisses: 0 });
      return step.done();
    }
    case 'KskWaitingForDSUpdate':
      return step.waitForParentDs(roll);
    case 'KskWaitingForDSTtl':
      if (step.notDue(roll)) return undefined;
      // The new DNSKEY must be in every cache before the old key's signatures stop.
      if (publishedAt(roll.successor!) + publishInterval(timingOf(step.input), step.timers) * S > step.now) {
        step.moveTo(o, 'KskWaitingForDnsKeyTtl');
        return step.done();
      }
      return step.complete(o, roll.successor!);
    case 'KskWaitingForDnsKeyTtl':
      return step.notDue(roll) ? undefined : step.complete(o, roll.successor!);
    default:
      return undefined;
  }
};
