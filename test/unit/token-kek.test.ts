import { createDecipheriv } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openToken } from '../../src/authority/pkcs11-token.js';
import { openKeyEncryptionKey } from '../../src/serve/cluster-zone-wiring.js';
import { KeyEnvelopeError, type KeyEncryptionKey, type SealedKey, openPrivateKey, sealPrivateKey } from '../../src/cluster/key-envelope.js';
import { type TokenKekConfig, createTokenKeyEncryptionKey, openTokenKeyEncryptionKey } from '../../src/serve/token-key-encryption-key.js';
import { haveTool, removeDir, tempDir } from '../support/external-servers.js';
import { SOFTHSM_MODULE as MODULE, softHsmTokens } from '../support/softhsm-token.js';

/**
 * Issue 13 item 4, the KEK in an HSM (SoftHSM2 here): the data key is wrapped by the token
 * (CKM_AES_GCM), the key never leaves it, and the sealed document names the token KEK.
 */

const lib = createRequire(import.meta.url)('pkcs11js') as typeof import('pkcs11js');
const PEM = Buffer.from('-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgT0xkZXJLZXlNYXRlcmlhbA\n-----END PRIVATE KEY-----\n');
const NAME = 'private-keys/example./0f3a';
/** A KEK whose value the test knows: imported into the token, so that Node can check the token's GCM. */
const KNOWN = Buffer.from('7f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff', 'hex');

function flip(b64: string, at = 0): string {
  const b = Buffer.from(b64, 'base64');
  b[at] = b[at]! ^ 0x01;
  return b.toString('base64');
}

function flipText(text: string): string {
  return String.fromCharCode(text.charCodeAt(0) ^ 0x01) + text.slice(1);
}

