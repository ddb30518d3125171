export { CryptoError, type CryptoErrorCode } from './crypto-error.js';
export {
  DnssecAlgorithm,
  type SupportedAlgorithm,
  isSupportedAlgorithm,
  algorithmMnemonic,
  algorithmFromMnemonic,
} from './algorithms.js';
export { keyMatchesAlgorithm } from './algorithm-profile.js';
export { publicKeyFromDnskey, dnskeyPublicKeyField } from './dnskey-public-key.js';
export { signData, verifySignature } from './sign-verify.js';
export {
  generateKeyPair,
  generateKeyPairAsync,
  type GeneratedKeyPair,
  RSA_DEFAULT_BITS,
  RSA_MIN_BITS,
  RSA_MAX_BITS,
} from './key-generation.js';
export { exportPrivateKeyPem, exportPrivateKeyDer, importPrivateKey } from './private-key-encoding.js';
export { keyTag } from './key-tag.js';
export {
  DsDigestType,
  type SupportedDigestType,
  isSupportedDigestType,
  dsDigestLength,
  dsDigest,
} from './ds-digest.js';
export { NSEC3_HASH_SHA1, isSupportedNsec3HashAlgorithm, nsec3Hash } from './nsec3-hash.js';
