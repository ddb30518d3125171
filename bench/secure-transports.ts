/**
 * DNS over TLS and DNS over HTTPS throughput: Keymaster against Unbound (one thread, its own DoT
 * and DoH service via tls-service-key / https-port), both answering the same small local zone on
 * loopback, measured by dnsperf (-m dot, -m doh) in one run and printed as ratios. UDP is
 * measured too, as the reference the encrypted transports cost against. Run by hand:
 *
 *     npm run bench:secure
 *
 * Environment: BENCH_SECONDS (10 per measurement), BENCH_CLIENTS (dnsperf -c, 8: connections),
 * BENCH_OUTSTANDING (dnsperf -q, 100). Addresses: Keymaster 127.10.192.1 (control :5380),
 * Unbound 127.10.192.2; ports 53, 853, 443 (run as root).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveTool, removeDir, runUnbound, startKeymaster, tempDir, type RunningServer } from '../test/support/external-servers.js';
import { makeCertificate } from '../test/support/tls-certificate.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 8);
const OUTSTANDING = Number(process.env['BENCH_OUTSTANDING'] ?? 100);
const KEYMASTER = '127.10.192.1';
const UNBOUND = '127.10.192.2';
const NAMES = ['www', 'mail', 'ftp', 'host1', 'host2', 'host3', 'nope'];

type Mode = 'udp' | 'dot' | 'doh';

/**
 * DoH load from Node: `CLIENTS` HTTP/2 sessions, each keeping `OUTSTANDING / CLIENTS` POSTs in
 * flight for `SECONDS`. dnsperf 2.10's DoH mode stops at the first response whose END_STREAM
 * comes in an empty DATA frame after the message ("frame received when already having a dns
 * msg"), which Node's HTTP/2 sends and which is valid HTTP/2; the same generator is used for both
 * servers, so the ratio is fair, and both share the machine with it.
 */
