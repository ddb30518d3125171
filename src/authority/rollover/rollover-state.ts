/**
 * The vocabulary of automatic key rollover: the states a key passes through while it is rolled
 * (the Microsoft DNS Server's CurrentRolloverStatus values), the methods, the record persisted
 * in each key's metadata, and the timers. Plain data, no I/O.
 */
import type { RolloverConfig } from '../../config/schema.js';
import { defaultConfig } from '../../config/loader.js';

/**
 * Get-DnsServerSigningKey's CurrentRolloverStatus values, in the order a rollover meets them,
 * and the three of an algorithm rollover (RFC 6781 §4.1.4), which the Microsoft DNS Server does
 * not roll by itself: the new algorithm signing everything before its keys are published
 * (AlgorithmWaitingForMaxZoneTtl), its keys published (AlgorithmWaitingForNewDnsKeyTtl), and,
 * after the DS change (KskWaitingForDSUpdate, KskWaitingForDSTtl), the old keys withdrawn while
 * their signatures stay (AlgorithmWaitingForOldDnsKeyTtl).
 */
export const ROLLOVER_STATUSES = [
  'NotRolling',
  'Queued',
  'RollStarted',
  'ZskWaitingForDnsKeyTtl',
  'ZskWaitingForMaxZoneTtl',
  'AlgorithmWaitingForMaxZoneTtl',
  'AlgorithmWaitingForNewDnsKeyTtl',
  'KskWaitingForDSUpdate',
  'KskWaitingForDSTtl',
  'KskWaitingForDnsKeyTtl',
  'AlgorithmWaitingForOldDnsKeyTtl',
  'WaitingForRFC5011RemoveHoldDown',
  'RollError',
] as const;
export type RolloverStatus = (typeof ROLLOVER_STATUSES)[number];

/**
 * How a key is rolled. ZSK: pre-publication (RFC 6781 §4.1.1.1). KSK: double signature with the
 * DS changed at the parent at the same time (RFC 7583 §3.3.3 "Double-RRset"), or RFC 5011
 * (standby KSK takes over, the old one is revoked through the remove hold-down). Algorithm:
 * every key of the zone replaced by keys of another algorithm, in the conservative order of
 * RFC 6781 §4.1.4 (the record is carried by the old active KSK).
 */
export type RolloverMethod = 'PrePublish' | 'DoubleSignature' | 'RFC5011' | 'Algorithm';

/** A rollover under way (a status other than NotRolling and RollError). */
export function isRolling(status: RolloverStatus | undefined): boolean {
  return status !== undefined && status !== 'NotRolling' && status !== 'RollError';
}

/**
 * What a key's metadata says about its rollover. The key being rolled carries the record of
 * the roll; every time is ISO 8601 and is when the zone with that change was published.
 */
export interface KeyRolloverRecord {
  readonly status: RolloverStatus;
  /** When the key entered `status`. */
  readonly since: string;
  readonly method?: RolloverMethod;
  /** When this roll started (RollStarted). */
  readonly started?: string;
  /** The key that takes over from this one (set when the roll starts). */
  readonly successor?: string;
  /** An algorithm rollover: the DNSSEC algorithm number the zone rolls to. */
  readonly algorithm?: number;
  /** When the parent's DS RRset was first seen with the successor's DS (or the operator stepped). */
  readonly dsSeen?: string;
  /** The parent's DS TTL as observed (seconds); the policy's DS TTL when not observed. */
  readonly dsTtl?: number;
  /** The operator moved the roll past KskWaitingForDSUpdate (`zone step-rollover`). */
  readonly dsStepped?: boolean;
  /** The last time the parent's DS RRset was checked, and how many checks did not find the DS. */
  readonly lastDsCheck?: string;
  readonly dsMisses?: number;
  /** When an RFC 5011 KSK was published with its REVOKE bit. */
  readonly revoked?: string;
  /** The nextRollover for which the "rolls within a day" notice (7667) was given. */
  readonly dueNotice?: string;
  /** When the last rollover this key took part in completed (as the old key or the successor). */
  readonly lastRollover?: string;
  /** Why the roll stopped in RollError. */
  readonly error?: string;
}

