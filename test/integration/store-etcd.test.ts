import { randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEtcd } from '../../src/cluster/etcd-client.js';
import { StoreError } from '../../src/store/document-store.js';
import { EtcdDocumentStore } from '../../src/store/etcd-document-store.js';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.js';
import { haveTool } from '../support/external-servers.js';
import { COUNTER, describeStoreContract } from '../support/store-contract.js';

/**
 * The store contract against a real 3-member etcd (Debian's etcd-server), the same suite the file
 * store passes, plus what only a distributed store has to show: a write acknowledged by one
 * member's client is read through another's; one member lost, reads and writes go on; every
 * member down, writes are refused as 'unavailable' and nothing is half-applied; etcd back, all
 * resumes.
 */
const HOSTS = ['127.10.136.1', '127.10.136.2', '127.10.136.3'];
const enabled = haveTool('etcd');

let cluster: EtcdCluster;
const clients: Etcd3[] = [];

function client(endpoints: readonly string[], callTimeoutMs = 2000): Etcd3 {
  const c = connectEtcd({ endpoints, callTimeoutMs });
  clients.push(c);
  return c;
}

async function openStore(c: Etcd3, prefix: string): Promise<EtcdDocumentStore> {
  return EtcdDocumentStore.open(c.namespace(prefix), prefix, `etcd ${prefix}`);
}

