import type { DocumentStore, DocumentType } from './document-store.js';

/**
 * Text too big for one value of a distributed store (etcd: 1.5 MiB), such as a zone snapshot
 * or a secondary zone's copy, kept as numbered parts `PREFIX-0000000000NN`. The parts are written
 * first and a small document written after them names how many there are (the commit point):
 * a crash in between leaves parts nobody names, which their owner deletes at its next look.
 */
const PART_DOCUMENT: DocumentType<string> = {
  format: 'keymaster-text-part',
  version: 1,
  encode: (text) => text,
  decode(data, fault) {
    if (typeof data !== 'string') throw fault('data: not text');
    return data;
  },
};

/** Parts stay well under the value size of a distributed store. */
export const TEXT_PART_CHARS = 512 * 1024;

export const partKey = (prefix: string, index: number): string => `${prefix}-${String(index).padStart(12, '0')}`;

/** Writes `text` as parts under `prefix`; returns how many (at least one). */
export async function writeTextParts(store: DocumentStore, prefix: string, text: string, partChars = TEXT_PART_CHARS): Promise<number> {
  const parts = Math.max(1, Math.ceil(text.length / partChars));
  for (let i = 0; i < parts; i++) await store.write(partKey(prefix, i), PART_DOCUMENT, text.slice(i * partChars, (i + 1) * partChars));
  return parts;
}

/** The text of `parts` parts under `prefix`; `missing` makes the error for a part that is not there. */
export async function readTextParts(store: DocumentStore, prefix: string, parts: number, missing: (where: string, index: number) => Error): Promise<string> {
  let text = '';
  for (let i = 0; i < parts; i++) {
    const part = await store.read(partKey(prefix, i), PART_DOCUMENT);
    if (!part) throw missing(store.locate(partKey(prefix, i)), i);
    text += part.value;
  }
  return text;
}
