import { readFileSync } from 'node:fs';
import { requireOwnerOnly } from '../storage/owner-only-file.js';
/**
 * The key-encryption key from its file: 32 bytes, as 64 hex digits or base64 text (one line,
 * as `openssl rand -hex 32 > kek` writes) or raw. The file must be readable by its owner only:
 * a group- or world-readable KEK is refused, naming the file.
 */
export function readKeyEncryptionKey(path: string): Buffer {
  requireOwnerOnly(path, 'the key-encryption key file');
  const raw = readFileSync(path);
  const text = raw.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64');
  if (raw.length === 32) return raw;
  throw new Error(`${path}: not a 256-bit key (64 hex digits, 44 base64 characters, or 32 raw bytes; create one with: openssl rand -hex 32 > ${path}; chmod 600 ${path})`);
}
