import { LocallyServedZones } from '../resolver/locally-served-zones.js';
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

const defaultZoneName = text('the name of a default local zone such as "test." or "10.in-addr.arpa."', (value) => {
  let name: Name;
  try {
    name = Name.parse(value.endsWith('.') ? value : `${value}.`).lowercase();
  } catch (error) {
    return fail(`"${value}" is not a domain name: ${(error as Error).message}`);
  }
  if (!LocallyServedZones.isDefault(name)) return fail(`"${value}" is not one of the default local zones (see docs/good-citizen.md for the list)`);
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
