import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';

/**
 * Where upstream UDP queries go out from (Unbound's outgoing-range and outgoing-port-permit):
 * each socket is bound to a port drawn by a CSPRNG from [portMin, portMax], so an off-path
 * spoofer must guess the port as well as the 16-bit ID (RFC 5452 §9.2).
 */
export interface OutgoingOptions {
  /** Sockets open at once, leased or idle (Unbound: outgoing-range); a query waits when all are leased. */
  readonly range: number;
  readonly portMin: number;
  readonly portMax: number;
  /**
   * Queries one socket carries, one at a time, before it is closed. 1 (the default): a fresh
   * port for every query, as Unbound, BIND and Knot do; more saves a bind per query but leaves a
   * port open longer for a side-channel scan (SAD DNS) to find.
   */
  readonly queriesPerSocket: number;
  /** An idle socket older than this is closed instead of reused. */
  readonly maxSocketAgeMs: number;
}

/** Linux's default ip_local_port_range: ports no local service is expected to listen on. */
export const DEFAULT_OUTGOING: OutgoingOptions = { range: 1024, portMin: 32768, portMax: 60999, queriesPerSocket: 1, maxSocketAgeMs: 2000 };

/** Random ports tried before the kernel is left to choose (each failed bind was a port in use). */
const BIND_ATTEMPTS = 16;

export type Family = 'udp4' | 'udp6';

export interface OutgoingStats {
  /** Sockets open now, leased or idle. */
  open: number;
  opened: number;
  /** Leases served by an idle socket instead of a fresh bind. */
  reused: number;
  /** Random ports skipped because something else held them. */
  portsInUse: number;
  /** Sockets the kernel bound after BIND_ATTEMPTS ports in a row were taken. */
  kernelPorts: number;
  /** Leases that had to wait for a socket because `range` were open. */
  waited: number;
}

/** One socket lent to one query: its handlers get the datagrams and errors until it is returned. */
export class OutgoingSocket {
  onMessage: ((msg: Buffer, rinfo: dgram.RemoteInfo) => void) | undefined;
  onError: ((error: Error) => void) | undefined;
  uses = 0;
  /** While idle: closes it when it reaches its maximum age, so no port stays open once traffic stops. */
  expiry: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: dgram.Socket,
    readonly family: Family,
    readonly port: number,
    readonly openedAt: number,
  ) {
    // Datagrams reaching an idle socket (a late answer, a spoofer filling the buffer before the
    // next query) are read and dropped here, never handed to the next lease.
    socket.on('message', (msg, rinfo) => this.onMessage?.(msg, rinfo));
    socket.on('error', (e) => this.onError?.(e));
  }
}

interface Waiter {
  readonly family: Family;
  readonly resolve: (s: OutgoingSocket) => void;
  readonly reject: (e: Error) => void;
}

export class OutgoingPortPool {
  readonly stats: OutgoingStats = { open: 0, opened: 0, reused: 0, portsInUse: 0, kernelPorts: 0, waited: 0 };
  private readonly idle: OutgoingSocket[] = [];
  private readonly waiters: Waiter[] = [];
  private closed = false;

