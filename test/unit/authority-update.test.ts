import { afterAll, describe, expect, it } from 'vitest';
import { applyUpdate } from '../../src/authority/dynamic-update.js';
import { nextSerial, serialGreater } from '../../src/authority/soa-serial.js';
import { TsigError, computeTsigMac, extractTsig, tsigAlgorithmName } from '../../src/authority/tsig.js';
import { ZoneData } from '../../src/authority/zone-db.js';
import { planZoneSigning } from '../../src/authority/zone-signer.js';
import { parseConfigText } from '../../src/config/loader.js';
import { ZoneError } from '../../src/authority/zone-error.js';
import { defaultEdns } from '../../src/wire/edns.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Opcode, Rcode, type ResourceRecord, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseZoneText } from '../../src/wire/zone-file.js';
import { RRType } from '../../src/wire/rr-type.js';
import { removeDir } from '../support/external-servers.js';
import {
  KEY,
  type Lab,
  ZONE,
  ZONE_TEXT,
  client,
  deleteRecord,
  deleteRrset,
  exchange,
  expectZoneSignedAt,
  rr,
  servedZone,
  signedUpdate,
  startLab,
  updateWire,
} from './authority-update-helpers.js';

/**
 * RFC 2136 dynamic update: prerequisites (§3.2) and update semantics (§3.4) on unsigned data,
 * then through the query pipeline with TSIG (RFC 8945): the change is answered signed at once,
 * only what it touched is re-signed, and every refusal changes nothing.
 */

const zone = (text = ZONE_TEXT) => ZoneData.fromRecords(ZONE, parseZoneText(text, { origin: ZONE }).records);
const rcodeOf = (o: ReturnType<typeof applyUpdate>) => o.rcode;
const changeOf = (o: ReturnType<typeof applyUpdate>) => ('change' in o ? o.change : undefined);
const texts = (rs: readonly ResourceRecord[] | undefined) => (rs ?? []).map((r) => `${r.name.toString()} ${r.type} ${r.ttl}`).sort();

describe('RFC 2136 §3.2 prerequisites', () => {
  const z = zone();
  const pre = (prerequisites: ResourceRecord[]) => rcodeOf(applyUpdate(z, { prerequisites, updates: [] }));
  it('name in use / not in use (class ANY / NONE, type ANY)', () => {
    expect(pre([deleteRrset('www', RRType.ANY)])).toBe(Rcode.NOERROR);
    expect(pre([deleteRrset('nope', RRType.ANY)])).toBe(Rcode.NXDOMAIN);
    expect(pre([{ ...deleteRrset('www', RRType.ANY), class: 254 }])).toBe(Rcode.YXDOMAIN);
    expect(pre([{ ...deleteRrset('nope', RRType.ANY), class: 254 }])).toBe(Rcode.NOERROR);
  });
  it('RRset exists / does not exist, value independent', () => {
    expect(pre([deleteRrset('www', RRType.A)])).toBe(Rcode.NOERROR);
    expect(pre([deleteRrset('www', RRType.AAAA)])).toBe(Rcode.NXRRSET);
    expect(pre([{ ...deleteRrset('www', RRType.A), class: 254 }])).toBe(Rcode.YXRRSET);
  });
  it('RRset exists, value dependent: the whole RRset must match (TTL aside)', () => {
    expect(pre([{ ...rr('www 0 A 192.0.2.80') }])).toBe(Rcode.NOERROR);
    expect(pre([{ ...rr('www 0 A 192.0.2.81') }])).toBe(Rcode.NXRRSET);
    expect(pre([rr('www 0 A 192.0.2.80'), rr('www 0 A 192.0.2.81')])).toBe(Rcode.NXRRSET);
  });
  it('FORMERR for a TTL or RDATA where none belongs; NOTZONE outside the zone', () => {
    expect(pre([{ ...deleteRrset('www', RRType.A), ttl: 5 }])).toBe(Rcode.FORMERR);
    expect(pre([{ ...rr('www 0 A 192.0.2.80'), class: 255 }])).toBe(Rcode.FORMERR);
    expect(pre([{ ...deleteRrset('www', RRType.A), name: Name.parse('www.other.example.') }])).toBe(Rcode.NOTZONE);
  });
});

