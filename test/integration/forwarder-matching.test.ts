import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rcode, type Message } from '../../src/wire/message.js';
import { RRType } from '../../src/wire/rr-type.js';
import { ask } from '../support/dns-hierarchy.js';
import { type KeymasterServer, type RunningServer, haveTool, runUnbound, startKeymaster, tempDir } from '../support/external-servers.js';
import { type ScriptedServer, records, replyTo, startScriptedServer } from '../support/scripted-server.js';

/**
 * Per-namespace forwarders, end to end, with Unbound's forward-zone as the oracle: the same
 * namespaces forward to the same servers in both, and every name must reach the same server
 * (the most specific namespace, whole labels, any case). Each upstream answers every A query
 * with an address that says which upstream it is. Keymaster's exact-name rule (the NRPT's
 * `host.example.org`, which Unbound has no form for) is checked on its own.
 */
const NET = '127.10.131';
const KEYMASTER = { host: `${NET}.2`, port: 53 };
const UNBOUND = { host: `${NET}.3`, port: 53 };

/** Upstream number → its suffix namespace (NRPT spelling); the last one is Keymaster's exact-name rule. */
const UPSTREAMS = [
  { n: 11, namespace: '.' },
  { n: 12, namespace: '.com' },
  { n: 13, namespace: '.example.com' },
  { n: 14, namespace: '.lab.example.com' },
  { n: 15, namespace: '.ample.com' },
  { n: 16, namespace: 'host.example.org' },
] as const;
const EXACT = UPSTREAMS.at(-1)!;
const SUFFIXES = UPSTREAMS.filter((u) => u !== EXACT);

/** Name asked → the upstream that must answer it. */
const CASES: [string, number][] = [
  ['example.com.', 13],
  ['www.example.com.', 13],
  ['Www.ExAmple.COM.', 13],
  ['lab.example.com.', 14],
  ['a.b.LAB.example.com.', 14],
  ['notexample.com.', 12],
  ['xample.com.', 12],
  ['ample.com.', 15],
  ['www.ample.com.', 15],
  ['other.com.', 12],
  ['example.org.', 11],
  ['www\\.example.com.', 12],
  ['net.', 11],
];

const upstreamAddress = (n: number) => `192.0.2.${n}`;

function answeredBy(response: Message): number | undefined {
  const a = response.answer.find((r) => r.type === RRType.A);
  return a ? a.rdata[3] : undefined;
}

describe.skipIf(!haveTool('unbound'))('per-namespace forwarders: the most specific namespace wins, as in Unbound', () => {
  const upstreams: ScriptedServer[] = [];
  let keymaster: KeymasterServer;
  let unbound: RunningServer;

  beforeAll(async () => {
    for (const u of UPSTREAMS) {
      upstreams.push(
        await startScriptedServer(`${NET}.${u.n}`, (query) => {
          const q = query.question[0]!;
          if (q.type !== RRType.A) return replyTo(query, { ra: true });
          return replyTo(query, { ra: true, answer: records(`${q.name.toString()} 300 IN A ${upstreamAddress(u.n)}`) });
        }),
      );
    }
    const rules = UPSTREAMS.map((u) => `  - { namespace: "${u.namespace}", forwarders: ["${NET}.${u.n}"] }\n`).join('');
    keymaster = await startKeymaster({ address: KEYMASTER.host, control: `${KEYMASTER.host}:5380`, rootHints: 'builtin', extraYaml: `policy:\n${rules}` });
    const dir = tempDir('unbound-forward');
    const zones = SUFFIXES.map((u) => `forward-zone:\n  name: "${u.namespace === '.' ? '.' : u.namespace.slice(1)}"\n  forward-addr: ${NET}.${u.n}\n`).join('');
    const conf = join(dir, 'unbound.conf');
    writeFileSync(
      conf,
      `server:\n  interface: ${UNBOUND.host}@53\n  port: 53\n  username: ""\n  chroot: ""\n  directory: "${dir}"\n  pidfile: "${dir}/unbound.pid"\n` +
        `  do-daemonize: no\n  use-syslog: no\n  logfile: ""\n  verbosity: 1\n  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n` +
        `  module-config: "iterator"\n  qname-minimisation: no\n  num-threads: 1\nremote-control:\n  control-enable: no\n${zones}`,
    );
    unbound = await runUnbound(conf, dir, UNBOUND.host, 53, 'example.org.');
  }, 120_000);

  afterAll(async () => {
    await keymaster?.stop();
    await unbound?.stop();
    for (const u of upstreams) await u.stop();
  });

  it('every name reaches the upstream of its most specific namespace, in Keymaster and in Unbound alike', async () => {
    for (const [name, expected] of CASES) {
      const fromUnbound = await ask(UNBOUND, name, 'A', { timeoutMs: 8000 });
      const fromKeymaster = await ask(KEYMASTER, name, 'A', { timeoutMs: 8000 });
      expect(fromUnbound.response.rcode, `unbound ${name}`).toBe(Rcode.NOERROR);
      expect(fromKeymaster.response.rcode, `keymaster ${name}`).toBe(Rcode.NOERROR);
      expect(answeredBy(fromUnbound.response), `unbound ${name}`).toBe(expected);
      expect(answeredBy(fromKeymaster.response), `keymaster ${name}`).toBe(answeredBy(fromUnbound.response));
    }
  });

  it('a namespace without a leading dot is that name only (the NRPT exact rule)', async () => {
    const exact = await ask(KEYMASTER, 'HOST.example.org.', 'A', { timeoutMs: 8000 });
    expect(answeredBy(exact.response)).toBe(EXACT.n);
    const below = await ask(KEYMASTER, 'www.host.example.org.', 'A', { timeoutMs: 8000 });
    expect(answeredBy(below.response)).toBe(11);
    const upstream = upstreams.find((u) => u.address === `${NET}.${EXACT.n}`)!;
    expect(new Set(upstream.queries.map((q) => q.message.question[0]!.name.toString().toLowerCase()))).toEqual(new Set(['host.example.org.']));
  });
});
