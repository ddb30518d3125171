import { resolve } from 'node:path';
import { Name } from '../wire/name.js';
import { parseDuration } from './duration.js';
import { boolean, fail, leaf, listOf, table, text, withDefault, type Schema } from './schema-kit.js';

/** `resolver.localZones`: the RFC 6761/6303/7686/8375 zones answered here (docs/good-citizen.md). */
export interface LocalZonesConfig {
  /** False: none of them (Unbound without its default local zones). */
  readonly enable: boolean;
  /** Default zones not answered here (Unbound's `local-zone: NAME nodefault`), lowercased and absolute. */
  readonly disable: readonly string[];
}

/** `cookies`: DNS cookies (RFC 7873, RFC 9018). */
export interface CookiesConfig {
  /** Answer clients' COOKIE options with server cookies; BADCOOKIE for a wrong one over UDP. */
  readonly enable: boolean;
  /** Seconds between server-secret rotations; the previous secret is accepted for one more period. */
  readonly secretRotation: number;
  /** Send our own client cookie to upstream servers and drop replies that echo a wrong one. */
  readonly upstream: boolean;
}

export const LOCAL_ZONES_DEFAULTS = { enable: true, disable: [] } as const;
export const COOKIES_DEFAULTS = { enable: true, secretRotation: '1d', upstream: true } as const;

/** Checked against the list when the server starts (src/serve/good-citizen-service.ts): config/ does not import resolver/. */
const defaultZoneName = text('the name of a default local zone such as "test." or "10.in-addr.arpa."', (value) => {
  let name: Name;
  try {
    name = Name.parse(value.endsWith('.') ? value : `${value}.`).lowercase();
  } catch (error) {
    return fail(`"${value}" is not a domain name: ${(error as Error).message}`);
  }
  return name.toString();
});

/** An hour at least (a cookie is valid an hour, RFC 9018 §4.3); at most 30 days. */
const rotation = leaf('a duration such as 1d or 12h (at least 1h)', (value) => {
  let seconds: number;
  try {
    seconds = parseDuration(value as string | number);
  } catch {
    return fail(`${JSON.stringify(value)} is not a duration such as 1d or 12h`);
  }
  if (seconds < 3600 || seconds > 30 * 86400) return fail(`${JSON.stringify(value)} is outside 1h to 30d`);
  return seconds;
});

export const localZonesSchema: Schema<LocalZonesConfig> = table<LocalZonesConfig>({
  enable: withDefault(boolean(), LOCAL_ZONES_DEFAULTS.enable),
  disable: withDefault(listOf(defaultZoneName, { unique: { key: (n) => n } }), LOCAL_ZONES_DEFAULTS.disable),
});

export const cookiesSchema: Schema<CookiesConfig> = table<CookiesConfig>({
  enable: withDefault(boolean(), COOKIES_DEFAULTS.enable),
  secretRotation: withDefault(rotation, COOKIES_DEFAULTS.secretRotation),
  upstream: withDefault(boolean(), COOKIES_DEFAULTS.upstream),
});

/** `trustAnchors.rootAnchorsSignature`: an http(s) URL (kept as given) or a file (made absolute). */
export const rootAnchorsSignatureSchema = text('a URL or file of root-anchors.p7s', (value, ctx) => {
  if (value.trim() === '') return fail('must not be empty');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (!scheme) return resolve(ctx.baseDir, value);
  if (!/^https?$/i.test(scheme[1]!)) return fail(`"${value}": only http and https URLs are fetched; give a file as a path`);
  try {
    return new URL(value).href;
  } catch (error) {
    return fail(`"${value}" is not a URL: ${(error as Error).message}`);
  }
});
