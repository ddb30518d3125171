/**
 * The resolver's upstream query path on its own: UpstreamClient (in-flight limiter, EDNS, cookies,
 * server selection) over the outgoing port pool, against a bare UDP responder in another process
 * (bench/udp-ceiling.ts) on 127.10.135.20. Run by hand (as root: port 53):
 *
 *     npm run bench:upstream
 *
 * Prints exchanges per second, CPU microseconds per exchange, and the garbage collector's share
 * (PerformanceObserver 'gc' entries): the per-query cost of the cold path before validation.
 * Environment: BENCH_EXCHANGES (20000), BENCH_CONCURRENCY (50), BENCH_QUERIES_PER_SOCKET (1).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { systemClock } from '../src/clock.js';
import { exchangeTcp } from '../src/resolver/dns-transport.js';
import { DEFAULT_OUTGOING, OutgoingPortPool } from '../src/resolver/outgoing-port-pool.js';
import { pooledUdpExchange } from '../src/resolver/pooled-udp-exchange.js';
import { DEFAULT_RESOLUTION_LIMITS, QueryBudget } from '../src/resolver/resolution-limits.js';
import { ServerSelection } from '../src/resolver/server-selection.js';
import { UpstreamClient } from '../src/resolver/upstream-client.js';
import { UpstreamCookies } from '../src/resolver/upstream-cookies.js';
import { Name } from '../src/wire/name.js';
import { RRType } from '../src/wire/rr-type.js';
import { fmt, machine, startUdpCeiling, table } from './bench-kit.js';

const EXCHANGES = Number(process.env['BENCH_EXCHANGES'] ?? 20_000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 50);
const QUERIES_PER_SOCKET = Number(process.env['BENCH_QUERIES_PER_SOCKET'] ?? 1);
const RESPONDER = '127.10.135.20';

async function main(): Promise<void> {
  const responder = await startUdpCeiling(RESPONDER);
  let gcMs = 0;
  let gcs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      gcs++;
    }
  });
  try {
    const pool = new OutgoingPortPool({ ...DEFAULT_OUTGOING, queriesPerSocket: QUERIES_PER_SOCKET });
    const exchanges = { udp: pooledUdpExchange(pool), tcp: exchangeTcp };
    const client = new UpstreamClient(new ServerSelection(systemClock), systemClock, undefined, new UpstreamCookies(), exchanges);
    const server = [{ host: RESPONDER, port: 53 }];
    let next = 0;
    let answered = 0;
    const worker = async () => {
      while (next < EXCHANGES) {
        const i = next++;
        const question = { name: Name.parse(`n${i % 1000}.bench.`), type: RRType.A, class: 1 };
        const budget = new QueryBudget(DEFAULT_RESOLUTION_LIMITS, systemClock.now());
        if (await client.ask(server, question, { recursionDesired: false, dnssecOk: true }, budget)) answered++;
      }
    };
    // Warm-up (JIT), then the measured run.
    next = EXCHANGES - Math.min(2000, EXCHANGES);
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    next = 0;
    answered = 0;
    observer.observe({ entryTypes: ['gc'] });
    const cpu = process.cpuUsage();
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    await new Promise((r) => setTimeout(r, 50));
    observer.disconnect();
    pool.close();
    const cpuUs = (used.user + used.system) / EXCHANGES;
    process.stdout.write(
      `\n${machine()}\nUpstreamClient over the outgoing port pool (queriesPerSocket ${QUERIES_PER_SOCKET}), ${fmt(EXCHANGES)} exchanges, ${CONCURRENCY} at a time\n\n` +
        table([
          ['exchanges/s', 'CPU µs / exchange', 'GC ms', 'GCs', 'GC share of CPU', 'answered'],
          [fmt(EXCHANGES / seconds), fmt(cpuUs, 1), fmt(gcMs, 0), fmt(gcs), `${((100 * gcMs * 1000) / (used.user + used.system)).toFixed(1)} %`, `${fmt(answered)}/${fmt(EXCHANGES)}`],
        ]) +
        '\n',
    );
  } finally {
    responder.kill('SIGTERM');
  }
}

await main();
