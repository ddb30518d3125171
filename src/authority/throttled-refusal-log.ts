import type { RefusalLog } from './refusal-log.js';
import type { Logger } from '../logging/logger.js';
import { ThrottledEventLog } from '../logging/throttled-event-log.js';

/** Refusals a peer causes once per packet (transfers, NOTIFYs): at most 10 warn lines per 10 s per event. */
export function throttledLog(logger: Logger, event: string): RefusalLog {
  const log = new ThrottledEventLog(logger, event, 'warn');
  return (fields) => log.log(fields);
}
