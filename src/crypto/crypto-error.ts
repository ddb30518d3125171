/**
 * Every fault the crypto layer reports is one of these, so the validator can tell "this
 * algorithm is unknown to us" (insecure, RFC 4035 §5.2) from "this key is garbage" (bogus)
 * without matching on message text. Messages never carry key material: private keys pass
 * through here and errors end up in logs.
 */
export type CryptoErrorCode =
  | 'unsupported-algorithm'
  | 'unsupported-digest-type'
  | 'malformed-key'
  | 'key-mismatch'
  | 'invalid-key-size'
  | 'malformed-dnskey'
  | 'invalid-argument';

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
