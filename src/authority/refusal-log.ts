import { logEvent, type Logger } from '../logging/logger.js';

/**
 * Where refusals a peer can cause once per packet (a transfer or a NOTIFY refused) are logged.
 * The server gives a throttled one (src/server/throttled-event-log.ts) so that nobody writes to
 * our log at line rate; without it every refusal is a warn line.
 */
export type RefusalLog = (fields: Record<string, unknown>) => void;

export type RefusalLogFactory = (event: string) => RefusalLog;

export function plainRefusalLog(logger: Logger): RefusalLogFactory {
  return (event) => (fields) => logEvent(logger, event, fields, { level: 'warn' });
}
