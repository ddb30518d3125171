/**
 * Load for resource-limit tests: a UDP query flood with a bounded count and a bounded time, and
 * readings of a process's resident memory and open file descriptors from /proc.
 */
import dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';

export interface FloodOptions {
  /** Queries sent in all. */
  readonly count: number;
  /** Stop sending after this long, whatever was sent (ms). */
  readonly maxMs: number;
  /** Closed loop: at most this many unanswered at once (a query unanswered for 1 s no longer counts). */
  readonly window?: number;
  /** Open loop instead: this many queries a second, answered or not. */
  readonly ratePerSecond?: number;
  /** Source address to send from. */
  readonly source?: string;
  /** Called every 100 ms while the flood runs (to sample /proc). */
  readonly onTick?: () => void;
}

export interface FloodResult {
  readonly sent: number;
  readonly answered: number;
  /** Answers per RCODE. */
  readonly rcodes: Record<number, number>;
}

/** Sends `count` queries for `nameFor(i)`/`type` to server#53, as fast as the window or the rate allows. */
export async function udpFlood(server: string, nameFor: (i: number) => string, type: number, options: FloodOptions): Promise<FloodResult> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind({ address: options.source ?? '0.0.0.0', port: 0 }, resolve));
  socket.setRecvBufferSize(4 * 1024 * 1024);
  const outstanding = new Map<number, number>();
  const rcodes: Record<number, number> = {};
  let sent = 0;
  let answered = 0;
  let nextId = 1;
  socket.on('message', (msg) => {
    if (msg.length < 12) return;
    const id = msg.readUInt16BE(0);
    if (!outstanding.delete(id)) return;
    answered++;
    rcodes[msg[3]! & 0x0f] = (rcodes[msg[3]! & 0x0f] ?? 0) + 1;
    if (!options.ratePerSecond) pump();
  });
  const send = () => {
    const id = nextId;
    nextId = (nextId % 0xffff) + 1;
    const q = newMessage({ id, rd: true, question: [{ name: Name.parse(nameFor(sent)), type, class: 1 }] });
    outstanding.set(id, Date.now());
    sent++;
    socket.send(encodeMessage(q), 53, server);
  };
  const started = Date.now();
  const done = () => sent >= options.count || Date.now() - started >= options.maxMs;
  const window = options.window ?? 100;
  function pump() {
    while (!done() && outstanding.size < window) send();
  }
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      options.onTick?.();
      const now = Date.now();
      for (const [id, at] of outstanding) if (now - at > 1000) outstanding.delete(id);
      if (options.ratePerSecond) {
        const due = Math.min(options.count, Math.floor(((now - started) / 1000) * options.ratePerSecond));
        while (sent < due && !done()) send();
      } else pump();
      if (done() && (outstanding.size === 0 || now - started >= options.maxMs + 1000)) {
        clearInterval(tick);
        resolve();
      }
    }, 100);
    if (!options.ratePerSecond) pump();
  });
  socket.close();
  return { sent, answered, rcodes };
}

/** Resident set size of a process, bytes (VmRSS of /proc/PID/status). */
export function residentBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** Open file descriptors of a process (sockets included). */
export function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
