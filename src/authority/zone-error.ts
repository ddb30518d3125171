import type { RolloverRequestError } from './rollover/rollover-engine.js';

/**
 * Why a zone request cannot be done, as a stable code: the control API maps each to its HTTP
 * status (control/zone-routes.ts) and scripts match on it, so a code is never renamed.
 */
export type ZoneErrorCode =
  | 'bad-zone-name'
  | 'bad-zone-file'
  | 'outside-zones-dir'
  | 'bad-journal'
  | 'no-such-zone'
  | 'secondary-zone'
  | 'zone-exists'
  | 'config-zone'
  | 'bad-secondary'
  | 'bad-prefix'
  | 'no-archived-keys'
  | 'not-signed'
  | 'not-key-master'
  | 'key-master-fixed'
  | 'bad-signing-options'
  | 'bad-digest'
  | 'signing-failed'
  | 'keys-unreadable'
  | 'state-not-written'
  | 'bad-record'
  | 'not-in-zone'
  | 'no-such-record'
  | 'change-failed'
  | RolloverRequestError['code'];

/** A zone request that cannot be done; nothing served or stored was changed by it. */
export class ZoneError extends Error {
  override readonly name = 'ZoneError';
  constructor(
    readonly code: ZoneErrorCode,
    message: string,
  ) {
    super(message);
  }
}
