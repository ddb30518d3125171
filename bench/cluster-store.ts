/**
 * The store under cluster mode: how long a document write takes to be acknowledged by a
 * 3-member etcd (a Raft majority committed it), and how long until another primary's watch
 * (its client on another member) is told of it; the file store's write (temp, fsync, rename,
 * directory fsync) on the same machine as the reference. Run by hand:
 *
 *     npm run bench:cluster
 *
 * Environment: BENCH_WRITES (500 sequential writes of one 1 KB document per store). Addresses:
 * etcd members 127.10.137.201-203 (ports 2379, 2380).
 */
import { connectEtcd } from '../src/cluster/etcd-client.js';
import { EtcdDocumentStore } from '../src/store/etcd-document-store.js';
import { FileDocumentStore } from '../src/store/file-document-store.js';
import { startEtcdCluster } from '../test/support/etcd-cluster.js';
import { haveTool, removeDir, tempDir } from '../test/support/external-servers.js';
import { COUNTER } from '../test/support/store-contract.js';

const WRITES = Number(process.env['BENCH_WRITES'] ?? 500);
const NOTE = 'x'.repeat(1000);

function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * q))]!;
}

const ms = (x: number): string => `${x.toFixed(2)} ms`;

async function main(): Promise<void> {
  if (!haveTool('etcd')) throw new Error('etcd is not installed (Debian: etcd-server)');
  const etcd = await startEtcdCluster(['127.10.137.201', '127.10.137.202', '127.10.137.203']);
  const dir = tempDir('bench-file-store');
  try {
    const writerClient = connectEtcd({ endpoints: [etcd.endpoints[0]!] });
    const readerClient = connectEtcd({ endpoints: [etcd.endpoints[2]!] });
    const writer = await EtcdDocumentStore.open(writerClient.namespace('/bench/'), '/bench/', 'writer');
    const reader = await EtcdDocumentStore.open(readerClient.namespace('/bench/'), '/bench/', 'reader');
    const seen = new Map<number, number>();
    reader.watch('doc', (c) => seen.set(c.revision ?? 0, performance.now()));
    await writer.write('doc', COUNTER, { count: 0, note: NOTE });
    while (!seen.has(1)) await new Promise((r) => setTimeout(r, 10));
    const ack: number[] = [];
    const told: number[] = [];
    for (let i = 1; i <= WRITES; i++) {
      const t0 = performance.now();
      const { revision } = await writer.write('doc', COUNTER, { count: i, note: NOTE });
      ack.push(performance.now() - t0);
      while (!seen.has(revision)) await new Promise((r) => setImmediate(r));
      told.push(seen.get(revision)! - t0);
    }
    await Promise.all([writer.close(), reader.close()]);
    writerClient.close();
    readerClient.close();

    const files = await FileDocumentStore.open(dir);
    const fileAck: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      const t0 = performance.now();
      await files.write('doc', COUNTER, { count: i, note: NOTE });
      fileAck.push(performance.now() - t0);
    }
    console.log(`${WRITES} writes of one 1 KB document`);
    console.log(`etcd (3 members), acknowledged:           median ${ms(quantile(ack, 0.5))}, p99 ${ms(quantile(ack, 0.99))}`);
    console.log(`etcd, seen by another member's watcher:   median ${ms(quantile(told, 0.5))}, p99 ${ms(quantile(told, 0.99))}`);
    console.log(`file store (fsync), acknowledged:         median ${ms(quantile(fileAck, 0.5))}, p99 ${ms(quantile(fileAck, 0.99))}`);
    console.log(`ratio etcd / file (median):               ${(quantile(ack, 0.5) / quantile(fileAck, 0.5)).toFixed(2)}`);
  } finally {
    await etcd.destroy();
    removeDir(dir);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
