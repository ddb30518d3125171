import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { defaultConfig } from '../../src/config/index.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { captureLogger, dsOf, makeKey, manualScheduler, signedDnskeySet, startTrust, tempDirs } from './trust-fixtures.js';

/** The trust service's timed work runs on the one scheduler: RFC 5011 refresh and nothing else of its own. */
const dirs = tempDirs('km-trust-sched-');
afterAll(() => dirs.removeAll());

const zone = Name.parse('corp.example.');
const T0 = Date.UTC(2026, 2, 1);

describe('trust-point refresh on the scheduler', () => {
  it('runs when the next refresh is due on the clock, not before; an added anchor wakes it; stop takes it off', async () => {
    const clock = new ManualClock(T0);
    const scheduler = manualScheduler(clock);
    const base = defaultConfig();
    const key = makeKey(zone);
    let publish = false;
    const fetched: number[] = [];
    const svc = await startTrust({
      config: { ...base, stateDir: dirs.make(), trustAnchors: { ...base.trustAnchors, rootAnchors: { kind: 'none' } } },
      clock,
      scheduler,
      logger: captureLogger().logger,
      random: () => 0,
      fetchDnskey: async (name) => {
        fetched.push(clock.now());
        return publish && name.equals(zone) ? signedDnskeySet(zone, [key], [key], clock.now()) : undefined;
      },
    });
    // No trust point yet: the job looks again within the hour at most.
    expect(scheduler.pending()).toEqual([{ name: 'trust-point.refresh', when: T0 }]);
    await scheduler.runDue();
    expect(fetched).toEqual([]);
    expect(scheduler.pending()).toEqual([{ name: 'trust-point.refresh', when: T0 + 3_600_000 }]);

    // An anchor added through the service wakes the job at once.
    publish = true;
    await svc.addAnchor('corp.example.', 'DS', rdataToText(RRType.DS, dsOf(zone, key)));
    expect(scheduler.pending()).toEqual([{ name: 'trust-point.refresh', when: T0 }]);
    await scheduler.runDue();
    expect(fetched).toEqual([T0]);
    const next = svc.store.get(zone)!.nextRefresh!;
    expect(svc.store.get(zone)!.lastResult).toMatch(/^ok: /);
    expect(next).toBeGreaterThan(T0);
    expect(scheduler.pending()).toEqual([{ name: 'trust-point.refresh', when: next }]);

    // Due exactly at nextRefresh on the simulated clock: a millisecond early runs nothing.
    clock.advance(next - T0 - 1);
    await scheduler.runDue();
    expect(fetched).toEqual([T0]);
    clock.advance(1);
    await scheduler.runDue();
    expect(fetched).toEqual([T0, next]);

    await svc.stop();
    expect(scheduler.pending()).toEqual([]);
  });
});