describe('RFC 2136 §3.4 updates', () => {
  const z = zone();
  const up = (...updates: ResourceRecord[]) => applyUpdate(z, { prerequisites: [], updates });
  it('adds a record and bumps the serial by one (RFC 1982)', () => {
    const o = up(rr('new 600 A 192.0.2.9'));
    expect(rcodeOf(o)).toBe(Rcode.NOERROR);
    const c = changeOf(o)!;
    expect(c.serial).toBe(2);
    expect(texts(c.added)).toEqual(['lab.example. 6 300', 'new.lab.example. 1 600']);
    expect(texts(c.removed)).toEqual(['lab.example. 6 300']);
    expect(ZoneData.fromRecords(ZONE, c.records).rrset(Name.parse('new.lab.example.'), RRType.A)).toBeDefined();
  });
  it('adding what is there, or deleting what is not, changes nothing (no serial bump)', () => {
    expect(changeOf(up(rr('www 300 A 192.0.2.80')))).toBeUndefined();
    expect(changeOf(up(deleteRecord('www A 192.0.2.99')))).toBeUndefined();
    expect(changeOf(up(deleteRrset('nope', RRType.A)))).toBeUndefined();
  });
  it('an RRset has one TTL: adding with a new TTL moves the whole set', () => {
    const c = changeOf(up(rr('www 900 A 192.0.2.81')))!;
    expect(texts(c.added).filter((t) => t.startsWith('www'))).toEqual(['www.lab.example. 1 900', 'www.lab.example. 1 900']);
  });
  it('deletes an RRset, a record, or a name; the apex keeps its SOA and NS, and the last NS stays', () => {
    expect(texts(changeOf(up(deleteRrset('www', RRType.A)))!.removed)).toContain('www.lab.example. 1 300');
    expect(texts(changeOf(up(deleteRecord('www A 192.0.2.80')))!.removed)).toContain('www.lab.example. 1 300');
    const apex = changeOf(up(deleteRrset('@', RRType.ANY)))!;
    expect(texts(apex.removed)).toEqual(['lab.example. 15 300', 'lab.example. 6 300']); // MX and the old SOA
    expect(changeOf(up(deleteRrset('@', RRType.NS)))).toBeUndefined();
    expect(changeOf(up(deleteRecord('@ NS ns.lab.example.')))).toBeUndefined();
    expect(changeOf(up(deleteRrset('@', RRType.SOA)))).toBeUndefined();
  });
  it('CNAME and other data never mix: such additions are ignored', () => {
    expect(changeOf(up(rr('www CNAME mail')))).toBeUndefined();
    const withCname = zone(`${ZONE_TEXT}alias CNAME www\n`);
    expect(changeOf(applyUpdate(withCname, { prerequisites: [], updates: [rr('alias A 192.0.2.3')] }))).toBeUndefined();
    expect(texts(changeOf(applyUpdate(withCname, { prerequisites: [], updates: [rr('alias 300 CNAME mail')] }))!.added)).toContain('alias.lab.example. 5 300');
  });
  it('an SOA with a newer serial replaces the SOA (no extra bump); an older one is ignored', () => {
    const c = changeOf(up(rr('@ 300 SOA ns h 50 3600 900 604800 60')))!;
    expect(c.serial).toBe(50);
    expect(changeOf(up(rr('@ 300 SOA ns h 1 3600 900 604800 60')))).toBeUndefined();
  });
  it('REFUSED for the signer\'s types, FORMERR for meta types and bad deletions, NOTZONE outside', () => {
    expect(rcodeOf(up(rr('@ 300 DNSKEY 256 3 13 AAAA')))).toBe(Rcode.REFUSED);
    expect(rcodeOf(up(deleteRrset('@', RRType.NSEC3PARAM)))).toBe(Rcode.REFUSED);
    expect(rcodeOf(up({ ...rr('www 300 A 192.0.2.1'), type: RRType.AXFR }))).toBe(Rcode.FORMERR);
    expect(rcodeOf(up({ ...deleteRrset('www', RRType.A), ttl: 30 }))).toBe(Rcode.FORMERR);
    expect(rcodeOf(up({ ...rr('x 300 A 192.0.2.1'), name: Name.parse('x.other.example.') }))).toBe(Rcode.NOTZONE);
    // §3.4.1: the prescan sees every RR first, so nothing before a bad one is applied either.
    expect(rcodeOf(up(rr('ok 300 A 192.0.2.1'), { ...rr('x 300 A 192.0.2.1'), type: 254 /* MAILA */ }))).toBe(Rcode.FORMERR);
  });
  it('serial arithmetic wraps (RFC 1982): 2^32-1 + 1 is 1 and greater', () => {
    expect(nextSerial(0xffffffff)).toBe(1);
    expect(serialGreater(1, 0xffffffff)).toBe(true);
    expect(serialGreater(0x80000000, 0)).toBe(false);
  });
});