const DAY = 86_400;

/** The times the engine waits with, in seconds: the config's `dnssec.rollover` (RolloverConfig, where each is said), and the notice. */
export interface RolloverTimers extends RolloverConfig {
  /** How long before a rollover event 7667 ("rolls within a day") is given. */
  readonly advanceNotice: number;
}

/** config/defaults.ts's `dnssec.rollover`, the one definition, read by the config schema. */
export const DEFAULT_ROLLOVER_TIMERS: RolloverTimers = { ...defaultConfig().dnssec.rollover, advanceNotice: DAY };

/** The timers set below the values the RFCs and the reference give: a lab setting, worth a warning. */
export function loweredRolloverTimers(timers: RolloverTimers): (keyof RolloverTimers)[] {
  const guarded: (keyof RolloverTimers)[] = ['minimumWait', 'addHoldDown', 'removeHoldDown', 'minRefresh'];
  return guarded.filter((k) => timers[k] < DEFAULT_ROLLOVER_TIMERS[k]);
}

/** Timers from partial settings over the defaults; a negative or non-integer value is an error naming it. */
export function rolloverTimers(settings: Partial<RolloverTimers> = {}): RolloverTimers {
  const timers = { ...DEFAULT_ROLLOVER_TIMERS, ...settings };
  for (const [name, value] of Object.entries(timers))
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`rollover timer ${name} must be a whole number of seconds, got ${String(value)}`);
  if (timers.dsPollingPeriod < 1) throw new RangeError('rollover timer dsPollingPeriod must be at least 1 second');
  return timers;
}

/** A bad persisted rollover record: names the key and the field. */
export class RolloverRecordError extends Error {
  override readonly name = 'RolloverRecordError';
}

const METHODS: readonly RolloverMethod[] = ['PrePublish', 'DoubleSignature', 'RFC5011', 'Algorithm'];
const TIME_FIELDS = ['since', 'started', 'dsSeen', 'lastDsCheck', 'revoked', 'dueNotice', 'lastRollover'] as const;

/** Checks a record read from a key's metadata file; `where` names the key for the error. */
export function checkRolloverRecord(value: unknown, where: string): KeyRolloverRecord {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new RolloverRecordError(`${where}: rollover must be an object`);
  const r = value as Record<string, unknown>;
  if (!ROLLOVER_STATUSES.includes(r['status'] as RolloverStatus)) throw new RolloverRecordError(`${where}: rollover.status "${String(r['status'])}" is not one of ${ROLLOVER_STATUSES.join(', ')}`);
  if (r['method'] !== undefined && !METHODS.includes(r['method'] as RolloverMethod)) throw new RolloverRecordError(`${where}: rollover.method "${String(r['method'])}" is not one of ${METHODS.join(', ')}`);
  if (typeof r['since'] !== 'string') throw new RolloverRecordError(`${where}: rollover.since is missing`);
  for (const f of TIME_FIELDS) {
    const v = r[f];
    if (v !== undefined && (typeof v !== 'string' || Number.isNaN(Date.parse(v)))) throw new RolloverRecordError(`${where}: rollover.${f} "${String(v)}" is not an ISO 8601 time`);
  }
  for (const f of ['dsTtl', 'dsMisses', 'algorithm'] as const) {
    const v = r[f];
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < 0)) throw new RolloverRecordError(`${where}: rollover.${f} must be a whole number, got ${String(v)}`);
  }
  if (r['successor'] !== undefined && typeof r['successor'] !== 'string') throw new RolloverRecordError(`${where}: rollover.successor must be a key id`);
  if (r['method'] === 'Algorithm' && r['algorithm'] === undefined) throw new RolloverRecordError(`${where}: rollover.algorithm (the algorithm rolled to) is missing from an algorithm rollover`);
  return value as KeyRolloverRecord;
}
