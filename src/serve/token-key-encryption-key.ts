import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Pkcs11Types from 'pkcs11js';
import { type Pkcs11Config, type Pkcs11Token, openToken } from '../authority/pkcs11-token.js';
import { requireOwnerOnly } from '../storage/owner-only-file.js';
import type { GcmBox, KeyEncryptionKey } from '../cluster/key-envelope.js';

/**
 * The key-encryption key as an AES-256 secret key in a PKCS#11 token (`cluster.keyEncryptionKey:
 * { pkcs11: { module, token, pinFile, label } }`): it never leaves the token. Wrapping a data key
 * is asking the token to encrypt it with CKM_AES_GCM (a random 96-bit nonce, the same associated
 * data as the file KEK, a 128-bit tag), unwrapping is asking it to decrypt, so the sealed document
 * has the same fields whichever KEK sealed it. The KEK's id is the key check value the token
 * reports (CKA_CHECK_VALUE: three bytes of the key's encryption of a zero block, what HSMs show to
 * compare keys), so a key cloned into another HSM opens what the first sealed.
 *
 * Here, in the composition root, because it joins the authority's PKCS#11 token sessions
 * (src/authority/pkcs11-token.ts) to the cluster's KeyEncryptionKey (src/cluster/key-envelope.ts).
 */
export interface TokenKekConfig extends Pkcs11Config {
  /** CKA_LABEL of the AES-256 secret key. */
  readonly label: string;
}

const CONFIG_KEY = 'cluster.keyEncryptionKey.pkcs11';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const requireCjs = createRequire(import.meta.url);
function pkcs11(): typeof Pkcs11Types {
  return requireCjs('pkcs11js') as typeof Pkcs11Types;
}

/** The token's KEK, checked: an AES-256 key, sensitive, that can encrypt and decrypt. Refuses to start, saying how to make one, when the token has none under the label. */
export function openTokenKeyEncryptionKey(config: TokenKekConfig): KeyEncryptionKey {
  const token = loggedIn(config);
  const id = token.withSession((mod, session) => {
    const object = findKek(mod, session, config);
    checkKek(mod, session, object, config);
    return checkValue(mod, session, object);
  });
  return {
    kind: 'pkcs11',
    id,
    labels: { token: config.token, label: config.label },
    description: `the token key "${config.label}" in token "${config.token}"`,
    wrap: (dataKey, aad) =>
      token.withSession((mod, session) => {
        const nonce = randomBytes(NONCE_BYTES);
        mod.C_EncryptInit(session, gcm(nonce, aad), findKek(mod, session, config));
        const sealed = mod.C_Encrypt(session, dataKey, Buffer.alloc(dataKey.length + TAG_BYTES + 16));
        return { nonce, ciphertext: Buffer.from(sealed.subarray(0, sealed.length - TAG_BYTES)), tag: Buffer.from(sealed.subarray(sealed.length - TAG_BYTES)) };
      }),
    unwrap: (box: GcmBox, aad) =>
      token.withSession((mod, session) => {
        mod.C_DecryptInit(session, gcm(box.nonce, aad), findKek(mod, session, config));
        const out = Buffer.alloc(box.ciphertext.length + TAG_BYTES);
        try {
          return Buffer.from(mod.C_Decrypt(session, Buffer.concat([box.ciphertext, box.tag]), out));
        } catch (error) {
          // The key and session were good (C_DecryptInit passed): a refusal here is the tag.
          // SoftHSM2 reports a GCM tag mismatch as CKR_GENERAL_ERROR.
          if (/CKR_(ENCRYPTED_DATA_INVALID|ENCRYPTED_DATA_LEN_RANGE|AEAD_DECRYPT_FAILED|GENERAL_ERROR)/.test((error as Error).message)) return undefined;
          throw error;
        } finally {
          out.fill(0);
        }
      }),
    close: () => {},
  };
}

/**
 * `keymaster cluster kek-create`: a new AES-256 key generated in the token as a token object,
 * private, sensitive and not extractable, usable only to encrypt and decrypt (CKM_AES_GCM needs
 * nothing else). Refused when a key with the label exists. Returns its check value (the KEK id).
 */
export function createTokenKeyEncryptionKey(config: TokenKekConfig): { checkValue: string } {
  const lib = pkcs11();
  const token = loggedIn(config, true);
  return token.withSession((mod, session) => {
    if (findSecretKeys(mod, session, config.label).length > 0) throw new Error(`token "${config.token}" already has a secret key labelled "${config.label}": nothing was created`);
    const object = mod.C_GenerateKey(session, { mechanism: lib.CKM_AES_KEY_GEN }, [
      { type: lib.CKA_CLASS, value: lib.CKO_SECRET_KEY },
      { type: lib.CKA_KEY_TYPE, value: lib.CKK_AES },
      { type: lib.CKA_VALUE_LEN, value: 32 },
      { type: lib.CKA_LABEL, value: config.label },
      { type: lib.CKA_ID, value: randomBytes(16) },
      { type: lib.CKA_TOKEN, value: true },
      { type: lib.CKA_PRIVATE, value: true },
      { type: lib.CKA_SENSITIVE, value: true },
      { type: lib.CKA_EXTRACTABLE, value: false },
      { type: lib.CKA_ENCRYPT, value: true },
      { type: lib.CKA_DECRYPT, value: true },
      { type: lib.CKA_WRAP, value: false },
      { type: lib.CKA_UNWRAP, value: false },
      { type: lib.CKA_SIGN, value: false },
      { type: lib.CKA_VERIFY, value: false },
    ]);
    return { checkValue: checkValue(mod, session, object) };
  });
}

