import net from 'node:net';
import { rmSync } from 'node:fs';
import { SecondaryZones } from '../../src/authority/secondary-zones.js';
import { ManualClock } from '../../src/clock.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { createScheduler } from '../../src/scheduler.js';
import { createLogger } from '../../src/logging/logger.js';
import { RRType } from '../../src/wire/rr-type.js';
import { tempDir } from '../support/external-servers.js';
import { afterAll, describe, expect, it } from 'vitest';
import { withSerial } from '../../src/authority/soa-serial.js';
import { fetchTransfer } from '../../src/authority/transfer-client.js';
import { TransferReader, applyVersions } from '../../src/authority/transfer-response.js';
import { extractTsig, signTsig } from '../../src/authority/tsig.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { type Message, Rcode, type ResourceRecord, newMessage } from '../../src/wire/message.js';
import { KEY, ZONE, rr } from './authority-update-helpers.js';

/**
 * The secondary's transfer client against a scripted primary on 127.10.172.5 that breaks the
 * rules one way at a time: every answer that is not exactly ours, complete, and (with a key)
 * signed is an error, and nothing of it is used.
 */

const HOST = '127.10.172.5';
const SOA = rr('@ 300 SOA ns h 10 3600 900 604800 60');
const NS = rr('@ 300 NS ns');
const A = rr('ns 300 A 192.0.2.1');
const servers: net.Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

/** A primary that answers each request with `script(request, wire)`: messages to frame, then maybe close. */
async function primary(port: number, script: (request: Message, wire: Uint8Array) => { messages: Uint8Array[]; close?: boolean }): Promise<{ host: string; port: number }> {
  const server = net.createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
      const wire = new Uint8Array(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
      const signed = extractTsig(new Uint8Array(wire));
      const { messages, close } = script(decodeMessage(signed?.unsigned ?? wire), wire);
      for (const m of messages) {
        const frame = Buffer.alloc(2 + m.length);
        frame.writeUInt16BE(m.length, 0);
        frame.set(m, 2);
        socket.write(frame);
      }
      if (close) socket.end();
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, HOST, resolve));
  return { host: HOST, port };
}

const answer = (request: Message, records: ResourceRecord[], fields: Partial<Message> = {}) =>
  encodeMessage(newMessage({ id: request.id, qr: true, aa: true, question: request.question, answer: records, ...fields }));
const now = () => Math.floor(Date.now() / 1000);

describe('transfer client against a hostile primary', () => {
  it('takes a good AXFR, signed on every message', async () => {
    const p = await primary(5401, (q, wire) => {
      const mac = extractTsig(new Uint8Array(wire))!.tsig.mac;
      const first = signTsig(answer(q, [SOA, NS]), KEY, { now: now(), requestMac: mac });
      const second = signTsig(answer(q, [A, SOA], { question: [] }), KEY, { now: now(), requestMac: extractTsig(first)!.tsig.mac, timersOnly: true });
      return { messages: [first, second] };
    });
    const out = await fetchTransfer(p, { zone: ZONE, key: KEY, now });
    expect(out.kind).toBe('full');
    if (out.kind === 'full') expect(out.records.map((r) => r.type)).toEqual([NS.type, A.type]);
  });

  it('refuses: another ID, an error RCODE, an unsigned or mis-signed answer, records past the bound, a stream cut short', async () => {
    const cases: [number, (q: Message, wire: Uint8Array) => { messages: Uint8Array[]; close?: boolean }, RegExp, { key?: boolean; maxRecords?: number }][] = [
      [5402, (q) => ({ messages: [answer({ ...q, id: (q.id + 1) & 0xffff }, [SOA, NS, A, SOA])] }), /not ours/, {}],
      [5403, (q) => ({ messages: [answer(q, [], { rcode: Rcode.REFUSED })] }), /answered REFUSED/, {}],
      [5404, (q) => ({ messages: [answer(q, [SOA, NS, A, SOA])] }), /not TSIG-signed/, { key: true }],
      [5405, (q) => ({ messages: [signTsig(answer(q, [SOA, NS, A, SOA]), { ...KEY, secret: new Uint8Array(32) }, { now: now(), requestMac: new Uint8Array(32) })] }), /does not verify/, { key: true }],
      [5406, (q) => ({ messages: [answer(q, [SOA, NS, A, A, A, SOA])] }), /more than 4 records/, { maxRecords: 4 }],
      [5407, (q) => ({ messages: [answer(q, [SOA, NS, A])], close: true }), /closed the connection before the transfer was complete/, {}],
      [5408, (q) => ({ messages: [answer(q, [NS, SOA])] }), /does not start with the SOA/, {}],
      [5409, (q) => ({ messages: [answer(q, [SOA, NS, withSerial(SOA, 11)])] }), /closing SOA has another serial/, {}],
      // Signed an hour ago with a fudge of 65535 s: our bound (300 s) decides, not the peer's.
      [5410, (q, wire) => ({ messages: [signTsig(answer(q, [SOA, NS, A, SOA]), KEY, { now: now() - 3600, fudge: 65535, requestMac: extractTsig(new Uint8Array(wire))!.tsig.mac })] }), /outside the fudge of 300 s/, { key: true }],
    ];
    for (const [port, script, error, o] of cases) {
      const p = await primary(port, script);
      await expect(fetchTransfer(p, { zone: ZONE, now, idleMs: 2000, ...(o.key ? { key: KEY } : {}), ...(o.maxRecords ? { maxRecords: o.maxRecords } : {}) }), `port ${port}`).rejects.toThrow(error);
    }
  });
});

