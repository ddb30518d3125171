import { isObject } from '../store/document-envelope.js';
import type { DocumentType } from '../store/document-store.js';
import type { Name } from '../wire/name.js';
import { zoneStoreLabel } from './zone-store-label.js';

/** A private key sealed under the key-encryption key; its fields are the sealer's (cluster/key-envelope.ts). */
export type SealedPrivateKey = Readonly<Record<string, unknown>>;

/**
 * How private keys are sealed for the shared store (cluster mode: the AES-256-GCM envelope under
 * the key-encryption key, given by serve). `name` is bound to the sealed key: moved to another
 * name, it does not open. `open` throws, never returning part of a key, when it does not open.
 */
export interface PrivateKeySealing {
  seal(name: string, plaintext: Buffer): SealedPrivateKey;
  open(name: string, sealed: SealedPrivateKey): Buffer;
}

/**
 * Cluster mode: a zone key's private key as a store document, sealed, so that every primary can
 * sign with it and etcd never holds it in clear. Apart from the metadata (`keys/ZONE/ID`):
 * listing a zone's keys never reads one, and nothing that shows keys can return one.
 */
export const SEALED_PRIVATE_KEY_DOCUMENT: DocumentType<SealedPrivateKey> = {
  format: 'keymaster-sealed-private-key',
  version: 1,
  encode: (sealed) => sealed,
  decode(data, fault) {
    if (!isObject(data) || typeof data['alg'] !== 'string') throw fault('data: not a sealed key (no alg)');
    return data;
  },
};

/** The store key of a key's sealed private key; also the name the seal binds. */
export function sealedPrivateKeyKey(zone: Name, id: string): string {
  return `private-keys/${zoneStoreLabel(zone)}/${id}`;
}
