import { isIPv4, isIPv6 } from 'node:net';
import { parseIpv6 } from '../wire/ip-address.js';

/** An IP address and port, as `listen`, `control` and `forwarders` hold them. */
export interface SocketAddress {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/**
 * Parses `ADDR:PORT` or `[V6ADDR]:PORT`; with a `defaultPort`, also a bare `ADDR` or `V6ADDR`.
 * Host names are not accepted: a server binds and forwards to addresses.
 * Throws an Error whose message says what is wrong.
 */
export function parseSocketAddress(text: string, defaultPort?: number): SocketAddress {
  const form = defaultPort === undefined ? 'ADDR:PORT or [IPv6]:PORT' : 'ADDR, ADDR:PORT, [IPv6] or [IPv6]:PORT';
  const bad = (why: string) => new Error(`"${text}" ${why} (expected ${form})`);
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
    if (!bracketed || !isIPv6(bracketed[1]!)) throw bad('is not an IPv6 address in brackets');
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (isIPv6(text)) {
    host = text;
  } else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
    if (!isIPv4(host)) throw bad(host.includes(':') ? 'is an IPv6 address with a port but no brackets' : 'is not an IP address');
  }
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) throw bad('has no port');
    port = defaultPort;
  } else {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) throw bad(`has a bad port "${portText}"`);
    port = Number(portText);
  }
  return { host: host.toLowerCase(), port, family: isIPv4(host) ? 4 : 6 };
}

/** `127.0.0.1:53`, `[::1]:53`. */
export function formatSocketAddress(address: SocketAddress): string {
  return address.family === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** 127.0.0.0/8, ::1, and 127.0.0.0/8 mapped into IPv6 (`::ffff:127.0.0.1`). */
export function isLoopbackAddress(host: string): boolean {
  if (isIPv4(host)) return host.startsWith('127.');
  let b: Uint8Array;
  try {
    b = parseIpv6(host);
  } catch {
    return false;
  }
  const zeroUpTo = (end: number) => b.subarray(0, end).every((x) => x === 0);
  if (zeroUpTo(10) && b[10] === 0xff && b[11] === 0xff) return b[12] === 127;
  return zeroUpTo(15) && b[15] === 1;
}
