import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/key-generation.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { rrsetSigners, signersOf } from '../../src/authority/signing-key-rule.js';
import type { ZoneData } from '../../src/authority/zone-db.js';
import type { ZoneSigningKey } from '../../src/authority/zone-signer.js';
import { ManualClock } from '../../src/clock.js';
import { createScheduler } from '../../src/scheduler.js';
import { verifyRrset } from '../../src/dnssec/rrset-verification.js';
import { DEFAULT_VALIDATION_LIMITS, ValidationBudget } from '../../src/dnssec/validation-budget.js';
import { createLogger } from '../../src/logging/logger.js';
import { ZoneService } from '../../src/authority/zone-service.js';
import { Name } from '../../src/wire/name.js';
import { encodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType, typeToString } from '../../src/wire/rr-type.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import { removeDir, tempDir } from '../support/external-servers.js';

/**
 * One rule says which keys sign which RRset (authority/signing-key-rule.ts), and every re-signing
 * path follows it: whole-zone signing, an incremental change, the full re-plan a change can need,
 * and signature refresh. The bug it closes: a refresh re-signed CDS/CDNSKEY with the ZSK only,
 * losing the KSK signature RFC 7344 §4.1 asks for; and a full re-plan dropped them.
 */

const HOUR = 3_600_000;
const ZONE = Name.parse('child.example.');
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function key(role: 'ksk' | 'zsk', flags: number, extra: Partial<ZoneSigningKey> = {}): ZoneSigningKey {
  const pair = generateKeyPair(13);
  const dnskeyRdata = encodeRdata(RRType.DNSKEY, { flags, protocol: 3, algorithm: 13, publicKey: pair.publicKeyField });
  return { zone: ZONE, algorithm: 13, keyTag: keyTag(dnskeyRdata), privateKey: pair.privateKey, dnskeyRdata, role, ...extra };
}

describe('the rule: which keys sign which RRset', () => {
  it('DNSKEY by the signing KSKs (a revoked one too), CDS/CDNSKEY by the ZSKs and the unrevoked KSKs, the rest by the ZSKs', () => {
    const ksk = key('ksk', 257);
    const standby = key('ksk', 257, { signs: false });
    const revoked = key('ksk', 385);
    const zsk = key('zsk', 256);
    const next = key('zsk', 256, { signs: false });
    const presigning = key('zsk', 256, { published: false });
    const s = rrsetSigners([ksk, standby, revoked, zsk, next, presigning]);
    const tags = (keys: readonly ZoneSigningKey[]) => keys.map((k) => k.keyTag).sort((a, b) => a - b);
    const sorted = (...keys: ZoneSigningKey[]) => tags(keys);
    expect(tags(signersOf(s, ZONE, ZONE, RRType.DNSKEY))).toEqual(sorted(ksk, revoked));
    expect(tags(signersOf(s, ZONE, ZONE, RRType.CDS))).toEqual(sorted(zsk, presigning, ksk));
    expect(tags(signersOf(s, ZONE, ZONE, RRType.CDNSKEY))).toEqual(sorted(zsk, presigning, ksk));
    expect(tags(signersOf(s, ZONE, ZONE, RRType.SOA))).toEqual(sorted(zsk, presigning));
    // Not at the apex, a CDS is data like any other (RFC 7344 puts them at the apex only).
    expect(tags(signersOf(s, ZONE, Name.parse('www.child.example.'), RRType.CDS))).toEqual(sorted(zsk, presigning));
    // A zone with no ZSK signs everything with its KSKs.
    const lone = rrsetSigners([ksk]);
    expect(tags(signersOf(lone, ZONE, ZONE, RRType.CDS))).toEqual(sorted(ksk));
    expect(tags(signersOf(lone, ZONE, ZONE, RRType.A))).toEqual(sorted(ksk));
  });
});

const CHILD = '$TTL 600\n@ SOA ns hostmaster 1 3600 900 604800 300\n@ NS ns\nns A 192.0.2.2\nwww A 192.0.2.80\n';

async function lab() {
  const dir = tempDir('rollover-signing-rule');
  dirs.push(dir);
  writeFileSync(join(dir, 'child.zone'), CHILD);
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const logs: Record<string, unknown>[] = [];
  const service = await ZoneService.start({
    config: { stateDir: join(dir, 'state'), zones: [{ name: 'child.example.', file: join(dir, 'child.zone'), allowTransfer: [] }], dnssec: { enable: true, validation: true } } as never,
    clock,
    logger: createLogger({ level: 'info', destination: { write: (l: string) => void logs.push(JSON.parse(l) as Record<string, unknown>) } }),
    serverName: 'km1',
    scheduler: createScheduler({ clock, mode: 'manual' }),
  });
  await service.sign('child.example.', { mode: 'options', options: { rfc5011: true } });
  const served = () => service.findZone(Name.parse('child.example.'))!.served;
  const keys = async () => (await service.keys('child.example.')).keys;
  return { service, clock, logs, served, keys };
}

