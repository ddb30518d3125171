import { afterAll, describe, expect, it } from 'vitest';
import { KeyMaster, zoneSigningKeys } from '../../src/authority/key-master.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { KeyStore } from '../../src/authority/key-store.js';
import { resignZone } from '../../src/authority/online-signer.js';
import { DEFAULT_SIGNATURE_REFRESH_TIMING, signatureState, signatureTimes, spreadPosition } from '../../src/authority/signature-refresh.js';
import { DEFAULT_SIGNING_POLICY } from '../../src/authority/signing-policy.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import { removeDir } from '../support/external-servers.js';
import { type Lab, ZONE, expectZoneSignedAt, servedZone, startLab } from './authority-update-helpers.js';

/**
 * Signature refresh on a ManualClock: over simulated weeks no signature is ever served expired
 * or with less than a quarter of its lifetime left, and a zone signed all at once is re-signed
 * a slice at a time, not all in one pass.
 */

const HOUR = 3600_000;
const labs: Lab[] = [];
afterAll(async () => {
  for (const lab of labs) {
    await lab.service.stop();
    removeDir(lab.dir);
  }
});

function bigZone(names: number): string {
  let text = '$TTL 300\n@ SOA ns h 1 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\n';
  for (let i = 0; i < names; i++) text += `host${i} A 192.0.2.${i % 250}\n`;
  return text;
}

describe('signature refresh timing', () => {
  it('a signature is fresh, then due within its own slice of the spread window, then urgent at a quarter of its lifetime', () => {
    const owner = Name.parse('www.lab.example.');
    const sig = { name: owner, type: RRType.RRSIG, class: 1, ttl: 300, rdata: new Uint8Array(0) };
    // An RRSIG RDATA with inception 0 and expiration 800 000 (lifetime 800 000 s), key tag 4242.
    const rdata = new Uint8Array(18 + owner.wire.length + 1);
    const view = new DataView(rdata.buffer);
    view.setUint16(0, RRType.A);
    rdata[2] = 13;
    rdata[3] = 3;
    view.setUint32(8, 800_000);
    view.setUint32(12, 0);
    view.setUint16(16, 4242);
    rdata.set(Name.parse('lab.example.').wire, 18);
    const rrsig = { ...sig, rdata: rdata.subarray(0, 18 + Name.parse('lab.example.').wire.length) };
    const t = signatureTimes(rrsig, 1000);
    expect(t.urgentAt).toBe(600_000);
    const pos = spreadPosition(owner, RRType.A, 4242);
    expect(t.dueAt).toBe(600_000 - Math.floor(800_000 * DEFAULT_SIGNATURE_REFRESH_TIMING.spreadFraction * pos));
    expect(t.dueAt).toBeGreaterThan(500_000);
    expect(signatureState(rrsig, t.dueAt - 1)).toBe('fresh');
    expect(signatureState(rrsig, t.dueAt)).toBe('due');
    expect(signatureState(rrsig, 600_000)).toBe('urgent');
    // Different RRsets fall at different points of the window.
    const positions = new Set(Array.from({ length: 50 }, (_, i) => Math.floor(spreadPosition(Name.parse(`h${i}.lab.example.`), RRType.A, 4242) * 10)));
    expect(positions.size).toBeGreaterThanOrEqual(8);
  });
});

