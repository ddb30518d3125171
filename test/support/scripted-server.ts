/**
 * A scripted authoritative DNS server for resolver tests: it listens on ADDRESS:PORT over UDP
 * and TCP and answers every query with what a function makes of it, so a test can play a
 * server that lies, pads its answers or adds records nobody asked for — things NSD or BIND
 * will not do. Every query received is logged, so a test can prove which server was (or was
 * never) asked for a name.
 *
 * UDP answers larger than the query's EDNS payload size (512 without EDNS) are truncated by the
 * encoder with TC set (RFC 2181 §9, RFC 6891 §6.2.5); the same answer over TCP is whole
 * (RFC 7766), so scripts need not care which transport carries them.
 *
 * `zoneScript` answers honestly from zones (src/authority answerFromZone): the base most scripts
 * start from before they add their lie.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { answerFromZone } from '../../src/authority/authoritative-answer.js';
import { ZoneData } from '../../src/authority/zone-db.js';
import { defaultEdns } from '../../src/wire/edns.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { type Message, type ResourceRecord, Rcode, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseRecordLine } from '../../src/wire/record-text.js';

export type Transport = 'udp' | 'tcp';

export interface ReceivedQuery {
  readonly message: Message;
  readonly transport: Transport;
}

/** What the server answers to a query; undefined drops it (the client times out). */
export type Script = (query: Message, transport: Transport) => Message | undefined;

/**
 * A script that may take its time (a slow server) or answer raw bytes (garbage, a truncated
 * packet): what `startScriptedServer` accepts besides a plain Script.
 */
export type SlowScript = (query: Message, transport: Transport) => Message | Uint8Array | undefined | Promise<Message | Uint8Array | undefined>;

export interface ScriptedServer {
  readonly address: string;
  readonly port: number;
  /** Every query received, in order (undecodable packets are not). */
  readonly queries: readonly ReceivedQuery[];
  /** The function answering; replace it to change the server's behaviour mid-test. */
  script: Script | SlowScript;
  /** The queries whose QNAME is `name` or below it. */
  queriesAtOrBelow(name: string | Name): ReceivedQuery[];
  stop(): Promise<void>;
}

/** A response to `query` with its ID, question, RD and CD copied, and EDNS when the query had it. */
export function replyTo(query: Message, fields: Partial<Message> = {}): Message {
  return newMessage({
    id: query.id,
    qr: true,
    opcode: query.opcode,
    rd: query.rd,
    cd: query.cd,
    question: query.question,
    ...(query.edns ? { edns: defaultEdns({ udpSize: 1232, dnssecOk: query.edns.dnssecOk }) } : {}),
    ...fields,
  });
}

/** Records from presentation-format lines (`owner TTL CLASS TYPE RDATA`), one per line. */
export function records(text: string): ResourceRecord[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith(';'))
    .map((l) => parseRecordLine(l));
}

/** A zone for `zoneScript` from its origin and records (signed or not). */
export function makeZone(origin: string, rrs: readonly ResourceRecord[]): ZoneData {
  return ZoneData.fromRecords(Name.parse(origin), rrs);
}

/**
 * An honest authoritative server for `zones`: the deepest zone holding the QNAME answers
 * (RFC 1034 §4.3.2, with RRSIGs and NSEC/NSEC3 proofs when DO is set); REFUSED otherwise.
 */
export function zoneScript(zones: readonly ZoneData[]): Script {
  return (query) => {
    const q = query.question[0];
    if (!q) return replyTo(query, { rcode: Rcode.FORMERR });
    let best: ZoneData | undefined;
    for (const z of zones) if (q.name.isSubdomainOf(z.origin) && (!best || z.origin.labelCount > best.origin.labelCount)) best = z;
    if (!best) return replyTo(query, { rcode: Rcode.REFUSED });
    const a = answerFromZone(best, q.name, q.type, query.edns?.dnssecOk ?? false);
    return replyTo(query, { rcode: a.rcode, aa: a.aa, answer: a.answer, authority: a.authority, additional: a.additional });
  };
}

/** Starts a scripted server on address:port (UDP and TCP); resolves once both sockets listen. */
export async function startScriptedServer(address: string, script: Script | SlowScript, options: { port?: number } = {}): Promise<ScriptedServer> {
  const port = options.port ?? 53;
  const queries: ReceivedQuery[] = [];
  const state: { script: Script | SlowScript } = { script };

  const answer = async (bytes: Uint8Array, transport: Transport): Promise<Uint8Array | undefined> => {
    let query: Message;
    try {
      query = decodeMessage(bytes);
    } catch {
      return undefined;
    }
    if (query.qr) return undefined;
    queries.push({ message: query, transport });
    let response: Message | Uint8Array | undefined;
    try {
      response = await state.script(query, transport);
    } catch (e) {
      // A broken script is a test bug: say so on the test's output, answer SERVFAIL.
      console.error(`scripted server ${address}: script threw: ${(e as Error).stack}`);
      response = replyTo(query, { rcode: Rcode.SERVFAIL });
    }
    if (!response || response instanceof Uint8Array) return response;
    const maxSize = transport === 'udp' ? Math.max(512, query.edns?.udpSize ?? 512) : undefined;
    return encodeMessage(response, maxSize === undefined ? {} : { maxSize });
  };

  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    void answer(new Uint8Array(msg), 'udp').then((out) => {
      if (out) udp.send(out, rinfo.port, rinfo.address, () => {});
    });
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, address, () => {
      udp.off('error', reject);
      resolve();
    });
  });

  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const reply = answer(new Uint8Array(pending.subarray(2, 2 + length)), 'tcp');
        pending = pending.subarray(2 + length);
        void reply.then((out) => {
          if (!out || socket.destroyed) return;
          const frame = Buffer.alloc(2 + out.length);
          frame.writeUInt16BE(out.length, 0);
          frame.set(out, 2);
          socket.write(frame);
        });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, address, () => {
      tcp.off('error', reject);
      resolve();
    });
  });

  return {
    address,
    port,
    queries,
    get script() {
      return state.script;
    },
    set script(s: Script | SlowScript) {
      state.script = s;
    },
    queriesAtOrBelow(name) {
      const n = typeof name === 'string' ? Name.parse(name) : name;
      return queries.filter((q) => q.message.question[0]?.name.isSubdomainOf(n));
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}
