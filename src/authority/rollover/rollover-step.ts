import type { Name } from '../../wire/name.js';
import type { KeyMetadata, KeyRole, KeyState } from '../key-store.js';
import type { SigningPolicy } from '../signing-policy.js';
import { dsAlgorithm, dsKeyTag, dsMatchesKey } from './rollover-keys.js';
import { algorithmDiffers, algorithmRolloverOf } from './algorithm-rollover.js';
import { type PendingAction, Keys, byCreated, pendingAction, statusOf } from './pending-action.js';
import { type KeyRolloverRecord, type RolloverMethod, type RolloverStatus, type RolloverTimers, isRolling } from './rollover-state.js';
import { S, iso } from './rollover-timing.js';

/**
 * One step of the rollover engine as it is built: the writes in order, the events, whether the
 * key set changed, and the transitions every method shares (a stage moved to, a roll completed,
 * the parent's DS observed). The method files (prepublish-zsk-rollover.ts, ...) say which
 * transition comes when; this says what a transition writes.
 */

/** The parts of the signing policy rollover needs. */
export type RolloverSigningPolicy = Pick<SigningPolicy, 'algorithm' | 'kskRollover' | 'zskRollover' | 'rfc5011' | 'dnskeyTtl' | 'dsTtl' | 'dnskeySignatureValidity'>;

/** What a check of the parent's DS RRset found. */
export interface ParentDsObservation {
  /** Milliseconds. */
  readonly at: number;
  /** The validated DS RDATAs; empty: no DS; undefined: the check failed (no answer, bogus). */
  readonly ds: readonly Uint8Array[] | undefined;
  /** The TTL the DS RRset was served with, when known. */
  readonly ttl?: number;
}

export interface RolloverInput {
  readonly zone: Name;
  /** Every key of the zone as stored (retired ones included). */
  readonly keys: readonly KeyMetadata[];
  readonly policy: RolloverSigningPolicy;
  readonly timers: RolloverTimers;
  /** TTLsig: the largest TTL of any RRset of the zone. */
  readonly maxZoneTtl: number;
  /** Milliseconds. */
  readonly now: number;
  /** The result of a parent DS check the driver made because the last step asked for it. */
  readonly parentDs?: ParentDsObservation;
}

/** A key the driver must generate (and store, published in `state`) before stepping again. */
export interface KeyRequest {
  readonly role: KeyRole;
  readonly state: Extract<KeyState, 'active' | 'standby' | 'next' | 'presigning'>;
  /** The key whose rollover needs it. */
  readonly forKey: string;
  /** Its algorithm: the rolled key's (an algorithm rollover: the one rolled to). */
  readonly algorithm: number;
  /** Its size when the algorithm is not the policy's (the rolled key's); otherwise the policy's sizes apply. */
  readonly bits?: number;
}

export type RolloverEventName =
  | 'key.rollover-due'
  | 'key.rollover-started'
  | 'key.rollover-completed'
  | 'key.ksk-rollover-stage'
  | 'key.zsk-rollover-stage'
  | 'key.rollover-waiting-for-ds'
  | 'key.rollover-error';

export interface RolloverEvent {
  readonly name: RolloverEventName;
  readonly keyId: string;
  readonly keyTag: number;
  readonly role: KeyRole;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly msg: string;
}

export interface RolloverStep {
  /** Metadata to write, in this order. */
  readonly writes: readonly KeyMetadata[];
  readonly generate?: KeyRequest;
  readonly events: readonly RolloverEvent[];
  /** Check the parent's DS RRset and step again with `parentDs`. */
  readonly dsCheckDue: boolean;
  /** The published or signing key set changes with these writes: re-sign the zone. */
  readonly keySetChanged: boolean;
  /** When to step again (ms), if nothing else happens first. */
  readonly wakeAt: number | undefined;
}

/** A key whose roll is under way, as the method steps see it. */
export interface RollingKey {
  readonly key: KeyMetadata;
  readonly record: KeyRolloverRecord;
  readonly method: RolloverMethod;
  /** What it waits for next (defined for every rolling status). */
  readonly pending: PendingAction;
  readonly successor: KeyMetadata | undefined;
}

/** The step of one method for a rolling key, or undefined when nothing is due for it. */
export type MethodStep = (step: StepBuilder, roll: RollingKey) => RolloverStep | undefined;

export function keepHistory(r: KeyRolloverRecord | undefined): Partial<KeyRolloverRecord> {
  return r?.lastRollover ? { lastRollover: r.lastRollover } : {};
}

