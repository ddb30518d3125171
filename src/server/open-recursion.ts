import type { CidrPrefix } from '../config/cidr.js';

/**
 * Prefixes shorter than /8 let a large share of the Internet use the resolver: an open resolver
 * is an amplifier for reflection attacks and a cache anyone can probe or poison at leisure.
 */
export const OPEN_RECURSION_PREFIX = 8;

/** The entries of `recursion.allow` that make the resolver open (0.0.0.0/0, ::/0, anything shorter than /8). */
export function openRecursionPrefixes(allow: readonly CidrPrefix[]): string[] {
  return allow.filter((p) => p.prefixLength < OPEN_RECURSION_PREFIX).map((p) => p.text);
}
