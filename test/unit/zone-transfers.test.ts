import { rmSync, writeFileSync } from 'node:fs';
import { Name } from '../../src/wire/name.js';
import { parseConfigText } from '../../src/config/loader.js';
import { afterAll, describe, expect, it } from 'vitest';
import { advanceSerial, detectSerialScheme, resolveSerialScheme, serialGreater } from '../../src/authority/soa-serial.js';
import { TransferReader, applyVersions } from '../../src/authority/transfer-response.js';
import { TsigStreamVerifier } from '../../src/authority/tsig-stream.js';
import { extractTsig, signTsig } from '../../src/authority/tsig.js';
import { canonicalRdata } from '../../src/wire/canonical.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Rcode, type ResourceRecord, newMessage } from '../../src/wire/message.js';
import { RRClass, RRType } from '../../src/wire/rr-type.js';
import { KEY, ZONE, client, rr, startLab, startService } from './authority-update-helpers.js';
import { soaSerial, withSerial } from '../../src/authority/soa-serial.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const DAY = Date.UTC(2026, 11, 7, 12);

describe('serial schemes (RFC 1982; BIND serial-update-method)', () => {
  it('detects the scheme the zone file uses', () => {
    expect(detectSerialScheme(1, DAY)).toBe('increment');
    expect(detectSerialScheme(2026010101, DAY)).toBe('date');
    expect(detectSerialScheme(Math.floor(DAY / 1000) - 86400, DAY)).toBe('unixtime');
    expect(resolveSerialScheme('increment', 2026010101, DAY)).toBe('increment');
  });

  it('date: today with a counter, one more when already at or past today; never backwards', () => {
    expect(advanceSerial(2026010101, 'date', DAY)).toBe(2026120700);
    expect(advanceSerial(2026120700, 'date', DAY)).toBe(2026120701);
    expect(advanceSerial(2026120799, 'date', DAY)).toBe(2026120800);
    // A serial from the future (an operator typo) still only moves forward.
    expect(advanceSerial(2030010100, 'date', DAY)).toBe(2030010101);
  });

  it('unixtime: now, or one more; increment wraps past 2^32 - 1 to 1 and stays greater', () => {
    expect(advanceSerial(1, 'unixtime', DAY)).toBe(DAY / 1000);
    expect(advanceSerial(DAY / 1000, 'unixtime', DAY)).toBe(DAY / 1000 + 1);
    expect(advanceSerial(0xffffffff, 'increment', DAY)).toBe(1);
    expect(serialGreater(1, 0xffffffff)).toBe(true);
  });
});

/** The zone as an AXFR over TCP gives it: its records, the closing SOA left out. */
async function axfr(lab: Pick<Awaited<ReturnType<typeof startLab>>, 'pipeline'>): Promise<ResourceRecord[]> {
  const q = encodeMessage(newMessage({ id: 7, question: [{ name: ZONE, type: RRType.AXFR, class: RRClass.IN }] }));
  const out = (await lab.pipeline.handle(q, client('192.0.2.10', 'tcp'))) as Uint8Array[];
  return out.flatMap((m) => decodeMessage(m).answer).slice(0, -1);
}

function ixfrQuery(serialOf: ResourceRecord, id = 9): Uint8Array {
  return encodeMessage(newMessage({ id, question: [{ name: ZONE, type: RRType.IXFR, class: RRClass.IN }], authority: [serialOf] }));
}

const key = (r: ResourceRecord) => `${r.name.key}/${r.type}/${r.ttl}/${Buffer.from(canonicalRdata(r.type, r.rdata)).toString('hex')}`;
const sameZone = (a: readonly ResourceRecord[], b: readonly ResourceRecord[]) => expect(new Set(a.map(key))).toEqual(new Set(b.map(key)));