async function dohLoad(server: string): Promise<number> {
  const { connect } = await import('node:http2');
  const { encodeMessage } = await import('../src/wire/message-encoder.js');
  const { newMessage } = await import('../src/wire/message.js');
  const { Name } = await import('../src/wire/name.js');
  const bodies = NAMES.map((n) => Buffer.from(encodeMessage(newMessage({ id: 0, rd: true, question: [{ name: Name.parse(`${n}.bench.test.`), type: 1, class: 1 }] }))));
  const deadline = Date.now() + SECONDS * 1000;
  let completed = 0;
  const perSession = Math.max(1, Math.floor(OUTSTANDING / CLIENTS));
  const sessions = Array.from({ length: CLIENTS }, () => connect(`https://${server}`, { rejectUnauthorized: false }));
  const one = (session: ReturnType<typeof connect>, i: number): Promise<void> =>
    new Promise((resolve) => {
      const stream = session.request({ ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' });
      stream.on('data', () => {});
      stream.on('end', () => { completed++; resolve(); });
      stream.on('error', () => resolve());
      stream.end(bodies[i % bodies.length]);
    });
  const started = Date.now();
  await Promise.all(sessions.flatMap((session) => Array.from({ length: perSession }, async (_, k) => {
    for (let i = k; Date.now() < deadline; i += perSession) await one(session, i);
  })));
  const elapsed = (Date.now() - started) / 1000;
  for (const s of sessions) s.destroy();
  return completed / elapsed;
}

function dnsperf(server: string, mode: Mode, dataFile: string): number {
  const args = ['-s', server, '-m', mode, '-d', dataFile, '-c', String(CLIENTS), '-q', String(OUTSTANDING), '-l', String(SECONDS), '-t', '5'];
  const out = execFileSync('dnsperf', args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  const qps = /Queries per second:\s+([\d.]+)/.exec(out);
  const lost = /Queries lost:\s+(\d+)/.exec(out);
  if (!qps) throw new Error(`dnsperf output without a rate:\n${out}`);
  if (lost && Number(lost[1]) > 0) process.stderr.write(`  (${server} ${mode}: ${lost[1]} queries lost)\n`);
  return Number(qps[1]);
}

async function startUnboundSecure(dir: string, cert: { cert: string; key: string }): Promise<RunningServer> {
  const conf = join(dir, 'unbound.conf');
  const local = NAMES.filter((n) => n !== 'nope').map((n) => `  local-data: "${n}.bench.test. 300 IN A 192.0.2.1"\n`).join('');
  writeFileSync(
    conf,
    `server:\n  interface: ${UNBOUND}@53\n  interface: ${UNBOUND}@853\n  interface: ${UNBOUND}@443\n  port: 53\n` +
      `  tls-port: 853\n  https-port: 443\n  tls-service-key: "${cert.key}"\n  tls-service-pem: "${cert.cert}"\n` +
      `  username: ""\n  chroot: ""\n  directory: "${dir}"\n  pidfile: "${dir}/unbound.pid"\n  do-daemonize: no\n  use-syslog: no\n  logfile: ""\n` +
      `  verbosity: 0\n  num-threads: 1\n  access-control: 127.0.0.0/8 allow\n  incoming-num-tcp: 1000\n  module-config: "iterator"\n` +
      `  local-zone: "bench.test." static\n  local-data: "bench.test. 300 IN SOA ns hostmaster 1 60 30 600 60"\n${local}` +
      `remote-control:\n  control-enable: no\n`,
  );
  return runUnbound(conf, dir, UNBOUND, 53, 'bench.test.');
}

async function main(): Promise<void> {
  for (const tool of ['dnsperf', 'unbound', 'openssl']) if (!haveTool(tool)) throw new Error(`${tool} is not installed`);
  const dir = tempDir('bench-secure');
  const unboundDir = join(dir, 'unbound');
  execFileSync('mkdir', ['-p', unboundDir]);
  const kmCert = makeCertificate(dir, KEYMASTER, 'keymaster', 'km-');
  const ubCert = makeCertificate(unboundDir, UNBOUND, 'unbound', 'ub-');
  writeFileSync(join(dir, 'bench.zone'), `$TTL 300\n@ SOA ns hostmaster 1 60 30 600 60\n@ NS ns\nns A ${KEYMASTER}\n${NAMES.filter((n) => n !== 'nope').map((n) => `${n} A 192.0.2.1`).join('\n')}\n`);
  const data = join(dir, 'queries.txt');
  writeFileSync(data, NAMES.map((n) => `${n}.bench.test. A\n`).join(''));
  const keymaster = await startKeymaster({
    address: KEYMASTER,
    control: `${KEYMASTER}:5380`,
    rootHints: 'builtin',
    forwarders: ['127.10.192.254'],
    extraYaml:
      `log: { level: warn }\nlistenTls: ["${KEYMASTER}:853"]\nlistenHttps: ["${KEYMASTER}:443"]\n` +
      `tls: { cert: ${JSON.stringify(kmCert.cert)}, key: ${JSON.stringify(kmCert.key)} }\nmetrics: false\n` +
      `zones:\n  - { name: bench.test., file: ${JSON.stringify(join(dir, 'bench.zone'))} }\n`,
  });
  const unbound = await startUnboundSecure(unboundDir, ubCert);
  const rows: [Mode, number, number][] = [];
  try {
    for (const mode of ['udp', 'dot', 'doh'] as const) {
      process.stderr.write(`${mode}: Keymaster, then Unbound, ${SECONDS} s each\n`);
      if (mode === 'doh') rows.push([mode, await dohLoad(KEYMASTER), await dohLoad(UNBOUND)]);
      else rows.push([mode, dnsperf(KEYMASTER, mode, data), dnsperf(UNBOUND, mode, data)]);
    }
  } finally {
    await keymaster.stop();
    await unbound.stop();
    removeDir(dir);
  }
  const f = (n: number) => n.toFixed(0).padStart(9);
  process.stdout.write(`\nlocal-zone answers on loopback, ${CLIENTS} connections, ${OUTSTANDING} in flight, ${SECONDS} s each (udp, dot: dnsperf; doh: the Node HTTP/2 generator above)\n`);
  process.stdout.write(`transport  keymaster q/s  unbound q/s  keymaster/unbound\n`);
  for (const [mode, km, ub] of rows) process.stdout.write(`${mode.padEnd(9)}  ${f(km)}      ${f(ub)}    ${(km / ub).toFixed(2)}\n`);
}

await main();
