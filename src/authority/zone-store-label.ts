import { Name } from '../wire/name.js';

/** What one label of a store key may be (store/document-store.ts: lowercase a-z 0-9 . _ -). */
const STORE_LABEL = /^[a-z0-9_][a-z0-9._-]*$/;

/**
 * A zone's label in store keys (`zone-settings/LABEL`, `keys/LABEL/ID`): its lowercase name
 * without the final dot, `root` for the root, which is what the state dir has always named a
 * zone's key directory, so keys written before the store contract are found where they are.
 * A name that is not a store label that way (escaped bytes, `/`, a zone called `root.`) is
 * `_x-` and the hex of its lowercase presentation form: never equal to a plain name's label,
 * since no zone's presentation form starts with `_x-` followed by only hex digits that decode
 * to another name.
 */
export function zoneStoreLabel(zone: Name | string): string {
  const name = typeof zone === 'string' ? Name.parse(zone) : zone;
  if (name.isRoot) return 'root';
  const text = name.lowercase().toString().slice(0, -1);
  if (STORE_LABEL.test(text) && !text.includes('..') && text !== 'root' && !text.startsWith('_x-')) return text;
  return `_x-${Buffer.from(text, 'utf8').toString('hex')}`;
}
