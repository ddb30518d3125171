import type { Clock } from '../clock.js';

interface ServerState {
  /** Smoothed round-trip time, ms (RFC 6298-style EWMA). */
  srtt: number;
  failures: number;
  backoffUntil: number;
  /** The server answered FORMERR/NOTIMP to EDNS: ask it without OPT. */
  noEdns: boolean;
}

const INITIAL_SRTT_MAX = 10;
const MAX_BACKOFF_MS = 15 * 60_000;
const MAX_ENTRIES = 20_000;

/**
 * What the resolver has learnt about each upstream address: smoothed RTT for choosing the
 * fastest, exponential backoff for dead or lame ones, and EDNS capability. Unknown servers
 * start with a small random RTT so every server gets tried early (as BIND does).
 */
export class ServerSelection {
  private readonly servers = new Map<string, ServerState>();

  constructor(private readonly clock: Clock) {}

  private state(address: string): ServerState {
    let s = this.servers.get(address);
    if (!s) {
      if (this.servers.size >= MAX_ENTRIES) this.servers.delete(this.servers.keys().next().value!);
      s = { srtt: Math.random() * INITIAL_SRTT_MAX, failures: 0, backoffUntil: 0, noEdns: false };
      this.servers.set(address, s);
    }
    return s;
  }

  /** Addresses in the order to try: live servers by SRTT, then backed-off ones as a last resort. */
  order(addresses: readonly string[]): string[] {
    const now = this.clock.now();
    return [...new Set(addresses)]
      .map((a) => ({ a, s: this.state(a) }))
      .sort((x, y) => Number(x.s.backoffUntil > now) - Number(y.s.backoffUntil > now) || x.s.srtt - y.s.srtt)
      .map((x) => x.a);
  }

  /** How long to wait for this server before trying the next. */
  timeoutFor(address: string): number {
    const s = this.state(address);
    return Math.min(2000, Math.max(250, s.srtt * 4 + 100));
  }

  recordAnswer(address: string, rttMs: number): void {
    const s = this.state(address);
    s.srtt = s.failures > 0 && s.srtt > 1000 ? rttMs : 0.7 * s.srtt + 0.3 * rttMs;
    s.failures = 0;
    s.backoffUntil = 0;
  }

  /** A timeout, network error or lame answer: back off exponentially and look slower. */
  recordFailure(address: string): void {
    const s = this.state(address);
    s.failures++;
    s.srtt = Math.min(s.srtt * 2 + 200, 10_000);
    s.backoffUntil = this.clock.now() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(s.failures, 20));
  }

  isBackedOff(address: string): boolean {
    return this.state(address).backoffUntil > this.clock.now();
  }

  noEdns(address: string): boolean {
    return this.state(address).noEdns;
  }

  markNoEdns(address: string): void {
    this.state(address).noEdns = true;
  }

  snapshot(): { servers: number; backedOff: number } {
    const now = this.clock.now();
    let backedOff = 0;
    for (const s of this.servers.values()) if (s.backoffUntil > now) backedOff++;
    return { servers: this.servers.size, backedOff };
  }
}
