import { logEvent, type Logger } from '../logging/logger.js';
import { ThrottledEventLog } from '../logging/throttled-event-log.js';

/**
 * Where refusals a peer can cause once per packet (a transfer or a NOTIFY refused) are logged.
 * The server gives a throttled one (`throttledLog`) so that nobody writes to our log at line
 * rate; without it every refusal is a warn line.
 */
export type RefusalLog = (fields: Record<string, unknown>) => void;

export type RefusalLogFactory = (event: string) => RefusalLog;

export function plainRefusalLog(logger: Logger): RefusalLogFactory {
  return (event) => (fields) => logEvent(logger, event, fields, { level: 'warn' });
}

/** Refusals a peer causes once per packet (transfers, NOTIFYs): at most 10 warn lines per 10 s per event. */
export function throttledLog(logger: Logger, event: string): RefusalLog {
  const log = new ThrottledEventLog(logger, event, 'warn');
  return (fields) => log.log(fields);
}
