import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createScheduler } from '../../src/scheduler.js';

describe('scheduler on the injectable clock', () => {
  it('runs a job at its time, again at the time it returns, and not before', async () => {
    const clock = new ManualClock(0);
    const s = createScheduler({ clock, mode: 'manual' });
    const runs: number[] = [];
    s.schedule('refresh', 1_000, () => {
      runs.push(clock.now());
      return runs.length < 3 ? clock.now() + 500 : undefined;
    });
    await s.runDue();
    expect(runs).toEqual([]);
    for (let t = 0; t < 5_000; t += 250) {
      clock.set(t);
      await s.runDue();
    }
    expect(runs).toEqual([1_000, 1_500, 2_000]);
    expect(s.pending()).toEqual([]);
  });

  it('every(): a fixed interval; cancel() stops it; reschedule() moves it and revives a finished job', async () => {
    const clock = new ManualClock(0);
    const s = createScheduler({ clock, mode: 'manual' });
    let ticks = 0;
    const job = s.every('recheck', 100, () => void ticks++);
    for (let i = 0; i < 10; i++) {
      clock.advance(100);
      await s.runDue();
    }
    expect(ticks).toBe(10);
    job.cancel();
    clock.advance(1_000);
    await s.runDue();
    expect(ticks).toBe(10);
    const once = s.schedule('once', clock.now() + 10, () => void ticks++);
    clock.advance(10);
    await s.runDue();
    expect(ticks).toBe(11);
    once.reschedule(clock.now() + 5);
    expect(s.pending()).toEqual([{ name: 'once', when: clock.now() + 5 }]);
  });

  it('a failing job is reported and tried again after retryMs; a job never overlaps itself', async () => {
    const clock = new ManualClock(0);
    const errors: string[] = [];
    const s = createScheduler({ clock, mode: 'manual', retryMs: 60_000, onError: (name, e) => errors.push(`${name}: ${(e as Error).message}`) });
    let attempts = 0;
    s.schedule('store-retry', 0, () => {
      attempts++;
      if (attempts < 2) throw new Error('disk full');
    });
    await s.runDue();
    expect(errors).toEqual(['store-retry: disk full']);
    expect(s.pending()).toEqual([{ name: 'store-retry', when: 60_000 }]);
    clock.set(60_000);
    await s.runDue();
    expect(attempts).toBe(2);

    let release!: () => void;
    let started = 0;
    s.schedule('slow', clock.now(), async () => {
      started++;
      await new Promise<void>((r) => (release = r));
      return clock.now();
    });
    const first = s.runDue();
    await s.runDue(); // its time has come again, but it is still running
    expect(started).toBe(1);
    release();
    await first;
  });

  it('with real timers, a due job runs without anyone calling runDue()', async () => {
    const clock = { now: () => Date.now() };
    const s = createScheduler({ clock });
    const ran = await new Promise<boolean>((resolve) => s.schedule('soon', Date.now() + 5, () => resolve(true)));
    expect(ran).toBe(true);
    await s.stop();
  });
});
