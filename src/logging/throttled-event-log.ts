import { logEvent, type EventLevel, type Logger } from './logger.js';

export interface ThrottleOptions {
  /** Events logged per window; default 10. */
  readonly perWindow?: number;
  /** Default 10 s. */
  readonly windowMs?: number;
}

/**
 * Logs one event name at most `perWindow` times per window and counts the rest. Events that a
 * remote peer can trigger once per packet (send failures, a handler bug hit by a crafted query,
 * resets) must not let that peer write to our log at line rate. The next line logged after a
 * quiet spell carries `suppressed`: how many were swallowed since the previous line.
 */
export class ThrottledEventLog {
  private readonly perWindow: number;
  private readonly windowMs: number;
  private windowStart = Number.NEGATIVE_INFINITY;
  private loggedInWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly event: string,
    private readonly level: EventLevel,
    options: ThrottleOptions = {},
  ) {
    this.perWindow = options.perWindow ?? 10;
    this.windowMs = options.windowMs ?? 10_000;
  }

  log(fields: Record<string, unknown>, msg?: string): void {
    const now = Date.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.loggedInWindow = 0;
    }
    if (this.loggedInWindow >= this.perWindow) {
      this.suppressed++;
      return;
    }
    this.loggedInWindow++;
    const record = this.suppressed > 0 ? { ...fields, suppressed: this.suppressed } : fields;
    this.suppressed = 0;
    try {
      logEvent(this.logger, this.event, record, msg === undefined ? { level: this.level } : { level: this.level, msg });
    } catch {
      // A log destination failing must not turn a dropped packet into a crashed server.
    }
  }
}

/** The fields every listener log line uses to describe an error. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === undefined ? { error: error.message } : { error: error.message, code };
  }
  return { error: String(error) };
}