/** Event 784 (KSK) or 785 (ZSK): the key has moved to a stage of its rollover. */
export function stageEvent(zone: Name, m: KeyMetadata, status: RolloverStatus): RolloverEvent {
  const ksk = m.role === 'ksk';
  return {
    name: ksk ? 'key.ksk-rollover-stage' : 'key.zsk-rollover-stage',
    keyId: m.id,
    keyTag: m.keyTag,
    role: m.role,
    fields: { zone: zone.toString(), status },
    msg: `the ${ksk ? 'key' : 'zone'} signing key ${m.id} of zone ${zone} has moved to stage ${status} of rollover`,
  };
}

export class StepBuilder {
  readonly keys: Keys;
  readonly events: RolloverEvent[] = [];
  readonly writes: KeyMetadata[] = [];
  keySetChanged = false;
  readonly now: number;
  readonly zone: Name;
  readonly policy: RolloverSigningPolicy;
  readonly timers: RolloverTimers;
  /** The rolls under way when the step began, oldest key first. */
  readonly rolling: readonly KeyMetadata[];
  /** The zone's keys are not all of the policy's algorithm: no ordinary roll starts, the algorithm is rolled. */
  readonly algorithmChange: boolean;

  constructor(readonly input: RolloverInput) {
    this.keys = new Keys(input.keys);
    this.now = input.now;
    this.zone = input.zone;
    this.policy = input.policy;
    this.timers = input.timers;
    this.rolling = this.keys.all.filter((k) => isRolling(k.rollover?.status)).sort(byCreated);
    this.algorithmChange = algorithmRolloverOf(this.keys.all) !== undefined || algorithmDiffers(this.keys.all, this.policy.algorithm);
  }

  /** A key for an ordinary roll of `o`: of its algorithm and size. */
  successorRequest(o: KeyMetadata, role: KeyRole, state: KeyRequest['state']): KeyRequest {
    return { role, state, forKey: o.id, algorithm: o.algorithm, ...(o.algorithm === this.policy.algorithm ? {} : { bits: o.bits }) };
  }

  /** Another roll of the key's role is under way, or the algorithm is to be rolled: a queued ordinary roll waits. */
  queuedBlocked(o: KeyMetadata): boolean {
    return this.algorithmChange || this.rolling.some((k) => k.id !== o.id && k.role === o.role && k.rollover!.status !== 'Queued');
  }

  /** Queued (an ordinary roll): it starts when due, unless another roll of its role or of the algorithm is under way. */
  startQueued(roll: RollingKey): RolloverStep | undefined {
    const o = roll.key;
    if (this.queuedBlocked(o) || this.notDue(roll)) return undefined;
    const started = this.moveTo(o, 'RollStarted', { method: roll.method, started: iso(this.now) });
    this.event(started, 'key.rollover-started', `keys for the signing key ${o.id} in zone ${this.zone} are starting the rollover process`, { method: roll.method });
    return this.done();
  }

  /** The key's pending action is not due yet (one that waits for no time is due). */
  notDue(roll: RollingKey): boolean {
    return roll.pending.at! > this.now;
  }

  event(m: KeyMetadata, name: RolloverEventName, msg: string, fields: Record<string, unknown> = {}): void {
    this.events.push({ name, keyId: m.id, keyTag: m.keyTag, role: m.role, fields: { zone: this.zone.toString(), ...fields }, msg });
  }

  stage(m: KeyMetadata, status: RolloverStatus): void {
    this.events.push(stageEvent(this.zone, m, status));
  }

  write(m: KeyMetadata, before: KeyMetadata): void {
    if (m.state !== before.state || m.flags !== before.flags) this.keySetChanged = true;
    this.keys.byId.set(m.id, m);
    this.writes.push(m);
  }

  record(m: KeyMetadata, r: KeyRolloverRecord): KeyMetadata {
    const next = { ...m, rollover: r };
    this.write(next, m);
    return next;
  }

  moveTo(m: KeyMetadata, status: RolloverStatus, extra: Partial<KeyRolloverRecord> = {}, state?: Partial<KeyMetadata>): KeyMetadata {
    const r: KeyRolloverRecord = { ...m.rollover!, ...extra, status, since: iso(this.now) };
    const next: KeyMetadata = { ...m, ...state, rollover: r };
    this.write(next, m);
    this.stage(next, status);
    return next;
  }

  done(extra: Partial<RolloverStep> = {}): RolloverStep {
    return { writes: this.writes, events: this.events, dsCheckDue: false, keySetChanged: this.keySetChanged, wakeAt: extra.wakeAt ?? this.wakeAt(), ...extra };
  }