describe('IXFR out of the journal of the served (signed) zone', () => {
  it('every older copy is brought to the current zone exactly; a current one gets its SOA; UDP gets the SOA', async () => {
    const lab = await startLab();
    dirs.push(lab.dir);
    const copies: ResourceRecord[][] = [await axfr(lab)];
    for (let i = 0; i < 4; i++) {
      await lab.service.addRecord('lab.example', { name: `n${i}`, type: 'A', rdata: `192.0.2.${100 + i}` });
      copies.push(await axfr(lab));
    }
    lab.clock.advance(8 * 86400_000); // signatures due: a refresh re-signs and moves the serial
    expect((await lab.service.refreshSignatures()).length).toBe(1);
    await lab.service.removeRecord('lab.example', { name: 'mail', type: 'A' });
    const current = await axfr(lab);
    const currentSerial = (await lab.service.show('lab.example')).serial;
    for (const copy of copies) {
      const soa = copy[0]!;
      const answer = await lab.pipeline.handle(ixfrQuery(soa), client('192.0.2.10', 'tcp'));
      const out = (Array.isArray(answer) ? answer : [answer]) as Uint8Array[];
      const reader = new TransferReader(decodeSerial(soa), 1_000_000);
      for (const m of out) {
        reader.feed(decodeMessage(m).answer);
        reader.endOfMessage();
      }
      const done = reader.done!;
      expect(done.kind).toBe('incremental');
      if (done.kind !== 'incremental') return;
      expect(decodeSerial(done.soa)).toBe(currentSerial);
      sameZone(applyVersions(copy, decodeSerial(soa), done.versions), current);
    }
    const same = (await lab.pipeline.handle(ixfrQuery(current[0]!), client('192.0.2.10', 'tcp'))) as Uint8Array;
    expect(decodeMessage(same).answer.map((r) => r.type)).toEqual([RRType.SOA]);
    const udp = decodeMessage((await lab.pipeline.handle(ixfrQuery(copies[0]![0]!), client('192.0.2.10', 'udp'))) as Uint8Array);
    expect(udp.answer.map((r) => decodeSerial(r))).toEqual([currentSerial]);
    // A serial the journal never had: the whole zone (AXFR-style).
    const behind = (currentSerial - 1000) >>> 0; // behind in RFC 1982 terms (it wraps)
    const unknown = (await lab.pipeline.handle(ixfrQuery(withSerial(current[0]!, behind)), client('192.0.2.10', 'tcp'))) as Uint8Array[];
    const r2 = new TransferReader(behind, 1_000_000);
    for (const m of unknown) r2.feed(decodeMessage(m).answer);
    expect(r2.done?.kind).toBe('full');
    await lab.service.stop();
  });

  it('a transfer signed with an allowed key is signed on every message; a wrong key is NOTAUTH', async () => {
    const lab = await startLab();
    dirs.push(lab.dir);
    for (let i = 0; i < 300; i++) await lab.service.addRecord('lab.example', { name: `bulk${i}`, type: 'TXT', rdata: `"${'x'.repeat(200)}"` });
    const now = Math.floor(lab.clock.now() / 1000);
    const q = signTsig(encodeMessage(newMessage({ id: 11, question: [{ name: ZONE, type: RRType.AXFR, class: RRClass.IN }] })), KEY, { now });
    const out = (await lab.pipeline.handle(q, client('192.0.2.10', 'tcp'))) as Uint8Array[];
    expect(out.length).toBeGreaterThan(2);
    const verifier = new TsigStreamVerifier(KEY, extractTsig(q)!.tsig.mac, () => now);
    for (const m of out) expect(extractTsig(new Uint8Array(m))).toBeDefined();
    for (const m of out) verifier.check(m);
    verifier.finish();
    // A message changed in flight does not verify.
    const tampered = out.map((m) => new Uint8Array(m));
    tampered[1]![40] ^= 1;
    const v2 = new TsigStreamVerifier(KEY, extractTsig(q)!.tsig.mac, () => now);
    v2.check(tampered[0]!);
    expect(() => v2.check(tampered[1]!)).toThrow(/does not verify/);
    const wrong = signTsig(encodeMessage(newMessage({ id: 12, question: [{ name: ZONE, type: RRType.AXFR, class: RRClass.IN }] })), { ...KEY, secret: new Uint8Array(32) }, { now });
    const refused = decodeMessage(extractTsig(new Uint8Array((await lab.pipeline.handle(wrong, client('192.0.2.10', 'tcp'))) as Uint8Array))!.unsigned);
    expect(refused.rcode).toBe(Rcode.NOTAUTH);
    expect(refused.answer).toEqual([]);
    await lab.service.stop();
  });
});

