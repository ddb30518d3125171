import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ROLLOVER_TIMERS } from '../../src/authority/rollover/rollover-state.js';
import { defaultEdns } from '../../src/wire/edns.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type Lab, exchange, labsStoppedAfterAll, startService } from './authority-update-helpers.js';

/**
 * Issue 14, Deliver 6: `zone unsign` in RFC 6781 §4.3.5's order, on the injectable clock. The DS
 * leaves the parent first (a parent hosted here at once; one elsewhere by the RFC 8078 delete
 * signal, polled until it is gone); the zone stays signed for the DS TTL plus the parent's
 * propagation delay; then the DNSSEC records, the dsset-/keyset- files go. A restart in the
 * middle resumes, and `zone keys`/`zone show` say where it is.
 */

const startLab = labsStoppedAfterAll();
const CHILD = 'sub.lab.example.';
const query = (name: string, type: number) => encodeMessage(newMessage({ id: 3, question: [{ name: Name.parse(name), type, class: 1 }], edns: defaultEdns({ dnssecOk: true }) }));
const answerTypes = async (l: Pick<Lab, 'pipeline'>, name: string, type: number) => (await exchange(l, query(name, type))).message.answer.map((r) => r.type);
const HOUR = 3600_000;

async function parentAndChild(): Promise<Lab> {
  const l = await startLab();
  writeFileSync(join(l.dir, 'sub.zone'), '$TTL 300\n@ SOA ns h 1 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\n');
  await l.service.addRecord('lab.example', { name: 'sub', type: 'NS', rdata: 'ns.sub' });
  await l.service.add(CHILD, 'sub.zone');
  await l.service.sign(CHILD, { mode: 'options', options: { dsTtl: 7200 } });
  return l;
}

