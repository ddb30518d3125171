import { isIP } from 'node:net';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../wire/ip-address.js';

/** Which limit made room for a new connection by closing another. */
export type EvictionReason = 'total' | 'per-prefix';

export interface TcpLimits {
  /** Open connections in the whole process. */
  readonly maxConnections: number;
  /** Open connections from one client prefix. */
  readonly maxConnectionsPerPrefix: number;
  /** Prefix lengths that make one client network: /24 (IPv4) and /56 (IPv6, an end site) by default. */
  readonly prefixV4: number;
  readonly prefixV6: number;
}

/** What the limiter needs of a connection: its prefix, how idle it is, and how to close it. */
export interface TcpSlotHolder {
  readonly prefix: string;
  /** True while answers are being worked on for it: such a connection is not idle. */
  readonly busy: boolean;
  /** Milliseconds timestamp of its last whole query or answer (its accept, before any). */
  readonly lastActivity: number;
  evict(): void;
}

export interface Eviction {
  readonly evicted: TcpSlotHolder;
  readonly limit: EvictionReason;
}

/**
 * Counts open DNS-over-TCP connections, in total and per client prefix, across every TCP listener
 * of the process (RFC 7766 §6.2.2: servers should limit them, per client too). A connection holds
 * a socket and buffers for as long as its client likes, so a few hosts could hold every slot and
 * lock legitimate clients out; instead, a new connection is always taken and, when a limit is
 * full, the idlest connection is closed to make room: within the newcomer's own prefix when that
 * prefix is full (a flood only pushes itself out), else within the prefix that holds the most
 * connections. Idlest: a connection with nothing in progress before a busy one, then the least
 * recently active. Prefixes, not addresses: a host has a /64 or a whole /24 to take sources from.
 */
export class TcpConnectionLimiter {
  private readonly byPrefix = new Map<string, Set<TcpSlotHolder>>();
  private open = 0;

  constructor(readonly limits: TcpLimits) {}

  /** The client network of `address` (`10.1.2.0/24`, `2001:db8:0:100::/56`). */
  prefixOf(address: string): string {
    const family = isIP(address);
    if (family === 0) return address;
    const bits = family === 4 ? this.limits.prefixV4 : this.limits.prefixV6;
    const bytes = family === 4 ? parseIpv4(address) : parseIpv6(address);
    const masked = new Uint8Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) {
      const keep = Math.max(0, Math.min(8, bits - i * 8));
      masked[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
    }
    return `${family === 4 ? formatIpv4(masked) : formatIpv6(masked)}/${bits}`;
  }

  /** Counts `holder` in; returns the connection closed to make room, if one was. */
  admit(holder: TcpSlotHolder): Eviction | undefined {
    let eviction: Eviction | undefined;
    const mine = this.byPrefix.get(holder.prefix);
    if (mine && mine.size >= this.limits.maxConnectionsPerPrefix) eviction = { evicted: idlest(mine), limit: 'per-prefix' };
    else if (this.open >= this.limits.maxConnections) eviction = { evicted: idlest(this.largestPrefix()), limit: 'total' };
    if (eviction) {
      this.release(eviction.evicted);
      eviction.evicted.evict();
    }
    let set = this.byPrefix.get(holder.prefix);
    if (!set) this.byPrefix.set(holder.prefix, (set = new Set()));
    set.add(holder);
    this.open++;
    return eviction;
  }

  /** Gives back a connection's slot; a connection already released (evicted) is not counted twice. */
  release(holder: TcpSlotHolder): void {
    const set = this.byPrefix.get(holder.prefix);
    if (!set?.delete(holder)) return;
    this.open--;
    if (set.size === 0) this.byPrefix.delete(holder.prefix);
  }

  get openConnections(): number {
    return this.open;
  }

  /** Open connections of the prefix of `address`. */
  openFrom(address: string): number {
    return this.byPrefix.get(this.prefixOf(address))?.size ?? 0;
  }

  private largestPrefix(): Set<TcpSlotHolder> {
    let best: Set<TcpSlotHolder> | undefined;
    for (const set of this.byPrefix.values()) if (!best || set.size > best.size) best = set;
    return best!;
  }
}

function idlest(set: Set<TcpSlotHolder>): TcpSlotHolder {
  let best: TcpSlotHolder | undefined;
  for (const h of set) {
    if (!best || (best.busy && !h.busy) || (best.busy === h.busy && h.lastActivity < best.lastActivity)) best = h;
  }
  return best!;
}
