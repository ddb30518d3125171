import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { fstatSync } from 'node:fs';
import type { LogLevel } from '../config/schema.js';
import { journaldStream, stdoutIsJournal } from './journald.js';

/** `device:inode` of stdout, as systemd writes JOURNAL_STREAM. */
function stdoutIdentity(): string | undefined {
  try {
    const st = fstatSync(1);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

export type Logger = PinoLogger;
export type EventLevel = Exclude<LogLevel, 'silent'>;

export interface LoggerOptions {
  readonly level: LogLevel;
  /** A stream, a file descriptor or a file path; default: stdout. */
  readonly destination?: DestinationStream | number | string;
}

/** JSON lines: `{"level":"info","time":"2026-…Z","pid":1,"event":"server.started",…}`. */
export function createLogger(options: LoggerOptions): Logger {
  const toStdout = options.destination === undefined || options.destination === 1;
  const plain = typeof options.destination === 'object' ? options.destination : pino.destination({ dest: options.destination ?? 1, sync: true });
  const destination = toStdout && stdoutIsJournal(process.env, stdoutIdentity()) ? journaldStream(plain) : plain;
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

export interface EventOptions {
  /** Default: info. */
  readonly level?: EventLevel;
  /** The Microsoft DNS Server's event id for the same event, when it has one. */
  readonly eventId?: number;
  readonly msg?: string;
}

/** Logs one event with a stable `event` name (`area.what-happened`) that fields cannot overwrite. */
export function logEvent(logger: Logger, event: string, fields: Record<string, unknown> = {}, options: EventOptions = {}): void {
  const record: Record<string, unknown> = { event };
  if (options.eventId !== undefined) record['eventId'] = options.eventId;
  for (const [key, value] of Object.entries(fields)) if (!(key in record)) record[key] = value;
  const level = options.level ?? 'info';
  if (options.msg === undefined) logger[level](record);
  else logger[level](record, options.msg);
}

/**
 * The DNSSEC events and their Microsoft DNS Server event ids (7646 zone signed, 7647 unsigned,
 * 7650 signing started, 7667 rolls within a day, 7669/7670 rollover started/complete, 784/785
 * KSK/ZSK rollover stage).
 * Names are a contract for log consumers: add new ones, never rename.
 */
export const DNSSEC_EVENTS = {
  'zone.signing-started': { eventId: 7650 },
  'zone.signed': { eventId: 7646 },
  'zone.unsigned': { eventId: 7647 },
  'zone.signing-failed': { level: 'error' },
  'zone.keys-generated': {},
  'zone.key-retired': {},
  'zone.key-purged': {},
  'zone.key-purge-failed': { level: 'warn' },
  'key.rollover-due': { eventId: 7667 },
  'key.rollover-started': { eventId: 7669 },
  'key.rollover-completed': { eventId: 7670 },
  'key.ksk-rollover-stage': { eventId: 784 },
  'key.zsk-rollover-stage': { eventId: 785 },
  'key.rollover-waiting-for-ds': { level: 'warn' },
  'key.rollover-error': { level: 'error' },
  'key.rollover-timers-lowered': { level: 'warn' },
  'zone.parent-ds-updated': {},
  // Issue 14: keys retired with their zone (key-archive.ts), and the safe unsign (unsign-sequence.ts).
  'zone.keys-archived': {},
  'zone.keys-archive-failed': { level: 'error' },
  'zone.keys-reused': { level: 'warn' },
  'zone.archived-keys-not-reused': { level: 'warn' },
  'zone.unsign-started': { eventId: 776 },
  'zone.unsign-stage': {},
  'trust-anchor.state-changed': {},
  'trust-point.refreshed': {},
  'validation.failed': { level: 'warn' },
} as const satisfies Record<string, { eventId?: number; level?: EventLevel }>;

export type DnssecEventName = keyof typeof DNSSEC_EVENTS;

/** Logs a DNSSEC event with its catalogued event id and level unless `options` overrides them. */
export function logDnssecEvent(
  logger: Logger,
  event: DnssecEventName,
  fields: Record<string, unknown> = {},
  options: EventOptions = {},
): void {
  const known: { eventId?: number; level?: EventLevel } = DNSSEC_EVENTS[event];
  const eventId = options.eventId ?? known.eventId;
  logEvent(logger, event, fields, {
    level: options.level ?? known.level ?? 'info',
    ...(eventId === undefined ? {} : { eventId }),
    ...(options.msg === undefined ? {} : { msg: options.msg }),
  });
}
