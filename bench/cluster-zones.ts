import { ask } from '../test/support/dns-hierarchy.js';
import { haveTool } from '../test/support/external-servers.js';
import { sendUpdate, startSingleZoneServer, startZoneCluster } from '../test/support/zone-cluster.js';

/**
 * Three primaries serving one signed zone through etcd (issue 13): how long an RFC 2136 UPDATE
 * (TSIG, over UDP) sent to one primary takes to be acknowledged (committed in etcd, re-signed, served
 * there), and until all three primaries answer the new record (the other two apply it through
 * the journal's watch and re-sign it themselves). Sequential updates, each to the next primary
 * in turn; the three are polled over UDP every millisecond. The same UPDATEs to one server
 * without `cluster:` are the reference. Run by hand:
 *
 *     npm run bench:cluster
 *
 * Environment: BENCH_UPDATES (300). Addresses: etcd 127.10.142.1-3, primaries 127.10.143.1-3.
 */
const UPDATES = Number(process.env['BENCH_UPDATES'] ?? 300);
const HOSTS = ['127.10.143.1', '127.10.143.2', '127.10.143.3'];

function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * q))]!;
}

const ms = (x: number): string => `${x.toFixed(1)} ms`;

async function servedEverywhere(name: string): Promise<void> {
  const pending = new Set(HOSTS);
  while (pending.size > 0) {
    for (const host of [...pending]) {
      const r = await ask({ host, port: 53 }, name, 'A', { timeoutMs: 2000, rd: false }).catch(() => undefined);
      if (r?.response.answer.some((x) => x.type === 1)) pending.delete(host);
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 1));
  }
}

async function main(): Promise<void> {
  for (const tool of ['etcd', 'dig']) if (!haveTool(tool)) throw new Error(`${tool} is not installed`);
  const lab = await startZoneCluster(['127.10.142.1', '127.10.142.2', '127.10.142.3'], HOSTS);
  try {
    const acked: number[] = [];
    const everywhere: number[] = [];
    for (let i = 0; i < UPDATES; i++) {
      const name = `bench${i}.cluster.example.`;
      const t0 = performance.now();
      const r = await sendUpdate(HOSTS[i % 3]!, { updates: [`${name} 300 IN A 192.0.2.${i % 250}`], udp: true });
      if (r.rcode !== 0) throw new Error(`UPDATE ${i} answered rcode ${r.rcode}`);
      acked.push(performance.now() - t0);
      await servedEverywhere(name);
      everywhere.push(performance.now() - t0);
    }
    console.log(`${UPDATES} UPDATEs (TSIG, one A record each) to three primaries in turn, signed zone (ECDSA P-256, NSEC3), 3-member etcd on loopback`);
    console.log(`acknowledged (committed in etcd, served there): median ${ms(quantile(acked, 0.5))}, p99 ${ms(quantile(acked, 0.99))}`);
    console.log(`answered by all three primaries:                median ${ms(quantile(everywhere, 0.5))}, p99 ${ms(quantile(everywhere, 0.99))}`);
  } finally {
    await lab.stop();
  }
  // The reference: the same zone and UPDATEs on one server without cluster: (file store, fsync).
  const single = await startSingleZoneServer(HOSTS[0]!);
  try {
    const acked: number[] = [];
    for (let i = 0; i < UPDATES; i++) {
      const t0 = performance.now();
      const r = await sendUpdate(HOSTS[0]!, { updates: [`single${i}.cluster.example. 300 IN A 192.0.2.${i % 250}`], udp: true });
      if (r.rcode !== 0) throw new Error(`UPDATE ${i} answered rcode ${r.rcode}`);
      acked.push(performance.now() - t0);
    }
    console.log(`one server, no cluster (reference), acknowledged: median ${ms(quantile(acked, 0.5))}, p99 ${ms(quantile(acked, 0.99))}`);
  } finally {
    await single.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
