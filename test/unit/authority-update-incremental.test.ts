import { describe, expect, it } from 'vitest';
import { applyUpdate } from '../../src/authority/dynamic-update.js';
import { applyDiff, incrementalRefusal } from '../../src/authority/incremental-signer.js';
import { signChange } from '../../src/authority/online-signer.js';
import { DEFAULT_SIGNING_POLICY } from '../../src/authority/signing-policy.js';
import { ZoneData } from '../../src/authority/zone-db.js';
import { type DenialOfExistence, type ZoneSigningKey, planZoneSigning, signZone } from '../../src/authority/zone-signer.js';
import { generateKeyPair } from '../../src/crypto/key-generation.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { Rcode, type ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { encodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { parseZoneText } from '../../src/wire/zone-file.js';
import { ZONE, deleteRecord, deleteRrset, expectZoneSignedAt, rr } from './authority-update-helpers.js';

/**
 * The incremental signer against the whole-zone signer: after any sequence of changes, the
 * NSEC/NSEC3 chain, the RRsets and the indexes are exactly what signing the new data from
 * scratch gives, every signature verifies, and untouched signatures are the old ones.
 */

const NOW = Math.floor(Date.UTC(2026, 5, 1) / 1000);
const policy = DEFAULT_SIGNING_POLICY;

function key(role: 'ksk' | 'zsk'): ZoneSigningKey {
  const pair = generateKeyPair(13);
  const dnskeyRdata = encodeRdata(RRType.DNSKEY, { flags: role === 'ksk' ? 257 : 256, protocol: 3, algorithm: 13, publicKey: pair.publicKeyField });
  return { zone: ZONE, algorithm: 13, keyTag: keyTag(dnskeyRdata), privateKey: pair.privateKey, dnskeyRdata, role };
}
const keys = [key('ksk'), key('zsk')];

const BASE = `$TTL 300
@ SOA ns h 1 3600 900 604800 60
@ NS ns
ns A 192.0.2.1
www A 192.0.2.80
a.b.c A 192.0.2.3
x.deep.y A 192.0.2.4
*.wild TXT "w"
sub NS ns.sub
ns.sub A 192.0.2.53
`;

function signed(text: string, denial: DenialOfExistence): ZoneData {
  const records = parseZoneText(text, { origin: ZONE }).records;
  const w = { inception: NOW - 3600, expiration: NOW + policy.signatureValidity };
  return ZoneData.fromRecords(ZONE, signZone(records, { zone: ZONE, keys, windows: { dnskey: w, ds: w, other: w }, denial, dnskeyTtl: policy.dnskeyTtl }));
}

/** Owner and RDATA of every non-RRSIG record, for comparing zones. */
function shape(z: ZoneData): string[] {
  return z.records({ withSignatures: false }).map((r) => `${r.name.toString()} ${r.type} ${r.ttl} ${Buffer.from(r.rdata).toString('hex')}`).sort();
}

function fullShape(unsigned: ZoneData, denial: DenialOfExistence): string[] {
  const plan = planZoneSigning(unsigned.records({ withSignatures: false }), { zone: ZONE, keys, windows: { dnskey: { inception: 0, expiration: 1 }, ds: { inception: 0, expiration: 1 }, other: { inception: 0, expiration: 1 } }, denial, dnskeyTtl: policy.dnskeyTtl });
  return ZoneData.fromRecords(ZONE, plan.records).records({ withSignatures: false }).map((r) => `${r.name.toString()} ${r.type} ${r.ttl} ${Buffer.from(r.rdata).toString('hex')}`).sort();
}

