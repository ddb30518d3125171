import type { IKeyValue, Namespace, Watcher } from 'etcd3';
import { decodeEnvelope, encodeEnvelope } from './document-envelope.js';
import {
  type DocumentChange,
  type DocumentStore,
  type DocumentType,
  type StoredDocument,
  StoreError,
  type WriteGuard,
  type WriteOptions,
  checkKey,
} from './document-store.js';
import { storeErrorOf } from './etcd-errors.js';

type Operation = ReturnType<Namespace['put']> | ReturnType<Namespace['delete']>;
type TxnResult = Awaited<ReturnType<ReturnType<Namespace['if']>['commit']>>;

/** How many revisions this handle wrote are remembered, so their watch events are not told twice. */
const OWN_REVISIONS_KEPT = 4096;
/**
 * How long a call is tried again while etcd is unavailable before the caller is told so. A member
 * lost costs the cluster an election (about a second or two with etcd's defaults), in which no
 * write can commit, and a hung member costs each call that picked it a whole call timeout before
 * the client tries another: a change made then waits for the new leader or a live member instead
 * of being refused.
 */
const TRANSIENT_RETRY_MS = 8000;
const TRANSIENT_RETRY_PAUSE_MS = 200;

export interface EtcdStoreLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * The store contract over etcd (cluster mode): each document is the etcd key `PREFIX + KEY`
 * holding the same checksummed envelope text as the file store's file. A document's revision is
 * the key's etcd *version* (1 at creation, +1 with every put, gone with a delete), so it grows
 * by one with every write as the contract says, and compare-and-swap and guards are etcd
 * transactions comparing versions (and, for a guard with `created`, the create revision, which
 * changes when a key lapses and is created again).
 *
 * Every write is acknowledged only once etcd has committed it (a Raft majority). When etcd
 * cannot be reached, operations reject with StoreError code 'unavailable' and change nothing;
 * what a server already holds in memory is its own business (it keeps answering from it).
 */
export class EtcdDocumentStore implements DocumentStore {
  readonly description: string;
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly watchers = new Set<{ prefix: string; listener: (change: DocumentChange) => void }>();
  private readonly ownRevisions = new Set<string>();
  /** The version of each key as this handle last saw it: a plain write tries it first and reads only after a conflict. */
  private readonly versions = new Map<string, number>();
  private readonly etcdWatchers = new Set<Watcher>();
  /** The highest etcd revision this handle has seen: a watch starts after it, so it misses nothing written since. */
  private seenRevision = 0;
  private closed = false;

  constructor(
    private readonly ns: Namespace,
    private readonly prefix: string,
    description: string,
    private readonly log?: EtcdStoreLog,
  ) {
    this.description = description;
  }

  /** A store over `ns` (a namespace of an open etcd3 client); reads the current revision first. */
  static async open(ns: Namespace, prefix: string, description: string, log?: EtcdStoreLog): Promise<EtcdDocumentStore> {
    const store = new EtcdDocumentStore(ns, prefix, description, log);
    try {
      const res = await ns.get('\0').exec();
      store.see(res.header.revision);
    } catch (error) {
      throw storeErrorOf(error, description);
    }
    return store;
  }

  locate(key: string): string {
    return `etcd key ${this.prefix}${checkKey(key)}`;
  }

  async read<T>(key: string, type: DocumentType<T>): Promise<StoredDocument<T> | undefined> {
    const where = this.locate(key);
    const kv = await this.fetch(key, where);
    if (!kv) return undefined;
    return this.decode(kv, type, where);
  }

  async write<T>(key: string, type: DocumentType<T>, value: T, options: WriteOptions = {}): Promise<StoredDocument<T>> {
    const where = this.locate(key);
    return this.serialised(key, async () => {
      // Without expectRevision a write is compare-and-swap in a loop: the envelope carries the
      // revision it will have, so the put must land on exactly the version it was made for.
      for (;;) {
        const current = options.expectRevision ?? this.versions.get(key) ?? (await this.version(key, where));
        const revision = current + 1;
        const text = encodeEnvelope(type, value, revision);
        const res = await this.transact(key, current, options, [this.ns.put(key).value(text)], where);
        if (res.succeeded) {
          this.own(res.header.revision);
          this.versions.set(key, revision);
          this.notify({ key, revision });
          return { value, revision };
        }
        // A call retried after a lost answer looks like a conflict even though it landed.
        const now = await this.fetch(key, where);
        if (now && Number(now.version) === revision && now.value.toString() === text) {
          this.own(now.mod_revision);
          this.versions.set(key, revision);
          this.notify({ key, revision });
          return { value, revision };
        }
        await this.explainConflict(where, options);
      }
    });
  }

