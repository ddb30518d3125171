import type { ZoneErrorCode } from '../authority/zone-error.js';

/**
 * The stable `code` of every error body the control API sends. Scripts match on these, so a code
 * is never renamed; the HTTP layer alone chooses the status that goes with it.
 */
export const CONTROL_ERROR_CODES = [
  // the HTTP layer
  'unauthorized', // 401: no or bad bearer token, or no console session
  'not-found', // 404: no route for the path
  'method-not-allowed', // 405 (details.allowed lists the methods)
  'body-too-large', // 413
  'bad-json', // 400: the body is not JSON
  'bad-body', // 400: the body is JSON but not the shape the route takes
  'bad-field', // 400: one field of the body is wrong (the message names it)
  'missing-field', // 400
  'internal', // 500: a failure that is ours, logged with its stack
  'unavailable', // 503: the store cannot be reached (cluster mode, etcd down); nothing was changed
  'not-clustered', // 409: the server has no cluster: section
  // the console's browser session
  'cross-origin', // 403
  'csrf', // 403
  'forbidden-host', // 403: a Host header that is not this server (DNS rebinding)
  // names and types in a request
  'bad-name', // 400
  'bad-type', // 400
  'bad-zone', // 400
  // trust points and anchors
  'bad-anchor', // 400: a DS/DNSKEY, key file or root-anchors.xml that does not parse or verify
  'bad-key-tag', // 400
  'bad-url', // 400
  'no-root-anchors', // 400: trustAnchors.rootAnchors is "none" and no source was given
  'no-trust-point', // 404
  'no-trust-anchor', // 404
  'store-write-failed', // 503: nothing was changed; try again
  // the policy table
  'bad-rule', // 400
  'no-such-rule', // 404
  'config-rule', // 409: a rule from the config file is removed there, not here
] as const;

export type ControlErrorCode = (typeof CONTROL_ERROR_CODES)[number] | ZoneErrorCode;

/** Every error reply: `{ "error": { "code", "message", "details"? } }`. */
export interface ControlErrorBody {
  readonly error: { readonly code: ControlErrorCode; readonly message: string; readonly details?: unknown };
}
