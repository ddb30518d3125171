import net from 'node:net';
import { randomInt } from 'node:crypto';
import { decodeMessage } from '../wire/message-decoder.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { Rcode, type ResourceRecord, newMessage, rcodeToString } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRClass, RRType } from '../wire/rr-type.js';
import { sourceFor, type TransferSources } from './transfer-source.js';
import { TransferReader, type TransferOutcome } from './transfer-response.js';
import { extractTsig, signTsig, type TsigKey } from './tsig.js';
import { TsigStreamVerifier } from './tsig-stream.js';
import { soaSerial } from './soa-serial.js';

/** A primary to transfer from. */
export interface PrimaryAddress {
  readonly host: string;
  readonly port: number;
}

export interface TransferRequest {
  readonly zone: Name;
  /** IXFR from this SOA (our copy's); absent: AXFR. */
  readonly have?: ResourceRecord;
  readonly key?: TsigKey;
  /** Unix seconds, for TSIG. */
  readonly now: () => number;
  readonly sources?: TransferSources;
  /** Whole transfer (default 5 minutes) and silence between messages (default 30 s). */
  readonly timeoutMs?: number;
  readonly idleMs?: number;
  /** Bounds on what a primary may send (default 4 million records, 1 GiB). */
  readonly maxRecords?: number;
  readonly maxBytes?: number;
}

export class TransferError extends Error {
  override readonly name = 'TransferError';
  constructor(
    message: string,
    /** Set when the primary answered with this RCODE (an IXFR it does not do, a refusal). */
    readonly rcode?: number,
  ) {
    super(message);
  }
}

const MAX_FRAME = 0xffff;

/**
 * One zone transfer in (RFC 5936 AXFR, RFC 1995 IXFR) over TCP from `primary`: the request
 * signed with the zone's key when it has one (and then every message of the answer must verify,
 * RFC 8945 §5.3.1), messages checked for our ID, the question and NOERROR, read until the
 * closing SOA. Bounded in time, records and bytes; a primary that breaks any rule is an error
 * that names what it did, and nothing of the answer is used.
 */
export function fetchTransfer(primary: PrimaryAddress, o: TransferRequest): Promise<TransferOutcome> {
  const id = randomInt(0, 0x10000);
  const type = o.have ? RRType.IXFR : RRType.AXFR;
  let wire = encodeMessage(newMessage({ id, question: [{ name: o.zone, type, class: RRClass.IN }], authority: o.have ? [o.have] : [] }));
  if (o.key) wire = signTsig(wire, o.key, { now: o.now() });
  const verifier = o.key ? new TsigStreamVerifier(o.key, extractTsig(new Uint8Array(wire))!.tsig.mac, o.now) : undefined;
  const reader = new TransferReader(o.have ? soaSerial(o.have) : undefined, o.maxRecords ?? 4_000_000);
  const maxBytes = o.maxBytes ?? 1024 ** 3;
  const where = `${primary.host}#${primary.port}`;

  return new Promise((resolve, reject) => {
    const local = sourceFor(o.sources, primary.host);
    const socket = net.connect({ host: primary.host, port: primary.port, ...(local ? { localAddress: local } : {}) });
    let buffered: Buffer = Buffer.alloc(0);
    let total = 0;
    let settled = false;
    const finish = (error: Error | undefined, outcome?: TransferOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      socket.destroy();
      if (error) reject(error instanceof TransferError ? error : new TransferError(`${where}: ${error.message}`));
      else resolve(outcome!);
    };
    const overall = setTimeout(() => finish(new TransferError(`${where}: the transfer took longer than ${o.timeoutMs ?? 300_000} ms`)), o.timeoutMs ?? 300_000);
    socket.setTimeout(o.idleMs ?? 30_000, () => finish(new TransferError(`${where}: silent for ${o.idleMs ?? 30_000} ms`)));
    socket.on('error', (e) => finish(e));
    socket.on('close', () => finish(new TransferError(`${where}: closed the connection before the transfer was complete`)));
    socket.on('connect', () => {
      const frame = Buffer.alloc(2 + wire.length);
      frame.writeUInt16BE(wire.length, 0);
      frame.set(wire, 2);
      socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) return finish(new TransferError(`${where}: more than ${maxBytes} bytes`));
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      try {
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const length = buffered.readUInt16BE(0);
          if (length > MAX_FRAME || length < 12) throw new TransferError(`${where}: a message of ${length} bytes`);
          const message = new Uint8Array(buffered.subarray(2, 2 + length));
          buffered = buffered.subarray(2 + length);
          const done = takeMessage(message);
          if (done) return finish(undefined, done);
        }
      } catch (error) {
        finish(error as Error);
      }
    });

    function takeMessage(bytes: Uint8Array): TransferOutcome | undefined {
      const unsigned = verifier ? verifier.check(bytes) : bytes;
      const m = decodeMessage(unsigned);
      if (m.id !== id || !m.qr) throw new TransferError(`${where}: an answer that is not ours (ID ${m.id})`);
      if (m.rcode !== Rcode.NOERROR) throw new TransferError(`${where}: answered ${rcodeToString(m.rcode)}`, m.rcode);
      const q = m.question[0];
      if (q && (!q.name.equals(o.zone) || q.type !== type)) throw new TransferError(`${where}: answered another question`);
      reader.feed(m.answer);
      reader.endOfMessage();
      const done = reader.done;
      if (done) verifier?.finish();
      return done;
    }
  });
}
