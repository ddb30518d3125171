import { generateKeyPair as generateNodeKeyPair, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { algorithmProfile, type AlgorithmProfile } from './algorithm-profile.js';
import { CryptoError } from './crypto-error.js';
import { dnskeyPublicKeyField } from './dnskey-public-key.js';

export interface GeneratedKeyPair {
  /** Sign with this; persist it only via the PKCS#8 helpers, never log it. */
  readonly privateKey: KeyObject;
  /** The DNSKEY public key field (RDATA after flags, protocol and algorithm). */
  readonly publicKeyField: Uint8Array;
}

export const RSA_DEFAULT_BITS = 2048;
export const RSA_MIN_BITS = 1024;
export const RSA_MAX_BITS = 4096;

/**
 * A new key pair for `algorithm`. `bits` applies to RSA (default 2048, 1024..4096,
 * exponent 65537); for ECDSA and EdDSA the size is fixed by the algorithm and `bits`, if
 * given, must equal it (256, 384, 256, 456).
 *
 * RSA generation blocks for up to seconds at 4096 bits: a server should prefer
 * `generateKeyPairAsync`.
 *
 * @throws CryptoError `unsupported-algorithm` or `invalid-key-size`
 */
export function generateKeyPair(algorithm: number, bits?: number): GeneratedKeyPair {
  const profile = algorithmProfile(algorithm);
  const { privateKey, publicKey } =
    profile.keyType === 'rsa'
      ? generateKeyPairSync('rsa', rsaOptions(bits))
      : generateFixedSize(profile, algorithm, bits);
  return { privateKey, publicKeyField: dnskeyPublicKeyField(algorithm, publicKey) };
}

/** `generateKeyPair` with RSA generation off the event loop (libuv thread pool). */
export async function generateKeyPairAsync(algorithm: number, bits?: number): Promise<GeneratedKeyPair> {
  const profile = algorithmProfile(algorithm);
  if (profile.keyType !== 'rsa') return generateKeyPair(algorithm, bits);
  const { privateKey, publicKey } = await promisify(generateNodeKeyPair)('rsa', rsaOptions(bits));
  return { privateKey, publicKeyField: dnskeyPublicKeyField(algorithm, publicKey) };
}

function rsaOptions(bits = RSA_DEFAULT_BITS): { modulusLength: number; publicExponent: number } {
  if (!Number.isInteger(bits) || bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
    throw new CryptoError('invalid-key-size', `RSA key size must be an integer in ${RSA_MIN_BITS}..${RSA_MAX_BITS}`);
  }
  return { modulusLength: bits, publicExponent: 65537 };
}

function generateFixedSize(
  profile: Exclude<AlgorithmProfile, { keyType: 'rsa' }>,
  algorithm: number,
  bits: number | undefined,
): { privateKey: KeyObject; publicKey: KeyObject } {
  const fixedBits = profile.keyType === 'ec' ? profile.size * 8 : profile.publicKeyLength * 8;
  if (bits !== undefined && bits !== fixedBits) {
    throw new CryptoError('invalid-key-size', `algorithm ${algorithm} keys are always ${fixedBits} bits`);
  }
  switch (profile.keyType) {
    case 'ec':
      return generateKeyPairSync('ec', { namedCurve: profile.nodeCurve });
    case 'ed25519':
      return generateKeyPairSync('ed25519');
    case 'ed448':
      return generateKeyPairSync('ed448');
  }
}
