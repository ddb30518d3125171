import { isIPv4 } from 'node:net';
import type { Clock } from '../clock.js';
import { parseIpv4, parseIpv6 } from '../wire/ip-address.js';
import { Rcode, type ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';

/**
 * Response rate limiting for authoritative answers over UDP, as BIND's `rate-limit`, Knot's
 * `rrl` and NSD's `rrl-*` do it: a server that answers spoofed-source queries is a reflector
 * aimed at the spoofed address, so identical answers to one client network are limited per
 * second. Answers over the limit are dropped, except that every `slip`-th of them is sent
 * truncated (TC=1, no records): a real client behind the address retries over TCP, which a
 * spoofer cannot, so legitimate clients keep being answered at full speed.
 *
 * Accounting (BIND's): a client network is the /24 (IPv4) or /56 (IPv6) the address is in; the
 * answers counted together are those to the same name and type (positive answers and
 * referrals), all NXDOMAINs of one zone (a random-name flood is one flow), and all errors
 * (REFUSED, FORMERR, SERVFAIL) together, each with its own rate. Each flow is a token bucket
 * holding at most one second's worth; the table of flows is bounded (oldest forgotten first).
 */

export interface RateLimitSettings {
  /** Identical answers per second to one client network; 0 turns rate limiting off. */
  readonly responsesPerSecond: number;
  /** NXDOMAIN answers per second per zone to one client network (default: responsesPerSecond). */
  readonly nxdomainsPerSecond?: number;
  /** Error answers per second to one client network (default: responsesPerSecond). */
  readonly errorsPerSecond?: number;
  /** Every Nth answer over the limit is sent truncated; 0 never, 1 always. Default 2 (BIND's, Knot's). */
  readonly slip?: number;
  /** Default 24. */
  readonly ipv4PrefixLength?: number;
  /** Default 56. */
  readonly ipv6PrefixLength?: number;
  /** Flows remembered at most (BIND's max-table-size is 20000 by default). */
  readonly maxFlows?: number;
}

export type RateLimitVerdict = 'send' | 'drop' | 'slip';

interface Flow {
  tokens: number;
  at: number;
  dropped: number;
}

export interface RateLimitStats {
  sent: number;
  dropped: number;
  slipped: number;
}

/** The client network of `address` as a string key: the first `bits` of it. */
export function clientNetwork(address: string, v4Bits: number, v6Bits: number): string {
  let bytes: Uint8Array;
  let bits: number;
  try {
    if (isIPv4(address)) {
      bytes = parseIpv4(address);
      bits = v4Bits;
    } else {
      bytes = parseIpv6(address);
      bits = v6Bits;
    }
  } catch {
    return address;
  }
  const out = Uint8Array.from(bytes);
  for (let bit = bits; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${out.length === 4 ? 4 : 6}/${Buffer.from(out).toString('hex')}`;
}

/** What an answer is, for accounting: its kind and the name it is about. */
export interface RateLimitedAnswer {
  readonly rcode: number;
  readonly qname: Name;
  readonly qtype: number;
  readonly authority: readonly ResourceRecord[];
  /** The wildcard that answered: its answers to any name count as one flow (as BIND's RRL does). */
  readonly wildcard?: Name;
}

export class ResponseRateLimiter {
  readonly stats: RateLimitStats = { sent: 0, dropped: 0, slipped: 0 };
  private readonly flows = new Map<string, Flow>();
  private readonly slip: number;
  private readonly maxFlows: number;

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly clock: Clock,
  ) {
    this.slip = settings.slip ?? 2;
    this.maxFlows = settings.maxFlows ?? 20_000;
  }

  get enabled(): boolean {
    return this.settings.responsesPerSecond > 0;
  }

  /** Whether this answer to `address` is sent, dropped, or sent truncated. */
  verdict(address: string, answer: RateLimitedAnswer): RateLimitVerdict {
    if (!this.enabled) return 'send';
    const s = this.settings;
    const net = clientNetwork(address, s.ipv4PrefixLength ?? 24, s.ipv6PrefixLength ?? 56);
    const { key, rate } = this.flowOf(answer);
    const id = `${net}|${key}`;
    const now = this.clock.now() / 1000;
    let flow = this.flows.get(id);
    if (flow) this.flows.delete(id); // re-inserted below: Map order is then least recently used first
    else flow = { tokens: rate, at: now, dropped: 0 };
    flow.tokens = Math.min(rate, flow.tokens + (now - flow.at) * rate);
    flow.at = now;
    this.flows.set(id, flow);
    if (this.flows.size > this.maxFlows) this.flows.delete(this.flows.keys().next().value!);
    if (flow.tokens >= 1) {
      flow.tokens -= 1;
      this.stats.sent++;
      return 'send';
    }
    flow.dropped++;
    if (this.slip > 0 && flow.dropped % this.slip === 0) {
      this.stats.slipped++;
      return 'slip';
    }
    this.stats.dropped++;
    return 'drop';
  }

  private flowOf(a: RateLimitedAnswer): { key: string; rate: number } {
    const s = this.settings;
    if (a.rcode === Rcode.NXDOMAIN) {
      const zone = a.authority.find((r) => r.type === RRType.SOA)?.name.key ?? a.qname.key;
      return { key: `nx|${zone}`, rate: s.nxdomainsPerSecond ?? s.responsesPerSecond };
    }
    if (a.rcode !== Rcode.NOERROR) return { key: 'error', rate: s.errorsPerSecond ?? s.responsesPerSecond };
    return { key: `${(a.wildcard ?? a.qname).key}|${a.qtype}`, rate: s.responsesPerSecond };
  }
}
