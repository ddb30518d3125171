import { describe, expect, it } from 'vitest';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import { removeDir } from '../support/external-servers.js';
import { oneZoneService } from '../support/one-zone-service.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/**
 * The zone service's timed work is jobs of the one scheduler (src/scheduler.ts): with the
 * scheduler in `manual` mode nothing runs by itself, and `runDue()` after moving the clock runs
 * what has fallen due, as the real-time scheduler would.
 */
describe('the zone jobs on the scheduler', () => {
  it('are named jobs: signature refresh, journal compaction, rollover once started', async () => {
    const { dir, service, scheduler } = await oneZoneService('zone-jobs-names');
    expect(scheduler.pending().map((j) => j.name).sort()).toEqual(['zone.journal-compaction', 'zone.secondary-checks', 'zone.signature-refresh']);
    service.startRollovers();
    expect(scheduler.pending().map((j) => j.name)).toContain('zone.rollover');
    await service.stop();
    expect(scheduler.pending().map((j) => j.name)).toEqual([]);
    removeDir(dir);
  });

  it('signatures fall due and are remade by runDue on the simulated clock, not before', async () => {
    const { dir, clock, logs, service, scheduler } = await oneZoneService('zone-jobs-refresh');
    await service.sign('p.example.', { mode: 'defaults' });
    const inception = () => Math.max(...service.lookup(Name.parse('p.example.'), RRType.SOA)!.answer.filter((r) => r.type === RRType.RRSIG).map((r) => decodeRrsig(r.rdata).inception));
    const first = inception();
    // A day on: nothing due yet (10-day signatures, refreshed in their last quarter or so).
    clock.advance(DAY);
    await scheduler.runDue();
    expect(logs.filter((l) => l['event'] === 'zone.signatures-refreshed')).toEqual([]);
    expect(inception()).toBe(first);
    // Nine days on: the job runs and the SOA's signature is new.
    clock.advance(8 * DAY);
    await scheduler.runDue();
    expect(logs.filter((l) => l['event'] === 'zone.signatures-refreshed')).toMatchObject([{ zone: 'p.example.' }]);
    expect(inception()).toBeGreaterThan(first);
    await service.stop();
    removeDir(dir);
  });

  it('the rollover job rolls the ZSK when it is due, and a roll asked for runs at once', async () => {
    const { dir, clock, service, scheduler } = await oneZoneService('zone-jobs-rollover');
    await service.sign('p.example.', { mode: 'options', options: { zskRollover: 30 * 86400 } });
    service.startRollovers();
    await scheduler.runDue();
    const zskTags = async () => (await service.keys('p.example.')).keys.filter((k) => k.keyType === 'ZoneSigningKey' && k.state === 'Active').map((k) => k.keyTag);
    const before = await zskTags();
    // The job wakes at least every minute; step the clock a day at a time for 40 days.
    for (let d = 0; d < 40; d++) {
      clock.advance(DAY);
      await scheduler.runDue();
    }
    const after = await zskTags();
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
    // `zone roll`: the job is due now, not at its next wake-up.
    const zsk = (await service.keys('p.example.')).keys.find((k) => k.keyType === 'ZoneSigningKey' && k.state === 'Active')!;
    await service.rollKey('p.example.', zsk.keyId);
    expect(scheduler.pending().find((j) => j.name === 'zone.rollover')?.when).toBe(clock.now());
    await service.stop();
    removeDir(dir);
  });
});
