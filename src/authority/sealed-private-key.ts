import { isObject } from '../store/document-envelope.js';
import type { DocumentType } from '../store/document-store.js';
import type { SealedKey } from '../cluster/key-envelope.js';
import type { Name } from '../wire/name.js';
import { zoneStoreLabel } from './zone-store-label.js';

const SEALED_FIELDS = ['alg', 'kekId', 'wrappedKey', 'wrapNonce', 'wrapTag', 'nonce', 'ciphertext', 'tag'] as const;

/**
 * Cluster mode: a zone key's private key as a store document, sealed (AES-256-GCM envelope,
 * cluster/key-envelope.ts) under the key-encryption key, so that every primary can sign with it
 * and etcd never holds it in clear. Apart from the metadata (`keys/ZONE/ID`): listing a zone's
 * keys never reads one, and nothing that shows keys can return one.
 */
export const SEALED_PRIVATE_KEY_DOCUMENT: DocumentType<SealedKey> = {
  format: 'keymaster-sealed-private-key',
  version: 1,
  encode: (sealed) => sealed,
  decode(data, fault) {
    if (!isObject(data)) throw fault('data: not an object');
    for (const f of SEALED_FIELDS) if (typeof data[f] !== 'string') throw fault(`data.${f}: missing or not a string`);
    if (data['alg'] !== 'A256GCM-envelope') throw fault(`data.alg: ${JSON.stringify(data['alg'])} is not A256GCM-envelope`);
    return data as unknown as SealedKey;
  },
};

/** The store key of a key's sealed private key; also the name the envelope binds (moved elsewhere, it does not open). */
export function sealedPrivateKeyKey(zone: Name, id: string): string {
  return `private-keys/${zoneStoreLabel(zone)}/${id}`;
}
