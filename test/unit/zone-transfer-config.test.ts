import dgram from 'node:dgram';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { NotifySender } from '../../src/authority/notify-sender.js';
import { PrimaryTransfers } from '../../src/authority/primary-transfers.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { extractTsig, signTsigResponse, verifyTsig } from '../../src/authority/tsig.js';
import { ManualClock } from '../../src/clock.js';
import { parseConfigText } from '../../src/config/loader.js';
import { createLogger } from '../../src/logging/logger.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Opcode, newMessage } from '../../src/wire/message.js';
import { RRType } from '../../src/wire/rr-type.js';
import { ZoneData } from '../../src/authority/zone-db.js';
import { parseZoneText } from '../../src/wire/zone-file.js';
import { KEY, ZONE, rr } from './authority-update-helpers.js';
import { tempDir } from '../support/external-servers.js';

const parse = (text: string) => parseConfigText(text, '/etc/km.yaml', { baseDir: '/etc' });
const SECRET = 'c2VjcmV0LXNlY3JldC1zZWNyZXQ=';

describe('zone transfer config', () => {
  it('reads notify, tsig, serial, journal, allowTransfer by key, tsigKeys and secondary zones', () => {
    const c = parse(
      `tsigKeys:\n  - { name: xfr-key, secret: "${SECRET}" }\n` +
        `zones:\n  - name: a.test.\n    file: a.zone\n    notify: ["192.0.2.2", "ns", "[2001:db8::2]:5353"]\n    tsig: xfr-key\n    serial: date\n    journal: { maxVersions: 50, maxSize: 2m }\n` +
        `    allowTransfer: ["10.0.0.0/8", { key: xfr-key }, { key: xfr-key, address: "192.0.2.0/24" }]\n` +
        `  - { name: b.test., primary: ["192.0.2.1", "192.0.2.9:5300"], tsig: xfr-key }\n`,
    );
    const a = c.zones[0]!;
    expect(a.notify).toEqual([{ host: '192.0.2.2', port: 53, family: 4 }, 'ns', { host: '2001:db8::2', port: 5353, family: 6 }]);
    expect(a).toMatchObject({ tsig: 'xfr-key.', serial: 'date', journal: { maxVersions: 50, maxSize: 2 * 1024 * 1024 } });
    expect(a.allowTransfer.map((e) => e.text)).toEqual(['10.0.0.0/8', 'key xfr-key.', 'key xfr-key. from 192.0.2.0/24']);
    expect(c.zones[1]).toMatchObject({ name: 'b.test.', file: '', primary: [{ host: '192.0.2.1', port: 53 }, { host: '192.0.2.9', port: 5300 }] });
    expect(c.tsigKeys.map((k) => k.name)).toEqual(['xfr-key.']);
    // Defaults: keep the file's serial form, 1000 versions / 16 MiB of IXFR history, no NOTIFY.
    const d = parse('zones:\n  - { name: c.test., file: c.zone }\n').zones[0]!;
    expect(d).toMatchObject({ serial: 'keep', notify: [], journal: { maxVersions: 1000, maxSize: 16 * 1024 * 1024 } });
  });

  it('names the key of every mistake', () => {
    expect(() => parse('zones:\n  - { name: a.test., file: a.zone, tsig: nokey }\n')).toThrow(/zones\[0\]\.tsig.*key nokey\. is not defined/s);
    expect(() => parse('zones:\n  - { name: a.test., file: a.zone, allowTransfer: [{ key: nokey }] }\n')).toThrow(/zones\[0\]\.allowTransfer\[0\]\.key.*not defined/s);
    expect(() => parse('zones:\n  - { name: a.test., file: a.zone, primary: ["192.0.2.1"] }\n')).toThrow(/zones\[0\]\.primary.*no "file"/s);
    expect(() => parse('zones:\n  - { name: a.test., primary: ["192.0.2.1"], signing: defaults }\n')).toThrow(/zones\[0\]\.signing.*as transferred/s);
    expect(() => parse('zones:\n  - { name: a.test. }\n')).toThrow(/zones\[0\].*missing required key "file"/s);
    expect(() => parse('zones:\n  - { name: a.test., file: a.zone, serial: weekly }\n')).toThrow(/zones\[0\]\.serial/);
    expect(() => parse('zones:\n  - { name: a.test., file: a.zone, notify: ["not an address"] }\n')).toThrow(/zones\[0\]\.notify\[0\]/);
    expect(() => parse('zones:\n  - { name: a.test., file: a.zone, journal: { maxVersions: 0 } }\n')).toThrow(/zones\[0\]\.journal\.maxVersions/);
    expect(() => parse('zones:\n  - { name: a.test., file: a.zone, allowTransfer: [{ address: "10.0.0.0/8" }] }\n')).toThrow(/zones\[0\]\.allowTransfer\[0\]/);
  });
});

