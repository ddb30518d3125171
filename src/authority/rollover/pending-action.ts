import type { KeyMetadata, KeyRole, KeyState } from '../key-store.js';
import type { SigningPolicy } from '../signing-policy.js';
import { algorithmDiffers, algorithmRolloverLead, algorithmRolloverOf } from './algorithm-rollover.js';
import { type RolloverMethod, type RolloverStatus, isRolling } from './rollover-state.js';
import type { RolloverInput } from './rollover-step.js';
import { type ZoneTiming, S, dsRetireInterval, publishInterval, revokedKeepInterval, standbyReadyInterval, zskRetireInterval } from './rollover-timing.js';

/**
 * What a rolling key waits for next and when: the one reading of a key's rollover record that
 * both the engine's steps and the `zone keys` view use, so what is shown is what will happen.
 */

const ms = (text: string | undefined) => (text === undefined ? undefined : Date.parse(text));

export function timingOf(input: Pick<RolloverInput, 'policy' | 'maxZoneTtl'>): ZoneTiming {
  return { dnskeyTtl: input.policy.dnskeyTtl, dsTtl: input.policy.dsTtl, maxZoneTtl: input.maxZoneTtl, dnskeySignatureValidity: input.policy.dnskeySignatureValidity };
}

/** The method a key of `role` is rolled with under `policy`. */
export function rolloverMethod(role: KeyRole, policy: Pick<SigningPolicy, 'rfc5011'>): RolloverMethod {
  return role === 'zsk' ? 'PrePublish' : policy.rfc5011 ? 'RFC5011' : 'DoubleSignature';
}

/** When a key was first published: recorded by rollovers; keys signed in by `zone sign` since they were created. */
export function publishedAt(m: KeyMetadata): number {
  return Date.parse(m.published ?? m.activated ?? m.created);
}

export const statusOf = (m: KeyMetadata): RolloverStatus => m.rollover?.status ?? 'NotRolling';

/** The next thing a rolling key waits for, and when it is due (ms); undefined when it waits for something else (the parent, another roll). */
export interface PendingAction {
  readonly action: string;
  readonly at: number | undefined;
}

export function byCreated(a: KeyMetadata, b: KeyMetadata): number {
  return a.created.localeCompare(b.created) || a.id.localeCompare(b.id);
}

export class Keys {
  readonly byId: Map<string, KeyMetadata>;
  constructor(keys: readonly KeyMetadata[]) {
    this.byId = new Map(keys.map((k) => [k.id, k]));
  }
  get all(): KeyMetadata[] {
    return [...this.byId.values()];
  }
  of(role: KeyRole, state: KeyState, algorithm: number): KeyMetadata[] {
    return this.all.filter((k) => k.role === role && k.state === state && k.algorithm === algorithm).sort(byCreated);
  }
  /** Keys that are the successor of a roll under way. */
  successors(): Set<string> {
    return new Set(this.all.filter((k) => isRolling(k.rollover?.status) && k.rollover?.successor).map((k) => k.rollover!.successor!));
  }
}

/**
 * What a rolling key waits for next, from its record and the keys: the same function decides the
 * engine's steps and the `zone keys` view, so what is shown is what will happen.
 */
