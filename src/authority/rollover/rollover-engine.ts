import type { Name } from '../../wire/name.js';
import type { KeyMetadata, KeyRole, KeyState } from '../key-store.js';
import type { SigningPolicy } from '../signing-options.js';
import { isPublished } from '../key-master.js';
import { algorithmDiffers, algorithmRolloverLead, algorithmRolloverOf, isCancellable } from './algorithm-rollover.js';
import { dsAlgorithm, dsKeyTag, dsMatchesKey, revokedMetadata } from './rollover-keys.js';
import { type KeyRolloverRecord, type RolloverMethod, type RolloverStatus, type RolloverTimers, isRolling } from './rollover-state.js';
import { type ZoneTiming, dsRetireInterval, publishInterval, revokedKeepInterval, standbyReadyInterval, zskRetireInterval } from './rollover-timing.js';

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
 */

/** The parts of the signing policy rollover needs. */
export type RolloverPolicy = Pick<SigningPolicy, 'algorithm' | 'kskRollover' | 'zskRollover' | 'rfc5011' | 'dnskeyTtl' | 'dsTtl' | 'dnskeySignatureValidity'>;

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
  readonly policy: RolloverPolicy;
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

const iso = (ms: number) => new Date(ms).toISOString();
const ms = (text: string | undefined) => (text === undefined ? undefined : Date.parse(text));
const S = 1000;

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

const statusOf = (m: KeyMetadata): RolloverStatus => m.rollover?.status ?? 'NotRolling';

/** The next thing a rolling key waits for, and when it is due (ms); undefined when it waits for something else (the parent, another roll). */
export interface PendingAction {
  readonly action: string;
  readonly at: number | undefined;
}

function byCreated(a: KeyMetadata, b: KeyMetadata): number {
  return a.created.localeCompare(b.created) || a.id.localeCompare(b.id);
}

