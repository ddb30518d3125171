import type { ResourceRecord } from '../wire/message.js';
import { decodeRdata, encodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';

/**
 * SOA serial numbers in RFC 1982 serial arithmetic (SERIAL_BITS = 32): `a` is greater than
 * `b` when it is ahead by less than half the number space. Equal and "undefined" (exactly half
 * apart) are not greater.
 */
export function serialGreater(a: number, b: number): boolean {
  const d = ((a >>> 0) - (b >>> 0) + 2 ** 32) % 2 ** 32;
  return d !== 0 && d < 2 ** 31;
}

/** The next serial (RFC 1982 §3.1: add 1 modulo 2^32), skipping 0 as BIND does (0 means "unset" to some tools). */
export function nextSerial(serial: number): number {
  const next = ((serial >>> 0) + 1) % 2 ** 32;
  return next === 0 ? 1 : next;
}

export function soaSerial(soa: ResourceRecord): number {
  return decodeRdata(RRType.SOA, soa.rdata)['serial'] as number;
}

/** The SOA record with another serial, everything else as it was. */
export function withSerial(soa: ResourceRecord, serial: number): ResourceRecord {
  const fields = decodeRdata(RRType.SOA, soa.rdata);
  return { ...soa, rdata: encodeRdata(RRType.SOA, { ...fields, serial: serial >>> 0 }) };
}

/**
 * How a zone's serial moves on (BIND's `serial-update-method`): `increment` adds one;
 * `date` keeps the `YYYYMMDDnn` form (today's date with a two-digit counter, or one more when
 * the serial is already at or past today's); `unixtime` is the time in seconds (or one more
 * when that would not move it forward). `keep` is resolved at load time by `detectSerialScheme`.
 */
export type SerialScheme = 'increment' | 'date' | 'unixtime';
export const SERIAL_SCHEMES = ['keep', 'increment', 'date', 'unixtime'] as const;
export type SerialSchemeConfig = (typeof SERIAL_SCHEMES)[number];

/** `YYYYMMDD00` for the day of `nowMs` (UTC). */
function dateSerialBase(nowMs: number): number {
  const d = new Date(nowMs);
  return (d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate()) * 100;
}

/** Whether a serial reads as `YYYYMMDDnn` with a real date from 1990 to 2099. */
function looksLikeDate(serial: number): boolean {
  const day = Math.floor(serial / 100);
  const y = Math.floor(day / 10000);
  const m = Math.floor(day / 100) % 100;
  const d = day % 100;
  return y >= 1990 && y <= 2099 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/**
 * The scheme the zone file's serial was written in, for `serial: keep`: a date serial when it
 * reads as one, Unix time when it is within ten years before `nowMs` (and not after it by more
 * than a day), else a counter.
 */
export function detectSerialScheme(serial: number, nowMs: number): SerialScheme {
  const s = serial >>> 0;
  if (looksLikeDate(s)) return 'date';
  const now = Math.floor(nowMs / 1000);
  if (s > now - 10 * 365 * 86400 && s <= now + 86400) return 'unixtime';
  return 'increment';
}

/** The scheme a zone uses: the configured one, or for `keep` the one its serial shows. */
export function resolveSerialScheme(config: SerialSchemeConfig | undefined, serial: number, nowMs: number): SerialScheme {
  return config === undefined || config === 'keep' ? detectSerialScheme(serial, nowMs) : config;
}

/**
 * The one place a zone's serial moves on: the scheme's next value when it is ahead of `current`
 * in RFC 1982 arithmetic, else `current` + 1 (a serial never goes back, whatever the clock says).
 */
export function advanceSerial(current: number, scheme: SerialScheme, nowMs: number): number {
  const plusOne = nextSerial(current);
  let wanted = plusOne;
  if (scheme === 'date') wanted = dateSerialBase(nowMs);
  else if (scheme === 'unixtime') wanted = Math.floor(nowMs / 1000) >>> 0;
  return wanted !== 0 && serialGreater(wanted, plusOne) ? wanted >>> 0 : plusOne;
}
