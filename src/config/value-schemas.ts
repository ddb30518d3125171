import { resolve } from 'node:path';
import { Name } from '../wire/name.js';
import { parseCidr, type CidrPrefix } from './cidr.js';
import { formatDuration, parseDuration } from './duration.js';
import { describeValue, fail, Failure, leaf, text, type Schema } from './schema-kit.js';
import { parseSocketAddress, type SocketAddress } from './socket-address.js';

// The value shapes every part of the config schema is written with (schema.ts, zone-schema.ts).

export function attempt<T>(parse: () => T): T | Failure {
  try {
    return parse();
  } catch (error) {
    return fail((error as Error).message);
  }
}

export function socketAddress(defaultPort?: number): Schema<SocketAddress> {
  return text(defaultPort === undefined ? 'ADDR:PORT' : 'ADDR[:PORT]', (value) => attempt(() => parseSocketAddress(value, defaultPort)));
}

export const byteSize = leaf('a size such as 128m, 512k or 1g', (value) => {
  const m = /^([0-9]+)([kmg]?)b?$/i.exec(String(value).trim());
  if ((typeof value !== 'string' && typeof value !== 'number') || !m) return fail(`must be a size such as 128m, 512k or 1g, got ${describeValue(value)}`);
  const bytes = Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return bytes >= 1024 * 1024 ? bytes : fail(`${JSON.stringify(value)} is below the minimum of 1m`);
});

export const cidr = text<CidrPrefix>('a CIDR prefix such as "10.0.0.0/8"', (value) => attempt(() => parseCidr(value)));

/** A path; relative ones are resolved against the working directory (the context's baseDir). */
export const filePath = text('a file path', (value, ctx) => (value.trim() === '' ? fail('must not be empty') : resolve(ctx.baseDir, value)));

export const duration = (minSeconds: number) =>
  leaf('a duration such as 30d, 12h, 90m or 45s', (value) => {
    if (typeof value !== 'string' && typeof value !== 'number')
      return fail(`must be a duration such as 30d, 12h, 90m or 45s, got ${describeValue(value)}`);
    const seconds = attempt(() => parseDuration(value));
    if (seconds instanceof Failure) return seconds;
    return seconds >= minSeconds ? seconds : fail(`must be at least ${formatDuration(minSeconds)}, got ${formatDuration(seconds)}`);
  });

export function domainName(value: string): Name | Failure {
  if (/\s/.test(value)) return fail(`"${value}" is not a domain name (contains white space)`);
  return attempt(() => {
    try {
      return Name.parse(value);
    } catch (error) {
      throw new Error(`"${value}" is not a domain name: ${(error as Error).message}`);
    }
  });
}

export const zoneName = text('a domain name such as "home.arpa."', (value) => {
  const name = domainName(value);
  return name instanceof Name ? name.lowercase().toString() : name;
});

/** NRPT style: `.corp.example` is the suffix (the name and below), `corp.example` the name, `.` all. */
export const namespace = text('a namespace such as ".corp.example"', (value) => {
  if (value === '.') return '.';
  const suffix = value.startsWith('.');
  const body = suffix ? value.slice(1) : value;
  if (body === '' || body.startsWith('.')) return fail(`"${value}" is not a namespace (empty label)`);
  const name = domainName(body);
  if (name instanceof Failure) return name;
  return `${suffix ? '.' : ''}${name.lowercase().toString().slice(0, -1)}`;
});

export const timestamp = text<Date>('an ISO 8601 time such as "2026-12-31T00:00:00Z"', (value) => {
  const time = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(time) ? fail(`"${value}" is not an ISO 8601 time (e.g. "2026-12-31T00:00:00Z")`) : new Date(time);
});

