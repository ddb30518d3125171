import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ZoneData } from '../../src/authority/zone-db.js';
import { ManualClock } from '../../src/clock.js';
import { createScheduler } from '../../src/scheduler.js';
import type { ZoneConfig } from '../../src/config/schema.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { authenticateDnskeyRrset } from '../../src/dnssec/dnskey-authentication.js';
import { verifyRrset } from '../../src/dnssec/rrset-verification.js';
import { DEFAULT_VALIDATION_LIMITS, ValidationBudget } from '../../src/dnssec/validation-budget.js';
import { createLogger } from '../../src/logging/logger.js';
import { ZoneService } from '../../src/authority/zone-service.js';
import type { ZoneKeyView } from '../../src/authority/zone-key-view.js';
import { defaultEdns } from '../../src/wire/edns.js';
import { type ResourceRecord, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { decodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import { removeDir, tempDir } from '../support/external-servers.js';
import { ALGORITHM_ROLLOVER_STAGES } from '../support/rollover-stages.js';

/**
 * The zone service runs the rollover engine: re-signs on key changes with the serial moved on,
 * publishes CDS/CDNSKEY, rewrites dsset-/keyset-, keeps the DS of a child in a parent hosted
 * here equal to the child's keys, answers `zone roll` / `zone step-rollover`, logs the events,
 * resumes after a restart, and undoes its key changes when the re-sign fails.
 */

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PARENT = '$TTL 600\n@ SOA ns hostmaster 1 3600 900 604800 300\n@ NS ns\nns A 192.0.2.1\nchild NS ns.child\nns.child A 192.0.2.2\nother NS ns.other.net.\n';
const CHILD = '$TTL 600\n@ SOA ns hostmaster 1 3600 900 604800 300\n@ NS ns\nns A 192.0.2.2\nwww A 192.0.2.80\n';

interface Lab {
  dir: string;
  stateDir: string;
  clock: ManualClock;
  logs: Record<string, unknown>[];
  service: ZoneService;
  dsAtParent: { ds: Uint8Array[] | undefined };
  zones: ZoneConfig[];
}

async function open(lab: Omit<Lab, 'service'>, timers?: Record<string, number>): Promise<Lab> {
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => void lab.logs.push(JSON.parse(l) as Record<string, unknown>) } });
  const service = await ZoneService.start({
    config: { stateDir: lab.stateDir, zones: lab.zones, dnssec: { enable: true, validation: true } } as never,
    clock: lab.clock,
    logger,
    serverName: 'km1',
    scheduler: createScheduler({ clock: lab.clock, mode: 'manual' }),
    rollover: { dsAtParent: async () => lab.dsAtParent.ds, ...(timers ? { timers } : {}) },
  });
  return { ...lab, service };
}

async function setup(withParent: boolean): Promise<Lab> {
  const dir = tempDir('rollover-service');
  dirs.push(dir);
  writeFileSync(join(dir, 'parent.zone'), PARENT);
  writeFileSync(join(dir, 'child.zone'), CHILD);
  const zones: ZoneConfig[] = [
    ...(withParent ? [{ name: 'example.', file: join(dir, 'parent.zone'), allowTransfer: [] }] : []),
    { name: 'child.example.', file: join(dir, 'child.zone'), allowTransfer: [] },
  ];
  return open({ dir, stateDir: join(dir, 'state'), clock: new ManualClock(Date.UTC(2026, 5, 1)), logs: [], dsAtParent: { ds: undefined }, zones });
}

const served = (lab: Lab, zone: string): ZoneData => lab.service.findZone(Name.parse(zone))!.served;
const rrset = (lab: Lab, zone: string, owner: string, type: number) => served(lab, zone).rrset(Name.parse(owner), type);
const tagsOf = (records: readonly ResourceRecord[] | undefined) => (records ?? []).map((r) => keyTag(r.rdata)).sort((a, b) => a - b);
const sigTags = (sigs: readonly ResourceRecord[] | undefined) => (sigs ?? []).map((s) => decodeRrsig(s.rdata).keyTag).sort((a, b) => a - b);
const dsTags = (records: readonly ResourceRecord[] | undefined) => (records ?? []).map((r) => (decodeRdata(RRType.DS, r.rdata) as { keyTag: number }).keyTag).sort((a, b) => a - b);
const events = (lab: Lab, name: string) => lab.logs.filter((l) => l['event'] === name);
const keyOf = async (lab: Lab, zone: string, pick: (k: ZoneKeyView) => boolean) => (await lab.service.keys(zone)).keys.find(pick)!;