/** The command that makes the key, for the refusal's message. */
export function kekCreateCommand(config: TokenKekConfig): string {
  return `keymaster cluster kek-create --pkcs11-module ${config.module} --token ${JSON.stringify(config.token)} --pin-file ${config.pinFile} --label ${JSON.stringify(config.label)}`;
}

/** The token, logged in; errors name the config key (the server) or the flag (`kek-create`). */
function loggedIn(config: TokenKekConfig, command = false): Pkcs11Token {
  requireOwnerOnly(config.pinFile, `the token's PIN file (${command ? '--pin-file' : `${CONFIG_KEY}.pinFile`})`);
  try {
    return openToken(config);
  } catch (error) {
    throw new Error(command ? (error as Error).message : `${CONFIG_KEY}: ${(error as Error).message}`);
  }
}

function findSecretKeys(mod: Pkcs11Types.PKCS11, session: Pkcs11Types.Handle, label: string): Pkcs11Types.Handle[] {
  const lib = pkcs11();
  mod.C_FindObjectsInit(session, [
    { type: lib.CKA_CLASS, value: lib.CKO_SECRET_KEY },
    { type: lib.CKA_LABEL, value: label },
  ]);
  try {
    return mod.C_FindObjects(session, 2);
  } finally {
    mod.C_FindObjectsFinal(session);
  }
}

function findKek(mod: Pkcs11Types.PKCS11, session: Pkcs11Types.Handle, config: TokenKekConfig): Pkcs11Types.Handle {
  const found = findSecretKeys(mod, session, config.label);
  if (found.length === 0)
    throw new Error(`${CONFIG_KEY}: token "${config.token}" has no AES key labelled "${config.label}"; make one with: ${kekCreateCommand(config)} (every primary must then reach the same key: docs/cluster.md)`);
  if (found.length > 1) throw new Error(`${CONFIG_KEY}: token "${config.token}" has more than one secret key labelled "${config.label}"; give the KEK a label of its own`);
  return found[0]!;
}

function checkKek(mod: Pkcs11Types.PKCS11, session: Pkcs11Types.Handle, object: Pkcs11Types.Handle, config: TokenKekConfig): void {
  const lib = pkcs11();
  const [keyType, length, sensitive, encrypt, decrypt] = mod.C_GetAttributeValue(session, object, [
    { type: lib.CKA_KEY_TYPE },
    { type: lib.CKA_VALUE_LEN },
    { type: lib.CKA_SENSITIVE },
    { type: lib.CKA_ENCRYPT },
    { type: lib.CKA_DECRYPT },
  ]).map((a) => a.value as Buffer);
  const what = `${CONFIG_KEY}: the key labelled "${config.label}" in token "${config.token}"`;
  if (ulong(keyType!) !== lib.CKK_AES || ulong(length!) !== 32) throw new Error(`${what} is not an AES-256 key`);
  // A key whose value the token hands out in clear is no better than the file.
  if (sensitive![0] !== 1) throw new Error(`${what} is not sensitive (CKA_SENSITIVE false: its value can be read out of the token)`);
  if (encrypt![0] !== 1 || decrypt![0] !== 1) throw new Error(`${what} cannot encrypt and decrypt (CKA_ENCRYPT and CKA_DECRYPT must be true)`);
}

/** A CK_ULONG attribute as the token returns it: 4 or 8 bytes in the machine's (little-endian here) order. */
function ulong(value: Buffer): number {
  return value.length === 8 ? Number(value.readBigUInt64LE()) : value.readUInt32LE();
}

/** CKA_CHECK_VALUE, or, for a token without it, the same three bytes computed by the token (ECB of a zero block). */
function checkValue(mod: Pkcs11Types.PKCS11, session: Pkcs11Types.Handle, object: Pkcs11Types.Handle): string {
  const lib = pkcs11();
  try {
    const value = mod.C_GetAttributeValue(session, object, [{ type: lib.CKA_CHECK_VALUE }])[0]!.value as Buffer;
    if (value.length >= 3) return value.subarray(0, 3).toString('hex');
  } catch {
    // A token before PKCS#11 2.40 has no CKA_CHECK_VALUE.
  }
  mod.C_EncryptInit(session, { mechanism: lib.CKM_AES_ECB }, object);
  return mod.C_Encrypt(session, Buffer.alloc(16), Buffer.alloc(32)).subarray(0, 3).toString('hex');
}

function gcm(nonce: Buffer, aad: Buffer): Pkcs11Types.Mechanism {
  const lib = pkcs11();
  return { mechanism: lib.CKM_AES_GCM, parameter: { type: lib.CK_PARAMS_AES_GCM, iv: nonce, aad, ivBits: NONCE_BYTES * 8, tagBits: TAG_BYTES * 8 } as Pkcs11Types.AesGCM };
}
