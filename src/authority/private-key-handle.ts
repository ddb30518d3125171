import type { KeyObject } from 'node:crypto';
import { generateKeyPairAsync } from '../crypto/key-generation.js';
import { signData } from '../crypto/sign-verify.js';
import type { TokenPrivateKey } from './pkcs11-token.js';

/**
 * The key store seam: a private key is either a key object in this process (read from a PKCS#8
 * file) or a key that stays in a PKCS#11 token and is asked to sign there. Everything that signs
 * goes through `signWith`, so no signing path needs to know which.
 */
export type PrivateKeyHandle = KeyObject | TokenPrivateKey;

export function isTokenKey(key: PrivateKeyHandle): key is TokenPrivateKey {
  return (key as TokenPrivateKey).kind === 'pkcs11';
}

export function signWith(algorithm: number, key: PrivateKeyHandle, data: Uint8Array): Uint8Array {
  return isTokenKey(key) ? key.sign(data) : signData(algorithm, key, data);
}

/** Where a stored key's private half is, as its metadata records it (never the key itself). */
export interface KeyLocation {
  readonly pkcs11: { readonly token: string; readonly id: string };
}

/** Makes a new key pair for a zone: in this process (file storage) or in the zone's token. */
export interface KeyPairSource {
  generate(algorithm: number, bits: number, label: string): Promise<{ privateKey: PrivateKeyHandle; publicKeyField: Uint8Array; storage?: KeyLocation }>;
}

export const fileKeyPairs: KeyPairSource = {
  generate: async (algorithm, bits) => generateKeyPairAsync(algorithm, bits),
};