export function pendingAction(key: KeyMetadata, keys: readonly KeyMetadata[], input: Pick<RolloverInput, 'policy' | 'timers' | 'maxZoneTtl'>): PendingAction | undefined {
  const r = key.rollover;
  const t = timingOf(input);
  const timers = input.timers;
  const all = new Keys(keys);
  const successor = r?.successor ? all.byId.get(r.successor) : undefined;
  const algorithmRoll = r?.method === 'Algorithm';
  switch (r?.status ?? 'NotRolling') {
    case 'NotRolling':
      // While the algorithm rolls (or is about to), nothing else is scheduled.
      if (key.state !== 'active' || all.successors().has(key.id) || algorithmRolloverOf(keys)) return undefined;
      if (algorithmDiffers(keys, input.policy.algorithm))
        return algorithmRolloverLead(keys, input.policy.algorithm, all.successors())?.id === key.id ? { action: 'StartAlgorithmRollover', at: undefined } : undefined;
      if (key.nextRollover === undefined) return undefined;
      return { action: 'StartRollover', at: Date.parse(key.nextRollover) };
    case 'Queued': {
      if (algorithmRoll) return { action: 'StartAlgorithmRollover', at: Date.parse(r!.since) };
      if (r!.method !== 'RFC5011') return { action: 'StartRollover', at: Date.parse(r!.since) };
      const standby = all.of('ksk', 'standby', key.algorithm)[0];
      if (!standby) return { action: 'GenerateStandby', at: Date.parse(r!.since) };
      return { action: 'StartRollover', at: publishedAt(standby) + standbyReadyInterval(t, timers) * S };
    }
    case 'RollStarted':
      return { action: algorithmRoll ? 'SignWithNewAlgorithm' : 'PublishSuccessor', at: Date.parse(r!.since) };
    case 'AlgorithmWaitingForMaxZoneTtl':
      return { action: 'PublishNewAlgorithmKeys', at: Date.parse(r!.since) + zskRetireInterval(t, timers) * S };
    case 'AlgorithmWaitingForNewDnsKeyTtl':
      return { action: 'RequestNewAlgorithmDS', at: successor ? publishedAt(successor) + publishInterval(t, timers) * S : undefined };
    case 'AlgorithmWaitingForOldDnsKeyTtl':
      return { action: 'RemoveOldAlgorithmSignatures', at: Date.parse(r!.since) + publishInterval(t, timers) * S };
    case 'ZskWaitingForDnsKeyTtl':
      return { action: 'ActivateSuccessor', at: successor ? publishedAt(successor) + publishInterval(t, timers) * S : undefined };
    case 'ZskWaitingForMaxZoneTtl':
      return { action: 'RemoveOldKey', at: Date.parse(r!.since) + zskRetireInterval(t, timers) * S };
    case 'KskWaitingForDSUpdate': {
      const last = ms(r!.lastDsCheck);
      return { action: 'CheckParentDS', at: last === undefined ? Date.parse(r!.since) : last + timers.dsPollingPeriod * S };
    }
    case 'KskWaitingForDSTtl': {
      const dsGone = Date.parse(r!.dsSeen ?? r!.since) + dsRetireInterval(t, timers, r!.dsTtl) * S;
      if (!algorithmRoll) return { action: r!.method === 'RFC5011' ? 'ActivateSuccessor' : 'RemoveOldKey', at: dsGone };
      if (!successor) return { action: 'WithdrawOldAlgorithmKeys', at: undefined };
      // The new DNSKEYs in every cache, and with RFC 5011 keys taken through the trust-point resolvers' add hold-down.
      const keysKnown = publishedAt(successor) + (input.policy.rfc5011 ? standbyReadyInterval(t, timers) : publishInterval(t, timers)) * S;
      return { action: 'WithdrawOldAlgorithmKeys', at: Math.max(dsGone, keysKnown) };
    }
    case 'KskWaitingForDnsKeyTtl':
      return { action: 'RemoveOldKey', at: successor ? publishedAt(successor) + publishInterval(t, timers) * S : undefined };
    case 'WaitingForRFC5011RemoveHoldDown':
      // First the successor signs beside the old key until every secondary serves that (a
      // tracking resolver that has seen the revocation trusts only the successor), then the
      // old key is revoked and kept through the remove hold-down.
      if (r!.revoked === undefined) return { action: 'RevokeOldKey', at: Date.parse(r!.since) + Math.max(timers.minimumWait, timers.propagationDelay) * S };
      return { action: 'RemoveRevokedKey', at: Date.parse(r!.revoked) + revokedKeepInterval(t, timers) * S };
    case 'RollError':
      return undefined;
  }
}

