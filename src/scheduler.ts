import type { Clock } from './clock.js';

/**
 * The one place timed jobs run (policy expiry and NTA re-checks, trust-point refresh, signature
 * refresh, rollover steps, store retries). A job names the time it wants on the injectable
 * clock; the scheduler wakes it then. Real time waits with timers capped at `maxSleepMs`, so a
 * clock that jumps (NTP, a suspended VM) is caught within that; a simulated clock is driven by
 * `runDue()`, so tests run months of jobs in milliseconds with one switch (`manual`).
 *
 * A job never overlaps itself: a run that is still going when its time comes again is not started
 * twice. A job that throws is reported to `onError` and tried again after `retryMs`.
 */
export interface Scheduler {
  /** Runs `job` at clock time `when` (ms); again at the time it returns, if it returns one. */
  schedule(name: string, when: number, job: ScheduledJob): JobHandle;
  /** Runs `job` every `intervalMs` from now. */
  every(name: string, intervalMs: number, job: () => unknown): JobHandle;
  /** Runs every job whose time has come (the simulated clock's way of moving time on). */
  runDue(): Promise<void>;
  /** The names and times of the jobs waiting, soonest first (status, metrics). */
  pending(): { name: string; when: number }[];
  stop(): Promise<void>;
}

/** A job: may return the clock time of its next run. */
export type ScheduledJob = () => number | undefined | void | Promise<number | undefined | void>;

export interface JobHandle {
  /** Moves the job's next run (sooner or later). */
  reschedule(when: number): void;
  cancel(): void;
}

export interface SchedulerOptions {
  readonly clock: Clock;
  /** `manual`: jobs run only from `runDue()` (tests). Default `timers`. */
  readonly mode?: 'timers' | 'manual';
  readonly maxSleepMs?: number;
  readonly retryMs?: number;
  readonly onError?: (name: string, error: unknown) => void;
}

interface Job {
  readonly name: string;
  when: number | undefined;
  readonly run: ScheduledJob;
  running: Promise<void> | undefined;
}

const DEFAULT_MAX_SLEEP_MS = 60 * 60_000;
const DEFAULT_RETRY_MS = 60_000;

export function createScheduler(options: SchedulerOptions): Scheduler {
  return new ClockScheduler(options);
}

class ClockScheduler implements Scheduler {
  private readonly jobs = new Set<Job>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: SchedulerOptions) {}

  schedule(name: string, when: number, run: ScheduledJob): JobHandle {
    const job: Job = { name, when, run, running: undefined };
    this.jobs.add(job);
    this.arm();
    return {
      reschedule: (at) => {
        job.when = at;
        if (!this.jobs.has(job) && !this.stopped) this.jobs.add(job);
        this.arm();
      },
      cancel: () => {
        this.jobs.delete(job);
        this.arm();
      },
    };
  }

  every(name: string, intervalMs: number, job: () => unknown): JobHandle {
    return this.schedule(name, this.o.clock.now() + intervalMs, async () => {
      await job();
      return this.o.clock.now() + intervalMs;
    });
  }

  async runDue(): Promise<void> {
    const now = this.o.clock.now();
    const due = [...this.jobs].filter((j) => j.when !== undefined && j.when <= now && !j.running);
    await Promise.all(due.map((j) => this.start(j)));
    this.arm();
  }

  pending(): { name: string; when: number }[] {
    return [...this.jobs].filter((j) => j.when !== undefined).map((j) => ({ name: j.name, when: j.when! })).sort((a, b) => a.when - b.when);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const running = [...this.jobs].map((j) => j.running).filter((r): r is Promise<void> => r !== undefined);
    this.jobs.clear();
    await Promise.allSettled(running);
  }

  private start(job: Job): Promise<void> {
    job.when = undefined;
    // Started from a resolved promise, so `running` is set before the job can finish.
    job.running = Promise.resolve().then(async () => {
      try {
        const next = await job.run();
        if (typeof next === 'number' && job.when === undefined) job.when = next;
      } catch (error) {
        this.o.onError?.(job.name, error);
        if (job.when === undefined) job.when = this.o.clock.now() + (this.o.retryMs ?? DEFAULT_RETRY_MS);
      } finally {
        job.running = undefined;
        if (job.when === undefined) this.jobs.delete(job);
        this.arm();
      }
    });
    return job.running;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped || this.o.mode === 'manual') return;
    let soonest = Infinity;
    for (const j of this.jobs) if (j.when !== undefined && !j.running) soonest = Math.min(soonest, j.when);
    if (soonest === Infinity) return;
    const delay = Math.min(Math.max(0, soonest - this.o.clock.now()), this.o.maxSleepMs ?? DEFAULT_MAX_SLEEP_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runDue();
    }, delay);
    this.timer.unref();
  }
}
