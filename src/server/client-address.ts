/**
 * A peer address as the query pipeline should see it: `::ffff:192.0.2.1` (a v4 client on a
 * dual-stack socket) becomes `192.0.2.1`, so access control lists written in IPv4 match it.
 * Our own v6 sockets are v6-only, but a cluster primary or a future dual-stack socket may not be.
 */
export function normaliseClientAddress(address: string): string {
  // Fast path: every IPv4 address and most IPv6 ones are returned untouched without a scan.
  if (address.charCodeAt(0) !== 0x3a /* ':' */) return address;
  if (address.length > 7 && address.startsWith('::ffff:') && address.includes('.', 7)) return address.slice(7);
  return address;
}
