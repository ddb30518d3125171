import type { Clock } from '../clock.js';
import type { AbortWatch } from './dns-transport.js';
import type { MemoryBudget } from './memory-budget.js';

export interface InFlightLimits {
  /** Upstream queries waiting for an answer, all servers together (Unbound: num-queries-per-thread). */
  readonly maxInFlight: number;
  /** Upstream queries waiting for one server (address#port) not known to answer (its last query went unanswered, or none came back yet). */
  readonly maxInFlightPerServer: number;
  /** A query waiting longer than this may be dropped to make room for a new one (Unbound: jostle-timeout, 200 ms). */
  readonly jostleAfterMs: number;
}

export const DEFAULT_IN_FLIGHT_LIMITS: InFlightLimits = { maxInFlight: 1024, maxInFlightPerServer: 256, jostleAfterMs: 200 };

/**
 * Resident cost of one upstream query in flight: its UDP socket (libuv handle, kernel-side
 * bookkeeping Node allocates), timer, promise chain and query buffers. Measured as RSS growth per
 * pending exchange with 2,000 pending against a silent server (10.2 KiB; V8 heap alone 2.7 KiB).
 */
export const IN_FLIGHT_COST = 10 * 1024;

/** One upstream query's place; its signal aborts when a newer query takes the place (jostled). */
export interface InFlightSlot {
  readonly signal: AbortWatch;
  /** Gives the place back; `answered`: the server answered it (else it timed out or failed). Once counts. */
  release(answered?: boolean): void;
}

/** Servers remembered as answering; beyond this the least recently heard from is forgotten (held to its share again). */
const MAX_ANSWERING = 10_000;

export interface ShedEvent {
  readonly server: string;
  readonly limit: 'total' | 'per-server';
  readonly max: number;
}

export interface InFlightStats {
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly maxInFlightPerServer: number;
  /** New queries not sent because every place was taken by a query younger than the jostle time. */
  readonly shed: number;
  /** Old queries dropped to make room for new ones. */
  readonly jostled: number;
}

/**
 * A place, and the signal its exchange watches. Not an AbortController: one per upstream query
 * was about 4 % of a cold run's CPU profile, plus its garbage (docs/outgoing-ports.md).
 */
class Slot implements InFlightSlot, AbortWatch {
  aborted = false;
  private onAbort: (() => void) | undefined;

  constructor(
    readonly server: string,
    readonly startedAt: number,
    private readonly limiter: { release(slot: Slot, answered: boolean): void },
  ) {}

  get signal(): AbortWatch {
    return this;
  }

  release(answered = false): void {
    this.limiter.release(this, answered);
  }

  /** One listener: the exchange that holds the place. */
  addEventListener(_type: 'abort', listener: () => void): void {
    this.onAbort = listener;
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.onAbort === listener) this.onAbort = undefined;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listener = this.onAbort;
    this.onAbort = undefined;
    listener?.();
  }
}

/**
 * Caps upstream queries in flight, in total and per server, as Unbound's num-queries-per-thread
 * with jostling: when the places are full, a new query takes the place of the oldest one if that
 * one has waited past the jostle time (it is most likely lost, or its server silent), and is shed
 * otherwise. Without a cap a silent upstream holds a socket per pending query until the process
 * runs out of file descriptors and stops answering anyone. The total is also bounded by the
 * in-flight share of the memory budget. The per-server cap applies to a server that is not
 * answering (as BIND's adaptive fetches-per-server): a server that answers may use any place, so a
 * burst of misses to one busy, healthy server is not shed; one not heard from yet, or whose last
 * query went unanswered, keeps only its share until it answers.
 */
export class InFlightLimiter {
  private readonly all = new Set<Slot>();
  private readonly byServer = new Map<string, Set<Slot>>();
  /** Servers whose last query was answered, least recently first; the others are held to their share. */
  private readonly answering = new Set<string>();
  private shed = 0;
  private jostled = 0;
  readonly maxInFlight: number;
  readonly maxInFlightPerServer: number;

  constructor(
    private readonly limits: InFlightLimits,
    private readonly clock: Clock,
    memory?: MemoryBudget,
    private readonly onShed?: (event: ShedEvent) => void,
  ) {
    const affordable = memory ? Math.max(16, Math.floor(memory.bytesFor('inFlight') / IN_FLIGHT_COST)) : Infinity;
    this.maxInFlight = Math.min(limits.maxInFlight, affordable);
    // When the budget lowers the total, the per-server cap shrinks in proportion: one silent
    // server must still leave the places for every other server that it leaves at full size.
    const scaled = Math.floor((limits.maxInFlightPerServer * this.maxInFlight) / limits.maxInFlight);
    this.maxInFlightPerServer = Math.max(1, Math.min(limits.maxInFlightPerServer, scaled));
    memory?.charge('inFlight', () => this.all.size * IN_FLIGHT_COST, () => this.all.size);
  }

  /** A place for a query to `server`, or undefined when it is shed. */
  acquire(server: string): InFlightSlot | undefined {
    const now = this.clock.now();
    const mine = this.byServer.get(server);
    if (mine && !this.answering.has(server)) {
      // It went silent while holding more than its share (taken while it still answered): what
      // has waited past the jostle time goes now, not one for one, so the share is back at once.
      while (mine.size > this.maxInFlightPerServer && this.jostle(mine, now));
      if (mine.size >= this.maxInFlightPerServer && !this.jostle(mine, now)) return this.refuse(server, 'per-server', this.maxInFlightPerServer);
    }
    if (this.all.size >= this.maxInFlight && !this.jostle(this.all, now)) return this.refuse(server, 'total', this.maxInFlight);
    const slot = new Slot(server, now, this);
    this.all.add(slot);
    let set = this.byServer.get(server);
    if (!set) this.byServer.set(server, (set = new Set()));
    set.add(slot);
    return slot;
  }

  stats(): InFlightStats {
    return { inFlight: this.all.size, maxInFlight: this.maxInFlight, maxInFlightPerServer: this.maxInFlightPerServer, shed: this.shed, jostled: this.jostled };
  }

  /** Drops the oldest query of `slots` if it has waited long enough; sets keep insertion order. */
  private jostle(slots: Set<Slot>, now: number): boolean {
    const oldest = slots.values().next().value;
    if (!oldest || now - oldest.startedAt < this.limits.jostleAfterMs) return false;
    this.jostled++;
    this.release(oldest, false);
    oldest.abort();
    return true;
  }

  private refuse(server: string, limit: ShedEvent['limit'], max: number): undefined {
    this.shed++;
    this.onShed?.({ server, limit, max });
    return undefined;
  }

  /** Through `slot.release()`. */
  release(slot: Slot, answered: boolean): void {
    if (!this.all.delete(slot)) return;
    this.answering.delete(slot.server);
    if (answered) {
      if (this.answering.size >= MAX_ANSWERING) this.answering.delete(this.answering.values().next().value!);
      this.answering.add(slot.server);
    }
    const set = this.byServer.get(slot.server);
    set?.delete(slot);
    if (set?.size === 0) this.byServer.delete(slot.server);
  }
}
