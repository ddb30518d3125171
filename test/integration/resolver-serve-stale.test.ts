/**
 * Serve-stale (RFC 8767) and prefetch on the wire, on 127.10.220.0/24: Keymaster and Unbound
 * (serve-expired, its EDE on, the oracle) forward to one scripted upstream that answers from a
 * zone with short TTLs, then stops answering. The unit test (test/unit/resolver-serve-stale.test.ts)
 * decides the rules on the injectable clock; this one checks what a client sees: the EDE, the
 * TTL, and that the response cache neither keeps a stale answer nor hides the last tenth of a TTL.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extendedErrors } from '../../src/wire/edns.js';
import { type Message, Rcode } from '../../src/wire/message.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type KeymasterServer, type RunningServer, haveTool, runUnbound, startKeymaster, tempDir } from '../support/external-servers.js';
import { type ScriptedServer, makeZone, records, startScriptedServer, zoneScript } from '../support/scripted-server.js';
import { askDnssec, summariseAnswer } from '../support/signed-hierarchy.js';

const P = '127.10.220';
const KEYMASTER = `${P}.1`;
const UPSTREAM = `${P}.2`;
const UNBOUND = `${P}.3`;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const edes = (m: Message) => extendedErrors(m.edns).map((e) => e.infoCode);
const aTtls = (m: Message) => m.answer.filter((r) => r.type === RRType.A).map((r) => r.ttl);

const zone = makeZone('stale.test.', records(`
  stale.test. 3600 IN SOA ns.stale.test. h.stale.test. 1 3600 900 604800 300
  stale.test. 3600 IN NS ns.stale.test.
  ns.stale.test. 3600 IN A ${UPSTREAM}
  gone.stale.test. 2 IN A 192.0.2.1
  prefetched.stale.test. 10 IN A 192.0.2.2
`));

describe.skipIf(!haveTool('unbound'))('serve-stale and prefetch, as a client sees them', () => {
  let upstream: ScriptedServer;
  let keymaster: KeymasterServer;
  let unbound: RunningServer;
  /** When the upstream received each query, by name. */
  const received: { name: string; at: number }[] = [];
  let answering = true;

  beforeAll(async () => {
    const honest = zoneScript([zone]);
    upstream = await startScriptedServer(UPSTREAM, (q, t) => {
      received.push({ name: q.question[0]!.name.toString(), at: Date.now() });
      return answering || q.question[0]!.name.toString() === 'stale.test.' ? honest(q, t) : undefined;
    });
    const dir = tempDir('unbound-stale');
    const conf = join(dir, 'unbound.conf');
    writeFileSync(conf,
      `server:\n  interface: ${UNBOUND}@53\n  port: 53\n  username: ""\n  chroot: ""\n  directory: "${dir}"\n  pidfile: "${dir}/unbound.pid"\n` +
      `  do-daemonize: no\n  use-syslog: no\n  logfile: ""\n  verbosity: 1\n  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n` +
      `  module-config: "iterator"\n  qname-minimisation: no\n  num-threads: 1\n  local-zone: "test." nodefault\n` +
      `  serve-expired: yes\n  serve-expired-reply-ttl: 30\n  serve-expired-client-timeout: 1800\n  ede: yes\n  ede-serve-expired: yes\n` +
      `remote-control:\n  control-enable: no\nforward-zone:\n  name: "stale.test."\n  forward-addr: ${UPSTREAM}\n`);
    [keymaster, unbound] = await Promise.all([
      startKeymaster({ address: KEYMASTER, control: `${KEYMASTER}:5380`, rootHints: 'builtin', forwarders: [UPSTREAM], resolverYaml: '  limits: { deadline: 2s }\n' }),
      runUnbound(conf, dir, UNBOUND, 53, 'stale.test.'),
    ]);
  }, 60_000);

  afterAll(async () => {
    await keymaster?.stop();
    await unbound?.stop();
    await upstream?.stop();
  });

  it('the upstream stopped, an expired answer comes back with TTL 30 and EDE 3, as from Unbound; again while the servers are rechecked', async () => {
    for (const host of [KEYMASTER, UNBOUND]) {
      const fresh = await askDnssec({ host, port: 53 }, 'gone.stale.test.', 'A');
      expect(aTtls(fresh), `${host} ${summariseAnswer(fresh)}`).toEqual([2]);
    }
    answering = false;
    await wait(3000);
    for (const host of [KEYMASTER, UNBOUND]) {
      for (let i = 0; i < 2; i++) {
        const stale = await askDnssec({ host, port: 53 }, 'gone.stale.test.', 'A', { timeoutMs: 8000 });
        const seen = `${host} ${summariseAnswer(stale)}`;
        expect(stale.rcode, seen).toBe(Rcode.NOERROR);
        expect(aTtls(stale), seen).toEqual([30]);
        expect(edes(stale), seen).toEqual([3]);
      }
    }
    answering = true;
  }, 40_000);

  it('prefetch: asked in the last tenth of its TTL, the answer is fetched upstream again before it expires', async () => {
    const first = await askDnssec({ host: KEYMASTER, port: 53 }, 'prefetched.stale.test.', 'A');
    const start = Date.now();
    expect(aTtls(first)).toEqual([10]);
    const asked = () => received.filter((q) => q.name === 'prefetched.stale.test.');
    expect(asked()).toHaveLength(1);
    // 9.4 s of 10: past the nine tenths the encoded answer is kept for, before expiry.
    await wait(9400);
    const late = await askDnssec({ host: KEYMASTER, port: 53 }, 'prefetched.stale.test.', 'A');
    expect(aTtls(late)[0]).toBeLessThanOrEqual(1);
    for (let i = 0; i < 50 && asked().length < 2; i++) await wait(20);
    expect(asked()).toHaveLength(2);
    expect(asked()[1]!.at - start).toBeLessThan(10_000);
    // The refreshed answer, from the cache, with the upstream not asked again.
    await wait(1000);
    const after = await askDnssec({ host: KEYMASTER, port: 53 }, 'prefetched.stale.test.', 'A');
    expect(aTtls(after)[0]).toBeGreaterThanOrEqual(8);
    expect(asked()).toHaveLength(2);
  }, 30_000);
});