/** A UDP "secondary" on 127.10.172.2 that ignores the first `silent` NOTIFYs, then answers (signed with KEY when asked to). */
function fakeSecondary(port: number, silent: number): Promise<{ seen: Uint8Array[]; from: string[]; close(): void }> {
  const socket = dgram.createSocket('udp4');
  const seen: Uint8Array[] = [];
  const froms: string[] = [];
  socket.on('message', (msg, from) => {
    seen.push(new Uint8Array(msg));
    froms.push(from.address);
    if (seen.length <= silent) return;
    const signed = extractTsig(new Uint8Array(msg));
    const request = decodeMessage(signed?.unsigned ?? msg);
    let answer = encodeMessage(newMessage({ id: request.id, qr: true, aa: true, opcode: Opcode.NOTIFY, question: request.question }));
    if (signed) answer = signTsigResponse(answer, verifyTsig(signed, () => KEY, Math.floor(Date.now() / 1000)), Math.floor(Date.now() / 1000));
    socket.send(answer, from.port, from.address);
  });
  return new Promise((resolve) => socket.bind(port, '127.10.172.2', () => resolve({ seen, from: froms, close: () => socket.close() })));
}

describe('NOTIFY out (RFC 1996)', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('retries with backoff until acknowledged, TSIG-signed, from the listen address; gives up after a bounded number of tries', async () => {
    const logs: string[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (l: string) => void logs.push(l) } });
    const secondary = await fakeSecondary(5391, 2);
    const sender = new NotifySender({ logger, now: () => Math.floor(Date.now() / 1000), backoffMs: [20, 40, 80], timeoutMs: 100, sources: { v4: '127.10.172.1' } });
    const soa = rr('@ 300 SOA ns h 42 3600 900 604800 60');
    sender.notify(ZONE, soa, [{ host: '127.10.172.2', port: 5391 }], KEY);
    for (let i = 0; i < 100 && !logs.some((l) => l.includes('zone.notify-acknowledged')); i++) await new Promise((r) => setTimeout(r, 20));
    expect(logs.find((l) => l.includes('zone.notify-acknowledged'))).toMatch(/"serial":42.*"tries":3/);
    expect(secondary.seen).toHaveLength(3);
    expect(new Set(secondary.from)).toEqual(new Set(['127.10.172.1']));
    for (const m of secondary.seen) {
      const signed = extractTsig(m)!;
      expect(verifyTsig(signed, () => KEY, Math.floor(Date.now() / 1000)).ok).toBe(true);
      const n = decodeMessage(signed.unsigned);
      expect(n).toMatchObject({ opcode: Opcode.NOTIFY, aa: true });
      expect(n.question[0]).toMatchObject({ type: RRType.SOA });
      expect(n.answer[0]!.type).toBe(RRType.SOA);
    }
    secondary.close();

    // Nobody answers: bounded tries, then notify-failed; an answer with a bad TSIG does not count.
    const silentOne = await fakeSecondary(5392, 100);
    sender.notify(ZONE, soa, [{ host: '127.10.172.2', port: 5392 }], KEY);
    for (let i = 0; i < 100 && !logs.some((l) => l.includes('zone.notify-failed')); i++) await new Promise((r) => setTimeout(r, 20));
    expect(logs.find((l) => l.includes('zone.notify-failed'))).toMatch(/"tries":4/);
    expect(silentOne.seen).toHaveLength(4);
    silentOne.close();
    sender.stop();
  });

  it('"ns" notifies the in-zone addresses of the apex NS names, not the SOA MNAME (the primary); a burst is told once', async () => {
    const logs: string[] = [];
    const dir = tempDir('notify-ns');
    dirs.push(dir);
    const clock = new ManualClock();
    const transfers = new PrimaryTransfers({ journalDir: dir, documents: await FileDocumentStore.open(dir), keyring: new Map(), clock, logger: createLogger({ level: 'info', destination: { write: (l: string) => void logs.push(l) } }), notify: { backoffMs: [], timeoutMs: 50 } });
    const text = '$TTL 300\n@ SOA ns1 h 1 3600 900 604800 60\n@ NS ns1\n@ NS ns2\n@ NS ns3\n@ NS ns.elsewhere.example.\nns1 A 192.0.2.1\nns2 A 127.10.172.3\nns3 AAAA ::1\n';
    const zone = ZoneData.fromRecords(ZONE, parseZoneText(text, { origin: ZONE }).records);
    transfers.configure(ZONE, { allowTransfer: [], notify: ['ns', { host: '127.10.172.4', port: 53 }], serial: 'keep', journal: { maxVersions: 10, maxSize: 1 << 20 } }, 1);
    await transfers.open(ZONE, zone, '', true);
    const sent = logs.find((l) => l.includes('"event":"zone.notify-sent"'))!;
    expect([...JSON.parse(sent).targets].sort()).toEqual(['127.10.172.3#53', '127.10.172.4#53', '::1#53']);
    // A burst of changes within the notify delay (1 s) is told once more, with its last serial.
    let version = zone;
    for (const serial of [2, 3, 4]) {
      const next = ZoneData.fromRecords(ZONE, parseZoneText(text.replace(' 1 3600', ` ${serial} 3600`), { origin: ZONE }).records);
      await transfers.changed(ZONE, version, next);
      version = next;
    }
    const notified = () => logs.filter((l) => l.includes('"event":"zone.notify-sent"')).map((l) => JSON.parse(l).serial as number);
    for (let i = 0; i < 40 && notified().at(-1) !== 4; i++) await new Promise((r) => setTimeout(r, 50));
    expect(notified()[0]).toBe(1);
    expect(notified().at(-1)).toBe(4);
    expect(notified().length).toBeLessThan(4); // fewer NOTIFYs than versions: [1, 4] unless the burst outlasted the delay
    await transfers.stop();
  });
});

