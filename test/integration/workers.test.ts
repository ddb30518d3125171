/**
 * `workers: 2` (docs/workers.md): UDP answered by two node:cluster worker processes from their
 * copies of the primary's answer cache, everything else by the primary. Judged against the same
 * server with `workers: 1` on the same private tree (test/support/dns-hierarchy.ts): recursive,
 * authoritative and cached answers, access control and cookies must not differ; a zone change and
 * a cache flush reach every worker at once; a worker SIGKILLed under a steady load is replaced and
 * costs no more than the queries it held; the primary killed takes its workers with it.
 *
 * Addresses (127.10.134.0/24): the tree on .1–.17 (.250 dead), Keymaster `workers: 2` on .101,
 * `workers: 1` on .102, a client outside `recursion.allow` at .200.
 */
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdnsOptionCode, defaultEdns, findOption } from '../../src/wire/edns.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { type Message, newMessage, rcodeToString } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { randomQueryId } from '../../src/resolver/dns-transport.js';
import { type Hierarchy, EXPECTED_ANSWERS, answerSet, ask, authoritySoaOwners, buildQuery, describeResponse, startHierarchy } from '../support/dns-hierarchy.js';
import { type KeymasterServer, haveTool, removeDir, runKeymasterCli, startKeymaster, tempDir, udpExchangeRaw } from '../support/external-servers.js';

const PREFIX = '127.10.134';
const MULTI = { host: `${PREFIX}.101`, port: 53 };
const SINGLE = { host: `${PREFIX}.102`, port: 53 };
const OUTSIDER = `${PREFIX}.200`;
const ALLOW = ['127.0.0.1/32', `${PREFIX}.96/27`];
const TIMEOUT_MS = 15_000;
const HOSTED = 'hosted.lab.';
const HOSTED_ZONE = `$ORIGIN ${HOSTED}\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A 192.0.2.53\nwww A 192.0.2.80\nwww TXT "hosted"\n*.wild A 192.0.2.81\n`;

const tools = ['nsd'].every(haveTool);

interface WorkerStatus {
  configured: number;
  running: number;
  restarts: number;
  pids: number[];
}

