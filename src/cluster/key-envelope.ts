import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Private keys are never stored in clear in etcd: each is sealed in an envelope (AES-256-GCM).
 * A fresh random 256-bit data key encrypts the private key; the key-encryption key (KEK, the same
 * on every primary, read from a 0600 file) wraps the data key. Both encryptions bind the
 * document's name as associated data, so a sealed key moved to another name (another zone's key,
 * another key id) does not open, and every nonce is 96 random bits from a key used once (the data
 * key) or a KEK whose wraps stay far below the 2^32 random-nonce bound.
 */
export interface SealedKey {
  readonly alg: 'A256GCM-envelope';
  /** The first 8 bytes of SHA-256 of the KEK (hex): tells "another KEK" from "tampered". */
  readonly kekId: string;
  readonly wrappedKey: string;
  readonly wrapNonce: string;
  readonly wrapTag: string;
  readonly nonce: string;
  readonly ciphertext: string;
  readonly tag: string;
}

export class KeyEnvelopeError extends Error {
  override readonly name = 'KeyEnvelopeError';
}

const KEY_BYTES = 32;
const NONCE_BYTES = 12;

export function kekId(kek: Buffer): string {
  return createHash('sha256').update(kek).digest('hex').slice(0, 16);
}

export function sealPrivateKey(kek: Buffer, name: string, plaintext: Buffer): SealedKey {
  checkKek(kek);
  const dataKey = randomBytes(KEY_BYTES);
  try {
    const wrap = gcmSeal(kek, dataKey, wrapAad(name));
    const body = gcmSeal(dataKey, plaintext, dataAad(name));
    return {
      alg: 'A256GCM-envelope',
      kekId: kekId(kek),
      wrappedKey: wrap.ciphertext.toString('base64'),
      wrapNonce: wrap.nonce.toString('base64'),
      wrapTag: wrap.tag.toString('base64'),
      nonce: body.nonce.toString('base64'),
      ciphertext: body.ciphertext.toString('base64'),
      tag: body.tag.toString('base64'),
    };
  } finally {
    dataKey.fill(0);
  }
}

/** The private key sealed under `name`; throws KeyEnvelopeError (never a partial key) when it does not open. */
export function openPrivateKey(kek: Buffer, name: string, sealed: SealedKey): Buffer {
  checkKek(kek);
  if (sealed?.alg !== 'A256GCM-envelope') throw new KeyEnvelopeError(`${name}: not a sealed key (alg ${JSON.stringify(sealed?.alg)})`);
  const mine = kekId(kek);
  if (typeof sealed.kekId !== 'string' || sealed.kekId.length !== mine.length || !timingSafeEqual(Buffer.from(sealed.kekId), Buffer.from(mine)))
    throw new KeyEnvelopeError(`${name}: sealed under another key-encryption key (id ${String(sealed.kekId)}; this server's is ${mine}): every primary needs the same keyEncryptionKey file`);
  const dataKey = gcmOpen(kek, field(sealed, 'wrapNonce'), field(sealed, 'wrappedKey'), field(sealed, 'wrapTag'), wrapAad(name), name);
  try {
    if (dataKey.length !== KEY_BYTES) throw new KeyEnvelopeError(`${name}: the wrapped data key is not ${KEY_BYTES} bytes`);
    return gcmOpen(dataKey, field(sealed, 'nonce'), field(sealed, 'ciphertext'), field(sealed, 'tag'), dataAad(name), name);
  } finally {
    dataKey.fill(0);
  }
}

function gcmSeal(key: Buffer, plaintext: Buffer, aad: Buffer): { nonce: Buffer; ciphertext: Buffer; tag: Buffer } {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { nonce, ciphertext, tag: cipher.getAuthTag() };
}

function gcmOpen(key: Buffer, nonce: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer, name: string): Buffer {
  if (nonce.length !== NONCE_BYTES || tag.length !== 16) throw new KeyEnvelopeError(`${name}: the sealed key's nonce or tag has the wrong length`);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new KeyEnvelopeError(`${name}: the sealed key does not authenticate (tampered, or sealed for another name)`);
  }
}

function field(sealed: SealedKey, name: keyof SealedKey): Buffer {
  const value = sealed[name];
  if (typeof value !== 'string') throw new KeyEnvelopeError(`sealed key: "${name}" is missing`);
  return Buffer.from(value, 'base64');
}

function wrapAad(name: string): Buffer {
  return Buffer.from(`keymaster data key\0${name}`, 'utf8');
}

function dataAad(name: string): Buffer {
  return Buffer.from(`keymaster private key\0${name}`, 'utf8');
}

function checkKek(kek: Buffer): void {
  if (kek.length !== KEY_BYTES) throw new KeyEnvelopeError(`the key-encryption key must be ${KEY_BYTES} bytes, not ${kek.length}`);
}
