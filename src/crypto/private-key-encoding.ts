import { createPrivateKey, type KeyObject } from 'node:crypto';
import { bufferView, plainBytes } from './byte-conversion.js';
import { CryptoError } from './crypto-error.js';

/**
 * PKCS#8 is the storage form of private keys: it records the key type and curve, so one
 * reader handles RSA, ECDSA and EdDSA alike. It does not record the DNSSEC algorithm (one
 * RSA key could serve 5, 7, 8 or 10): the key store keeps that beside the key.
 * Unencrypted; the key store's 0600 file mode is the protection.
 */
export function exportPrivateKeyPem(privateKey: KeyObject): string {
  return requirePrivate(privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
}

export function exportPrivateKeyDer(privateKey: KeyObject): Uint8Array {
  return plainBytes(requirePrivate(privateKey).export({ type: 'pkcs8', format: 'der' }));
}

/**
 * A private key from PKCS#8: PEM text, or DER bytes. (PEM in the older PKCS#1 and SEC1
 * forms is read too: OpenSSL tells them apart by their headers.)
 *
 * @throws CryptoError `malformed-key`; the message never quotes the input
 */
export function importPrivateKey(encoded: string | Uint8Array): KeyObject {
  try {
    return typeof encoded === 'string'
      ? createPrivateKey({ key: encoded, format: 'pem' })
      : createPrivateKey({ key: bufferView(encoded), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new CryptoError('malformed-key', 'not an unencrypted PKCS#8 private key', { cause });
  }
}

function requirePrivate(key: KeyObject): KeyObject {
  if (key.type !== 'private') throw new CryptoError('invalid-argument', `expected a private key, got a ${key.type} key`);
  return key;
}
