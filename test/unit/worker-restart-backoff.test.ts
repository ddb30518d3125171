import { describe, expect, it } from 'vitest';
import { RESTART_BASE_DELAY_MS, RESTART_MAX_DELAY_MS, RESTART_WINDOW_MS, recentExits, restartDelay } from '../../src/workers/worker-restart-backoff.js';

describe('restartDelay', () => {
  const t0 = 1_000_000;
  it('restarts a worker that died once after the base delay', () => {
    expect(restartDelay([t0], t0)).toBe(RESTART_BASE_DELAY_MS);
  });

  it('doubles with each exit inside the window, up to the maximum: a crash loop does not spin', () => {
    const exits: number[] = [];
    const delays: number[] = [];
    let now = t0;
    for (let i = 0; i < 12; i++) {
      exits.push(now);
      delays.push(restartDelay(exits, now));
      now += 100;
    }
    expect(delays.slice(0, 4)).toEqual([RESTART_BASE_DELAY_MS, 2 * RESTART_BASE_DELAY_MS, 4 * RESTART_BASE_DELAY_MS, 8 * RESTART_BASE_DELAY_MS]);
    expect(delays.at(-1)).toBe(RESTART_MAX_DELAY_MS);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
  });

  it('forgets exits older than the window', () => {
    const old = [t0, t0 + 1, t0 + 2];
    const now = t0 + RESTART_WINDOW_MS + 10;
    expect(recentExits([...old, now], now)).toEqual([now]);
    expect(restartDelay([...old, now], now)).toBe(RESTART_BASE_DELAY_MS);
  });
});