  /**
   * The earliest time ahead at which something is due. What is due already but blocked (a roll
   * queued behind another of the same role) is stepped again when the blocking roll moves.
   */
  private wakeAt(): number | undefined {
    let at: number | undefined;
    for (const k of this.keys.all) {
      const p = pendingAction(k, this.keys.all, this.input);
      if (p?.at === undefined) continue;
      const times = [p.at];
      if (p.action === 'StartRollover' && statusOf(k) === 'NotRolling' && k.rollover?.dueNotice !== k.nextRollover) times.push(p.at - this.timers.advanceNotice * S);
      for (const due of times) if (due > this.now && (at === undefined || due < at)) at = due;
    }
    return at;
  }

  fail(m: KeyMetadata, why: string): RolloverStep {
    this.moveTo(m, 'RollError', { error: why });
    this.event(m, 'key.rollover-error', `rollover of key ${m.id} of zone ${this.zone} stopped: ${why}; every key stays published`, { error: why });
    return this.done();
  }

  /** The successor takes the old key's place and schedule; the old key is retired. */
  complete(o: KeyMetadata, s: KeyMetadata): RolloverStep {
    const now = this.now;
    const period = (o.role === 'ksk' ? this.policy.kskRollover : this.policy.zskRollover) * S;
    const activated = Date.parse(s.activated ?? iso(now));
    const nextRollover = iso(Math.max(activated + period, now + this.timers.minimumWait * S));
    this.write({ ...s, state: 'active', activated: s.activated ?? iso(now), nextRollover, rollover: { ...keepHistory(s.rollover), status: 'NotRolling', since: iso(now), lastRollover: iso(now) } }, s);
    const retired = this.moveTo(o, 'NotRolling', { lastRollover: iso(now) }, { state: 'retired', retired: iso(now) });
    this.event(retired, 'key.rollover-completed', `the rollover process for signing key ${o.id} in zone ${this.zone} is complete`, { successor: s.id, successorKeyTag: s.keyTag, nextRollover });
    return this.done();
  }

  /** KskWaitingForDSUpdate (every KSK method): observe the parent's DS when checked, ask for a check when due. */
  waitForParentDs(roll: RollingKey): RolloverStep | undefined {
    if (this.input.parentDs) return this.observeDs(roll.key, roll.successor!, this.input.parentDs);
    if (roll.pending.at === undefined || this.notDue(roll)) return undefined;
    return this.done({ dsCheckDue: true });
  }

  private observeDs(o: KeyMetadata, s: KeyMetadata, seen: ParentDsObservation): RolloverStep {
    const r = o.rollover!;
    const zone = this.zone;
    const checked = { lastDsCheck: iso(seen.at) };
    // An algorithm rollover waits until the DS RRset is the new algorithm's only (RFC 6781
    // §4.1.4: replaced), so no validator is left with a DS algorithm the DNSKEY RRset lacks.
    const oldAlgorithm = r.method === 'Algorithm' ? (seen.ds ?? []).filter((ds) => dsAlgorithm(ds) === o.algorithm) : [];
    const hasNew = seen.ds?.some((ds) => dsMatchesKey(zone, ds, s)) ?? false;
    if (hasNew && oldAlgorithm.length === 0) {
      this.moveTo(o, 'KskWaitingForDSTtl', { ...checked, dsSeen: iso(seen.at), dsTtl: Math.max(this.policy.dsTtl, seen.ttl ?? 0) });
      return this.done();
    }
    const misses = (r.dsMisses ?? 0) + 1;
    const why =
      seen.ds === undefined
        ? 'the parent DS RRset could not be looked up or did not validate'
        : seen.ds.length === 0
          ? 'the parent has no DS RRset for the zone'
          : hasNew
            ? `the parent DS RRset still names key tags ${oldAlgorithm.map(dsKeyTag).join(', ')} of the old algorithm ${o.algorithm} beside ${s.keyTag}`
            : `the parent DS RRset names key tags ${seen.ds.map(dsKeyTag).join(', ')}, not ${s.keyTag}`;
    const waited = this.record(o, { ...r, ...checked, dsMisses: misses });
    this.event(waited, 'key.rollover-waiting-for-ds', `KSK rollover of ${zone} waits for the DS of key ${s.keyTag} at the parent since ${r.since}: ${why}; the old key ${o.keyTag} stays (keymaster zone step-rollover ${zone} ${o.id} once the DS is there)`, {
      waitingFor: s.keyTag,
      successor: s.id,
      since: r.since,
      checks: misses,
      reason: why,
    });
    return this.done();
  }
}
