import net from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SecondaryZones } from '../../src/authority/secondary-zones.js';
import { ManualClock } from '../../src/clock.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { createScheduler } from '../../src/scheduler.js';
import { parseCidr } from '../../src/config/cidr.js';
import { createLogger } from '../../src/logging/logger.js';
import { RRType } from '../../src/wire/rr-type.js';
import { Name } from '../../src/wire/name.js';
import { KEY, ZONE, client, startLab, startService } from './authority-update-helpers.js';
import type { QueryPipeline } from '../../src/server/query-pipeline.js';
import { buildKeyring } from '../../src/authority/tsig-keyring.js';
import { secondaryAnswer } from '../../src/authority/secondary-answer.js';
import { Opcode, Rcode, newMessage } from '../../src/wire/message.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { EdeCode } from '../../src/wire/edns.js';

/**
 * Keymaster's secondary side against Keymaster's own primary side, in process: the primary's
 * query pipeline behind a TCP listener on 127.10.172.1, the secondary on a ManualClock (no
 * timer: `tick()` runs the due checks), so refresh, retry and expire are decided by the clock.
 */

const PRIMARY = '127.10.172.1';
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A TCP DNS listener in front of `pipeline` (two-byte framing, several answers for a transfer). */
function listen(pipeline: QueryPipeline, port: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const query = new Uint8Array(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        buffered = buffered.subarray(2 + query.length);
        void Promise.resolve(pipeline.handle(query, { ...client(socket.remoteAddress!.replace(/^::ffff:/, ''), 'tcp') })).then((answer) => {
          for (const m of Array.isArray(answer) ? answer : answer ? [answer] : []) {
            const frame = Buffer.alloc(2 + m.length);
            frame.writeUInt16BE(m.length, 0);
            frame.set(m, 2);
            socket.write(frame);
          }
        });
      }
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(port, PRIMARY, () => resolve(server)));
}