  async delete(key: string, options: WriteOptions = {}): Promise<boolean> {
    const where = this.locate(key);
    return this.serialised(key, async () => {
      for (;;) {
        const current = options.expectRevision ?? this.versions.get(key) ?? (await this.version(key, where));
        // Deleting nothing still checks the guards, in a transaction of no operations.
        const res = await this.transact(key, current, options, current === 0 ? [] : [this.ns.delete().key(key)], where);
        if (res.succeeded) {
          this.versions.set(key, 0);
          if (current === 0) return false;
          this.own(res.header.revision);
          this.notify({ key });
          return true;
        }
        this.versions.delete(key);
        await this.explainConflict(where, options);
      }
    });
  }

  async keys(prefix: string): Promise<string[]> {
    const found = await this.call(`${this.description} (keys under ${prefix})`, () => this.ns.getAll().prefix(prefix).keys());
    return found.sort();
  }

  watch(prefix: string, listener: (change: DocumentChange) => void): () => void {
    return this.subscribe(prefix, listener, true);
  }

  /** Only other servers' changes (through etcd), not this handle's own writes: what a running service reloads from. */
  watchOthers(prefix: string, listener: (change: DocumentChange) => void): () => void {
    return this.subscribe(prefix, listener, false);
  }

  private subscribe(prefix: string, listener: (change: DocumentChange) => void, own: boolean): () => void {
    const watcher = { prefix, listener };
    if (own) this.watchers.add(watcher);
    let etcdWatcher: Watcher | undefined;
    let stopped = false;
    const onChange = (kv: IKeyValue, deleted: boolean): void => {
      const key = kv.key.toString();
      const deliver = (): void => {
        if (stopped || this.ownRevisions.has(kv.mod_revision)) return;
        this.see(kv.mod_revision);
        try {
          listener(deleted ? { key } : { key, revision: Number(kv.version) });
        } catch (error) {
          // Another server's change must never end this process through a listener's fault.
          this.log?.warn({ event: 'cluster.watch-listener-failed', key, error: (error as Error).message }, 'a listener of a store change failed');
        }
      };
      // The event of a write of ours can come before its answer: wait for the answer to know it.
      const inFlight = this.queues.get(key);
      if (inFlight) void inFlight.then(deliver);
      else deliver();
    };
    // etcd3's watcher reconnects by itself and resumes from the last revision it delivered.
    this.ns
      .watch()
      .prefix(prefix)
      .startRevision(String(this.seenRevision + 1))
      .create()
      .then(
        (w) => {
          etcdWatcher = w;
          if (stopped || this.closed) return void w.cancel().catch(() => undefined);
          this.etcdWatchers.add(w);
          w.on('put', (kv) => onChange(kv, false));
          w.on('delete', (kv) => onChange(kv, true));
          w.on('disconnected', (error) => this.log?.warn({ event: 'cluster.watch-disconnected', prefix, error: error.message }, 'etcd watch lost its connection; it resumes when etcd answers'));
          w.on('error', (error) => this.log?.warn({ event: 'cluster.watch-error', prefix, error: error.message }, 'etcd watch failed'));
        },
        (error: unknown) => this.log?.warn({ event: 'cluster.watch-error', prefix, error: (error as Error).message }, 'etcd watch could not be created'),
      );
    return () => {
      stopped = true;
      this.watchers.delete(watcher);
      if (etcdWatcher) {
        this.etcdWatchers.delete(etcdWatcher);
        void etcdWatcher.cancel().catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.queues.values()]);
    this.watchers.clear();
    await Promise.allSettled([...this.etcdWatchers].map((w) => w.cancel()));
    this.etcdWatchers.clear();
  }

  /** The raw key-value of `key` (linearizable read), or undefined; its `key` still has the namespace prefix (etcd3's single get leaves it). */
  private async fetch(key: string, where: string): Promise<IKeyValue | undefined> {
    const res = await this.call(where, () => this.ns.get(checkKey(key)).exec());
    this.see(res.header.revision);
    this.versions.set(key, Number(res.kvs[0]?.version ?? 0));
    return res.kvs[0];
  }

