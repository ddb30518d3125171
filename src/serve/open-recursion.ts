import { cidrContains, type CidrPrefix, parseCidr } from '../config/cidr.js';

/**
 * Prefixes shorter than /8 let a large share of the Internet use the resolver: an open resolver
 * is an amplifier for reflection attacks and a cache anyone can probe or poison at leisure.
 */
export const OPEN_RECURSION_PREFIX = 8;

/** IPv6 unique local addresses (RFC 4193): a /7 of private networks, in the default allow list. */
const UNIQUE_LOCAL = parseCidr('fc00::/7');

function isPrivate(p: CidrPrefix): boolean {
  return p.family === 6 && p.prefixLength >= UNIQUE_LOCAL.prefixLength && cidrContains(UNIQUE_LOCAL, p.text.slice(0, p.text.indexOf('/')));
}

/** The entries of `recursion.allow` that make the resolver open (0.0.0.0/0, ::/0, anything shorter than /8 but fc00::/7). */
export function openRecursionPrefixes(allow: readonly CidrPrefix[]): string[] {
  return allow.filter((p) => p.prefixLength < OPEN_RECURSION_PREFIX && !isPrivate(p)).map((p) => p.text);
}
