import { logEvent, type Logger } from '../logging/logger.js';
import type { Anchor } from './trust-point.js';

/** `trust-anchor.added`, one line per anchor put in a trust point, whoever put it there. */
export function logAnchorAdded(logger: Logger, zone: string, a: Anchor, why: string): void {
  logEvent(logger, 'trust-anchor.added', { zone, type: a.type, keyTag: a.keyTag, algorithm: a.algorithm, state: a.state, origin: a.origin, reason: why });
}
