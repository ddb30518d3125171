import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { algorithmProfile, keyMatchesAlgorithm, type AlgorithmProfile } from './algorithm-profile.js';
import { bufferView, plainBytes } from './byte-conversion.js';
import { CryptoError } from './crypto-error.js';

// Building a KeyObject costs far more than one verify with it, and a validator sees the
// same few DNSKEYs over and over. Bounded so a stream of fresh keys cannot grow memory.
const PARSED_KEYS = new LRUCache<string, KeyObject>({ max: 2048 });

/**
 * The KeyObject for a DNSKEY public key field: RFC 3110 (RSA), RFC 6605 (ECDSA),
 * RFC 8080 (EdDSA). Results are cached by algorithm and key bytes.
 *
 * @throws CryptoError `unsupported-algorithm`, `malformed-key` or `invalid-key-size`
 */
export function publicKeyFromDnskey(algorithm: number, keyField: Uint8Array): KeyObject {
  const profile = algorithmProfile(algorithm);
  const cacheKey = `${algorithm}:${bufferView(keyField).toString('latin1')}`;
  const cached = PARSED_KEYS.get(cacheKey);
  if (cached !== undefined) return cached;

  const jwk = jwkFromDnskey(profile, keyField);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch (cause) {
    // OpenSSL rejects e.g. ECDSA points that are not on the curve.
    throw new CryptoError('malformed-key', `algorithm ${algorithm} public key rejected by OpenSSL`, { cause });
  }
  PARSED_KEYS.set(cacheKey, key);
  return key;
}

/**
 * The DNSKEY public key field for `key` (a public key, or a private key whose public half
 * is wanted).
 *
 * @throws CryptoError `unsupported-algorithm`, `key-mismatch` or `invalid-key-size`
 */
export function dnskeyPublicKeyField(algorithm: number, key: KeyObject): Uint8Array {
  const profile = algorithmProfile(algorithm);
  if (key.type === 'secret' || !keyMatchesAlgorithm(algorithm, key)) {
    throw new CryptoError('key-mismatch', `key is not a ${profile.keyType} key for algorithm ${algorithm}`);
  }
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  switch (profile.keyType) {
    case 'rsa': {
      const modulus = stripLeadingZeros(fromBase64Url(jwk.n));
      checkRsaSize(profile, modulus);
      const exponent = stripLeadingZeros(fromBase64Url(jwk.e));
      const lengthPrefix =
        exponent.length < 256 ? [exponent.length] : [0, exponent.length >> 8, exponent.length & 0xff];
      return concat([Uint8Array.from(lengthPrefix), exponent, modulus]);
    }
    case 'ec':
      return concat([leftPad(fromBase64Url(jwk.x), profile.size), leftPad(fromBase64Url(jwk.y), profile.size)]);
    default:
      return fromBase64Url(jwk.x);
  }
}

function jwkFromDnskey(profile: AlgorithmProfile, field: Uint8Array): JsonWebKey {
  switch (profile.keyType) {
    case 'rsa': {
      // RFC 3110 §2: exponent length in one octet, or zero then two octets.
      if (field.length < 1) throw malformed('empty RSA key');
      const long = field[0] === 0;
      const exponentStart = long ? 3 : 1;
      if (field.length < exponentStart) throw malformed('truncated RSA exponent length');
      const exponentLength = long ? (field[1]! << 8) | field[2]! : field[0]!;
      const exponent = stripLeadingZeros(field.subarray(exponentStart, exponentStart + exponentLength));
      const modulus = stripLeadingZeros(field.subarray(exponentStart + exponentLength));
      if (exponentStart + exponentLength > field.length || exponent.length === 0 || modulus.length === 0) {
        throw malformed('truncated or zero RSA exponent or modulus');
      }
      checkRsaSize(profile, modulus);
      return { kty: 'RSA', n: toBase64Url(modulus), e: toBase64Url(exponent) };
    }
    case 'ec': {
      // RFC 6605 §4: the uncompressed point without its 0x04 prefix, x then y.
      if (field.length !== 2 * profile.size) {
        throw malformed(`ECDSA ${profile.jwkCurve} key must be ${2 * profile.size} octets, got ${field.length}`);
      }
      const x = field.subarray(0, profile.size);
      const y = field.subarray(profile.size);
      return { kty: 'EC', crv: profile.jwkCurve, x: toBase64Url(x), y: toBase64Url(y) };
    }
    default:
      if (field.length !== profile.publicKeyLength) {
        throw malformed(`${profile.jwkCurve} key must be ${profile.publicKeyLength} octets, got ${field.length}`);
      }
      return { kty: 'OKP', crv: profile.jwkCurve, x: toBase64Url(field) };
  }
}

function checkRsaSize(profile: Extract<AlgorithmProfile, { keyType: 'rsa' }>, modulus: Uint8Array): void {
  const bits = (modulus.length - 1) * 8 + (32 - Math.clz32(modulus[0]!));
  if (bits < profile.minBits || bits > profile.maxBits) {
    throw new CryptoError(
      'invalid-key-size',
      `RSA modulus of ${bits} bits is outside ${profile.minBits}..${profile.maxBits}`,
    );
  }
}

function malformed(message: string): CryptoError {
  return new CryptoError('malformed-key', message);
}

function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

// JWK EC coordinates are already fixed-width in practice; padding keeps the DNSKEY
// correct even if an encoder ever drops a leading zero octet.
function leftPad(bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.length >= size) return bytes;
  const padded = new Uint8Array(size);
  padded.set(bytes, size - bytes.length);
  return padded;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function toBase64Url(bytes: Uint8Array): string {
  return bufferView(bytes).toString('base64url');
}

function fromBase64Url(text: string | undefined): Uint8Array {
  return plainBytes(Buffer.from(text ?? '', 'base64url'));
}