describe.skipIf(!haveTool('softhsm2-util'))('the key-encryption key in a PKCS#11 token (SoftHSM2)', () => {
  let dir: string;
  let pinFile: string;
  const at = (token: string, label: string): TokenKekConfig => ({ module: MODULE, token, pinFile, label });
  let kek: KeyEncryptionKey;

  beforeAll(() => {
    dir = tempDir('token-kek');
    ({ pinFile } = softHsmTokens(dir, ['kek-a', 'kek-b']));
    createTokenKeyEncryptionKey(at('kek-a', 'keymaster-kek'));
    kek = openTokenKeyEncryptionKey(at('kek-a', 'keymaster-kek'));
  });
  afterAll(() => removeDir(dir));

  it('kek-create makes a sensitive, non-extractable AES-256 token key, once per label', () => {
    openToken(at('kek-a', 'keymaster-kek')).withSession((mod, session) => {
      mod.C_FindObjectsInit(session, [{ type: lib.CKA_LABEL, value: 'keymaster-kek' }]);
      const [object] = mod.C_FindObjects(session, 2);
      mod.C_FindObjectsFinal(session);
      const values = mod.C_GetAttributeValue(session, object!, [{ type: lib.CKA_TOKEN }, { type: lib.CKA_SENSITIVE }, { type: lib.CKA_EXTRACTABLE }, { type: lib.CKA_PRIVATE }, { type: lib.CKA_VALUE_LEN }]);
      expect(values.map((a) => (a.value as Buffer)[0])).toEqual([1, 1, 0, 1, 32]);
      expect(() => mod.C_GetAttributeValue(session, object!, [{ type: lib.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
    });
    expect(() => createTokenKeyEncryptionKey(at('kek-a', 'keymaster-kek'))).toThrow(/already has a secret key labelled "keymaster-kek": nothing was created/);
  });

  it('round trip through the token; the sealed text holds no private key, names the token KEK, and two seals differ', () => {
    const sealed = sealPrivateKey(kek, NAME, PEM);
    expect(openPrivateKey(kek, NAME, sealed)).toEqual(PEM);
    expect(sealed).toMatchObject({ alg: 'A256GCM-envelope', kek: 'pkcs11', kekToken: 'kek-a', kekLabel: 'keymaster-kek', kekId: kek.id });
    expect(kek.id).toMatch(/^[0-9a-f]{6}$/);
    const text = JSON.stringify(sealed);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(PEM.subarray(28, 80).toString('base64').slice(4, 24));
    const again = sealPrivateKey(kek, NAME, PEM);
    expect(again.wrappedKey).not.toBe(sealed.wrappedKey);
    expect(again.wrapNonce).not.toBe(sealed.wrapNonce);
    // The same KEK opened again (a restart, another primary on the same token) opens it.
    expect(openPrivateKey(openKeyEncryptionKey({ pkcs11: at('kek-a', 'keymaster-kek') }), NAME, sealed)).toEqual(PEM);
  });

  it('the token wraps with standard AES-256-GCM over the name (Node, knowing the imported KEK, opens it); no KEK byte is in the document', () => {
    openToken(at('kek-b', 'known')).withSession((mod, session) =>
      mod.C_CreateObject(session, [
        { type: lib.CKA_CLASS, value: lib.CKO_SECRET_KEY },
        { type: lib.CKA_KEY_TYPE, value: lib.CKK_AES },
        { type: lib.CKA_VALUE, value: KNOWN },
        { type: lib.CKA_LABEL, value: 'known' },
        { type: lib.CKA_TOKEN, value: true },
        { type: lib.CKA_SENSITIVE, value: true },
        { type: lib.CKA_ENCRYPT, value: true },
        { type: lib.CKA_DECRYPT, value: true },
      ]),
    );
    const known = openTokenKeyEncryptionKey(at('kek-b', 'known'));
    const sealed = sealPrivateKey(known, NAME, PEM);
    const text = JSON.stringify(sealed);
    for (const form of [KNOWN.toString('hex'), KNOWN.toString('base64').slice(0, 40), KNOWN.subarray(0, 12).toString('base64')]) expect(text).not.toContain(form);
    const unwrap = createDecipheriv('aes-256-gcm', KNOWN, Buffer.from(sealed.wrapNonce, 'base64'));
    unwrap.setAAD(Buffer.from(`keymaster data key\0${NAME}`));
    unwrap.setAuthTag(Buffer.from(sealed.wrapTag, 'base64'));
    const dataKey = Buffer.concat([unwrap.update(Buffer.from(sealed.wrappedKey, 'base64')), unwrap.final()]);
    expect(dataKey.length).toBe(32);
    const body = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(sealed.nonce, 'base64'));
    body.setAAD(Buffer.from(`keymaster private key\0${NAME}\0${JSON.stringify(['pkcs11', 'kek-b', 'known', known.id])}`));
    body.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    expect(Buffer.concat([body.update(Buffer.from(sealed.ciphertext, 'base64')), body.final()])).toEqual(PEM);
  });

  it('another token key (another label, another token) is told apart: "sealed under another key-encryption key", naming both', () => {
    const sealed = sealPrivateKey(kek, NAME, PEM);
    createTokenKeyEncryptionKey(at('kek-a', 'other-label'));
    createTokenKeyEncryptionKey(at('kek-b', 'keymaster-kek'));
    for (const other of [openTokenKeyEncryptionKey(at('kek-a', 'other-label')), openTokenKeyEncryptionKey(at('kek-b', 'keymaster-kek'))]) {
      expect(other.id).not.toBe(kek.id);
      const error = (() => {
        try {
          openPrivateKey(other, NAME, sealed);
        } catch (e) {
          return e as Error;
        }
        throw new Error('opened under another KEK');
      })();
      expect(error).toBeInstanceOf(KeyEnvelopeError);
      expect(error.message).toContain(`${NAME}: sealed under another key-encryption key (the token key "keymaster-kek" in token "kek-a", id ${kek.id}; this server's is ${other.description}`);
    }
    // A file KEK's document under the token KEK, and the other way round.
    const fileKek = Buffer.alloc(32, 7);
    expect(() => openPrivateKey(kek, NAME, sealPrivateKey(fileKek, NAME, PEM))).toThrow(/sealed under another key-encryption key \(a key-encryption key file, id [0-9a-f]{16}; this server's is the token key "keymaster-kek"/);
    expect(() => openPrivateKey(fileKek, NAME, sealed)).toThrow(/sealed under another key-encryption key \(the token key "keymaster-kek" in token "kek-a"/);
  });

  it('a flipped byte in any field does not authenticate; nothing of the key comes out', () => {
    const sealed = sealPrivateKey(kek, NAME, PEM);
    const tampered: [string, SealedKey][] = [
      ['ciphertext', { ...sealed, ciphertext: flip(sealed.ciphertext, 5) }],
      ['tag', { ...sealed, tag: flip(sealed.tag) }],
      ['nonce', { ...sealed, nonce: flip(sealed.nonce) }],
      ['wrapped key', { ...sealed, wrappedKey: flip(sealed.wrappedKey, 3) }],
      ['wrap nonce', { ...sealed, wrapNonce: flip(sealed.wrapNonce) }],
      ['wrap tag', { ...sealed, wrapTag: flip(sealed.wrapTag) }],
      ['kek id', { ...sealed, kekId: flipText(sealed.kekId) }],
      ['kek kind', { ...sealed, kek: flipText(sealed.kek!) as 'pkcs11' }],
      ['kek kind "file"', { ...sealed, kek: 'file' }],
      ['kek token', { ...sealed, kekToken: flipText(sealed.kekToken!) }],
      ['kek label', { ...sealed, kekLabel: flipText(sealed.kekLabel!) }],
      ['truncated ciphertext', { ...sealed, ciphertext: Buffer.from(sealed.ciphertext, 'base64').subarray(1).toString('base64') }],
    ];
    for (const [what, t] of tampered) {
      expect(() => openPrivateKey(kek, NAME, t), what).toThrow(KeyEnvelopeError);
      expect(() => openPrivateKey(kek, NAME, t), what).toThrow(new RegExp(`^${NAME.replace(/\./g, '\\.')}: (the sealed key does not authenticate|the sealed key's nonce or tag has the wrong length)`));
    }
    const { wrapTag: _dropped, ...missing } = sealed;
    expect(() => openPrivateKey(kek, NAME, missing as SealedKey)).toThrow(`${NAME}: the sealed key's "wrapTag" is missing`);
  });

  it('a document moved to another name does not open, nor does one with another document\'s wrap', () => {
    const sealed = sealPrivateKey(kek, NAME, PEM);
    expect(() => openPrivateKey(kek, 'private-keys/example./9999', sealed)).toThrow(/private-keys\/example\.\/9999: the sealed key does not authenticate/);
    expect(() => openPrivateKey(kek, 'private-keys/other.example./0f3a', sealed)).toThrow(KeyEnvelopeError);
    const other = sealPrivateKey(kek, 'private-keys/example./9999', Buffer.from('another key'));
    expect(() => openPrivateKey(kek, NAME, { ...sealed, wrappedKey: other.wrappedKey, wrapNonce: other.wrapNonce, wrapTag: other.wrapTag })).toThrow(/does not authenticate/);
  });

  it('the token key gone after start: the document fails, named, saying the token has no such key', () => {
    createTokenKeyEncryptionKey(at('kek-b', 'doomed'));
    const doomed = openTokenKeyEncryptionKey(at('kek-b', 'doomed'));
    const sealed = sealPrivateKey(doomed, NAME, PEM);
    openToken(at('kek-b', 'doomed')).withSession((mod, session) => {
      mod.C_FindObjectsInit(session, [{ type: lib.CKA_LABEL, value: 'doomed' }]);
      const found = mod.C_FindObjects(session, 2);
      mod.C_FindObjectsFinal(session);
      for (const object of found) mod.C_DestroyObject(session, object);
    });
    expect(() => openPrivateKey(doomed, NAME, sealed)).toThrow(new RegExp(`^${NAME.replace(/\./g, '\\.')}: cannot be opened: .*token "kek-b" has no AES key labelled "doomed"`));
    expect(() => sealPrivateKey(doomed, NAME, PEM)).toThrow(/cannot be sealed: .*no AES key labelled "doomed"/);
  });

  it('refuses to start without the key (naming token, label and the command that makes it), with a loose PIN file, or with a key the token would hand out', () => {
    expect(() => openTokenKeyEncryptionKey(at('kek-a', 'no-such-kek'))).toThrow(
      `cluster.keyEncryptionKey.pkcs11: token "kek-a" has no AES key labelled "no-such-kek"; make one with: keymaster cluster kek-create --pkcs11-module ${MODULE} --token "kek-a" --pin-file ${pinFile} --label "no-such-kek"`,
    );
    expect(() => openTokenKeyEncryptionKey(at('no-such-token', 'keymaster-kek'))).toThrow(/cluster\.keyEncryptionKey\.pkcs11: .*no token labelled "no-such-token"/);
    const loose = join(dir, 'loose-pin');
    writeFileSync(loose, '4321\n');
    chmodSync(loose, 0o640);
    expect(() => openTokenKeyEncryptionKey({ ...at('kek-a', 'keymaster-kek'), pinFile: loose })).toThrow(/loose-pin: the token's PIN file \(cluster\.keyEncryptionKey\.pkcs11\.pinFile\) is readable or writable by group or others \(mode 640\)/);
    openToken(at('kek-b', 'plain')).withSession((mod, session) =>
      mod.C_GenerateKey(session, { mechanism: lib.CKM_AES_KEY_GEN }, [
        { type: lib.CKA_CLASS, value: lib.CKO_SECRET_KEY },
        { type: lib.CKA_VALUE_LEN, value: 32 },
        { type: lib.CKA_LABEL, value: 'plain' },
        { type: lib.CKA_TOKEN, value: true },
        { type: lib.CKA_SENSITIVE, value: false },
        { type: lib.CKA_ENCRYPT, value: true },
        { type: lib.CKA_DECRYPT, value: true },
      ]),
    );
    expect(() => openTokenKeyEncryptionKey(at('kek-b', 'plain'))).toThrow(/the key labelled "plain" in token "kek-b" is not sensitive/);
  });
});

describe('the file KEK format of before HSM KEKs', () => {
  it('a key sealed by the previous release (no "kek" field) still opens, and is refused under another KEK or name', () => {
    const kek = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
    const old: SealedKey = {
      alg: 'A256GCM-envelope',
      kekId: '4773d12e2371bb93',
      wrappedKey: 'rngp1HMYoWD8n3aJyEmDA1GZh3bpc4+CR8Ho8l8WX2c=',
      wrapNonce: '6gYqNgB/gLKF0L9c',
      wrapTag: '3ecr94zHJdPYIUBK5pAq2A==',
      nonce: 'piJ0tqiGMyHWB5Ks',
      ciphertext: 'bPDqimnCWFPUoIEgucHQ6M03DcaoSH9dLzEPkufXYVQpSQTO4Qgguez5kGwQm+EMkKMSSGkOSYlmDBu1RDp9wbo=',
      tag: 'uXHScVGf6kvL+S1vTam2ew==',
    };
    expect(openPrivateKey(kek, NAME, old).toString()).toBe('-----BEGIN PRIVATE KEY-----\nold format\n-----END PRIVATE KEY-----\n');
    expect(() => openPrivateKey(Buffer.alloc(32, 1), NAME, old)).toThrow(/another key-encryption key/);
    expect(() => openPrivateKey(kek, 'private-keys/example./0f3b', old)).toThrow(/does not authenticate/);
    // A file KEK seals as before, now saying so; the kind altered is caught.
    const sealed = sealPrivateKey(kek, NAME, Buffer.from('x'));
    expect(sealed.kek).toBe('file');
    expect(() => openPrivateKey(kek, NAME, { ...sealed, kek: 'pkcs11' })).toThrow(/does not authenticate \(its key-encryption key id was altered\)/);
  });
});