/** A small deterministic PRNG so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

const LABELS = ['a', 'b', 'c', 'd', 'deep', 'y', 'www', 'm1', 'm2', 'q'];

function randomChange(rand: () => number, zone: ZoneData): ResourceRecord[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const depth = 1 + Math.floor(rand() * 3);
  const owner = Array.from({ length: depth }, () => pick(LABELS)).join('.');
  const kind = rand();
  if (kind < 0.45) return [rr(`${owner} 300 A 192.0.2.${Math.floor(rand() * 250)}`)];
  if (kind < 0.6) return [rr(`${owner} 300 TXT "t${Math.floor(rand() * 5)}"`)];
  if (kind < 0.8) {
    // Delete something that exists (names only, not the apex or the delegation).
    const names = zone.sorted.map((n) => n.name).filter((n) => !n.equals(ZONE) && !zone.findCut(n));
    return [deleteRrset(pick(names).toString(), RRType.ANY)];
  }
  if (kind < 0.9) return [deleteRecord('www A 192.0.2.80'), rr(`www 300 A 192.0.2.${Math.floor(rand() * 250)}`)];
  return [rr(`${owner} 600 A 192.0.2.7`), rr(`${owner} 600 AAAA 2001:db8::7`)];
}

describe('incremental signing equals signing from scratch', () => {
  for (const denial of [{ kind: 'nsec' }, { kind: 'nsec3', iterations: 0, salt: new Uint8Array(0), optOut: false }, { kind: 'nsec3', iterations: 3, salt: Uint8Array.of(0xab, 0xcd), optOut: false }] as DenialOfExistence[]) {
    const label = denial.kind === 'nsec' ? 'NSEC' : `NSEC3 (${denial.iterations} iterations)`;
    it(`${label}: 60 random changes (names with empty non-terminals, deletions, TTL moves)`, () => {
      let served = signed(BASE, denial);
      let unsigned = ZoneData.fromRecords(ZONE, served.unsignedRecords());
      const rand = prng(denial.kind === 'nsec' ? 1 : 2 + (denial.kind === 'nsec3' ? denial.iterations : 0));
      let incremental = 0;
      for (let step = 0; step < 60; step++) {
        const outcome = applyUpdate(unsigned, { prerequisites: [], updates: randomChange(rand, unsigned) });
        expect(outcome.rcode).toBe(Rcode.NOERROR);
        const change = 'change' in outcome ? outcome.change : undefined;
        if (!change) continue;
        const before = served;
        const r = signChange(before, change, { zone: ZONE, keys, policy, denial, now: NOW + step });
        if (r.incremental) incremental++;
        unsigned = applyDiff(unsigned, change);
        served = r.data;
        // Same records as a fresh signing of the same data; same indexes as a fresh build.
        expect(shape(served), `step ${step}`).toEqual(fullShape(unsigned, denial));
        const rebuilt = ZoneData.fromRecords(ZONE, served.records());
        expect(served.sorted.map((n) => n.name.toString())).toEqual(rebuilt.sorted.map((n) => n.name.toString()));
        expect(served.nsec3.map((e) => e.rrset.name.toString())).toEqual(rebuilt.nsec3.map((e) => e.rrset.name.toString()));
        expect(unsigned.serial).toBe(served.serial);
        // Untouched RRsets kept their signatures.
        for (const set of before.rrsets()) {
          const now = set.type === RRType.NSEC3 ? served.nsec3ByOwnerName(set.name) : served.rrset(set.name, set.type);
          if (now && now.records.length === set.records.length && now.records.every((x, i) => x === set.records[i])) expect(now.sigs).toEqual(set.sigs);
        }
      }
      expectZoneSignedAt(served, NOW + 60);
      expect(incremental).toBeGreaterThan(40);
    });
  }

  it('a change at a delegation, or new keys, goes the whole-zone way and still comes out right', () => {
    const denial: DenialOfExistence = { kind: 'nsec3', iterations: 0, salt: new Uint8Array(0), optOut: false };
    const served = signed(BASE, denial);
    const unsigned = ZoneData.fromRecords(ZONE, served.unsignedRecords());
    const o = applyUpdate(unsigned, { prerequisites: [], updates: [rr('newsub 300 NS ns.elsewhere.example.')] });
    const change = ('change' in o ? o.change : undefined)!;
    expect(incrementalRefusal(served, change, { zone: ZONE, keys, policy, denial, now: NOW })).toMatch(/delegation/);
    const r = signChange(served, change, { zone: ZONE, keys, policy, denial, now: NOW });
    expect(r.incremental).toBe(false);
    expect(shape(r.data)).toEqual(fullShape(applyDiff(unsigned, change), denial));
    expectZoneSignedAt(r.data, NOW);
    const other = [key('ksk'), key('zsk')];
    expect(incrementalRefusal(served, change, { zone: ZONE, keys: other, policy, denial, now: NOW })).toMatch(/DNSKEY/);
    expect(incrementalRefusal(served, change, { zone: ZONE, keys, policy, denial: { kind: 'nsec' }, now: NOW })).toMatch(/denial/);
  });

  it('a refresh pass remakes only due signatures, and all urgent ones', () => {
    const denial: DenialOfExistence = { kind: 'nsec3', iterations: 0, salt: new Uint8Array(0), optOut: false };
    const served = signed(BASE, denial);
    const unsigned = ZoneData.fromRecords(ZONE, served.unsignedRecords());
    const o = applyUpdate(unsigned, { prerequisites: [], updates: [rr('@ 300 SOA ns h 2 3600 900 604800 60')] });
    const change = ('change' in o ? o.change : undefined)!;
    // Nothing due yet: only the SOA is re-signed.
    const quiet = signChange(served, change, { zone: ZONE, keys, policy, denial, now: NOW + 3600, refreshBatch: 1000 });
    expect(quiet).toMatchObject({ incremental: true, refreshed: 0 });
    expect(quiet.touched).toEqual(['lab.example. 6']);
    // 9 days on (240 h signatures, urgent at 60 h left): every signature but the DNSKEY RRset's (168 h, expired... remade as urgent too).
    const late = signChange(served, change, { zone: ZONE, keys, policy, denial, now: NOW + 9 * 86400, refreshBatch: 0 });
    expect(late.deferred).toBe(0);
    expectZoneSignedAt(late.data, NOW + 9 * 86400);
  });
});