describe('UPDATE through the query pipeline (TSIG, online signing)', () => {
  const labs: Lab[] = [];
  afterAll(async () => {
    for (const lab of labs) {
      await lab.service.stop();
      removeDir(lab.dir);
    }
  });
  const lab = async (o?: Parameters<typeof startLab>[0]) => {
    const l = await startLab(o);
    labs.push(l);
    return l;
  };
  const dnssecQuery = (name: string, type: number) =>
    encodeMessage(newMessage({ id: 7, question: [{ name: Name.parse(name), type, class: 1 }], edns: defaultEdns({ dnssecOk: true }) }));

  for (const denial of ['nsec3', 'nsec'] as const) {
    it(`${denial}: a signed UPDATE is answered NOERROR, signed, and the record is served signed at once; only what it touched was re-signed`, async () => {
      const l = await lab({ nsec: denial === 'nsec' });
      const before = await servedZone(l);
      const request = signedUpdate(l, { updates: [rr('new 600 A 192.0.2.9'), rr('new 600 TXT "hello"')] });
      const { bytes, message } = await exchange(l, request);
      expect(message).toMatchObject({ id: 4321, qr: true, opcode: Opcode.UPDATE, rcode: Rcode.NOERROR });
      // The answer's TSIG verifies over the request MAC (RFC 8945 §4.3.3).
      const answer = extractTsig(bytes)!;
      const requestMac = extractTsig(request)!.tsig.mac;
      expect(Buffer.from(computeTsigMac(KEY, answer.unsigned, answer.tsig, requestMac)).equals(Buffer.from(answer.tsig.mac))).toBe(true);

      const a = decodeMessage((await l.pipeline.handle(dnssecQuery('new.lab.example.', RRType.A), client())) as Uint8Array);
      expect(a.rcode).toBe(Rcode.NOERROR);
      expect(a.answer.map((r) => r.type)).toEqual([RRType.A, RRType.RRSIG]);

      const after = await servedZone(l);
      expect(after.serial).toBe(before.serial + 1);
      const now = Math.floor(l.clock.now() / 1000);
      expectZoneSignedAt(after, now);
      // The chain is the one a full signing would build for the new data.
      const unsignedAfter = after.unsignedRecords();
      const keys = after.rrset(ZONE, RRType.DNSKEY)!.records;
      const chainType = denial === 'nsec3' ? RRType.NSEC3 : RRType.NSEC;
      const chain = (records: readonly ResourceRecord[]) => records.filter((r) => r.type === chainType).map((r) => `${r.name.toString()} ${Buffer.from(r.rdata).toString('hex')}`).sort();
      const plan = planZoneSigning(unsignedAfter, {
        zone: ZONE,
        keys: keys.map((k) => ({ zone: ZONE, algorithm: 13, keyTag: 0, privateKey: undefined as never, dnskeyRdata: k.rdata, role: (k.rdata[1]! & 1 ? 'ksk' : 'zsk') as 'ksk' | 'zsk', signs: true })), // planning only: nothing is signed,
        windows: { dnskey: { inception: 0, expiration: 1 }, ds: { inception: 0, expiration: 1 }, other: { inception: 0, expiration: 1 } },
        denial: denial === 'nsec' ? { kind: 'nsec' } : { kind: 'nsec3', iterations: 0, salt: new Uint8Array(0), optOut: false },
        dnskeyTtl: 3600,
      });
      expect(chain(after.records())).toEqual(chain(plan.records));
      // Unchanged RRsets kept their signatures byte for byte; the new ones, the SOA and the chain neighbours got new ones.
      const sigsOf = (z: ZoneData) => new Map([...z.rrsets()].map((s) => [`${s.name.toString()}/${s.type}`, s.sigs.map((x) => Buffer.from(x.rdata).toString('hex')).sort().join()]));
      const b = sigsOf(before);
      const changed = [...sigsOf(after)].filter(([k, v]) => b.get(k) !== v).map(([k]) => k);
      expect(changed).toContain('lab.example./6');
      expect(changed).toContain('new.lab.example./1');
      expect(changed).toContain('new.lab.example./16');
      for (const kept of ['www.lab.example./1', 'lab.example./2', 'lab.example./48', 'lab.example./15', 'mail.lab.example./1']) expect(changed).not.toContain(kept);
      const chainChanged = changed.filter((k) => k.endsWith(`/${chainType}`)).length;
      expect(chainChanged).toBeGreaterThanOrEqual(denial === 'nsec' ? 2 : 2); // the new name's and its predecessor's
      expect(chainChanged).toBeLessThanOrEqual(3);
      expect(changed.length).toBeLessThanOrEqual(6);
      expect(l.logs.some((x) => x.includes('"event":"zone.updated"'))).toBe(true);
    });
  }

  it('deletes an RRset sent with empty RDATA (class ANY) and a record (class NONE), under prerequisites', async () => {
    const l = await lab();
    const ok = await exchange(l, signedUpdate(l, { prerequisites: [deleteRrset('mail', RRType.A)], updates: [deleteRrset('mail', RRType.A), deleteRecord('@ MX 10 mail')] }));
    expect(ok.message.rcode).toBe(Rcode.NOERROR);
    const z = await servedZone(l);
    expect(z.rrset(Name.parse('mail.lab.example.'), RRType.A)).toBeUndefined();
    expect(z.rrset(ZONE, RRType.MX)).toBeUndefined();
    expectZoneSignedAt(z, Math.floor(l.clock.now() / 1000));
    const nx = decodeMessage((await l.pipeline.handle(dnssecQuery('mail.lab.example.', RRType.A), client())) as Uint8Array);
    expect(nx.rcode).toBe(Rcode.NXDOMAIN);
    // A prerequisite that fails: YXDOMAIN, and nothing applied.
    const serial = z.serial;
    const no = await exchange(l, signedUpdate(l, { prerequisites: [{ ...deleteRrset('www', RRType.ANY), class: 254 }], updates: [rr('www 300 A 192.0.2.200')] }));
    expect(no.message.rcode).toBe(Rcode.YXDOMAIN);
    expect((await servedZone(l)).serial).toBe(serial);
  });

  it('refuses and changes nothing: bad secret (BADSIG), unknown key (BADKEY), stale (BADTIME, signed), unsigned, wrong address, zone without update, zone not here', async () => {
    const l = await lab();
    const before = await servedZone(l);
    const add = { updates: [rr('evil 300 A 192.0.2.66')] };
    const badSecret = { ...KEY, secret: new Uint8Array(32).fill(7) };
    const badsig = await exchange(l, signedUpdate(l, add, badSecret));
    expect(badsig.message.rcode).toBe(Rcode.NOTAUTH);
    expect(extractTsig(badsig.bytes)!.tsig).toMatchObject({ error: TsigError.BADSIG });
    expect(extractTsig(badsig.bytes)!.tsig.mac.length).toBe(0);
    const badkey = await exchange(l, signedUpdate(l, add, { ...KEY, name: Name.parse('who.') }));
    expect(badkey.message.rcode).toBe(Rcode.NOTAUTH);
    expect(extractTsig(badkey.bytes)!.tsig.error).toBe(TsigError.BADKEY);
    const badalg = await exchange(l, signedUpdate(l, add, { ...KEY, algorithm: tsigAlgorithmName('hmac-sha512') }));
    expect(extractTsig(badalg.bytes)!.tsig.error).toBe(TsigError.BADKEY);
    const stale = await exchange(l, signedUpdate(l, add, KEY, -3600));
    expect(stale.message.rcode).toBe(Rcode.NOTAUTH);
    const staleTsig = extractTsig(stale.bytes)!;
    expect(staleTsig.tsig.error).toBe(TsigError.BADTIME);
    expect(staleTsig.tsig.mac.length).toBe(32);
    const unsigned = await exchange(l, updateWire(add));
    expect(unsigned.message.rcode).toBe(Rcode.REFUSED);
    expect(extractTsig(unsigned.bytes)).toBeUndefined();
    const outsider = await exchange(l, signedUpdate(l, add), client('203.0.113.5'));
    expect(outsider.message.rcode).toBe(Rcode.REFUSED);
    expect(extractTsig(outsider.bytes)!.tsig.error).toBe(0); // a verified request's refusal is signed
    const noUpdate = await exchange(l, signedUpdate(l, { zone: Name.parse('other.example.'), updates: [rr('x.other.example. 300 A 192.0.2.1')] }));
    expect(noUpdate.message.rcode).toBe(Rcode.REFUSED);
    const notHere = await exchange(l, signedUpdate(l, { zone: Name.parse('elsewhere.test.'), updates: [] }));
    expect(notHere.message.rcode).toBe(Rcode.NOTAUTH);
    const twoZones = encodeMessage(newMessage({ id: 9, opcode: Opcode.UPDATE, question: [{ name: ZONE, type: RRType.A, class: 1 }] }));
    expect((await exchange(l, twoZones)).message.rcode).toBe(Rcode.FORMERR);
    const after = await servedZone(l);
    expect(after.serial).toBe(before.serial);
    expect(after.node(Name.parse('evil.lab.example.'))).toBeUndefined();
    expect(l.logs.filter((x) => x.includes('"event":"zone.update-refused"')).length).toBeGreaterThanOrEqual(8);
  });

  it('zone record add|remove: re-signed and served at once; no-op add, missing remove and signer types are told apart', async () => {
    const l = await lab();
    const added = await l.service.addRecord('lab.example', { name: 'db', type: 'AAAA', rdata: '2001:db8::5' });
    expect(added).toMatchObject({ zone: 'lab.example.', changed: true, serial: 3 });
    expect(added.added).toEqual(['db.lab.example.\t300\tIN\tAAAA\t2001:db8::5']);
    expect(added.signatures).toBeGreaterThanOrEqual(3);
    const again = await l.service.addRecord('lab.example', { name: 'db.lab.example.', type: 'AAAA', rdata: '2001:db8::5' });
    expect(again.changed).toBe(false);
    const ttl = await l.service.addRecord('lab.example', { name: 'mx2', type: 'MX', rdata: '20 mail', ttl: 120 });
    expect(ttl.added).toEqual(['mx2.lab.example.\t120\tIN\tMX\t20 mail.lab.example.']);
    expectZoneSignedAt(await servedZone(l), Math.floor(l.clock.now() / 1000));
    const removed = await l.service.removeRecord('lab.example', { name: 'db', type: 'AAAA' });
    expect(removed.removed).toEqual(['db.lab.example.\t300\tIN\tAAAA\t2001:db8::5']);
    await expect(l.service.removeRecord('lab.example', { name: 'db', type: 'AAAA', rdata: '2001:db8::5' })).rejects.toMatchObject({ code: 'no-such-record' });
    await expect(l.service.addRecord('lab.example', { name: '@', type: 'DNSKEY', rdata: '256 3 13 AAAA' })).rejects.toBeInstanceOf(ZoneError);
    await expect(l.service.addRecord('lab.example', { name: 'x', type: 'A', rdata: 'not-an-address' })).rejects.toMatchObject({ code: 'bad-record' });
    await expect(l.service.addRecord('lab.example', { name: 'x.example.net.', type: 'A', rdata: '192.0.2.1' })).rejects.toMatchObject({ code: 'not-in-zone' });
    await expect(l.service.addRecord('nowhere.test', { name: 'x', type: 'A', rdata: '192.0.2.1' })).rejects.toMatchObject({ code: 'no-such-zone' });
    expect((await servedZone(l)).serial).toBe(5);
  });
});

