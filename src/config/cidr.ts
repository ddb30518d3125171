import { isIPv4 } from 'node:net';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../wire/ip-address.js';

/** An address prefix such as `10.0.0.0/8` or `fc00::/7`. */
export interface CidrPrefix {
  readonly family: 4 | 6;
  /** The network address, host bits zero. */
  readonly address: Uint8Array;
  readonly prefixLength: number;
  /** Canonical text, e.g. `fc00::/7`. */
  readonly text: string;
}

function parseAddress(text: string): Uint8Array | undefined {
  try {
    return isIPv4(text) ? parseIpv4(text) : parseIpv6(text);
  } catch {
    return undefined;
  }
}

function hostBitsSet(bytes: Uint8Array, prefixLength: number): boolean {
  for (let bit = prefixLength; bit < bytes.length * 8; bit++) if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) return true;
  return false;
}

function maskTo(bytes: Uint8Array, prefixLength: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let bit = prefixLength; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

/**
 * Parses `ADDR/LEN`; a bare address is a host prefix (/32 or /128). Host bits set beyond the
 * prefix are an error rather than silently masked. Throws an Error saying what is wrong.
 */
export function parseCidr(text: string): CidrPrefix {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const bytes = parseAddress(addressText);
  if (!bytes) throw new Error(`"${text}" is not a CIDR prefix (bad address "${addressText}")`);
  const family = bytes.length === 4 ? 4 : 6;
  const maxLength = bytes.length * 8;
  const lengthText = slash < 0 ? String(maxLength) : text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lengthText) || Number(lengthText) > maxLength)
    throw new Error(`"${text}" is not a CIDR prefix (IPv${family} prefix length must be 0 to ${maxLength})`);
  const prefixLength = Number(lengthText);
  const format = (b: Uint8Array) => (family === 4 ? formatIpv4(b) : formatIpv6(b));
  if (hostBitsSet(bytes, prefixLength))
    throw new Error(`"${text}" has host bits set (did you mean "${format(maskTo(bytes, prefixLength))}/${prefixLength}"?)`);
  return { family, address: bytes, prefixLength, text: `${format(bytes)}/${prefixLength}` };
}

/** Whether `address` (IPv4 or IPv6 text) lies inside `prefix`. */
export function cidrContains(prefix: CidrPrefix, address: string): boolean {
  const bytes = parseAddress(address);
  if (!bytes || bytes.length !== prefix.address.length) return false;
  const whole = prefix.prefixLength >> 3;
  for (let i = 0; i < whole; i++) if (bytes[i] !== prefix.address[i]) return false;
  const rest = prefix.prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[whole]! & mask) === prefix.address[whole];
}