describe('secondary zones on the injectable clock', () => {
  it('transfers (AXFR, then IXFR at refresh), serves the copy as transferred, retries, expires to SERVFAIL, and reloads it at start', async () => {
    const lab = await startLab(); // lab.example., signed; allowTransfer 192.0.2.0/24
    dirs.push(lab.dir);
    // The primary (restarted on the same state) lets loopback transfer.
    await lab.service.stop();
    const { service: primary, pipeline } = await startService({ ...lab, zones: [{ ...lab.zones[0]!, allowTransfer: [parseCidr('127.0.0.0/8')] }] });
    const server = await listen(pipeline, 5353);
    const logs: string[] = [];
    const clock = new ManualClock(lab.clock.now());
    const options = {
      stateDir: join(lab.dir, 'secondary-state'),
      documents: await FileDocumentStore.open(join(lab.dir, 'secondary-state')),
      keyring: buildKeyring([{ where: 'test', key: { name: 'ddns-key.', algorithm: 'hmac-sha256', secret: Buffer.from(KEY.secret).toString('base64') } }]),
      clock,
      logger: createLogger({ level: 'debug', destination: { write: (l: string) => void logs.push(l) } }),
      scheduler: createScheduler({ clock, mode: 'manual' }),
    };
    const secondaries = await SecondaryZones.start(options, [{ name: ZONE, primaries: [{ host: PRIMARY, port: 5353 }], source: 'config' }]);
    await secondaries.tick();
    const first = secondaries.show(ZONE)!;
    expect(first).toMatchObject({ state: 'ok', lastTransfer: 'AXFR', signed: true, serial: (await primary.show('lab.example')).serial });
    // Served as transferred: the primary's signatures, byte for byte.
    const copy = secondaries.served(ZONE)!;
    const ours = (await primary.show('lab.example')) as { serial: number };
    expect(copy.serial).toBe(ours.serial);
    expect(copy.rrset(Name.parse('www.lab.example.'), RRType.A)!.sigs.map((s) => Buffer.from(s.rdata).toString('hex'))).toEqual(
      [...(primary.findZone(Name.parse('lab.example.'))!.served.rrset(Name.parse('www.lab.example.'), RRType.A)!.sigs)].map((s) => Buffer.from(s.rdata).toString('hex')),
    );

    // A change on the primary is picked up at the SOA refresh (3600 s), by IXFR; nothing before it.
    // The scheduler's job wakes for it (runDue runs what is due on the simulated clock).
    await primary.addRecord('lab.example', { name: 'late', type: 'A', rdata: '192.0.2.99' });
    clock.advance(3599_000);
    await options.scheduler.runDue();
    expect(secondaries.served(ZONE)!.rrset(Name.parse('late.lab.example.'), RRType.A)).toBeUndefined();
    expect(options.scheduler.pending()).toEqual([{ name: 'zone.secondary-checks', when: clock.now() + 1000 }]);
    clock.advance(1_000);
    await options.scheduler.runDue();
    expect(secondaries.served(ZONE)!.rrset(Name.parse('late.lab.example.'), RRType.A)).toBeDefined();
    expect(secondaries.show(ZONE)).toMatchObject({ state: 'ok', lastTransfer: 'IXFR' });

    // A flood of 50 NOTIFYs from the primary's address costs one check now and one a second later.
    const transfers = () => lab.logs.filter((l) => l.includes('"event":"zone.transferred"')).length;
    const seen = transfers();
    const notify = encodeMessage(newMessage({ id: 9, opcode: Opcode.NOTIFY, aa: true, question: [{ name: ZONE, type: RRType.SOA, class: 1 }] }));
    for (let i = 0; i < 50; i++) expect(decodeMessage(secondaries.notify(notify, decodeMessage(notify), { address: PRIMARY })).rcode).toBe(Rcode.NOERROR);
    expect(decodeMessage(secondaries.notify(notify, decodeMessage(notify), { address: '127.10.172.9' })).rcode).toBe(Rcode.REFUSED);
    await secondaries.tick();
    expect(transfers() - seen).toBe(1);
    clock.advance(1000);
    await options.scheduler.runDue();
    expect(transfers() - seen).toBe(2);
    await secondaries.tick();
    expect(transfers() - seen).toBe(2);

    // The primary goes away: retries every 900 s (SOA retry), still serving until expire (604800 s).
    await new Promise((r) => server.close(r));
    clock.advance(3600_000);
    await secondaries.tick();
    expect(secondaries.show(ZONE)).toMatchObject({ state: 'retrying' });
    expect(secondaries.served(ZONE)).toBeDefined();
    const lastRefresh = secondaries.show(ZONE)!.lastRefresh!;
    clock.set(Date.parse(lastRefresh) + 604800_000 - 1000);
    await secondaries.tick();
    expect(secondaries.served(ZONE)).toBeDefined();
    clock.advance(1000);
    await secondaries.tick();
    expect(secondaries.served(ZONE)).toBeUndefined();
    expect(secondaries.show(ZONE)!.state).toBe('expired');
    const question = newMessage({ id: 3, question: [{ name: Name.parse('www.lab.example.'), type: RRType.A, class: 1 }] });
    const answer = secondaryAnswer({ secondaries, transfers: primary.transfers, keyring: new Map(), dnssec: true, now: 0 }, ZONE, question, client(), undefined);
    expect(answer).toMatchObject({ kind: 'answer', rcode: Rcode.SERVFAIL, ede: [[EdeCode.NOT_READY, expect.stringMatching(/expired at .*no primary reached/)]] });
    expect(logs.some((l) => l.includes('"event":"zone.secondary-expired"'))).toBe(true);
    await secondaries.stop();

    // A restart before expiry serves the stored copy at once; after it, nothing until a transfer.
    clock.set(Date.parse(lastRefresh) + 1000);
    const again = await SecondaryZones.start(options, [{ name: ZONE, primaries: [{ host: PRIMARY, port: 5353 }], source: 'config' }]);
    expect(again.served(ZONE)?.rrset(Name.parse('late.lab.example.'), RRType.A)).toBeDefined();
    await again.stop();
    clock.set(Date.parse(lastRefresh) + 604800_000);
    const late = await SecondaryZones.start(options, [{ name: ZONE, primaries: [{ host: PRIMARY, port: 5353 }], source: 'config' }]);
    expect(late.served(ZONE)).toBeUndefined();
    await late.stop();
    await primary.stop();
  }, 30_000);

  it('the journal bound: IXFR from a serial compacted away is answered with the whole zone (AXFR-style)', async () => {
    const lab = await startLab();
    dirs.push(lab.dir);
    await lab.service.stop();
    const zones = [{ ...lab.zones[0]!, journal: { maxVersions: 2, maxSize: 16 * 1024 * 1024 } }];
    const { service, pipeline } = await startService({ ...lab, zones });
    const start = (await service.show('lab.example')).serial!;
    for (let i = 0; i < 4; i++) await service.addRecord('lab.example', { name: `c${i}`, type: 'A', rdata: `192.0.2.${i + 1}` });
    const view = (await service.show('lab.example')) as { ixfrVersions: number; ixfrOldestSerial: number; serial: number };
    expect(view.ixfrVersions).toBe(2);
    expect(view.ixfrOldestSerial).toBe(view.serial - 2);
    expect(lab.logs.some((l) => l.includes('"event":"zone.journal-compacted"') && l.includes('"kind":"ixfr"'))).toBe(true);
    const { withSerial } = await import('../../src/authority/soa-serial.js');
    const soaNow = decodeMessage((await pipeline.handle(encodeMessage(newMessage({ id: 1, question: [{ name: ZONE, type: RRType.SOA, class: 1 }] })), client())) as Uint8Array).answer[0]!;
    const ask = async (serial: number) => {
      const answer = await pipeline.handle(encodeMessage(newMessage({ id: 2, question: [{ name: ZONE, type: RRType.IXFR, class: 1 }], authority: [withSerial(soaNow, serial)] })), client('192.0.2.10', 'tcp'));
      return (Array.isArray(answer) ? answer : [answer]).flatMap((m) => decodeMessage(m as Uint8Array).answer);
    };
    const old = await ask(start);
    expect(old.length).toBeGreaterThan(10);
    expect(old[1]!.type).not.toBe(RRType.SOA); // AXFR-style: the second record is zone data, not an old SOA
    expect(lab.logs.some((l) => l.includes('"sent":"AXFR-style IXFR"'))).toBe(true);
    const recent = await ask(view.serial - 2);
    expect(recent[1]!.type).toBe(RRType.SOA); // incremental
    await service.stop();
  });
});