async function workerStatus(server: KeymasterServer): Promise<WorkerStatus> {
  const r = await server.cli(['status', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const status = JSON.parse(r.stdout) as { workers?: WorkerStatus };
  expect(status.workers, 'status --json has workers with workers: 2').toBeDefined();
  return status.workers!;
}

/** Polls (not a timing judgement: it fails only if the state never comes) until `ok` holds. */
async function eventually<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, deadlineMs = 20_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What must be equal between the two servers: everything but ID and TTLs. */
function shape(m: Message): unknown {
  return {
    rcode: rcodeToString(m.rcode),
    flags: (['qr', 'aa', 'tc', 'rd', 'ra', 'ad', 'cd'] as const).filter((f) => m[f]),
    answer: answerSet(m),
    soa: authoritySoaOwners(m),
    ede: m.edns?.options.filter((o) => o.code === EdnsOptionCode.EDE).map((o) => (o.data[0]! << 8) | o.data[1]!) ?? [],
  };
}

/** `count` queries for the same name over UDP, each from its own socket (so the kernel spreads them over the workers). */
async function askMany(server: { host: string; port: number }, name: string, type: string, count: number): Promise<string[][]> {
  return Promise.all(Array.from({ length: count }, async () => answerSet((await ask(server, name, type, { timeoutMs: TIMEOUT_MS })).response)));
}

function queryWithCookie(name: string, cookie: Uint8Array): Uint8Array {
  const edns = defaultEdns({ udpSize: 1232 });
  edns.options.push({ code: EdnsOptionCode.COOKIE, data: cookie });
  return encodeMessage(newMessage({ id: randomQueryId(), rd: true, question: [{ name: Name.parse(name), type: RRType.A, class: 1 }], edns }));
}

describe.skipIf(!tools)('workers: 2 against workers: 1 on a private hierarchy', () => {
  let hierarchy: Hierarchy;
  let multi: KeymasterServer;
  let single: KeymasterServer;

  beforeAll(async () => {
    hierarchy = await startHierarchy({ prefix: PREFIX });
    const start = async (address: string, workers: number): Promise<KeymasterServer> => {
      const dir = tempDir('keymaster-workers');
      const zoneFile = join(dir, 'hosted.lab.zone');
      writeFileSync(zoneFile, HOSTED_ZONE);
      return startKeymaster({
        address,
        control: `${address}:5380`,
        rootHints: hierarchy.rootHintsFile,
        allow: ALLOW,
        workers,
        extraYaml: `zones:\n  - name: ${HOSTED}\n    file: ${JSON.stringify(zoneFile)}\n`,
      });
    };
    [multi, single] = await Promise.all([start(MULTI.host, 2), start(SINGLE.host, 1)]);
  }, 120_000);

  afterAll(async () => {
    await multi?.stop();
    await single?.stop();
    await hierarchy?.stop();
  });

  it('runs two workers, shown by status and logged as started', async () => {
    const w = await workerStatus(multi);
    expect(w).toMatchObject({ configured: 2, running: 2, restarts: 0 });
    expect(new Set(w.pids).size).toBe(2);
    for (const n of [1, 2]) expect(multi.log()).toContain(`"event":"server.worker-started","worker":${n},`);
    const single1 = JSON.parse((await single.cli(['status', '--json'])).stdout) as { workers?: unknown };
    expect(single1.workers, 'workers: 1 is the single process: no workers in its status').toBeUndefined();
  });

  it('counts the workers and their cache hits in /metrics and status, as the single process counts its own', async () => {
    await ask(MULTI, 'host.a.test.', 'A');
    const metric = async (line: RegExp): Promise<number> => {
      const text = await (await fetch(`http://${MULTI.host}:5380/metrics`)).text();
      return Number(line.exec(text)?.[1] ?? NaN);
    };
    const hits = /^keymaster_dns_responses_total\{transport="udp",rcode="NOERROR",cache="hit"\} (\d+)$/m;
    const before = (await metric(hits)) || 0;
    const queriesBefore = (JSON.parse((await multi.cli(['status', '--json'])).stdout) as { resolver: { queries: number } }).resolver.queries;
    const N = 50;
    for (const a of await askMany(MULTI, 'host.a.test.', 'A', N)) expect(a).toHaveLength(1);
    // A read of the control API first brings the workers' counters in: every answer already sent is counted.
    expect(await metric(hits)).toBeGreaterThanOrEqual(before + N);
    expect((JSON.parse((await multi.cli(['status', '--json'])).stdout) as { resolver: { queries: number } }).resolver.queries).toBeGreaterThanOrEqual(queriesBefore + N);
    expect(await metric(/^keymaster_workers (\d+)$/m)).toBe(2);
    expect(await metric(/^keymaster_worker_restarts_total (\d+)$/m)).toBe(0);
  });

  it.each(EXPECTED_ANSWERS)('answers $label ($name $type) as workers: 1 does, fresh and from the cache', async (e) => {
    for (const round of ['resolved', 'cached']) {
      const [m, s] = await Promise.all([ask(MULTI, e.name, e.type, { timeoutMs: TIMEOUT_MS }), ask(SINGLE, e.name, e.type, { timeoutMs: TIMEOUT_MS })]);
      expect(shape(m.response), `${round}: ${describeResponse(m.response)}`).toEqual(shape(s.response));
      expect(m.truncatedOverUdp, round).toBe(s.truncatedOverUdp);
    }
  });

  it('answers the hosted zone authoritatively as workers: 1 does (AA, NXDOMAIN, wildcard, DO)', async () => {
    for (const [name, type] of [[`www.${HOSTED}`, 'A'], [`www.${HOSTED}`, 'TXT'], [`nope.${HOSTED}`, 'A'], [`x.wild.${HOSTED}`, 'A'], [HOSTED, 'SOA'], [`www.${HOSTED}`, 'MX']] as const) {
      const [m, s] = await Promise.all([ask(MULTI, name, type), ask(SINGLE, name, type)]);
      expect(shape(m.response), `${name} ${type}: ${describeResponse(m.response)}`).toEqual(shape(s.response));
      expect(m.response.aa, `${name} ${type} is authoritative`).toBe(true);
    }
  });

  it('refuses recursion to a client outside recursion.allow even for a name the workers have cached', async () => {
    const name = 'www.a.test.';
    await ask(MULTI, name, 'A'); // cached now, in the workers too
    const query = encodeMessage(buildQuery(name, 'A'));
    const [m, s] = await Promise.all([udpExchangeRaw(MULTI, query, { source: OUTSIDER }), udpExchangeRaw(SINGLE, query, { source: OUTSIDER })]);
    expect(m && s, 'both answered the outsider').toBeTruthy();
    expect(rcodeToString(decodeMessage(m!).rcode)).toBe('REFUSED');
    expect(shape(decodeMessage(m!))).toEqual(shape(decodeMessage(s!)));
  });

  it('gives a server cookie from a worker that the primary accepts, and the other way round (one secret)', async () => {
    const clientCookie = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const name of ['www.a.test.', `www.${HOSTED}`, 'cookie-fresh.a.test.']) {
      // The first answer carries a server cookie; echoed back it must be valid wherever it lands.
      const first = decodeMessage((await udpExchangeRaw(MULTI, queryWithCookie(name, clientCookie)))!);
      const full = findOption(first.edns, EdnsOptionCode.COOKIE)?.data;
      expect(full?.length, `${name}: a server cookie came back`).toBe(24);
      for (let i = 0; i < 10; i++) {
        const again = decodeMessage((await udpExchangeRaw(MULTI, queryWithCookie(name, full!)))!);
        expect(rcodeToString(again.rcode), `${name} #${i}: the cookie is valid in every process`).not.toBe('BADCOOKIE');
        expect(findOption(again.edns, EdnsOptionCode.COOKIE)?.data.subarray(0, 8)).toEqual(clientCookie);
      }
    }
  });

  it('keeps answering cached names from the workers while the primary is stopped (the workers hold the cache)', async () => {
    const names = ['www.a.test.', 'x.b.example.', 'mx.a.test.'];
    for (const name of names) await ask(MULTI, name, 'A');
    // The copies travel to the workers in batches; status waits until every worker has applied them.
    await workerStatus(multi);
    const primary = multi.child.pid!;
    process.kill(primary, 'SIGSTOP');
    try {
      for (const name of names) {
        const answers = await askMany(MULTI, name, 'A', 10);
        const expected = answerSet((await ask(SINGLE, name, 'A')).response);
        for (const a of answers) expect(a, `${name} answered by a worker alone`).toEqual(expected);
      }
    } finally {
      process.kill(primary, 'SIGCONT');
    }
  });

  it('sees a zone change on every worker at once: the next queries all have the new record', async () => {
    const name = `added.${HOSTED}`;
    expect(rcodeToString((await ask(MULTI, name, 'A')).response.rcode)).toBe('NXDOMAIN');
    const add = await multi.cli(['zone', 'record', 'add', HOSTED, 'added', 'A', '192.0.2.99']);
    expect(add.code, add.stderr).toBe(0);
    for (const a of await askMany(MULTI, name, 'A', 40)) expect(a).toEqual([`${name} A 192.0.2.99`]);
  });

  it('flushes every worker with `cache flush`: changed upstream data is seen by all queries after it', async () => {
    const name = 'v.cache.example.';
    const old = (await ask(MULTI, name, 'A')).response;
    expect(answerSet(old)).toEqual([`${name} A 192.0.2.101`]);
    await hierarchy.updateZone('cache.example.', ['v.cache.example. A 192.0.2.201', 'w.cache.example. A 192.0.2.202']);
    for (const a of await askMany(MULTI, name, 'A', 20)) expect(a, 'still cached in every worker').toEqual([`${name} A 192.0.2.101`]);
    const flush = await multi.cli(['cache', 'flush']);
    expect(flush.code, flush.stderr).toBe(0);
    for (const a of await askMany(MULTI, name, 'A', 20)) expect(a, 'flushed in every worker').toEqual([`${name} A 192.0.2.201`]);
  });

  it('replaces a worker SIGKILLed under a steady load, losing at most the queries it held', async () => {
    const names = ['www.a.test.', 'x.b.example.', 'y.c.lab.', `www.${HOSTED}`, 'mx.a.test.'];
    for (const name of names) await ask(MULTI, name, 'A');
    const before = await workerStatus(multi);
    const victim = before.pids[0]!;
    const TOTAL = 2000;
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind({ address: '127.0.0.1', port: 0 }, () => r()));
    const answered = new Set<number>();
    socket.on('message', (msg) => {
      if (msg.length >= 12) answered.add(msg.readUInt16BE(0));
    });
    // A fixed rate, 1 query every 2 ms (about 4 s in all); the kill comes at the 500th.
    const queries = Array.from({ length: TOTAL }, (_, i) => {
      const m = buildQuery(names[i % names.length]!, 'A', { id: i });
      return encodeMessage(m);
    });
    for (let i = 0; i < TOTAL; i++) {
      socket.send(queries[i]!, MULTI.port, MULTI.host);
      if (i === 500) process.kill(victim, 'SIGKILL');
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 10));
    }
    // Late answers count as answered: wait until every one is in or the count stops moving.
    let last = -1;
    while (answered.size < TOTAL && answered.size !== last) {
      last = answered.size;
      await new Promise((r) => setTimeout(r, 1000));
    }
    socket.close();
    const lost = TOTAL - answered.size;
    process.stdout.write(`worker killed under load: ${lost} of ${TOTAL} queries unanswered\n`);
    // A UDP socket is shared: datagrams queued in the kernel are read by the other worker. Lost are
    // only those the victim had read and not answered.
    expect(lost, `${lost} of ${TOTAL} unanswered`).toBeLessThanOrEqual(10);
    const after = await eventually('the worker is replaced', () => workerStatus(multi), (w) => w.running === 2 && w.restarts === 1);
    expect(after.pids).not.toContain(victim);
    expect(multi.log()).toMatch(new RegExp(`"event":"server.worker-exited","worker":\\d,"pid":${victim},"code":null,"signal":"SIGKILL"`));
    expect((await ask(MULTI, 'www.a.test.', 'A')).response.rcode).toBe(0);
  }, 60_000);

  it('backs off when workers keep dying: each restart within a minute waits twice as long', async () => {
    // The load test above killed one: the next two exits inside the minute wait 500 ms, then 1000 ms.
    for (const [restarts, wait] of [[2, 500], [3, 1000]] as const) {
      const { pids } = await workerStatus(multi);
      process.kill(pids[1]!, 'SIGKILL');
      await eventually(`restart ${restarts}`, () => workerStatus(multi), (w) => w.running === 2 && w.restarts === restarts);
      expect(multi.log()).toMatch(new RegExp(`"event":"server.worker-exited","worker":\\d,"pid":${pids[1]},"code":null,"signal":"SIGKILL","restartInMs":${wait}`));
    }
  });

  it('takes the workers down with a killed primary: no orphans', async () => {
    const { pids } = await workerStatus(multi);
    expect(pids.every(alive)).toBe(true);
    process.kill(multi.child.pid!, 'SIGKILL');
    await eventually('the workers exit', async () => pids.filter(alive), (left) => left.length === 0);
  });
});

describe('workers: a worker cannot bind', () => {
  it('stops the start naming the address and the reason', async () => {
    // Another socket holds the UDP address: the workers' bind fails with EADDRINUSE.
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((r) => holder.bind({ address: `${PREFIX}.110`, port: 53 }, () => r()));
    const dir = tempDir('keymaster-workers-bind');
    const hints = join(dir, 'dead.root');
    writeFileSync(hints, '. 3600000 NS a.root-servers.invalid.\na.root-servers.invalid. 3600000 A 127.10.255.254\n');
    const config = join(dir, 'keymaster.yaml');
    writeFileSync(config, `listen: ["${PREFIX}.110:53"]\nworkers: 2\nstateDir: ${JSON.stringify(join(dir, 'state'))}\ncontrol: "${PREFIX}.110:5380"\nresolver:\n  rootHints: ${JSON.stringify(hints)}\ntrustAnchors:\n  rootAnchors: none\n`);
    try {
      const r = await runKeymasterCli(['serve', '--config', config], 30_000);
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/cannot listen for DNS over UDP on 127\.10\.134\.110:53: address already in use/);
    } finally {
      holder.close();
      removeDir(dir);
    }
  });
});