describe('the update: config of a zone', () => {
  const yaml = (update: string) => `zones:\n  - name: lab.example.\n    file: lab.zone\n    update:\n${update}`;
  it('reads keys (hmac-sha256 by default) and allow prefixes', () => {
    const c = parseConfigText(yaml('      keys: [{ name: ddns-key, secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQ=" }]\n      allow: ["192.0.2.0/24"]\n'), '/etc/km.yaml', { baseDir: '/etc' });
    expect(c.zones[0]!.update).toMatchObject({ keys: [{ name: 'ddns-key.', algorithm: 'hmac-sha256' }] });
    expect(c.zones[0]!.update!.allow.map((p) => p.text)).toEqual(['192.0.2.0/24']);
  });
  it('names the file, line and key path of a bad secret, an unknown algorithm or no keys', () => {
    expect(() => parseConfigText(yaml('      keys: [{ name: k, secret: "c2hvcnQ=" }]\n'), '/etc/km.yaml', { baseDir: '/etc' })).toThrow(/km\.yaml:\d+.*zones\[0\]\.update\.keys\[0\]\.secret.*16 octets/s);
    expect(() => parseConfigText(yaml('      keys: [{ name: k, algorithm: hmac-md5, secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQ=" }]\n'), '/etc/km.yaml', { baseDir: '/etc' })).toThrow(/algorithm/);
    expect(() => parseConfigText(yaml('      keys: []\n'), '/etc/km.yaml', { baseDir: '/etc' })).toThrow(/keys/);
  });
});
