import { parseDuration } from '../config/duration.js';
import { parseSocketAddress } from '../config/socket-address.js';
import { PolicyRuleError, type ServerAddress } from './policy-table.js';

/** The fields of a policy rule as an operator types them (`keymaster policy add`, `POST /v1/policy`). */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * A negative trust anchor's end: an RFC 3339 time with an offset or `Z`, or a duration from
 * `now` such as `90m`, `12h`, `7d` (the config's duration syntax). Throws PolicyRuleError; does
 * not check that the time is in the future (the policy service does, against its clock).
 */
export function parsePolicyUntil(text: string, now: number): Date {
  const value = text.trim();
  if (/^[0-9]+[wdhms]/i.test(value) || /^[0-9]+$/.test(value)) {
    try {
      return new Date(now + parseDuration(value) * 1000);
    } catch (error) {
      throw new PolicyRuleError('until', (error as Error).message);
    }
  }
  const m = RFC3339.exec(value);
  const time = m ? Date.parse(value.replace(' ', 'T')) : NaN;
  // Date.parse rolls 2026-02-30 over to March; a calendar check catches that.
  const calendarOk = m !== null && !Number.isNaN(time) && Number(m[2]) >= 1 && Number(m[2]) <= 12 && Number(m[3]) <= new Date(Date.UTC(Number(m[1]), Number(m[2]), 0)).getUTCDate();
  if (!calendarOk)
    throw new PolicyRuleError('until', `"${text}" is neither an RFC 3339 time with its offset (e.g. 2026-12-31T00:00:00Z) nor a duration from now (e.g. 1h, 7d)`);
  return new Date(time);
}

/** `ADDR`, `ADDR:PORT`, `[V6]` or `[V6]:PORT`, port 53 by default. Throws PolicyRuleError naming the entry. */
export function parsePolicyForwarder(text: string): ServerAddress {
  try {
    const { host, port } = parseSocketAddress(text.trim(), 53);
    if (port === 0) throw new Error(`"${text}" has port 0`);
    return { host, port };
  } catch (error) {
    throw new PolicyRuleError('forwarders', (error as Error).message);
  }
}