/** The child validates from the parent's DS with the validator's own code: DNSKEY RRset, then www/A. */
function childValidates(lab: Lab, ds: readonly Uint8Array[]): string {
  const zone = Name.parse('child.example.');
  const ctx = { now: Math.floor(lab.clock.now() / 1000), limits: DEFAULT_VALIDATION_LIMITS, budget: new ValidationBudget() };
  const dnskey = rrset(lab, 'child.example.', 'child.example.', RRType.DNSKEY)!;
  const auth = authenticateDnskeyRrset(zone, dnskey.records, dnskey.sigs, { ds, dnskey: [] }, ctx);
  if (auth.outcome.state !== 'secure') return auth.outcome.reason;
  const www = rrset(lab, 'child.example.', 'www.child.example.', RRType.A)!;
  return verifyRrset(www.records, www.sigs, zone, auth.keys, ctx).outcome.state;
}

const policy = (rfc5011: boolean) => ({ mode: 'options' as const, options: { rfc5011, zskRollover: 30 * 86400, kskRollover: 60 * 86400 } });

describe('key rollover in the zone service', () => {
  it('publishes CDS/CDNSKEY signed by the KSK, and keeps the DS in a parent hosted here equal to the child keys', async () => {
    const lab = await setup(true);
    await lab.service.sign('example.', policy(false));
    await lab.service.sign('child.example.', policy(true));
    const ksks = (await lab.service.keys('child.example.')).keys.filter((k) => k.role === 'ksk');
    expect(ksks.map((k) => k.state).sort()).toEqual(['Active', 'Standby']);
    const cds = rrset(lab, 'child.example.', 'child.example.', RRType.CDS)!;
    expect(dsTags(cds.records)).toEqual(ksks.map((k) => k.keyTag).sort((a, b) => a - b));
    const active = ksks.find((k) => k.state === 'Active')!;
    expect(sigTags(cds.sigs)).toContain(active.keyTag);
    expect(rrset(lab, 'child.example.', 'child.example.', RRType.CDNSKEY)!.records).toHaveLength(2);
    const parentDs = rrset(lab, 'example.', 'child.example.', RRType.DS)!;
    expect(dsTags(parentDs.records)).toEqual(dsTags(cds.records));
    expect(parentDs.sigs.length).toBeGreaterThan(0);
    expect(served(lab, 'example.').serial).toBe(3); // signed (1 -> 2), then the child's DS (-> 3)
    expect(events(lab, 'zone.parent-ds-updated')).toHaveLength(1);
    expect(childValidates(lab, parentDs.records.map((r) => r.rdata))).toBe('secure');
    // A DS question for the child's apex is answered by the parent (RFC 4035 §3.1.4.1), signed by it.
    const a = lab.service.answer(newMessage({ id: 1, question: [{ name: Name.parse('child.example.'), type: RRType.DS, class: 1 }], edns: defaultEdns({ dnssecOk: true }) }), { address: '127.0.0.1', transport: 'udp' });
    expect(a).toMatchObject({ kind: 'answer', aa: true });
    const answer = (a as { answer: ResourceRecord[] }).answer;
    expect(dsTags(answer.filter((r) => r.type === RRType.DS))).toEqual(dsTags(cds.records));
    expect(answer.filter((r) => r.type === RRType.RRSIG).map((r) => decodeRrsig(r.rdata).signerName.toString())).toEqual(['example.']);
    // The columns of Get-DnsServerSigningKey.
    expect(active.rollover).toMatchObject({ currentRolloverStatus: 'NotRolling', rolloverMethod: 'RFC5011', nextRolloverAction: 'StartRollover', nextRolloverActionTime: new Date(lab.clock.now() + 60 * DAY).toISOString(), lastRolloverTime: null });
    await lab.service.stop();
  });

  it('rolls a ZSK on schedule: 7667 a day ahead, pre-publish, swap, removal, each a re-sign with a new serial', async () => {
    const lab = await setup(false);
    await lab.service.sign('child.example.', policy(false));
    const z1 = await keyOf(lab, 'child.example.', (k) => k.role === 'zsk');
    const serial0 = served(lab, 'child.example.').serial;
    lab.clock.advance(29 * DAY);
    expect(await lab.service.runRollovers()).toBe(Date.UTC(2026, 5, 1) + 30 * DAY);
    expect(events(lab, 'key.rollover-due')).toMatchObject([{ eventId: 7667, zone: 'child.example.', keyId: z1.keyId }]);
    lab.clock.advance(DAY);
    await lab.service.runRollovers();
    expect(events(lab, 'key.rollover-started')).toMatchObject([{ eventId: 7669, keyId: z1.keyId }]);
    expect(events(lab, 'key.zsk-rollover-stage').map((e) => e['status'])).toEqual(['Queued', 'RollStarted', 'ZskWaitingForDnsKeyTtl']);
    expect(events(lab, 'key.zsk-rollover-stage')[0]).toMatchObject({ eventId: 785, zone: 'child.example.', keyId: z1.keyId });
    const dnskeys = rrset(lab, 'child.example.', 'child.example.', RRType.DNSKEY)!.records;
    expect(dnskeys).toHaveLength(3);
    expect(served(lab, 'child.example.').serial).toBe(serial0 + 1);
    const z2 = await keyOf(lab, 'child.example.', (k) => k.state === 'Next');
    lab.clock.advance(HOUR + 5 * 60_000);
    await lab.service.runRollovers();
    expect(sigTags(rrset(lab, 'child.example.', 'www.child.example.', RRType.A)!.sigs)).toEqual([z2.keyTag]);
    expect((await keyOf(lab, 'child.example.', (k) => k.keyId === z1.keyId)).state).toBe('Inactive');
    lab.clock.advance(HOUR + 5 * 60_000);
    await lab.service.runRollovers();
    expect(rrset(lab, 'child.example.', 'child.example.', RRType.DNSKEY)!.records).toHaveLength(2);
    expect(events(lab, 'key.rollover-completed')).toMatchObject([{ eventId: 7670, keyId: z1.keyId, successor: z2.keyId }]);
    expect(served(lab, 'child.example.').serial).toBe(serial0 + 3);
    const view = (await lab.service.keys('child.example.')).keys.find((k) => k.keyId === z2.keyId)!;
    expect(view.rollover).toMatchObject({ currentRolloverStatus: 'NotRolling', lastRolloverTime: new Date(lab.clock.now()).toISOString() });
    await lab.service.stop();
  });

  it('rolls a KSK by double signature with the parent hosted here: DS old+new, then new; dsset- follows; a restart in the middle resumes', async () => {
    const lab = await setup(true);
    await lab.service.sign('example.', policy(false));
    await lab.service.sign('child.example.', policy(false));
    const k1 = await keyOf(lab, 'child.example.', (k) => k.role === 'ksk');
    const r = await lab.service.rollKey('child.example.', k1.keyId);
    expect(r.keys.find((k) => k.keyId === k1.keyId)!.rollover).toMatchObject({ currentRolloverStatus: 'KskWaitingForDSTtl', rolloverMethod: 'DoubleSignature' });
    const k2 = r.keys.find((k) => k.role === 'ksk' && k.keyId !== k1.keyId)!;
    const parentDs = () => rrset(lab, 'example.', 'child.example.', RRType.DS)!.records;
    expect(dsTags(parentDs())).toEqual([k1.keyTag, k2.keyTag].sort((a, b) => a - b));
    expect(sigTags(rrset(lab, 'child.example.', 'child.example.', RRType.DNSKEY)!.sigs)).toEqual([k1.keyTag, k2.keyTag].sort((a, b) => a - b));
    expect(readFileSync(join(lab.stateDir, 'dsset-child.example.'), 'utf8').match(/ DS /g)).toHaveLength(2);
    expect(childValidates(lab, parentDs().map((x) => x.rdata))).toBe('secure');

    // Restart: the same keys, the same state, the same zone.
    await lab.service.stop();
    const again = await open({ ...lab });
    expect(tagsOf(rrset(again, 'child.example.', 'child.example.', RRType.DNSKEY)!.records)).toEqual(tagsOf(rrset(lab, 'child.example.', 'child.example.', RRType.DNSKEY)!.records));
    expect((await keyOf(again, 'child.example.', (k) => k.keyId === k1.keyId)).rollover!.currentRolloverStatus).toBe('KskWaitingForDSTtl');
    again.clock.advance(2 * HOUR);
    await again.service.runRollovers();
    expect((await keyOf(again, 'child.example.', (k) => k.keyId === k1.keyId)).state).toBe('Retired');
    expect(dsTags(rrset(again, 'example.', 'child.example.', RRType.DS)!.records)).toEqual([k2.keyTag]);
    expect(readFileSync(join(again.stateDir, 'dsset-child.example.'), 'utf8').match(/ DS /g)).toHaveLength(1);
    expect(readFileSync(join(again.stateDir, 'keyset-child.example.'), 'utf8')).toContain('DNSKEY 257 3 13');
    expect(childValidates(again, rrset(again, 'example.', 'child.example.', RRType.DS)!.records.map((x) => x.rdata))).toBe('secure');
    // One log across the restart (the parent's DS was there at the first check: no wait for it).
    expect(events(again, 'key.ksk-rollover-stage').map((e) => e['status'])).toEqual(['Queued', 'RollStarted', 'KskWaitingForDSUpdate', 'KskWaitingForDSTtl', 'NotRolling']);
    expect(events(again, 'key.ksk-rollover-stage').every((e) => e['eventId'] === 784)).toBe(true);
    await again.service.stop();
  });

  it('with a remote parent: waits for the DS with a warning at every poll, never removes the old KSK, moves on when stepped', async () => {
    const lab = await setup(false);
    await lab.service.sign('child.example.', policy(false));
    const k1 = await keyOf(lab, 'child.example.', (k) => k.role === 'ksk');
    const z1 = await keyOf(lab, 'child.example.', (k) => k.role === 'zsk');
    await lab.service.rollKey('child.example.', k1.keyId);
    for (let i = 0; i < 4; i++) {
      lab.clock.advance(12 * HOUR);
      await lab.service.runRollovers();
    }
    const waits = events(lab, 'key.rollover-waiting-for-ds');
    expect(waits).toHaveLength(5);
    expect(waits[0]).toMatchObject({ level: 'warn', zone: 'child.example.', keyId: k1.keyId, reason: expect.stringContaining('could not be looked up') });
    expect((await keyOf(lab, 'child.example.', (k) => k.keyId === k1.keyId)).rollover).toMatchObject({ currentRolloverStatus: 'KskWaitingForDSUpdate', nextRolloverAction: 'CheckParentDS' });
    await expect(lab.service.stepKeyRollover('child.example.', z1.keyId)).rejects.toMatchObject({ code: 'not-waiting-for-ds' });
    await expect(lab.service.rollKey('child.example.', 'no-such-id')).rejects.toMatchObject({ code: 'no-such-key' });
    const stepped = await lab.service.stepKeyRollover('child.example.', k1.keyId);
    expect(stepped.keys.find((k) => k.keyId === k1.keyId)!.rollover!.currentRolloverStatus).toBe('KskWaitingForDSTtl');
    lab.clock.advance(2 * HOUR);
    await lab.service.runRollovers();
    expect((await keyOf(lab, 'child.example.', (k) => k.keyId === k1.keyId)).state).toBe('Retired');
    await lab.service.stop();
  });

  it('an RFC 5011 KSK roll publishes the old key revoked (flags 385, self-signed), also after a restart', async () => {
    const lab = await setup(true);
    await lab.service.sign('example.', policy(false));
    await lab.service.sign('child.example.', policy(true));
    const k1 = await keyOf(lab, 'child.example.', (k) => k.role === 'ksk' && k.state === 'Active');
    const k2 = await keyOf(lab, 'child.example.', (k) => k.role === 'ksk' && k.state === 'Standby');
    // The standby must have been published through the resolvers' add hold-down first.
    await lab.service.rollKey('child.example.', k1.keyId);
    expect((await keyOf(lab, 'child.example.', (k) => k.keyId === k1.keyId)).rollover!.currentRolloverStatus).toBe('Queued');
    lab.clock.advance(31 * DAY);
    await lab.service.runRollovers();
    lab.clock.advance(2 * HOUR);
    await lab.service.runRollovers();
    lab.clock.advance(HOUR);
    await lab.service.runRollovers();
    const revoked = await keyOf(lab, 'child.example.', (k) => k.keyId === k1.keyId);
    expect(revoked).toMatchObject({ state: 'Revoked', rollover: { currentRolloverStatus: 'WaitingForRFC5011RemoveHoldDown', nextRolloverAction: 'RemoveRevokedKey' } });
    const dnskey = rrset(lab, 'child.example.', 'child.example.', RRType.DNSKEY)!;
    const flags = dnskey.records.map((r) => (decodeRdata(RRType.DNSKEY, r.rdata) as { flags: number }).flags).sort();
    expect(flags).toEqual([256, 256, 257, 257, 385]);
    expect(sigTags(dnskey.sigs)).toEqual([revoked.keyTag, k2.keyTag].sort((a, b) => a - b));
    expect(dsTags(rrset(lab, 'example.', 'child.example.', RRType.DS)!.records)).not.toContain(k1.keyTag);
    expect(childValidates(lab, rrset(lab, 'example.', 'child.example.', RRType.DS)!.records.map((x) => x.rdata))).toBe('secure');
    await lab.service.stop();
    const again = await open({ ...lab });
    const flagsAgain = rrset(again, 'child.example.', 'child.example.', RRType.DNSKEY)!.records.map((r) => (decodeRdata(RRType.DNSKEY, r.rdata) as { flags: number }).flags).sort();
    expect(flagsAgain).toEqual(flags);
    again.clock.advance(30 * DAY);
    await again.service.runRollovers();
    expect((await keyOf(again, 'child.example.', (k) => k.keyId === k1.keyId)).state).toBe('Retired');
    await again.service.stop();
  });

  it('zone sign with another algorithm rolls it (RFC 6781 §4.1.4), the DS replaced in a parent hosted here, a restart in every state', async () => {
    const lab = await setup(true);
    await lab.service.sign('example.', policy(false));
    const rsa = { mode: 'options' as const, options: { rfc5011: false, algorithm: 8 } };
    await lab.service.sign('child.example.', rsa);
    const dsAlgorithms = (l: Lab) => rrset(l, 'example.', 'child.example.', RRType.DS)!.records.map((r) => (decodeRdata(RRType.DS, r.rdata) as { algorithm: number }).algorithm);
    const dnskeyAlgorithms = (l: Lab) => rrset(l, 'child.example.', 'child.example.', RRType.DNSKEY)!.records.map((r) => r.rdata[3]!).sort((a, b) => a - b);
    const signerAlgorithms = (l: Lab, owner: string, type: number) => [...new Set(rrset(l, 'child.example.', owner, type)!.sigs.map((x) => decodeRrsig(x.rdata).algorithm))].sort((a, b) => a - b);
    const validates = (l: Lab) => childValidates(l, rrset(l, 'example.', 'child.example.', RRType.DS)!.records.map((x) => x.rdata));
    expect(dsAlgorithms(lab)).toEqual([8]);
    const k1 = await keyOf(lab, 'child.example.', (k) => k.role === 'ksk');

    // zone sign with ECDSA keeps the RSA keys (no swap at once) and the engine starts the rollover.
    const signed = await lab.service.sign('child.example.', { mode: 'options', options: { rfc5011: false, algorithm: 13 } });
    expect(signed.keys.filter((k) => k.state !== 'Retired').map((k) => k.algorithm)).toEqual([8, 8]);
    await lab.service.runRollovers();
    let keys = (await lab.service.keys('child.example.')).keys;
    expect(keys.filter((k) => k.algorithm === 13).map((k) => k.state)).toEqual(['Presigning', 'Presigning']);
    expect(keys.find((k) => k.keyId === k1.keyId)!.rollover).toMatchObject({ currentRolloverStatus: 'AlgorithmWaitingForMaxZoneTtl', rolloverMethod: 'Algorithm', nextRolloverAction: 'PublishNewAlgorithmKeys' });
    expect(keys.find((k) => k.role === 'zsk' && k.algorithm === 8)!.rollover).toMatchObject({ currentRolloverStatus: 'AlgorithmWaitingForMaxZoneTtl', rolloverMethod: 'Algorithm' });
    expect(dnskeyAlgorithms(lab)).toEqual([8, 8]);
    expect(signerAlgorithms(lab, 'www.child.example.', RRType.A)).toEqual([8, 13]);
    expect(signerAlgorithms(lab, 'child.example.', RRType.DNSKEY)).toEqual([8, 13]);
    expect(validates(lab)).toBe('secure');

    // Each stage after a restart: the served zone is the same, the rollover carries on.
    let l = lab;
    const restartAndRun = async (advance: number) => {
      const dnskeys = dnskeyAlgorithms(l);
      await l.service.stop();
      l = await open({ ...l });
      expect(dnskeyAlgorithms(l)).toEqual(dnskeys);
      l.clock.advance(advance);
      await l.service.runRollovers();
      return (await keyOf(l, 'child.example.', (k) => k.keyId === k1.keyId)).rollover!.currentRolloverStatus;
    };
    expect(await restartAndRun(65 * 60_000)).toBe('AlgorithmWaitingForNewDnsKeyTtl');
    expect(dnskeyAlgorithms(l)).toEqual([8, 8, 13, 13]);
    expect(dsAlgorithms(l)).toEqual([8]);
    expect(validates(l)).toBe('secure');
    // The CDS and the local parent's DS change to the new algorithm only; the parent is read at once.
    expect(await restartAndRun(65 * 60_000)).toBe('KskWaitingForDSTtl');
    expect(dsAlgorithms(l)).toEqual([13]);
    expect(rrset(l, 'child.example.', 'child.example.', RRType.CDS)!.records.map((r) => r.rdata[2]!)).toEqual([13]);
    expect(readFileSync(join(l.stateDir, 'dsset-child.example.'), 'utf8')).toMatch(/ DS \d+ 13 2 /);
    expect(validates(l)).toBe('secure');
    expect(await restartAndRun(2 * HOUR)).toBe('AlgorithmWaitingForOldDnsKeyTtl');
    expect(dnskeyAlgorithms(l)).toEqual([13, 13]);
    expect(signerAlgorithms(l, 'www.child.example.', RRType.A)).toEqual([8, 13]);
    expect((await l.service.keys('child.example.')).keys.filter((k) => k.algorithm === 8).map((k) => k.state)).toEqual(['Unpublished', 'Unpublished']);
    expect(validates(l)).toBe('secure');
    expect(await restartAndRun(65 * 60_000)).toBe('NotRolling');
    keys = (await l.service.keys('child.example.')).keys;
    expect(keys.filter((k) => k.state !== 'Retired').map((k) => `${k.role}:${k.algorithm}`).sort()).toEqual(['ksk:13', 'zsk:13']);
    expect(signerAlgorithms(l, 'www.child.example.', RRType.A)).toEqual([13]);
    expect(validates(l)).toBe('secure');
    expect(events(l, 'key.rollover-started')).toMatchObject([{ eventId: 7669, keyId: k1.keyId, method: 'Algorithm', fromAlgorithm: 8, toAlgorithm: 13 }]);
    expect(events(l, 'key.ksk-rollover-stage').map((e) => e['status'])).toEqual(ALGORITHM_ROLLOVER_STAGES);
    expect(events(l, 'key.rollover-completed')).toMatchObject([{ eventId: 7670, keyId: k1.keyId }]);
    await l.service.stop();
  });

  it('warns at start when rollover timers are lowered below the RFC values (a lab), and uses them', async () => {
    const lab = await setup(false);
    await lab.service.sign('child.example.', policy(false));
    await lab.service.stop();
    const labbed = await open({ ...lab, logs: [] }, { minimumWait: 1, propagationDelay: 0, removeHoldDown: 60 });
    expect(events(labbed, 'key.rollover-timers-lowered')).toMatchObject([{ level: 'warn', timers: { minimumWait: 1, removeHoldDown: 60 } }]);
    const z1 = await keyOf(labbed, 'child.example.', (k) => k.role === 'zsk');
    const r = await labbed.service.rollKey('child.example.', z1.keyId);
    // Ipub is now the DNSKEY TTL alone (1 h), not the hour plus 5 minutes of propagation.
    expect(r.keys.find((k) => k.keyId === z1.keyId)!.rollover!.nextRolloverActionTime).toBe(new Date(labbed.clock.now() + HOUR).toISOString());
    await labbed.service.stop();
  });

  it('undoes its key changes when the re-sign fails, and says so', async () => {
    const lab = await setup(false);
    await lab.service.sign('child.example.', policy(false));
    const z1 = await keyOf(lab, 'child.example.', (k) => k.role === 'zsk');
    const before = (await lab.service.keys('child.example.')).keys.map((k) => [k.keyId, k.state]);
    const dsset = join(lab.stateDir, 'dsset-child.example.');
    rmSync(dsset);
    mkdirSync(join(dsset, 'blocker'), { recursive: true }); // the dsset- file cannot be written
    await expect(lab.service.rollKey('child.example.', z1.keyId)).rejects.toThrow(/signing child.example. failed/);
    const after = (await lab.service.keys('child.example.')).keys;
    expect(after.filter((k) => k.state !== 'Retired').map((k) => [k.keyId, k.state])).toEqual(before);
    expect(after.find((k) => k.keyId === z1.keyId)!.rollover!.currentRolloverStatus).toBe('Queued');
    expect(rrset(lab, 'child.example.', 'child.example.', RRType.DNSKEY)!.records).toHaveLength(2);
    rmSync(dsset, { recursive: true });
    await lab.service.runRollovers();
    expect((await keyOf(lab, 'child.example.', (k) => k.keyId === z1.keyId)).rollover!.currentRolloverStatus).toBe('ZskWaitingForDnsKeyTtl');
    await lab.service.stop();
  });
});