class Keys {
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

/**
 * One step of the zone's rollovers at `input.now`. Call again after applying the result until it
 * has no writes, no key request and no DS check due; then call again at `wakeAt`.
 */
export function stepRollover(input: RolloverInput): RolloverStep {
  const { now, timers, policy, zone } = input;
  const keys = new Keys(input.keys);
  const events: RolloverEvent[] = [];
  const writes: KeyMetadata[] = [];
  let keySetChanged = false;
  const t = timingOf(input);

  const event = (m: KeyMetadata, name: RolloverEventName, msg: string, fields: Record<string, unknown> = {}) =>
    events.push({ name, keyId: m.id, keyTag: m.keyTag, role: m.role, fields: { zone: zone.toString(), ...fields }, msg });
  const stage = (m: KeyMetadata, status: RolloverStatus) => events.push(stageEvent(zone, m, status));
  const write = (m: KeyMetadata, before: KeyMetadata) => {
    if (m.state !== before.state || m.flags !== before.flags) keySetChanged = true;
    keys.byId.set(m.id, m);
    writes.push(m);
  };
  const record = (m: KeyMetadata, r: KeyRolloverRecord) => {
    const next = { ...m, rollover: r };
    write(next, m);
    return next;
  };
  const moveTo = (m: KeyMetadata, status: RolloverStatus, extra: Partial<KeyRolloverRecord> = {}, state?: Partial<KeyMetadata>) => {
    const r: KeyRolloverRecord = { ...m.rollover!, ...extra, status, since: iso(now) };
    const next: KeyMetadata = { ...m, ...state, rollover: r };
    write(next, m);
    stage(next, status);
    return next;
  };
  const done = (extra: Partial<RolloverStep> = {}): RolloverStep => ({
    writes,
    events,
    dsCheckDue: false,
    keySetChanged,
    wakeAt: extra.wakeAt ?? wakeAt(),
    ...extra,
  });
  // The earliest time ahead at which something is due. What is due already but blocked (a roll
  // queued behind another of the same role) is stepped again when the blocking roll moves.
  const wakeAt = (): number | undefined => {
    let at: number | undefined;
    for (const k of keys.all) {
      const p = pendingAction(k, keys.all, input);
      if (p?.at === undefined) continue;
      const times = [p.at];
      if (p.action === 'StartRollover' && statusOf(k) === 'NotRolling' && k.rollover?.dueNotice !== k.nextRollover) times.push(p.at - timers.advanceNotice * S);
      for (const due of times) if (due > now && (at === undefined || due < at)) at = due;
    }
    return at;
  };
  const fail = (m: KeyMetadata, why: string): RolloverStep => {
    moveTo(m, 'RollError', { error: why });
    event(m, 'key.rollover-error', `rollover of key ${m.id} of zone ${zone} stopped: ${why}; every key stays published`, { error: why });
    return done();
  };

  // Rolls under way first, oldest key first: one change per step.
  const rolling = keys.all.filter((k) => isRolling(k.rollover?.status)).sort(byCreated);
  // The zone's keys are not all of the policy's algorithm: no ordinary roll starts, the algorithm is rolled.
  const algorithmChange = algorithmRolloverOf(keys.all) !== undefined || algorithmDiffers(keys.all, policy.algorithm);
  for (const o of rolling) {
    const r = o.rollover!;
    const method = r.method ?? rolloverMethod(o.role, policy);
    const p = pendingAction(o, keys.all, input);
    const successor = r.successor ? keys.byId.get(r.successor) : undefined;
    if (r.successor && (!successor || successor.state === 'retired'))
      return fail(o, `its successor ${r.successor} is ${successor ? 'retired' : 'missing from the key store'}`);
    if (method === 'Algorithm') {
      const step = algorithmStep(o, p!, successor);
      if (step) return step;
      continue;
    }
    // Keys a request makes for an ordinary roll are of the rolled key's algorithm and size.
    const request = (role: KeyRole, state: KeyRequest['state']): KeyRequest => ({ role, state, forKey: o.id, algorithm: o.algorithm, ...(o.algorithm === policy.algorithm ? {} : { bits: o.bits }) });
    switch (r.status) {
      case 'Queued': {
        const busy = rolling.some((k) => k.id !== o.id && k.role === o.role && k.rollover!.status !== 'Queued');
        if (busy || algorithmChange) continue;
        if (method === 'RFC5011' && keys.of('ksk', 'standby', o.algorithm).length === 0) return done({ generate: request('ksk', 'standby') });
        if (p!.at! > now) continue;
        const started = moveTo(o, 'RollStarted', { method, started: iso(now) });
        event(started, 'key.rollover-started', `keys for the signing key ${o.id} in zone ${zone} are starting the rollover process`, { method });
        return done();
      }
      case 'RollStarted': {
        if (o.role === 'zsk') {
          const nexts = keys.of('zsk', 'next', o.algorithm);
          const need = policy.rfc5011 ? 2 : 1;
          if (nexts.length < need) return done({ generate: request('zsk', 'next') });
          // The successor is recorded before anything else changes, so a redo after a crash
          // continues with the same key (the swap happens in the next step when it is ready).
          moveTo(o, 'ZskWaitingForDnsKeyTtl', { successor: nexts[0]!.id });
          return done();
        }
        if (method === 'DoubleSignature') {
          const s = keys.of('ksk', 'active', o.algorithm).filter((k) => k.id !== o.id && statusOf(k) === 'NotRolling' && k.nextRollover === undefined)[0];
          if (!s) return done({ generate: request('ksk', 'active') });
          moveTo(o, 'KskWaitingForDSUpdate', { successor: s.id, dsMisses: 0 });
          return done();
        }
        const standbys = keys.of('ksk', 'standby', o.algorithm);
        if (standbys.length < 2) return done({ generate: request('ksk', 'standby') });
        moveTo(o, 'KskWaitingForDSUpdate', { successor: standbys[0]!.id, dsMisses: 0 });
        return done();
      }
      case 'ZskWaitingForDnsKeyTtl': {
        if (p!.at! > now) continue;
        return swapZsk(o, successor!);
      }
      case 'ZskWaitingForMaxZoneTtl':
        if (p!.at! > now) continue;
        return complete(o, successor!);
      case 'KskWaitingForDSUpdate': {
        if (input.parentDs) return observeDs(o, successor!, input.parentDs);
        if (p!.at! > now) continue;
        return done({ dsCheckDue: true });
      }
      case 'KskWaitingForDSTtl': {
        if (p!.at! > now) continue;
        if (method === 'RFC5011') {
          // The standby signs the DNSKEY RRset from now on, beside the old key for a while.
          if (successor!.state !== 'active') write({ ...successor!, state: 'active', activated: iso(now) }, successor!);
          moveTo(o, 'WaitingForRFC5011RemoveHoldDown');
          return done();
        }
        if (publishedAt(successor!) + publishInterval(t, timers) * S > now) {
          moveTo(o, 'KskWaitingForDnsKeyTtl');
          return done();
        }
        return complete(o, successor!);
      }
      case 'WaitingForRFC5011RemoveHoldDown':
        if (p!.at! > now) continue;
        if (r.revoked === undefined) {
          // Published with the REVOKE bit (flags 385), signing the DNSKEY RRset itself so
          // trust-point resolvers can verify the revocation (RFC 5011 §2.1).
          const revoked = { ...revokedMetadata(o), state: 'revoked' as const, rollover: { ...r, revoked: iso(now) } };
          write(revoked, o);
          event(revoked, 'key.ksk-rollover-stage', `the key signing key ${o.id} of zone ${zone} is revoked (flags ${revoked.flags}, key tag ${revoked.keyTag}) for the RFC 5011 remove hold-down`, { status: r.status, revokedKeyTag: revoked.keyTag });
          return done();
        }
        return complete(o, successor!);
      case 'KskWaitingForDnsKeyTtl':
        if (p!.at! > now) continue;
        return complete(o, successor!);
    }
  }

  // Keys whose rollover is scheduled: notice a day ahead (7667), queue when due. When the zone's
  // keys are not of the policy's algorithm, the algorithm is rolled instead (and nothing else).
  const successors = keys.successors();
  if (algorithmChange) {
    if (algorithmRolloverOf(keys.all)) return done();
    const lead = algorithmRolloverLead(keys.all, policy.algorithm, successors);
    if (!lead) return done(); // another roll holds the KSKs: the algorithm waits for it
    const queued = record(lead, { ...keepHistory(lead.rollover), status: 'Queued', since: iso(now), method: 'Algorithm', algorithm: policy.algorithm });
    stage(queued, 'Queued');
    return done();
  }
  for (const k of keys.all.sort(byCreated)) {
    if (k.state !== 'active' || k.nextRollover === undefined || isRolling(k.rollover?.status) || k.rollover?.status === 'RollError' || successors.has(k.id)) continue;
    const due = Date.parse(k.nextRollover);
    if (due <= now) {
      const method = rolloverMethod(k.role, policy);
      const queued = record(k, { ...keepHistory(k.rollover), status: 'Queued', since: iso(now), method });
      stage(queued, 'Queued');
      return done();
    }
    if (due - timers.advanceNotice * S <= now && k.rollover?.dueNotice !== k.nextRollover) {
      const noticed = record(k, { ...(k.rollover ?? { status: 'NotRolling', since: iso(now) }), dueNotice: k.nextRollover });
      event(noticed, 'key.rollover-due', `keys for the signing key ${k.id} in zone ${zone} will be rolled over in less than ${Math.round(timers.advanceNotice / 3600)} hours`, { nextRollover: k.nextRollover });
      return done();
    }
  }
  return done();

  /** One step of an algorithm rollover (algorithm-rollover.ts has the order and why), or undefined when nothing is due. */
  function algorithmStep(o: KeyMetadata, p: PendingAction, s: KeyMetadata | undefined): RolloverStep | undefined {
    const r = o.rollover!;
    const to = r.algorithm!;
    const roll = algorithmRolloverOf(keys.all)!;
    // Called off while nothing of the new algorithm is published, when the policy no longer asks for it.
    if (policy.algorithm !== to && isCancellable(roll, keys.all)) return cancelAlgorithm(o);
    const due = p.at !== undefined && p.at <= now;
    const newKey = (role: KeyRole) => keys.all.filter((k) => k.role === role && k.algorithm === to && (k.state === 'presigning' || k.state === 'active')).sort(byCreated)[0];
    const request = (role: KeyRole, state: KeyRequest['state']): RolloverStep => done({ generate: { role, state, forKey: o.id, algorithm: to } });
    switch (r.status) {
      case 'Queued': {
        if (rolling.some((k) => k.id !== o.id && k.rollover!.status !== 'Queued') || !due) return undefined;
        // Rolls queued for other keys are part of this one: every key is replaced.
        for (const k of rolling) if (k.id !== o.id) record(k, { ...keepHistory(k.rollover), status: 'NotRolling', since: iso(now) });
        const started = moveTo(o, 'RollStarted', { started: iso(now) });
        event(started, 'key.rollover-started', `keys for the signing key ${o.id} in zone ${zone} are starting the rollover process: algorithm ${o.algorithm} to ${to}, every key of the zone`, { method: 'Algorithm', fromAlgorithm: o.algorithm, toAlgorithm: to });
        return done();
      }
      case 'RollStarted': {
        // 1. The new algorithm signs everything, its DNSKEYs not yet published.
        const ksk = newKey('ksk');
        if (!ksk) return request('ksk', 'presigning');
        if (!newKey('zsk')) return request('zsk', 'presigning');
        moveTo(o, 'AlgorithmWaitingForMaxZoneTtl', { successor: ksk.id });
        return done();
      }
      case 'AlgorithmWaitingForMaxZoneTtl': {
        if (!due) return undefined;
        // 2. Every cached RRset has the new signatures: the new DNSKEYs are published.
        const presigning = keys.all.filter((k) => k.algorithm === to && k.state === 'presigning').sort(byCreated);
        if (presigning.length > 0) {
          for (const k of presigning) write({ ...k, state: 'active', published: iso(now), activated: iso(now) }, k);
          return done();
        }
        if (policy.rfc5011 && !keys.all.some((k) => k.role === 'ksk' && k.algorithm === to && k.state === 'standby')) return request('ksk', 'standby');
        if (policy.rfc5011 && !keys.all.some((k) => k.role === 'zsk' && k.algorithm === to && k.state === 'next')) return request('zsk', 'next');
        moveTo(o, 'AlgorithmWaitingForNewDnsKeyTtl');
        return done();
      }
      case 'AlgorithmWaitingForNewDnsKeyTtl':
        if (!due) return undefined;
        // 3. Every cached DNSKEY RRset has the new keys: the CDS/CDNSKEY now ask for their DS only.
        moveTo(o, 'KskWaitingForDSUpdate', { dsMisses: 0 });
        keySetChanged = true;
        return done();
      case 'KskWaitingForDSUpdate':
        if (input.parentDs) return observeDs(o, s!, input.parentDs);
        return due ? done({ dsCheckDue: true }) : undefined;
      case 'KskWaitingForDSTtl': {
        if (!due) return undefined;
        // 4. No cache holds a DS of the old algorithm: its DNSKEYs go, its signatures stay. The
        // old KSK's first, so a crash between the writes leaves no published key of the old
        // algorithm whose signatures are gone from the data it should sign.
        moveTo(o, 'AlgorithmWaitingForOldDnsKeyTtl', {}, { state: 'unpublished' });
        withdrawOldAlgorithm(o);
        return done();
      }
      case 'AlgorithmWaitingForOldDnsKeyTtl': {
        // After a crash between the writes above: the rest withdrawn now, and the wait counted from now.
        if (oldAlgorithmKeys(o).some((k) => isPublished(k.state))) {
          withdrawOldAlgorithm(o);
          record(o, { ...r, since: iso(now) });
          return done();
        }
        if (!due) return undefined;
        // 5. No cache holds a DNSKEY RRset with the old keys: their signatures go.
        for (const k of oldAlgorithmKeys(o)) write({ ...k, state: 'retired', retired: iso(now) }, k);
        const zsk = keys.all.find((k) => k.role === 'zsk' && k.algorithm === to && k.state === 'active' && k.nextRollover === undefined);
        if (zsk) {
          const nextRollover = iso(Math.max(Date.parse(zsk.activated ?? iso(now)) + policy.zskRollover * S, now + timers.minimumWait * S));
          write({ ...zsk, nextRollover, rollover: { ...keepHistory(zsk.rollover), status: 'NotRolling', since: iso(now), lastRollover: iso(now) } }, zsk);
        }
        return complete(o, s!);
      }
      default:
        return undefined;
    }
  }

  /** The old algorithm's keys other than the lead, not yet retired. */
  function oldAlgorithmKeys(o: KeyMetadata): KeyMetadata[] {
    return keys.all.filter((k) => k.id !== o.id && k.algorithm === o.algorithm && k.state !== 'retired');
  }

  /** The old algorithm's published keys leave the DNSKEY RRset: the signing ones keep signing (`unpublished`), the rest go. */
  function withdrawOldAlgorithm(o: KeyMetadata): void {
    for (const k of oldAlgorithmKeys(o)) {
      if (!isPublished(k.state)) continue;
      write(k.state === 'active' ? { ...k, state: 'unpublished' } : { ...k, state: 'retired', retired: iso(now) }, k);
    }
  }

  /** Calls the algorithm rollover off: the new algorithm's unpublished keys go, the zone stays as it was. */
  function cancelAlgorithm(o: KeyMetadata): RolloverStep {
    const to = o.rollover!.algorithm!;
    for (const k of keys.all) if (k.algorithm === to && k.state === 'presigning') write({ ...k, state: 'retired', retired: iso(now) }, k);
    const back = record(o, { ...keepHistory(o.rollover), status: 'NotRolling', since: iso(now) });
    events.push({ ...stageEvent(zone, back, 'NotRolling'), fields: { zone: zone.toString(), status: 'NotRolling', cancelled: true, toAlgorithm: to, policyAlgorithm: policy.algorithm } });
    return done();
  }

  function swapZsk(o: KeyMetadata, s: KeyMetadata): RolloverStep {
    // The successor signs first (for a moment both do), then the old key stops signing.
    if (s.state !== 'active') write({ ...s, state: 'active', activated: iso(now) }, s);
    moveTo(o, 'ZskWaitingForMaxZoneTtl', { successor: s.id }, { state: 'inactive' });
    return done();
  }

  function complete(o: KeyMetadata, s: KeyMetadata): RolloverStep {
    const period = (o.role === 'ksk' ? policy.kskRollover : policy.zskRollover) * S;
    const activated = Date.parse(s.activated ?? iso(now));
    const nextRollover = iso(Math.max(activated + period, now + timers.minimumWait * S));
    write({ ...s, state: 'active', activated: s.activated ?? iso(now), nextRollover, rollover: { ...keepHistory(s.rollover), status: 'NotRolling', since: iso(now), lastRollover: iso(now) } }, s);
    const retired = moveTo(o, 'NotRolling', { lastRollover: iso(now) }, { state: 'retired', retired: iso(now) });
    event(retired, 'key.rollover-completed', `the rollover process for signing key ${o.id} in zone ${zone} is complete`, { successor: s.id, successorKeyTag: s.keyTag, nextRollover });
    return done();
  }

  function observeDs(o: KeyMetadata, s: KeyMetadata, seen: ParentDsObservation): RolloverStep {
    const r = o.rollover!;
    const checked = { lastDsCheck: iso(seen.at) };
    // An algorithm rollover waits until the DS RRset is the new algorithm's only (RFC 6781
    // §4.1.4: replaced), so no validator is left with a DS algorithm the DNSKEY RRset lacks.
    const oldAlgorithm = r.method === 'Algorithm' ? (seen.ds ?? []).filter((ds) => dsAlgorithm(ds) === o.algorithm) : [];
    const hasNew = seen.ds?.some((ds) => dsMatchesKey(zone, ds, s)) ?? false;
    if (hasNew && oldAlgorithm.length === 0) {
      moveTo(o, 'KskWaitingForDSTtl', { ...checked, dsSeen: iso(seen.at), dsTtl: Math.max(policy.dsTtl, seen.ttl ?? 0) });
      return done();
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
    const waited = record(o, { ...r, ...checked, dsMisses: misses });
    event(waited, 'key.rollover-waiting-for-ds', `KSK rollover of ${zone} waits for the DS of key ${s.keyTag} at the parent since ${r.since}: ${why}; the old key ${o.keyTag} stays (keymaster zone step-rollover ${zone} ${o.id} once the DS is there)`, {
      waitingFor: s.keyTag,
      successor: s.id,
      since: r.since,
      checks: misses,
      reason: why,
    });
    return done();
  }
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

function keepHistory(r: KeyRolloverRecord | undefined): Partial<KeyRolloverRecord> {
  return r?.lastRollover ? { lastRollover: r.lastRollover } : {};
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