describe.skipIf(!enabled)('etcd store', () => {
  beforeAll(async () => {
    cluster = await startEtcdCluster(HOSTS);
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.destroy();
  });

  describeStoreContract('etcd, 3 members', async () => {
    const prefix = `/keymaster-test/${randomBytes(6).toString('hex')}/`;
    const c = client(cluster.endpoints);
    const store = await openStore(c, prefix);
    return {
      store,
      reopen: () => openStore(client(cluster.endpoints), prefix),
      writeRaw: async (key, text) => void (await c.namespace(prefix).put(key).value(text).exec()),
      cleanup: async () => void (await c.namespace(prefix).delete().all().exec()),
    };
  });

  it('a write acknowledged through one member is read through each other member, and watched there', async () => {
    const prefix = `/keymaster-test/${randomBytes(6).toString('hex')}/`;
    const writer = await openStore(client([cluster.endpoints[0]!]), prefix);
    const readers = await Promise.all([1, 2].map((i) => openStore(client([cluster.endpoints[i]!]), prefix)));
    const seen: string[] = [];
    const stop = readers[1]!.watch('policy', (c) => seen.push(`${c.key}@${c.revision}`));
    const others: number[] = [];
    const ownOnly: number[] = [];
    const stopOthers = readers[0]!.watchOthers('policy', (c) => others.push(c.revision ?? 0));
    const stopOwn = writer.watchOthers('policy', (c) => ownOnly.push(c.revision ?? 0));
    for (let i = 1; i <= 5; i++) {
      const w = await writer.write('policy', COUNTER, { count: i, note: 'n' });
      for (const r of readers) expect(await r.read('policy', COUNTER)).toMatchObject({ value: { count: i }, revision: w.revision });
    }
    await expect.poll(() => seen, { timeout: 10_000 }).toEqual(['policy@1', 'policy@2', 'policy@3', 'policy@4', 'policy@5']);
    await expect.poll(() => others, { timeout: 10_000 }).toEqual([1, 2, 3, 4, 5]);
    // watchOthers leaves out the handle's own writes: a reader of `others` has them all, the writer none.
    await readers[0]!.write('policy', COUNTER, { count: 6, note: 'reader' });
    await expect.poll(() => ownOnly, { timeout: 10_000 }).toEqual([6]);
    expect(others).toEqual([1, 2, 3, 4, 5]);
    stop();
    stopOthers();
    stopOwn();
    await Promise.all([writer, ...readers].map((s) => s.close()));
  });

  it('two servers writing one key at once: every write lands once, with its own revision; stale views are corrected, never trusted', async () => {
    const prefix = `/keymaster-test/${randomBytes(6).toString('hex')}/`;
    const [one, two] = await Promise.all([0, 2].map((i) => openStore(client([cluster.endpoints[i]!]), prefix)));
    const writes = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? one! : two!).write('policy', COUNTER, { count: i, note: i % 2 ? 'one' : 'two' })));
    expect(writes.map((w) => w.revision).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect((await one!.read('policy', COUNTER))?.revision).toBe(40);
    // Whatever version each handle last saw, a write lands on the current one.
    expect((await two!.write('policy', COUNTER, { count: 99, note: 'two' })).revision).toBe(41);
    expect(await one!.delete('policy')).toBe(true);
    expect(await two!.delete('policy')).toBe(false); // it thought the key was there
    expect((await two!.write('policy', COUNTER, { count: 1, note: 'again' })).revision).toBe(1);
    await Promise.all([one!.close(), two!.close()]);
  });

  it('a guard on a key deleted and created again (`created`) is refused, as a deposed role holder is', async () => {
    const prefix = `/keymaster-test/${randomBytes(6).toString('hex')}/`;
    const store = await openStore(client(cluster.endpoints), prefix);
    await store.write('roles/r', COUNTER, { count: 1, note: 'ns1' });
    const held = (await store.read('roles/r', COUNTER))!;
    const created = await store.incarnation('roles/r');
    expect(created).toBeGreaterThan(0);
    const fence = [{ key: 'roles/r', revision: held.revision, created }];
    await store.write('state', COUNTER, { count: 1, note: '' }, { guard: fence });
    await store.delete('roles/r');
    await store.write('roles/r', COUNTER, { count: 1, note: 'ns2' }); // same version 1, another incarnation
    const error = await store.write('state', COUNTER, { count: 2, note: 'late' }, { guard: fence }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'conflict' });
    expect((error as StoreError).message).toMatch(/created anew/);
    expect((await store.read('state', COUNTER))?.value.count).toBe(1);
    await store.close();
  });

  it('one member killed: reads and writes go on through the others; it rejoins with every write', async () => {
    const prefix = `/keymaster-test/${randomBytes(6).toString('hex')}/`;
    const store = await openStore(client(cluster.endpoints), prefix);
    await store.write('trust-anchors', COUNTER, { count: 1, note: '' });
    await cluster.stop(0, 'SIGKILL');
    try {
      for (let i = 2; i <= 6; i++) expect((await store.write('trust-anchors', COUNTER, { count: i, note: '' })).revision).toBe(i);
      expect((await store.read('trust-anchors', COUNTER))?.value.count).toBe(6);
    } finally {
      await cluster.restart(0);
    }
    const onRejoined = await openStore(client([cluster.endpoints[0]!]), prefix);
    await expect.poll(async () => (await onRejoined.read('trust-anchors', COUNTER))?.revision, { timeout: 10_000 }).toBe(6);
    await Promise.all([store.close(), onRejoined.close()]);
  }, 60_000);

  it('one member frozen (SIGSTOP, a hung host): writes go on through the others; thawed, it catches up', async () => {
    const prefix = `/keymaster-test/${randomBytes(6).toString('hex')}/`;
    const store = await openStore(client(cluster.endpoints, 1000), prefix);
    await store.write('policy', COUNTER, { count: 1, note: '' });
    cluster.freeze(1);
    try {
      for (let i = 2; i <= 6; i++) expect((await store.write('policy', COUNTER, { count: i, note: '' })).revision).toBe(i);
    } finally {
      cluster.thaw(1);
    }
    const onThawed = await openStore(client([cluster.endpoints[1]!]), prefix);
    await expect.poll(async () => (await onThawed.read('policy', COUNTER).catch(() => undefined))?.revision, { timeout: 15_000, interval: 250 }).toBe(6);
    await Promise.all([store.close(), onThawed.close()]);
  }, 90_000);

  it('all members stopped: writes and reads reject as unavailable, naming the key; back up, all resumes', async () => {
    const prefix = `/keymaster-test/${randomBytes(6).toString('hex')}/`;
    const store = await openStore(client(cluster.endpoints, 1000), prefix);
    await store.write('policy', COUNTER, { count: 1, note: 'before' });
    const seen: number[] = [];
    const stop = store.watch('policy', (c) => seen.push(c.revision ?? 0));
    await cluster.stopAll('SIGKILL');
    try {
      const error = await store.write('policy', COUNTER, { count: 2, note: 'during' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ code: 'unavailable' });
      expect((error as StoreError).message).toContain('policy');
      await expect(store.read('policy', COUNTER)).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await cluster.restartAll();
    }
    await expect.poll(async () => (await store.read('policy', COUNTER).catch(() => undefined))?.value, { timeout: 20_000, interval: 500 }).toEqual({ count: 1, note: 'before' });
    expect((await store.write('policy', COUNTER, { count: 3, note: 'after' })).revision).toBe(2);
    // The watch reconnected by itself: another server's write reaches it.
    const other = await openStore(client(cluster.endpoints), prefix);
    await other.write('policy', COUNTER, { count: 4, note: 'from another server' });
    await expect.poll(() => seen, { timeout: 20_000, interval: 200 }).toEqual([2, 3]);
    stop();
    await Promise.all([store.close(), other.close()]);
  }, 90_000);
});
