import { createHash } from 'node:crypto';
import type { DocumentType, StoredDocument } from './document-store.js';

/**
 * The text of a stored document, the same in every store implementation:
 *
 *   { "format": "keymaster-policy", "version": 2, "revision": 7, "data": …, "sha256": "<hex> }
 *
 * The SHA-256 covers the JSON text of `data` as written, so a damaged or hand-edited document is
 * refused instead of silently changing what the server does (a trust anchor turned Valid, a
 * negative trust anchor dropped).
 */
export function encodeEnvelope<T>(type: DocumentType<T>, value: T, revision: number): string {
  const data = type.encode(value);
  const sha256 = checksum(JSON.stringify(data));
  return `${JSON.stringify({ format: type.format, version: type.version, revision, data, sha256 }, null, 2)}\n`;
}

/** The document in `text`; throws `fault(...)` naming what is wrong. */
export function decodeEnvelope<T>(text: string, type: DocumentType<T>, fault: (message: string) => Error): StoredDocument<T> {
  if (text.trim() === '') throw fault('the document is empty (a damaged write?)');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw fault(`not JSON (${(error as Error).message})`);
  }
  if (!isObject(doc)) throw fault(`not a ${type.format} document (no "format": "${type.format}")`);
  const legacy = doc['format'] === undefined ? type.unlabelled?.(doc, fault) : undefined;
  if (legacy !== undefined) return { value: legacy, revision: 1, upgraded: true };
  if (doc['format'] !== type.format) throw fault(`not a ${type.format} document (no "format": "${type.format}")`);
  if (doc['version'] !== type.version) {
    const upgraded = type.upgrade?.(doc, fault);
    if (upgraded === undefined)
      throw fault(`version ${JSON.stringify(doc['version'])} is not supported (this Keymaster reads version ${type.version}; written by another release?)`);
    return { value: upgraded, revision: 1, upgraded: true };
  }
  const revision = doc['revision'];
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 1) throw fault('"revision" is missing or not a positive integer');
  if (typeof doc['sha256'] !== 'string') throw fault('"sha256" checksum is missing');
  if (!('data' in doc)) throw fault('"data" is missing');
  if (checksum(JSON.stringify(doc['data'])) !== doc['sha256'].toLowerCase())
    throw fault('checksum mismatch: the content does not match its SHA-256 (the file is damaged or was edited by hand; change it with the keymaster command)');
  return { value: type.decode(doc['data'], fault), revision };
}

export function checksum(json: string): string {
  return createHash('sha256').update(json, 'utf8').digest('hex');
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