describe('a primary that does not do IXFR', () => {
  it('is asked for AXFR after its NOTIMP, and the secondary takes the new copy', async () => {
    let serial = 10;
    const p = await primary(5411, (q) => {
      if (q.question[0]!.type === RRType.IXFR) return { messages: [answer(q, [], { rcode: Rcode.NOTIMP })] };
      return { messages: [answer(q, [withSerial(SOA, serial), NS, A, withSerial(SOA, serial)])] };
    });
    const clock = new ManualClock();
    const logs: string[] = [];
    const dir = tempDir('notimp');
    const secondaries = await SecondaryZones.start(
      { stateDir: dir, documents: await FileDocumentStore.open(dir), keyring: new Map(), clock, logger: createLogger({ level: 'info', destination: { write: (l: string) => void logs.push(l) } }), scheduler: createScheduler({ clock, mode: 'manual' }) },
      [{ name: ZONE, primaries: [p], source: 'config' }],
    );
    await secondaries.tick();
    expect(secondaries.show(ZONE)).toMatchObject({ serial: 10, lastTransfer: 'AXFR' });
    serial = 11;
    clock.advance(3600_000);
    await secondaries.tick();
    expect(secondaries.show(ZONE)).toMatchObject({ serial: 11, lastTransfer: 'AXFR', state: 'ok' });
    expect(logs.some((l) => l.includes('"event":"zone.secondary-ixfr-unusable"') && l.includes('NOTIMP'))).toBe(true);
    await secondaries.stop();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('reading IXFR answers (RFC 1995 §4)', () => {
  const v = (serial: number) => withSerial(SOA, serial);
  it('reads versions in order, and a lone SOA as "current"', () => {
    const r = new TransferReader(10, 100);
    r.feed([v(12), v(10), A, v(11), rr('www 300 A 192.0.2.2'), v(11), v(12), rr('mail 300 A 192.0.2.3'), v(12)]);
    expect(r.done?.kind).toBe('incremental');
    const current = new TransferReader(12, 100);
    current.feed([v(12)]);
    current.endOfMessage();
    expect(current.done?.kind).toBe('current');
  });

  it('refuses versions that do not chain, records after the end, and deletions our copy does not have', () => {
    const broken = new TransferReader(10, 100);
    expect(() => broken.feed([v(12), v(10), v(11), A, v(13)])).toThrow(/followed by one from 13/);
    const after = new TransferReader(10, 100);
    expect(() => after.feed([v(11), v(10), v(11), A, v(11), NS])).toThrow(/after the closing SOA/);
    expect(() => applyVersions([SOA, NS], 10, [{ from: 10, to: 11, removed: [A], added: [v(11)] }])).toThrow(/does not have/);
    expect(() => applyVersions([SOA, NS], 9, [{ from: 10, to: 11, removed: [], added: [v(11)] }])).toThrow(/copy is at 9/);
  });
});
