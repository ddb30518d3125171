import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Private keys are never stored in clear in etcd: each is sealed in an envelope (AES-256-GCM).
 * A fresh random 256-bit data key encrypts the private key; the key-encryption key (KEK, the same
 * on every primary: read from a 0600 file, or an AES key that never leaves a PKCS#11 token) wraps
 * the data key, with AES-256-GCM too. Both encryptions bind the document's name as associated
 * data, so a sealed key moved to another name (another zone's key, another key id) does not open,
 * and every nonce is 96 random bits from a key used once (the data key) or a KEK whose wraps stay
 * far below the 2^32 random-nonce bound.
 */
export interface SealedKey {
  readonly alg: 'A256GCM-envelope';
  /** Which kind of KEK wrapped the data key; absent in keys sealed before HSM KEKs: a file KEK. */
  readonly kek?: KekKind;
  /** Tells "another KEK" from "tampered" without revealing the KEK (file: SHA-256 prefix; token: its check value). */
  readonly kekId: string;
  /** A token KEK's token and key labels, for the operator (the id decides, so a key cloned into another HSM opens). */
  readonly kekToken?: string;
  readonly kekLabel?: string;
  readonly wrappedKey: string;
  readonly wrapNonce: string;
  readonly wrapTag: string;
  readonly nonce: string;
  readonly ciphertext: string;
  readonly tag: string;
}

export type KekKind = 'file' | 'pkcs11';

/** One AES-256-GCM encryption: 96-bit nonce, ciphertext, 128-bit tag. */
export interface GcmBox {
  readonly nonce: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

/**
 * A key-encryption key: wraps and unwraps data keys with AES-256-GCM wherever the KEK lives (in
 * this process for a file KEK; inside the token for a PKCS#11 one, which never hands it out).
 */
export interface KeyEncryptionKey {
  readonly kind: KekKind;
  readonly id: string;
  /** What the sealed document records beside the id (a token KEK's token and key labels). */
  readonly labels?: { readonly token: string; readonly label: string };
  /** For messages: `the key-encryption key file` or `the token key "kek" in token "hsm1"`. */
  readonly description: string;
  wrap(dataKey: Buffer, aad: Buffer): GcmBox;
  /** The data key; undefined when the box does not authenticate under this KEK. Throws on other failures (token gone). */
  unwrap(box: GcmBox, aad: Buffer): Buffer | undefined;
  /** Forgets the key (a file KEK's bytes are zeroed). */
  close(): void;
}

export class KeyEnvelopeError extends Error {
  override readonly name = 'KeyEnvelopeError';
}

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export function kekId(kek: Buffer): string {
  return createHash('sha256').update(kek).digest('hex').slice(0, 16);
}

/** A KEK whose 32 bytes are in this process (read from the 0600 file). */
export function fileKeyEncryptionKey(kek: Buffer): KeyEncryptionKey {
  checkKek(kek);
  return {
    kind: 'file',
    id: kekId(kek),
    description: 'the key-encryption key file',
    wrap: (dataKey, aad) => gcmSeal(kek, dataKey, aad),
    unwrap: (box, aad) => gcmOpen(kek, box, aad),
    close: () => kek.fill(0),
  };
}

export function sealPrivateKey(kek: Buffer | KeyEncryptionKey, name: string, plaintext: Buffer): SealedKey {
  const key = Buffer.isBuffer(kek) ? fileKeyEncryptionKey(kek) : kek;
  const dataKey = randomBytes(KEY_BYTES);
  try {
    const wrap = viaKek(name, 'sealed', () => key.wrap(dataKey, wrapAad(name)));
    const kekFields = { kek: key.kind, kekId: key.id, ...(key.labels ? { kekToken: key.labels.token, kekLabel: key.labels.label } : {}) };
    const body = gcmSeal(dataKey, plaintext, dataAad(name, kekFields));
    return {
      alg: 'A256GCM-envelope',
      ...kekFields,
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

/**
 * The private key sealed under `name`; throws KeyEnvelopeError naming the document (never a
 * partial key) when it does not open: another KEK, a tampered field, a missing field or token key.
 */
export function openPrivateKey(kek: Buffer | KeyEncryptionKey, name: string, sealed: SealedKey): Buffer {
  const key = Buffer.isBuffer(kek) ? fileKeyEncryptionKey(kek) : kek;
  if (sealed?.alg !== 'A256GCM-envelope') throw new KeyEnvelopeError(`${name}: not a sealed key (alg ${JSON.stringify(sealed?.alg)})`);
  const kind = sealed.kek ?? 'file';
  if (kind !== 'file' && kind !== 'pkcs11') throw new KeyEnvelopeError(`${name}: the sealed key does not authenticate (unknown key-encryption key kind ${JSON.stringify(kind)})`);
  const wrap = box(sealed, name, 'wrapNonce', 'wrappedKey', 'wrapTag');
  const body = box(sealed, name, 'nonce', 'ciphertext', 'tag');
  const dataKey = viaKek(name, 'opened', () => key.unwrap(wrap, wrapAad(name)));
  if (!sameId(sealed, kind, key)) {
    // The wrap opening under this KEK shows the id (or kind) was altered, not another KEK.
    dataKey?.fill(0);
    if (dataKey) throw new KeyEnvelopeError(`${name}: the sealed key does not authenticate (its key-encryption key id was altered)`);
    throw new KeyEnvelopeError(`${name}: sealed under another key-encryption key (${sealedBy(sealed, kind)}; this server's is ${key.description}, id ${key.id}): every primary needs the same key-encryption key`);
  }
  if (!dataKey) throw new KeyEnvelopeError(`${name}: the sealed key does not authenticate (tampered, or sealed for another name)`);
  try {
    if (dataKey.length !== KEY_BYTES) throw new KeyEnvelopeError(`${name}: the wrapped data key is not ${KEY_BYTES} bytes`);
    const plaintext = gcmOpen(dataKey, body, dataAad(name, sealed));
    if (!plaintext) throw new KeyEnvelopeError(`${name}: the sealed key does not authenticate (tampered, or sealed for another name)`);
    return plaintext;
  } finally {
    dataKey.fill(0);
  }
}

/** A KEK that fails (a token key gone, a token unreachable) fails the document, named. */
function viaKek<T>(name: string, what: string, use: () => T): T {
  try {
    return use();
  } catch (error) {
    throw new KeyEnvelopeError(`${name}: cannot be ${what}: ${(error as Error).message}`);
  }
}

function sameId(sealed: SealedKey, kind: KekKind, key: KeyEncryptionKey): boolean {
  if (kind !== key.kind || typeof sealed.kekId !== 'string' || sealed.kekId.length !== key.id.length) return false;
  return timingSafeEqual(Buffer.from(sealed.kekId), Buffer.from(key.id));
}

function sealedBy(sealed: SealedKey, kind: KekKind): string {
  const id = `id ${String(sealed.kekId)}`;
  if (kind === 'file') return `a key-encryption key file, ${id}`;
  return `the token key ${JSON.stringify(String(sealed.kekLabel))} in token ${JSON.stringify(String(sealed.kekToken))}, ${id}`;
}

function gcmSeal(key: Buffer, plaintext: Buffer, aad: Buffer): GcmBox {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { nonce, ciphertext, tag: cipher.getAuthTag() };
}

function gcmOpen(key: Buffer, sealed: GcmBox, aad: Buffer): Buffer | undefined {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.tag);
  try {
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch {
    return undefined;
  }
}

function box(sealed: SealedKey, name: string, nonce: keyof SealedKey, ciphertext: keyof SealedKey, tag: keyof SealedKey): GcmBox {
  const result = { nonce: field(sealed, name, nonce), ciphertext: field(sealed, name, ciphertext), tag: field(sealed, name, tag) };
  if (result.nonce.length !== NONCE_BYTES || result.tag.length !== TAG_BYTES) throw new KeyEnvelopeError(`${name}: the sealed key's nonce or tag has the wrong length`);
  return result;
}

function field(sealed: SealedKey, name: string, key: keyof SealedKey): Buffer {
  const value = sealed[key];
  if (typeof value !== 'string') throw new KeyEnvelopeError(`${name}: the sealed key's "${key}" is missing`);
  return Buffer.from(value, 'base64');
}

function wrapAad(name: string): Buffer {
  return Buffer.from(`keymaster data key\0${name}`, 'utf8');
}

/**
 * A token KEK's fields (kind, token, label, id) are bound to the body as the document has them,
 * so none can be altered unseen and a key cloned into another HSM, under other labels, still opens.
 * A file KEK's body binds the name alone, as before HSM KEKs (its kind and id are checked by the wrap).
 */
function dataAad(name: string, kek: Pick<SealedKey, 'kek' | 'kekId' | 'kekToken' | 'kekLabel'>): Buffer {
  const bound = kek.kek === 'pkcs11' ? `\0${JSON.stringify([kek.kek, kek.kekToken, kek.kekLabel, kek.kekId])}` : '';
  return Buffer.from(`keymaster private key\0${name}${bound}`, 'utf8');
}

function checkKek(kek: Buffer): void {
  if (kek.length !== KEY_BYTES) throw new KeyEnvelopeError(`the key-encryption key must be ${KEY_BYTES} bytes, not ${kek.length}`);
}
