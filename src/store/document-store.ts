/**
 * The one store contract: every piece of state the server keeps across restarts (policy rules,
 * trust anchors, zone settings, keys' metadata, journals) is a named document of a declared
 * type. A store keeps each document versioned (its format's version), checksummed, replaced
 * atomically, and numbered by a revision that grows with every write, so that:
 *
 * - a reader sees the old document or the new one, never a mix, after a crash at any point;
 * - a write that resolves is durable (nothing acknowledged is lost);
 * - a writer can ask for compare-and-swap on the revision it read (two primaries sharing a
 *   distributed store cannot both apply conflicting changes);
 * - other parts of the server can watch a key prefix for changes.
 *
 * The file implementation (`file-document-store.ts`) is the embedded default; a distributed one
 * (etcd, cluster mode) passes the same contract tests (`test/support/store-contract.ts`).
 */

/** How one kind of document is encoded and checked. Decoding is strict: a bad field names itself. */
export interface DocumentType<T> {
  /** Names the kind of document in the file (`keymaster-policy`), so a wrong file is refused. */
  readonly format: string;
  /** The version this release writes. */
  readonly version: number;
  /** The JSON-able form of a value. */
  encode(value: T): unknown;
  /** The value from its JSON form; throws `fault(...)` naming the field when it is not valid. */
  decode(data: unknown, fault: (message: string) => Error): T;
  /**
   * A document written by an earlier release (another version, or a file from before the store
   * contract), read once: the next write stores it in the current version. Absent: refused.
   */
  upgrade?(document: Record<string, unknown>, fault: (message: string) => Error): T | undefined;
  /**
   * A file of the state dir's layout before the store contract that has no `format` at all
   * (`zones.json`, a key's metadata), read once the same way; undefined: refused as not this type.
   */
  unlabelled?(document: Record<string, unknown>, fault: (message: string) => Error): T | undefined;
}

export interface StoredDocument<T> {
  readonly value: T;
  /** Grows by one with every write of the key; 0 never exists. */
  readonly revision: number;
  /** Read from an earlier version's document (it is rewritten in the current one on next write). */
  readonly upgraded?: boolean;
}

/**
 * A condition on another key, checked atomically with the write it guards (fencing: a key-state
 * write lands only while this server still holds the role key it read).
 */
export interface WriteGuard {
  readonly key: string;
  /** The revision the key must be at (0: it must not exist). */
  readonly revision: number;
  /**
   * When given, the key's incarnation must be this too (etcd: its create revision, which changes
   * when the key is deleted and written again), so a role that lapsed and was taken by another
   * server never passes for the one read. The file store keeps no such mark and refuses it.
   */
  readonly created?: number;
}

export interface WriteOptions {
  /** Compare-and-swap: refuse the write unless the stored revision is this (0: the key must not exist). */
  readonly expectRevision?: number;
  /** Every guard must hold when the write is applied, or it is refused with code 'conflict'. */
  readonly guard?: readonly WriteGuard[];
}

export interface DocumentChange {
  readonly key: string;
  /** The new revision; undefined when the key was deleted. */
  readonly revision?: number;
}

export interface DocumentStore {
  /** What the store is, for logs and errors (`files in /var/lib/keymaster`). */
  readonly description: string;
  /** Where `key` lives (a file path, an etcd key), for logs and errors. */
  locate(key: string): string;
  /** The document at `key`, or undefined when there is none. Throws StoreError for a damaged one. */
  read<T>(key: string, type: DocumentType<T>): Promise<StoredDocument<T> | undefined>;
  /** Replaces the document at `key`; resolves once the write is durable. */
  write<T>(key: string, type: DocumentType<T>, value: T, options?: WriteOptions): Promise<StoredDocument<T>>;
  /** Removes the document at `key` (durably); true when there was one. */
  delete(key: string, options?: WriteOptions): Promise<boolean>;
  /** The keys under `prefix` (`zones/` lists `zones/example.` and so on), sorted. */
  keys(prefix: string): Promise<string[]>;
  /** Calls `listener` after every change of a key under `prefix`; returns the way to stop. */
  watch(prefix: string, listener: (change: DocumentChange) => void): () => void;
  close(): Promise<void>;
}

/** 'unavailable': the store cannot be reached (etcd lost its quorum or is down); nothing was changed. */
export type StoreErrorCode = 'damaged' | 'conflict' | 'invalid-key' | 'io' | 'unavailable';

/** A store that cannot do what was asked; `where` names the file or key, `code` is stable for callers. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    readonly where: string,
    readonly fault: string,
  ) {
    super(`${where}: ${fault}`);
  }
}

/** Keys are paths of lowercase labels: they become file names, and etcd keys, unchanged. */
const KEY_PATTERN = /^[a-z0-9_][a-z0-9._-]*(\/[a-z0-9_][a-z0-9._-]*)*$/;

export function checkKey(key: string): string {
  if (!KEY_PATTERN.test(key) || key.includes('..') || key.length > 512)
    throw new StoreError('invalid-key', JSON.stringify(key), 'not a store key (lowercase labels of a-z 0-9 . _ - separated by /)');
  return key;
}