describe('safe unsign', () => {
  it('parent hosted here: DS removed first, DNSSEC records kept for the DS TTL + parent propagation, then removed with the parent files', async () => {
    const l = await parentAndChild();
    expect(await answerTypes(l, CHILD, RRType.DS)).toContain(RRType.DS);
    const started = l.clock.now();
    const summary = await l.service.unsign(CHILD);
    expect(summary.unsigning).toMatchObject({ stage: 'waiting-for-caches', parent: 'local', dsTtl: 7200 });
    const removeAt = started + (7200 * 1000 + DEFAULT_ROLLOVER_TIMERS.parentPropagationDelay * 1000);
    expect(Date.parse(summary.unsigning!.removeAt!)).toBe(removeAt);
    expect(l.logs.some((x) => x.includes('"event":"zone.unsign-started"') && x.includes('"eventId":776'))).toBe(true);
    // The DS is gone from the parent at once (its NODATA is signed); the child is still signed, with the delete signal.
    expect(await answerTypes(l, CHILD, RRType.DS)).not.toContain(RRType.DS);
    expect(await answerTypes(l, CHILD, RRType.DNSKEY)).toEqual(expect.arrayContaining([RRType.DNSKEY, RRType.RRSIG]));
    const cds = (await exchange(l, query(CHILD, RRType.CDS))).message.answer.filter((r) => r.type === RRType.CDS);
    expect(cds.map((r) => rdataToText(RRType.CDS, r.rdata))).toEqual(['0 0 0 00']);
    const cdnskey = (await exchange(l, query(CHILD, RRType.CDNSKEY))).message.answer.filter((r) => r.type === RRType.CDNSKEY);
    expect(cdnskey.map((r) => rdataToText(RRType.CDNSKEY, r.rdata))).toEqual(['0 3 0 AA==']);
    expect((await l.service.keys(CHILD)).unsigning?.stage).toBe('waiting-for-caches');

    // A restart in the middle: still unsigning, still signed, same deadline.
    await l.service.stop();
    ({ service: l.service, pipeline: l.pipeline } = await startService(l));
    expect(l.service.show(CHILD).unsigning?.removeAt).toBe(summary.unsigning!.removeAt);
    expect(await answerTypes(l, CHILD, RRType.DNSKEY)).toContain(RRType.DNSKEY);

    l.clock.set(removeAt - 1000);
    await l.service.runRollovers();
    expect(await answerTypes(l, CHILD, RRType.DNSKEY)).toContain(RRType.DNSKEY);
    l.clock.set(removeAt);
    await l.service.runRollovers();
    expect(await answerTypes(l, CHILD, RRType.DNSKEY)).not.toContain(RRType.DNSKEY);
    expect(await answerTypes(l, `www.${CHILD}`, RRType.A)).toEqual([RRType.A]);
    expect(l.service.show(CHILD)).toMatchObject({ signed: false });
    expect(l.service.show(CHILD).unsigning).toBeUndefined();
    expect(existsSync(join(l.stateDir, `dsset-${CHILD}`))).toBe(false);
    expect(existsSync(join(l.stateDir, `keyset-${CHILD}`))).toBe(false);
    expect(l.logs.some((x) => x.includes('"event":"zone.unsigned"') && x.includes('"eventId":7647'))).toBe(true);
    // And it stays unsigned after a restart.
    await l.service.stop();
    ({ service: l.service, pipeline: l.pipeline } = await startService(l));
    expect(l.service.show(CHILD).signed).toBe(false);
  });

  it('parent elsewhere: the delete signal, then polling the parent until its DS is gone, then the DS TTL', async () => {
    const l = await startLab();
    const parent: { ds: Uint8Array[]; ttl: number } = { ds: [new Uint8Array(36)], ttl: 3600 };
    let polls = 0;
    await l.service.stop();
    ({ service: l.service, pipeline: l.pipeline } = await startService(l, { rollover: { dsAtParent: async () => (polls++, parent) } }));
    const started = l.clock.now();
    const s = await l.service.unsign('lab.example');
    expect(s.unsigning).toMatchObject({ stage: 'withdrawing-ds', parent: 'remote' });
    await l.service.runRollovers();
    expect(polls).toBe(1);
    expect(l.service.show('lab.example').unsigning?.stage).toBe('withdrawing-ds');
    // Not polled again before the DS polling period; then the parent has dropped the DS.
    l.clock.set(started + HOUR);
    await l.service.runRollovers();
    expect(polls).toBe(1);
    parent.ds = [];
    const goneAt = started + DEFAULT_ROLLOVER_TIMERS.dsPollingPeriod * 1000;
    l.clock.set(goneAt);
    await l.service.runRollovers();
    expect(polls).toBe(2);
    const waiting = l.service.show('lab.example').unsigning!;
    expect(waiting.stage).toBe('waiting-for-caches');
    expect(Date.parse(waiting.removeAt!)).toBe(goneAt + (3600 + DEFAULT_ROLLOVER_TIMERS.parentPropagationDelay) * 1000);
    expect(await answerTypes(l, 'lab.example.', RRType.DNSKEY)).toContain(RRType.DNSKEY);
    l.clock.set(Date.parse(waiting.removeAt!));
    await l.service.runRollovers();
    expect(await answerTypes(l, 'lab.example.', RRType.DNSKEY)).not.toContain(RRType.DNSKEY);
  });

  it('--now unsigns at once (no parent holds a DS); a DS for a zone being unsigned is refused', async () => {
    const l = await parentAndChild();
    await l.service.unsign(CHILD);
    await expect(l.service.addRecord('lab.example', { name: 'sub', type: 'DS', rdata: `12345 13 2 ${'ab'.repeat(32)}` })).rejects.toThrow(/hosted here unsigned/);
    await l.service.unsign(CHILD, { now: true });
    expect(await answerTypes(l, CHILD, RRType.DNSKEY)).not.toContain(RRType.DNSKEY);
  });
});

describe('signing again during an unsign', () => {
  it('ends the unsign: the DS comes back to the local parent, the delete signal goes, the timer leaves the zone signed', async () => {
    const l = await parentAndChild();
    await l.service.unsign(CHILD);
    expect(await answerTypes(l, CHILD, RRType.DS)).not.toContain(RRType.DS);
    await l.service.sign(CHILD, { mode: 'options', options: { dsTtl: 7200 } });
    expect(l.service.show(CHILD).unsigning).toBeUndefined();
    expect(await answerTypes(l, CHILD, RRType.DS)).toContain(RRType.DS);
    const cds = (await exchange(l, query(CHILD, RRType.CDS))).message.answer.filter((r) => r.type === RRType.CDS);
    expect(cds.map((r) => rdataToText(RRType.CDS, r.rdata))).not.toContain('0 0 0 00');
    l.clock.advance(30 * 86400_000);
    await l.service.runRollovers();
    expect(await answerTypes(l, CHILD, RRType.DNSKEY)).toContain(RRType.DNSKEY);
  });
});
