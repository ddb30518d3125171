/** A worker that dies is restarted after this long at first… */
export const RESTART_BASE_DELAY_MS = 250;
/** …doubling with each exit in the window, up to this: a crash loop costs a fork every 30 s, not a spinning core. */
export const RESTART_MAX_DELAY_MS = 30_000;
/** Exits longer ago than this are forgiven. */
export const RESTART_WINDOW_MS = 60_000;

/**
 * How long to wait before restarting a worker, given the times (ms) of the recent worker exits,
 * this one included. Pure: the caller keeps the times and the clock.
 */
export function restartDelay(exitTimes: readonly number[], now: number): number {
  let recent = 0;
  for (const t of exitTimes) if (now - t < RESTART_WINDOW_MS) recent++;
  if (recent <= 1) return RESTART_BASE_DELAY_MS;
  return Math.min(RESTART_MAX_DELAY_MS, RESTART_BASE_DELAY_MS * 2 ** (recent - 1));
}

/** The exit times still inside the window (what the caller keeps). */
export function recentExits(exitTimes: readonly number[], now: number): number[] {
  return exitTimes.filter((t) => now - t < RESTART_WINDOW_MS);
}
