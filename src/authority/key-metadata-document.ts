import { isObject } from '../store/document-envelope.js';
import type { DocumentType } from '../store/document-store.js';
import type { KeyMetadata, KeyState } from './key-store.js';

const STATES: readonly KeyState[] = ['active', 'standby', 'next', 'retired', 'inactive', 'revoked', 'presigning', 'unpublished'];
const NUMBERS = ['algorithm', 'bits', 'keyTag', 'flags'] as const;
const REQUIRED_STRINGS = ['id', 'zone', 'publicKey', 'created'] as const;
const TIMES = ['activated', 'retired', 'nextRollover', 'published'] as const;
const FIELDS = new Set<string>(['role', 'state', 'rollover', 'storage', ...NUMBERS, ...REQUIRED_STRINGS, ...TIMES]);

/** A key's metadata, checked field by field; the rollover record is checked where it is used (rollover-state.ts). */
function decodeKeyMetadata(data: unknown, fault: (message: string) => Error): KeyMetadata {
  if (!isObject(data)) throw fault('data: not an object');
  for (const key of Object.keys(data)) if (!FIELDS.has(key)) throw fault(`${key}: unknown field`);
  for (const f of REQUIRED_STRINGS) if (typeof data[f] !== 'string' || data[f] === '') throw fault(`${f}: missing or not a string`);
  for (const f of NUMBERS) if (!Number.isSafeInteger(data[f]) || (data[f] as number) < 0) throw fault(`${f}: missing or not a whole number`);
  for (const f of TIMES) if (data[f] !== undefined && (typeof data[f] !== 'string' || Number.isNaN(Date.parse(data[f] as string)))) throw fault(`${f}: not an ISO 8601 time`);
  if (Number.isNaN(Date.parse(data['created'] as string))) throw fault('created: not an ISO 8601 time');
  if (data['role'] !== 'ksk' && data['role'] !== 'zsk') throw fault(`role: ${JSON.stringify(data['role'])} is not ksk or zsk`);
  if (!STATES.includes(data['state'] as KeyState)) throw fault(`state: ${JSON.stringify(data['state'])} is not one of ${STATES.join(', ')}`);
  if (data['rollover'] !== undefined && !isObject(data['rollover'])) throw fault('rollover: not an object');
  const storage = data['storage'];
  if (storage !== undefined) {
    const p = isObject(storage) ? storage['pkcs11'] : undefined;
    if (!isObject(p) || typeof p['token'] !== 'string' || typeof p['id'] !== 'string') throw fault('storage: not { "pkcs11": { "token", "id" } }');
  }
  return data as unknown as KeyMetadata;
}

/**
 * A key's metadata (state, timings, tag, rollover progress, where its private key is) as a
 * document of the store contract, at `keys/ZONE/ID`. Never the private key: that stays in its
 * 0600 file (or its PKCS#11 token). The metadata file of the release before the store contract
 * (the bare object, at the same place) is read once and rewritten as this.
 */
export const KEY_METADATA_DOCUMENT: DocumentType<KeyMetadata> = {
  format: 'keymaster-key',
  version: 1,
  encode: (metadata) => metadata,
  decode: decodeKeyMetadata,
  unlabelled: (doc, fault) => ('id' in doc && 'role' in doc ? decodeKeyMetadata(doc, fault) : undefined),
};