  constructor(
    readonly options: OutgoingOptions = DEFAULT_OUTGOING,
    /** Milliseconds, monotonic; injectable for tests of the lifetime. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A socket of `family` for one query; `cancel` withdraws a lease still waiting. */
  lease(family: Family): { socket: Promise<OutgoingSocket>; cancel: () => void } {
    if (this.closed) return { socket: Promise.reject(new Error('outgoing port pool closed')), cancel: () => {} };
    const reused = this.takeIdle(family);
    if (reused) return { socket: Promise.resolve(reused), cancel: () => {} };
    // All places taken but some idle for the other family: one of those makes room.
    if (this.stats.open >= this.options.range && this.idle.length > 0) this.closeSocket(this.idle.shift()!);
    if (this.stats.open < this.options.range) return { socket: this.openSocket(family), cancel: () => {} };
    this.stats.waited++;
    let waiter: Waiter | undefined;
    const socket = new Promise<OutgoingSocket>((resolve, reject) => {
      waiter = { family, resolve, reject };
      this.waiters.push(waiter);
    });
    return {
      socket,
      cancel: () => {
        const i = this.waiters.indexOf(waiter!);
        if (i >= 0) this.waiters.splice(i, 1);
      },
    };
  }

  /** Gives a socket back; `broken`: it saw an error and is not reused. */
  release(s: OutgoingSocket, broken = false): void {
    s.onMessage = undefined;
    s.onError = undefined;
    s.uses++;
    const reusable = !broken && !this.closed && s.uses < this.options.queriesPerSocket && this.now() - s.openedAt < this.options.maxSocketAgeMs;
    if (reusable) {
      const waiter = this.waiters.findIndex((w) => w.family === s.family);
      if (waiter >= 0) {
        this.stats.reused++;
        this.waiters.splice(waiter, 1)[0]!.resolve(s);
        return;
      }
      if (this.waiters.length === 0) {
        this.idle.push(s);
        s.expiry = setTimeout(() => this.expire(s), this.options.maxSocketAgeMs - (this.now() - s.openedAt)).unref();
        return;
      }
    }
    this.closeSocket(s);
    // A place came free: the first waiter (of either family) gets a fresh socket.
    const next = this.waiters.shift();
    if (next) this.openSocket(next.family).then(next.resolve, next.reject);
  }

  close(): void {
    this.closed = true;
    for (const s of this.idle.splice(0)) this.closeSocket(s);
    for (const w of this.waiters.splice(0)) w.reject(new Error('outgoing port pool closed'));
  }

  private expire(s: OutgoingSocket): void {
    const i = this.idle.indexOf(s);
    if (i < 0) return;
    this.idle.splice(i, 1);
    this.closeSocket(s);
  }

  private takeIdle(family: Family): OutgoingSocket | undefined {
    const now = this.now();
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const s = this.idle[i]!;
      if (now - s.openedAt >= this.options.maxSocketAgeMs) {
        this.idle.splice(i, 1);
        this.closeSocket(s);
      }
    }
    const candidates = this.idle.filter((s) => s.family === family);
    if (candidates.length === 0) return undefined;
    // Random, not last-in-first-out: the next query's port is not the previous one's.
    const chosen = candidates[randomInt(candidates.length)]!;
    this.idle.splice(this.idle.indexOf(chosen), 1);
    clearTimeout(chosen.expiry);
    this.stats.reused++;
    return chosen;
  }

  private closeSocket(s: OutgoingSocket): void {
    clearTimeout(s.expiry);
    this.stats.open--;
    try {
      s.socket.close();
    } catch {
      // already closed after an error
    }
  }

  private async openSocket(family: Family): Promise<OutgoingSocket> {
    this.stats.open++;
    try {
      const { min, span } = { min: this.options.portMin, span: this.options.portMax - this.options.portMin + 1 };
      for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
        const port = min + randomInt(span);
        const socket = await bindUdp(family, port);
        if (socket) return this.opened(socket, family, port);
        this.stats.portsInUse++;
      }
      const socket = await bindUdp(family, 0);
      if (!socket) throw new Error('no UDP port could be bound');
      this.stats.kernelPorts++;
      return this.opened(socket, family, socket.address().port);
    } catch (e) {
      this.stats.open--;
      throw e;
    }
  }

  private opened(socket: dgram.Socket, family: Family, port: number): OutgoingSocket {
    this.stats.opened++;
    socket.unref();
    return new OutgoingSocket(socket, family, port, this.now());
  }
}

/**
 * A socket bound to `port` on the wildcard address, or undefined when the port is taken.
 * `exclusive`: under node:cluster a worker's bind would otherwise go through the primary and
 * share the port between workers.
 */
function bindUdp(family: Family, port: number): Promise<dgram.Socket | undefined> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: family });
    const failed = (e: NodeJS.ErrnoException) => {
      socket.close();
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES') resolve(undefined);
      else reject(e);
    };
    socket.once('error', failed);
    socket.bind({ port, address: family === 'udp4' ? '0.0.0.0' : '::', exclusive: true }, () => {
      socket.off('error', failed);
      resolve(socket);
    });
  });
}