/** Every signed RRset of the zone, with the key tags that sign it: what "the rule" produced. */
function signerMap(data: ZoneData): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const set of data.rrsets())
    if (set.sigs.length > 0 && set.type !== RRType.NSEC3 && set.type !== RRType.NSEC && set.type !== RRType.SOA)
      out[`${set.name.toString()} ${typeToString(set.type)}`] = set.sigs.map((s) => decodeRrsig(s.rdata).keyTag).sort((a, b) => a - b);
  return out;
}

/** The CDS and CDNSKEY RRsets verify with the active KSK alone, by signatures made at `after` or later. */
function kskSignsParentSignals(data: ZoneData, kskRdata: Uint8Array, now: number, after: number) {
  const ctx = { now: Math.floor(now / 1000), limits: DEFAULT_VALIDATION_LIMITS, budget: new ValidationBudget() };
  return [RRType.CDS, RRType.CDNSKEY].map((type) => {
    const set = data.rrset(ZONE, type)!;
    const tag = keyTag(kskRdata);
    const byKsk = set.sigs.filter((s) => decodeRrsig(s.rdata).keyTag === tag);
    const fresh = byKsk.every((s) => decodeRrsig(s.rdata).inception + 3600 >= Math.floor(after / 1000));
    return `${typeToString(type)} ${verifyRrset(set.records, byKsk, ZONE, [kskRdata], ctx).outcome.state} ${fresh ? 'fresh' : 'old'}`;
  });
}

describe('every re-signing path follows the rule', () => {
  it('after a signature refresh the CDS/CDNSKEY RRSIGs are by the KSK (and the ZSK), newly made', async () => {
    const l = await lab();
    const ks = await l.keys();
    const ksk = ks.find((k) => k.role === 'ksk' && k.state === 'Active')!;
    const zsk = ks.find((k) => k.role === 'zsk' && k.state === 'Active')!;
    const kskRdata = l.served().rrset(ZONE, RRType.DNSKEY)!.records.find((r) => keyTag(r.rdata) === ksk.keyTag)!.rdata;
    const signedAt = l.clock.now();
    const before = signerMap(l.served());
    expect(before['child.example. CDS']).toEqual([ksk.keyTag, zsk.keyTag].sort((a, b) => a - b));
    // 130 h: the DNSKEY RRset's signatures (7 days) are due; 185 h: every other one (10 days), CDS and CDNSKEY too.
    l.clock.advance(130 * HOUR);
    expect(await l.service.refreshSignatures()).toMatchObject([{ zone: 'child.example.' }]);
    l.clock.advance(55 * HOUR);
    const report = await l.service.refreshSignatures();
    expect(report).toMatchObject([{ zone: 'child.example.', deferred: 0 }]);
    expect(report[0]!.refreshed).toBeGreaterThanOrEqual(8);
    const cdsSigs = l.served().rrset(ZONE, RRType.CDS)!.sigs.map((s) => decodeRrsig(s.rdata));
    expect(cdsSigs.map((s) => s.keyTag).sort((a, b) => a - b)).toEqual([ksk.keyTag, zsk.keyTag].sort((a, b) => a - b));
    expect(cdsSigs.every((s) => s.inception * 1000 > signedAt)).toBe(true);
    expect(kskSignsParentSignals(l.served(), kskRdata, l.clock.now(), l.clock.now())).toEqual(['CDS secure fresh', 'CDNSKEY secure fresh']);
    expect(signerMap(l.served())).toEqual(before);
    await l.service.stop();
  });

  it('an incremental change and a change that needs the full re-plan keep the CDS/CDNSKEY and their KSK signatures', async () => {
    const l = await lab();
    const before = signerMap(l.served());
    // Incremental: a new name.
    await l.service.addRecord('child.example.', { name: 'mail', type: 'A', rdata: '192.0.2.25' });
    expect(l.logs.filter((x) => x['event'] === 'zone.updated').at(-1)).toMatchObject({ incremental: true });
    // A new delegation: the chain and what is signed below it move, so the zone is re-planned.
    await l.service.addRecord('child.example.', { name: 'sub', type: 'NS', rdata: 'ns.elsewhere.example.' });
    expect(l.logs.filter((x) => x['event'] === 'zone.updated').at(-1)).toMatchObject({ incremental: false });
    const after = signerMap(l.served());
    expect(after['child.example. CDS']).toEqual(before['child.example. CDS']);
    expect(after['child.example. CDNSKEY']).toEqual(before['child.example. CDNSKEY']);
    expect(after['child.example. DNSKEY']).toEqual(before['child.example. DNSKEY']);
    expect(after['mail.child.example. A']).toEqual(before['www.child.example. A']);
    // A refresh after the re-plan: still by the KSK.
    l.clock.advance(130 * HOUR);
    await l.service.refreshSignatures();
    l.clock.advance(55 * HOUR);
    await l.service.refreshSignatures();
    expect(signerMap(l.served())['child.example. CDS']).toEqual(before['child.example. CDS']);
    await l.service.stop();
  });
});
