import type { MethodStep } from './rollover-step.js';
import { revokedMetadata } from './rollover-keys.js';
import { iso } from './rollover-timing.js';

/**
 * The KSK rollover for zones whose keys resolvers track by RFC 5011 (a trust point): a standby
 * KSK is published ahead, long enough for the add hold-down; at the roll, once the parent's DS
 * for it is seen, the standby signs beside the old key, then the old key is revoked (signing its
 * own revocation) and kept through the remove hold-down.
 */
export const rfc5011KskStep: MethodStep = (step, roll) => {
  const o = roll.key;
  const r = roll.record;
  switch (r.status) {
    case 'Queued':
      if (step.queuedBlocked(o)) return undefined;
      if (step.keys.of('ksk', 'standby', o.algorithm).length === 0) return step.done({ generate: step.successorRequest(o, 'ksk', 'standby') });
      return step.startQueued(roll);
    case 'RollStarted': {
      const standbys = step.keys.of('ksk', 'standby', o.algorithm);
      if (standbys.length < 2) return step.done({ generate: step.successorRequest(o, 'ksk', 'standby') });
      step.moveTo(o, 'KskWaitingForDSUpdate', { successor: standbys[0]!.id, dsMisses: 0 });
      return step.done();
    }
    case 'KskWaitingForDSUpdate':
      return step.waitForParentDs(roll);
    case 'KskWaitingForDSTtl': {
      if (step.notDue(roll)) return undefined;
      // The standby signs the DNSKEY RRset from now on, beside the old key for a while.
      const s = roll.successor!;
      if (s.state !== 'active') step.write({ ...s, state: 'active', activated: iso(step.now) }, s);
      step.moveTo(o, 'WaitingForRFC5011RemoveHoldDown');
      return step.done();
    }
    case 'WaitingForRFC5011RemoveHoldDown': {
      if (step.notDue(roll)) return undefined;
      if (r.revoked !== undefined) return step.complete(o, roll.successor!);
      // Published with the REVOKE bit (flags 385), signing the DNSKEY RRset itself so
      // trust-point resolvers can verify the revocation (RFC 5011 §2.1).
      const revoked = { ...revokedMetadata(o), state: 'revoked' as const, rollover: { ...r, revoked: iso(step.now) } };
      step.write(revoked, o);
      step.event(revoked, 'key.ksk-rollover-stage', `the key signing key ${o.id} of zone ${step.zone} is revoked (flags ${revoked.flags}, key tag ${revoked.keyTag}) for the RFC 5011 remove hold-down`, { status: r.status, revokedKeyTag: revoked.keyTag });
      return step.done();
    }
    default:
      return undefined;
  }
};
