import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { decodeMessage } from '../wire/message-decoder.js';
import type { Message } from '../wire/message.js';

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

export interface Exchange {
  readonly response: Message;
  readonly bytes: Uint8Array;
  readonly transport: 'udp' | 'tcp';
  readonly server: ServerAddress;
}

/**
 * What an exchange watches to be dropped early: AbortSignal's shape, so either an AbortSignal or
 * a query's in-flight place (in-flight-limiter.ts, without an AbortController's cost) will do.
 */
export interface AbortWatch {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(readonly code: 'timeout' | 'network' | 'mismatch' | 'closed', message: string) {
    super(message);
  }
}

/** Parses `ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare IPv6 address. */
export function parseServerAddress(text: string, defaultPort = 53): ServerAddress {
  const bracket = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(text);
  if (bracket) return { host: bracket[1]!, port: bracket[2] ? Number(bracket[2]) : defaultPort };
  if (net.isIPv6(text)) return { host: text, port: defaultPort };
  const m = /^([^:]+)(?::([0-9]+))?$/.exec(text);
  if (!m) throw new Error(`"${text}" is not ADDR[:PORT]`);
  const port = m[2] ? Number(m[2]) : defaultPort;
  if (port < 1 || port > 65535) throw new Error(`port ${port} out of range`);
  return { host: m[1]!, port };
}

/** A fresh random ID; the source port is random too (outgoing-port-pool.ts, or the kernel's choice per socket). */
export function randomQueryId(): number {
  return randomInt(0, 0x10000);
}

function sameQuestion(query: Message, response: Message): boolean {
  const q = query.question[0];
  const r = response.question[0];
  if (!q) return response.question.length === 0;
  return !!r && r.type === q.type && r.class === q.class && r.name.equals(q.name);
}

/**
 * One UDP exchange: a socket of its own (random source port), answers accepted only from
 * the server asked, with the query's ID and question; anything else is ignored, not fatal.
 */
export function exchangeUdp(server: ServerAddress, query: Message, wire: Uint8Array, timeoutMs: number, signal?: AbortWatch): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    let closed = false;
    const done = (err?: Error, ex?: Exchange) => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      socket.close();
      if (err) reject(err);
      else resolve(ex!);
    };
    const timer = setTimeout(() => done(new TransportError('timeout', `no answer from ${server.host}#${server.port} in ${timeoutMs} ms`)), timeoutMs);
    const aborted = () => done(new TransportError('closed', `query to ${server.host}#${server.port} dropped for a newer one`));
    signal?.addEventListener('abort', aborted);
    socket.on('error', (e) => done(new TransportError('network', e.message)));
    socket.on('message', (msg, rinfo) => {
      const response = udpAnswerTo(server, query, msg, rinfo);
      if (response) done(undefined, { response, bytes: msg, transport: 'udp', server });
    });
    socket.send(wire, server.port, server.host);
  });
}

/**
 * The datagram decoded when it answers `query`: from the address and port asked, a response,
 * with the query's ID and question. Anything else (a spoofer's guess, a late answer to an
 * earlier query, garbage) is undefined, to be ignored while the real answer may still come.
 */
export function udpAnswerTo(server: ServerAddress, query: Message, msg: Uint8Array, rinfo: { address: string; port: number }): Message | undefined {
  if (rinfo.port !== server.port || normalise(rinfo.address) !== normalise(server.host)) return undefined;
  // The ID is checked before the whole packet is decoded: most forgeries cost two byte reads.
  if (msg.length < 12 || ((msg[0]! << 8) | msg[1]!) !== query.id) return undefined;
  let response: Message;
  try {
    response = decodeMessage(msg);
  } catch {
    return undefined;
  }
  return response.qr && sameQuestion(query, response) ? response : undefined;
}

function normalise(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** One TCP exchange with RFC 1035 §4.2.2 two-byte framing. */
export function exchangeTcp(server: ServerAddress, query: Message, wire: Uint8Array, timeoutMs: number, signal?: AbortWatch): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port });
    let buffered = Buffer.alloc(0);
    const aborted = () => done(new TransportError('closed', `query to ${server.host}#${server.port} dropped for a newer one`));
    signal?.addEventListener('abort', aborted);
    const done = (err?: Error, ex?: Exchange) => {
      signal?.removeEventListener('abort', aborted);
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(ex!);
    };
    const timer = setTimeout(() => done(new TransportError('timeout', `no answer from ${server.host}#${server.port} over TCP in ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (e) => done(new TransportError('network', e.message)));
    socket.on('close', () => done(new TransportError('closed', `${server.host}#${server.port} closed the connection`)));
    socket.on('connect', () => {
      const frame = Buffer.alloc(2 + wire.length);
      frame.writeUInt16BE(wire.length, 0);
      frame.set(wire, 2);
      socket.write(frame);
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const len = buffered.readUInt16BE(0);
        const msg = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        try {
          const response = decodeMessage(msg);
          if (response.id === query.id && response.qr && sameQuestion(query, response)) {
            done(undefined, { response, bytes: new Uint8Array(msg), transport: 'tcp', server });
            return;
          }
        } catch (e) {
          done(new TransportError('mismatch', `undecodable answer: ${(e as Error).message}`));
          return;
        }
      }
    });
  });
}