describe('every change of what is served moves the serial, in the zone\'s scheme', () => {
  it('zone unsign moves it on too, and IXFR carries a copy across sign and unsign exactly', async () => {
    const lab = await startLab({ zoneText: '$TTL 300\n@ SOA ns h 2026010101 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\n' });
    dirs.push(lab.dir);
    // A date serial stays a date serial: signing on 2026-06-01 (the lab clock) gives 2026060100.
    const signed = await axfr(lab);
    expect(decodeSerial(signed[0]!)).toBe(2026060100);
    await lab.service.unsign('lab.example', { now: true }); // no parent holds a DS here: no wait for one to go
    const unsigned = await axfr(lab);
    expect(decodeSerial(unsigned[0]!)).toBe(2026060101);
    expect(unsigned.some((r) => r.type === RRType.RRSIG)).toBe(false);
    const answer = await lab.pipeline.handle(ixfrQuery(signed[0]!), client('192.0.2.10', 'tcp'));
    const reader = new TransferReader(2026060100, 1_000_000);
    for (const m of (Array.isArray(answer) ? answer : [answer]) as Uint8Array[]) reader.feed(decodeMessage(m).answer);
    const done = reader.done!;
    expect(done.kind).toBe('incremental');
    if (done.kind === 'incremental') sameZone(applyVersions(signed, 2026060100, done.versions), unsigned);
    await lab.service.stop();
  });

  it('a zone added at run time is transferred to its allowTransfer prefixes only', async () => {
    const lab = await startLab();
    dirs.push(lab.dir);
    const file = `${lab.dir}/added.zone`;
    writeFileSync(file, '$TTL 300\n@ SOA ns h 5 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\n');
    await lab.service.add('added.example', file, ['198.51.100.0/24']);
    const q = encodeMessage(newMessage({ id: 5, question: [{ name: Name.parse('added.example.'), type: RRType.AXFR, class: RRClass.IN }] }));
    const ok = (await lab.pipeline.handle(q, client('198.51.100.7', 'tcp'))) as Uint8Array[];
    expect(ok.flatMap((m) => decodeMessage(m).answer).length).toBe(4);
    const no = decodeMessage((await lab.pipeline.handle(q, client('192.0.2.10', 'tcp'))) as Uint8Array);
    expect(no.rcode).toBe(Rcode.REFUSED);
    // Its IXFR history and ACL outlive a restart.
    await lab.service.addRecord('added.example', { name: 'x', type: 'A', rdata: '192.0.2.5' });
    await lab.service.stop();
    const again = await startService(lab);
    expect(((await again.service.show('added.example')) as { ixfrVersions: number }).ixfrVersions).toBe(1);
    expect(((await again.pipeline.handle(q, client('198.51.100.7', 'tcp'))) as Uint8Array[]).length).toBeGreaterThan(0);
    await again.service.stop();
  });

  it('a zone signed by its config and unsigned by it across a restart gets a new serial (secondaries must not keep the signed copy)', async () => {
    const lab = await startLab();
    dirs.push(lab.dir);
    await lab.service.stop();
    const file = `${lab.dir}/cfg.zone`;
    writeFileSync(file, '$TTL 300\n@ SOA ns h 7 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\n');
    const zones = (signing: string) => parseConfigText(`zones:\n  - { name: cfg.example., file: ${JSON.stringify(file)}, allowTransfer: ["192.0.2.0/24"]${signing} }\n`, '/etc/km.yaml', { baseDir: '/etc' }).zones;
    const signedRun = await startService({ ...lab, zones: zones(', signing: defaults') });
    const signedSerial = ((await signedRun.service.show('cfg.example')) as { serial: number; signed: boolean }).serial;
    expect(signedSerial).toBe(8); // 7 in the file, moved on by the signing at start
    await signedRun.service.stop();
    const unsignedRun = await startService({ ...lab, zones: zones('') });
    const view = (await unsignedRun.service.show('cfg.example')) as { serial: number; signed: boolean };
    expect(view.signed).toBe(false);
    expect(view.serial).toBe(9);
    await unsignedRun.service.stop();
    // And a plain restart of the unsigned zone keeps its serial.
    const again = await startService({ ...lab, zones: zones('') });
    expect(((await again.service.show('cfg.example')) as { serial: number }).serial).toBe(9);
    await again.service.stop();
  });

  it('an unsigned zone keeps its IXFR history across a restart', async () => {
    const lab = await startLab();
    dirs.push(lab.dir);
    await lab.service.unsign('lab.example', { now: true }); // no parent holds a DS here: no wait for one to go
    const before = await axfr(lab);
    await lab.service.addRecord('lab.example', { name: 'x1', type: 'A', rdata: '192.0.2.1' });
    await lab.service.stop();
    const again = await startService(lab);
    const view = (await again.service.show('lab.example')) as { ixfrVersions: number; signed: boolean };
    expect(view.signed).toBe(false);
    expect(view.ixfrVersions).toBeGreaterThan(0);
    const answer = await again.pipeline.handle(ixfrQuery(before[0]!), client('192.0.2.10', 'tcp'));
    const reader = new TransferReader(decodeSerial(before[0]!), 1_000_000);
    for (const m of (Array.isArray(answer) ? answer : [answer]) as Uint8Array[]) reader.feed(decodeMessage(m).answer);
    const done = reader.done!;
    expect(done.kind).toBe('incremental');
    if (done.kind === 'incremental') sameZone(applyVersions(before, decodeSerial(before[0]!), done.versions), await axfr(again));
    await again.service.stop();
  });
});

const decodeSerial = soaSerial;

export { rr };