  /**
   * One etcd call, made again while etcd is unavailable (no leader during an election, a member
   * gone) for up to TRANSIENT_RETRY_MS; then, or on any other failure, the store's error. A
   * transaction made again after a lost answer may have landed: the writers above check for that.
   */
  private async call<R>(where: string, run: () => Promise<R>): Promise<R> {
    const giveUp = Date.now() + TRANSIENT_RETRY_MS;
    for (;;) {
      try {
        return await run();
      } catch (error) {
        const failure = storeErrorOf(error, where);
        if (failure.code !== 'unavailable' || this.closed || Date.now() + TRANSIENT_RETRY_PAUSE_MS > giveUp) throw failure;
        await new Promise((r) => setTimeout(r, TRANSIENT_RETRY_PAUSE_MS));
      }
    }
  }

  /**
   * The version of `key` this handle last read or wrote (undefined: never), without asking etcd:
   * what the server has applied of that document, for the replication lag in `cluster status`.
   */
  knownVersion(key: string): number | undefined {
    return this.versions.get(key);
  }

  /** The key's etcd create revision (its incarnation, for a guard's `created`), 0 when absent. */
  async incarnation(key: string): Promise<number> {
    return Number((await this.fetch(key, this.locate(key)))?.create_revision ?? 0);
  }

  private async version(key: string, where: string): Promise<number> {
    return Number((await this.fetch(key, where))?.version ?? 0);
  }

  private decode<T>(kv: IKeyValue, type: DocumentType<T>, where: string): StoredDocument<T> {
    const doc = decodeEnvelope(kv.value.toString(), type, (message) => new StoreError('damaged', where, message));
    // etcd's version is the truth for compare-and-swap; an upgraded document keeps its flag.
    const revision = Number(kv.version);
    return doc.upgraded ? { value: doc.value, revision, upgraded: true } : { value: doc.value, revision };
  }

  /** One etcd transaction: `key` at version `current`, every guard holding, then `ops`. */
  private async transact(key: string, current: number, options: WriteOptions, ops: Operation[], where: string): Promise<TxnResult> {
    const txn = () => {
      let t = this.ns.if(key, 'Version', '==', current);
      for (const g of options.guard ?? []) {
        t = t.and(checkKey(g.key), 'Version', '==', g.revision);
        if (g.created !== undefined) t = t.and(g.key, 'Create', '==', g.created);
      }
      return t.then(...ops);
    };
    const res = await this.call(where, () => txn().commit());
    this.see(res.header.revision);
    return res;
  }

  /** Throws the conflict that made a transaction fail; returns when a plain write only lost a race (it tries again). */
  private async explainConflict(where: string, options: WriteOptions): Promise<void> {
    try {
      await this.explainGuards(options.guard ?? []);
    } catch (error) {
      throw error instanceof StoreError && error.code === 'conflict' ? new StoreError('conflict', where, error.fault) : error;
    }
    if (options.expectRevision !== undefined)
      throw new StoreError('conflict', where, `changed meanwhile: expected revision ${options.expectRevision}, another write came first`);
  }

  private async explainGuards(guards: readonly WriteGuard[]): Promise<void> {
    for (const g of guards) {
      const where = this.locate(g.key);
      const kv = await this.fetch(g.key, where);
      const revision = Number(kv?.version ?? 0);
      if (revision !== g.revision) throw new StoreError('conflict', where, `guard failed: revision ${revision}, expected ${g.revision}`);
      if (g.created !== undefined && Number(kv?.create_revision ?? 0) !== g.created)
        throw new StoreError('conflict', where, `guard failed: the key was created anew (create revision ${kv?.create_revision ?? 'none'}, expected ${g.created})`);
    }
  }

  private see(revision: string): void {
    this.seenRevision = Math.max(this.seenRevision, Number(revision));
  }

  private own(revision: string): void {
    this.ownRevisions.add(revision);
    if (this.ownRevisions.size > OWN_REVISIONS_KEPT) this.ownRevisions.delete(this.ownRevisions.values().next().value as string);
  }

  private serialised<R>(key: string, work: () => Promise<R>): Promise<R> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return next;
  }

  private notify(change: DocumentChange): void {
    for (const w of this.watchers) if (change.key.startsWith(w.prefix)) w.listener(change);
  }
}
