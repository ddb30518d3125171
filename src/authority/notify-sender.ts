import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { randomInt } from 'node:crypto';
import { decodeMessage } from '../wire/message-decoder.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { Opcode, Rcode, type ResourceRecord, newMessage, rcodeToString } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRClass, RRType } from '../wire/rr-type.js';
import { logEvent, type Logger } from '../logging/logger.js';
import { extractTsig, signTsig, type TsigKey } from './tsig.js';
import { TsigStreamVerifier } from './tsig-stream.js';
import { sourceFor, type TransferSources } from './transfer-source.js';
import { soaSerial } from './soa-serial.js';

/** Where a NOTIFY goes. */
export interface NotifyTarget {
  readonly host: string;
  readonly port: number;
}

export interface NotifyOptions {
  readonly logger: Logger;
  /** Unix seconds, for TSIG. */
  readonly now: () => number;
  /** Waits before each try after the first, in ms (RFC 1996 §3.6: retransmit with backoff, give up after a few). */
  readonly backoffMs?: readonly number[];
  /** How long one try waits for the answer. */
  readonly timeoutMs?: number;
  /** The addresses NOTIFYs leave from (the server's own). */
  readonly sources?: TransferSources;
}

const DEFAULT_BACKOFF_MS = [2_000, 4_000, 8_000, 16_000, 32_000];
const DEFAULT_TIMEOUT_MS = 2_000;

/**
 * Sends NOTIFY (RFC 1996) for zones whose serial moved on: one UDP message per secondary, tried
 * again with backoff until the secondary answers NOERROR (or a bounded number of tries), signed
 * with the zone's TSIG key when it has one (and then only a correctly signed answer counts). A
 * newer serial for the same secondary replaces a NOTIFY still being retried. Never throws.
 */
export class NotifySender {
  private readonly pending = new Map<string, { cancelled: boolean }>();
  private stopped = false;

  constructor(private readonly o: NotifyOptions) {}

  notify(zone: Name, soa: ResourceRecord, targets: readonly NotifyTarget[], key: TsigKey | undefined): void {
    if (this.stopped) return;
    for (const target of targets) {
      const id = `${zone.key}|${target.host}|${target.port}`;
      const earlier = this.pending.get(id);
      if (earlier) earlier.cancelled = true;
      const run = { cancelled: false };
      this.pending.set(id, run);
      void this.deliver(zone, soa, target, key, run).finally(() => {
        if (this.pending.get(id) === run) this.pending.delete(id);
      });
    }
  }

  private async deliver(zone: Name, soa: ResourceRecord, target: NotifyTarget, key: TsigKey | undefined, run: { cancelled: boolean }): Promise<void> {
    const backoff = this.o.backoffMs ?? DEFAULT_BACKOFF_MS;
    const fields = { zone: zone.toString(), serial: soaSerial(soa), target: `${target.host}#${target.port}`, ...(key ? { key: key.name.toString() } : {}) };
    let last = '';
    for (let attempt = 0; attempt <= backoff.length; attempt++) {
      if (attempt > 0) await sleep(backoff[attempt - 1]!);
      if (run.cancelled || this.stopped) return;
      try {
        const rcode = await this.once(zone, soa, target, key);
        if (rcode === Rcode.NOERROR) {
          logEvent(this.o.logger, 'zone.notify-acknowledged', { ...fields, tries: attempt + 1 });
          return;
        }
        last = `answered ${rcodeToString(rcode)}`;
      } catch (error) {
        last = (error as Error).message;
      }
      logEvent(this.o.logger, 'zone.notify-retry', { ...fields, try: attempt + 1, error: last }, { level: 'debug' });
    }
    logEvent(this.o.logger, 'zone.notify-failed', { ...fields, tries: backoff.length + 1, error: last }, { level: 'warn', msg: 'secondary did not acknowledge the NOTIFY; it will find the change at its next refresh' });
  }

  /** One try: resolves with the answer's RCODE, rejects on a timeout or an answer whose TSIG does not verify. */
  private once(zone: Name, soa: ResourceRecord, target: NotifyTarget, key: TsigKey | undefined): Promise<number> {
    const id = randomInt(0, 0x10000);
    const message = newMessage({ id, opcode: Opcode.NOTIFY, aa: true, question: [{ name: zone, type: RRType.SOA, class: RRClass.IN }], answer: [soa] });
    let wire = encodeMessage(message);
    if (key) wire = signTsig(wire, key, { now: this.o.now() });
    const requestMac = key ? extractTsig(wire)!.tsig.mac : undefined;
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(isIPv6(target.host) ? 'udp6' : 'udp4');
      const finish = (error: Error | undefined, rcode?: number) => {
        clearTimeout(timer);
        socket.close();
        if (error) reject(error);
        else resolve(rcode!);
      };
      const timer = setTimeout(() => finish(new Error(`no answer in ${this.o.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`)), this.o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      socket.on('error', (e) => finish(e));
      socket.on('message', (bytes, from) => {
        if (from.port !== target.port || from.address.replace(/^::ffff:/, '') !== target.host) return;
        try {
          const signed = extractTsig(new Uint8Array(bytes));
          const answer = decodeMessage(signed?.unsigned ?? bytes);
          if (answer.id !== id || !answer.qr || answer.opcode !== Opcode.NOTIFY) return;
          if (key) {
            try {
              new TsigStreamVerifier(key, requestMac!, this.o.now).check(bytes);
            } catch (error) {
              return finish(new Error(`answer ${rcodeToString(answer.rcode)} not accepted: ${(error as Error).message}`));
            }
          }
          finish(undefined, answer.rcode);
        } catch {
          // not an answer we can read: keep waiting
        }
      });
      const send = () =>
        socket.send(wire, target.port, target.host, (error) => {
          if (error) finish(error);
        });
      const source = sourceFor(this.o.sources, target.host);
      if (source) socket.bind({ address: source, port: 0 }, send);
      else send();
    });
  }

  stop(): void {
    this.stopped = true;
    for (const run of this.pending.values()) run.cancelled = true;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