describe('signature refresh over simulated weeks (ManualClock)', () => {
  it('never serves an expired signature or one with under a quarter of its life left, and spreads the re-signing', async () => {
    const lab = await startLab({ zoneText: bigZone(300) });
    labs.push(lab);
    const start = await servedZone(lab);
    const total = [...start.rrsets()].reduce((n, s) => n + s.sigs.length, 0);
    expect(total).toBeGreaterThan(600);
    const perPass: number[] = [];
    let serial = start.serial;
    let lastServed = start;
    const weeks = 4;
    for (let hour = 1; hour <= weeks * 7 * 24; hour++) {
      lab.clock.advance(HOUR);
      const report = await lab.service.refreshSignatures();
      const refreshed = report.reduce((n, r) => n + r.refreshed, 0);
      perPass.push(refreshed);
      const now = Math.floor(lab.clock.now() / 1000);
      const zone = report.length > 0 || hour % 24 === 0 ? await servedZone(lab) : lastServed;
      lastServed = zone;
      if (report.length > 0) {
        // Secondaries must see new signatures: the serial moved on.
        expect(zone.serial).toBeGreaterThan(serial);
        serial = zone.serial;
      }
      for (const set of zone.rrsets())
        for (const sig of set.sigs) {
          const f = decodeRrsig(sig.rdata);
          const lifetime = f.expiration - f.inception;
          expect(f.inception).toBeLessThanOrEqual(now);
          expect(f.expiration - now, `${set.name.toString()} ${set.type} at hour ${hour}`).toBeGreaterThan(lifetime / 4);
        }
      if (hour % (7 * 24) === 0) expectZoneSignedAt(zone, now); // and every signature verifies, once a simulated week
    }
    const busiest = Math.max(...perPass);
    const passesWithWork = perPass.filter((n) => n > 0).length;
    // 240 h signatures (DNSKEY 168 h) over four weeks: each RRset is re-signed at least twice.
    expect(perPass.reduce((a, b) => a + b, 0)).toBeGreaterThan(2 * total);
    // Spread: no pass remade more than a tenth of the zone's signatures, and the work fell in many different hours.
    expect(busiest).toBeLessThan(total / 10);
    expect(passesWithWork).toBeGreaterThan(60);
    expect(lab.logs.some((l) => l.includes('"event":"zone.signatures-refreshed"'))).toBe(true);
  }, 120_000);

  it('a pass remakes at most its batch of due signatures, most overdue first; urgent ones are never deferred', async () => {
    const lab = await startLab({ zoneText: bigZone(40), signatureValidity: 24 * 3600 });
    labs.push(lab);
    const keys = zoneSigningKeys(ZONE, await new KeyMaster(new KeyStore(lab.stateDir, await FileDocumentStore.open(lab.stateDir)), lab.clock).keys(ZONE));
    const resign = (maxRefresh: number) =>
      resignZone(served, served.unsignedRecords(), {
        zone: ZONE,
        keys,
        policy: { ...DEFAULT_SIGNING_POLICY, signatureValidity: 24 * 3600 },
        denial: { kind: 'nsec3', iterations: 0, salt: new Uint8Array(0), optOut: false },
        now: Math.floor(lab.clock.now() / 1000),
        maxRefresh,
      });
    // 17 h in: the 25 h signatures (24 h + 1 h inception offset) are inside their spread window, none urgent yet.
    lab.clock.advance(17 * HOUR);
    let served = await servedZone(lab);
    const dueTimes = [...served.rrsets()].flatMap((set) => set.sigs.map((sig) => ({ sig, t: signatureTimes(sig, Math.floor(lab.clock.now() / 1000)) })));
    const now = Math.floor(lab.clock.now() / 1000);
    const due = dueTimes.filter((d) => d.t.dueAt <= now);
    expect(due.length).toBeGreaterThan(10);
    expect(dueTimes.some((d) => d.t.urgentAt <= now)).toBe(false);
    const r = resign(5);
    expect(r).toMatchObject({ refreshed: 5, deferred: due.length - 5, signedChanged: 0 });
    // The five remade are the five most overdue.
    const oldest = due.sort((a, b) => a.t.dueAt - b.t.dueAt).slice(0, 5).map((d) => `${d.sig.name.toString()}/${decodeRrsig(d.sig.rdata).typeCovered}`).sort();
    expect([...r.touched].map((t) => t.replace(' ', '/')).sort()).toEqual(oldest);

    // 20 h in, every 25 h signature is urgent: one service pass remakes them all, none deferred.
    lab.clock.advance(3 * HOUR);
    const report = await lab.service.refreshSignatures();
    expect(report[0]!.deferred).toBe(0);
    served = await servedZone(lab);
    const later = Math.floor(lab.clock.now() / 1000);
    expectZoneSignedAt(served, later);
    for (const set of served.rrsets())
      for (const sig of set.sigs) {
        const f = decodeRrsig(sig.rdata);
        if (set.type !== RRType.DNSKEY) expect(f.inception, `${set.name.toString()} ${set.type}`).toBe(later - 3600);
      }
  });
});
