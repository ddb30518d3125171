import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { readKeyEncryptionKey } from '../../src/cluster/key-encryption-key.js';
import { KeyEnvelopeError, type SealedKey, openPrivateKey, sealPrivateKey } from '../../src/cluster/key-envelope.js';

const KEK = randomBytes(32);
const PRIVATE = Buffer.from('-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n');
const NAME = 'keys/example./0f3a';

function flip(b64: string, at = 0): string {
  const b = Buffer.from(b64, 'base64');
  b[at] = b[at]! ^ 0x01;
  return b.toString('base64');
}

describe('key envelope (AES-256-GCM, data key wrapped by the KEK)', () => {
  it('round trip; the sealed form holds no byte run of the private key, and two seals differ', () => {
    const sealed = sealPrivateKey(KEK, NAME, PRIVATE);
    expect(openPrivateKey(KEK, NAME, sealed)).toEqual(PRIVATE);
    const text = JSON.stringify(sealed);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(PRIVATE.subarray(28, 60).toString('base64').slice(4, 24));
    const again = sealPrivateKey(KEK, NAME, PRIVATE);
    expect(again.ciphertext).not.toBe(sealed.ciphertext);
    expect(again.wrappedKey).not.toBe(sealed.wrappedKey);
  });

  it('refuses every tampered field, and a key moved to another name', () => {
    const sealed = sealPrivateKey(KEK, NAME, PRIVATE);
    const tampered: [string, SealedKey][] = [
      ['ciphertext', { ...sealed, ciphertext: flip(sealed.ciphertext, 5) }],
      ['tag', { ...sealed, tag: flip(sealed.tag) }],
      ['nonce', { ...sealed, nonce: flip(sealed.nonce) }],
      ['wrapped key', { ...sealed, wrappedKey: flip(sealed.wrappedKey) }],
      ['wrap tag', { ...sealed, wrapTag: flip(sealed.wrapTag) }],
      ['truncated ciphertext', { ...sealed, ciphertext: Buffer.from(sealed.ciphertext, 'base64').subarray(1).toString('base64') }],
    ];
    for (const [what, t] of tampered) expect(() => openPrivateKey(KEK, NAME, t), what).toThrow(/does not authenticate|wrong length/);
    expect(() => openPrivateKey(KEK, 'keys/other.example./0f3a', sealed)).toThrow(KeyEnvelopeError);
    // Swapping in another document's parts does not open either.
    const other = sealPrivateKey(KEK, 'keys/example./9999', Buffer.from('another key'));
    expect(() => openPrivateKey(KEK, NAME, { ...sealed, wrappedKey: other.wrappedKey, wrapNonce: other.wrapNonce, wrapTag: other.wrapTag })).toThrow(KeyEnvelopeError);
  });

  it('refuses another KEK, saying so', () => {
    const sealed = sealPrivateKey(KEK, NAME, PRIVATE);
    expect(() => openPrivateKey(randomBytes(32), NAME, sealed)).toThrow(/another key-encryption key/);
    // A forged kekId does not help: the wrap does not authenticate under the wrong KEK.
    const wrong = randomBytes(32);
    const forged = { ...sealed, kekId: sealPrivateKey(wrong, NAME, Buffer.from('x')).kekId };
    expect(() => openPrivateKey(wrong, NAME, forged)).toThrow(/does not authenticate/);
  });
});

describe('key-encryption key file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keymaster-kek-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads hex, base64 and raw 32-byte files of mode 0600', () => {
    const kek = randomBytes(32);
    for (const [name, content] of [['hex', `${kek.toString('hex')}\n`], ['b64', kek.toString('base64')], ['raw', kek]] as const) {
      const path = join(dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      chmodSync(path, 0o600);
      expect(readKeyEncryptionKey(path)).toEqual(kek);
    }
  });

  it('refuses a group- or world-readable file, naming it, and a file that is not a 256-bit key', () => {
    const path = join(dir, 'loose');
    writeFileSync(path, randomBytes(32).toString('hex'));
    for (const mode of [0o640, 0o604, 0o620]) {
      chmodSync(path, mode);
      expect(() => readKeyEncryptionKey(path)).toThrow(new RegExp(`${path}.*group or others`));
    }
    const short = join(dir, 'short');
    writeFileSync(short, 'abcd', { mode: 0o600 });
    expect(() => readKeyEncryptionKey(short)).toThrow(new RegExp(`${short}: not a 256-bit key`));
    expect(() => readKeyEncryptionKey(join(dir, 'missing'))).toThrow(/missing: the key-encryption key file cannot be read/);
  });
});
