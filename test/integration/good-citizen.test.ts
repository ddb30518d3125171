import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COOKIE_SECRET_FILE } from '../../src/cookies/cookie-secret.js';
import type { ServerStatus } from '../../src/control-contract/status.js';
import { SHIPPED_ROOT_ANCHORS } from '../../src/trust/root-anchors-source.js';
import { EdnsOptionCode, defaultEdns } from '../../src/wire/edns.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { type Message, Rcode, newMessage, rcodeToString } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { ask } from '../support/dns-hierarchy.js';
import { type KeymasterServer, type RunningServer, haveTool, removeDir, runUnbound, startKeymaster, tempDir, udpExchangeRaw } from '../support/external-servers.js';
import { type P7sLab, p7sLab } from '../support/p7s-lab.js';
import { type ScriptedServer, makeZone, records, replyTo, startScriptedServer, zoneScript } from '../support/scripted-server.js';

const run = promisify(execFile);

// Loopback addresses of this file: 127.10.160.0/24.
const ROOT = '127.10.160.2';
const KEYMASTER = { host: '127.10.160.3', port: 53 };
const FORWARDER = '127.10.160.4';
const UNBOUND = { host: '127.10.160.5', port: 53 };
/** Outside `recursion.allow` (127.0.0.1 and 127.10.160.0/25). */
const STRANGER = '127.10.160.200';

const ROOT_ZONE = records(`
. 3600 IN SOA a.root-servers.net. hostmaster.root. 1 3600 600 86400 300
. 3600 IN NS a.root-servers.net.
a.root-servers.net. 3600 IN A ${ROOT}
www.example. 3600 IN A 192.0.2.1
rd0.example. 3600 IN A 192.0.2.3
x.invalid. 3600 IN A 192.0.2.9
`);

const HOME_ZONE = `$ORIGIN home.arpa.
$TTL 300
@ SOA ns.home.arpa. admin.home.arpa. 7 3600 600 86400 300
@ NS ns.home.arpa.
ns A 192.168.1.1
router A 192.168.1.1
`;

const answers = (m: Message) => m.answer.map((r) => `${r.name} ${r.type} ${rdataToText(r.type, r.rdata)}`).sort();
const soaOwner = (m: Message) => m.authority.find((r) => r.type === RRType.SOA)?.name.toString();
const soaText = (m: Message) => {
  const soa = m.authority.find((r) => r.type === RRType.SOA);
  return soa ? rdataToText(RRType.SOA, soa.rdata) : undefined;
};

describe('a good citizen by default', () => {
  let root: ScriptedServer;
  let forwarder: ScriptedServer;
  let km: KeymasterServer;
  let dir: string;
  let lab: P7sLab | undefined;

  beforeAll(async () => {
    dir = tempDir('good-citizen');
    // A CA of our own stands in for ICANN's, to sign root-anchors.xml copies for add-root.
    if (haveTool('openssl')) lab = p7sLab(dir);
    const hints = join(dir, 'root.hints');
    writeFileSync(hints, `. 3600000 NS a.root-servers.net.\na.root-servers.net. 3600000 A ${ROOT}\n`);
    const homeFile = join(dir, 'home.arpa.zone');
    writeFileSync(homeFile, HOME_ZONE);
    root = await startScriptedServer(ROOT, zoneScript([makeZone('.', ROOT_ZONE)]));
    // A corporate DNS the operator forwards some reverse zones to: it knows every PTR.
    forwarder = await startScriptedServer(FORWARDER, (query) => {
      const q = query.question[0]!;
      return replyTo(query, { ra: true, answer: records(`${q.name} 60 IN PTR forwarded.corp.example.`) });
    });
    km = await startKeymaster({
      address: KEYMASTER.host,
      control: `${KEYMASTER.host}:5380`,
      rootHints: hints,
      rootAnchors: 'none',
      allow: ['127.0.0.1/32', '127.10.160.0/25'],
      resolverYaml: '  localZones: { disable: ["invalid."] }\n',
      ...(lab ? { trustAnchorsYaml: `  rootAnchorsCa: ${JSON.stringify(lab.caFile)}\n` } : {}),
      extraYaml:
        `zones:\n  - name: home.arpa.\n    file: ${JSON.stringify(homeFile)}\n` +
        `policy:\n  - { namespace: .16.172.in-addr.arpa, forwarders: ["${FORWARDER}"] }\n`,
    });
  }, 60_000);

  afterAll(async () => {
    await km?.stop();
    await forwarder?.stop();
    await root?.stop();
    if (dir) removeDir(dir);
  });

  describe('locally served zones', () => {
    it('a PTR for 10.1.2.3, localhost. A and x.onion. A are answered here, authoritatively, and nothing goes upstream', async () => {
      const before = root.queries.length + forwarder.queries.length;
      const ptr = (await ask(KEYMASTER, '3.2.1.10.in-addr.arpa.', 'PTR')).response;
      expect(rcodeToString(ptr.rcode)).toBe('NXDOMAIN');
      expect(ptr.aa).toBe(true);
      expect(soaOwner(ptr)).toBe('10.in-addr.arpa.');
      expect(soaText(ptr)).toBe('localhost. nobody.invalid. 1 3600 1200 604800 10800');

      const localhost = (await ask(KEYMASTER, 'localhost.', 'A')).response;
      expect(localhost.aa).toBe(true);
      expect(answers(localhost)).toEqual(['localhost. 1 127.0.0.1']);
      const v6 = (await ask(KEYMASTER, 'printer.localhost.', 'AAAA')).response;
      expect(answers(v6)).toEqual(['printer.localhost. 28 ::1']);

      const onion = (await ask(KEYMASTER, 'x.onion.', 'A')).response;
      expect(rcodeToString(onion.rcode)).toBe('NXDOMAIN');
      expect(onion.aa).toBe(true);
      expect(soaOwner(onion)).toBe('onion.');

      const loopback = (await ask(KEYMASTER, '1.0.0.127.in-addr.arpa.', 'PTR')).response;
      expect(answers(loopback)).toEqual(['1.0.0.127.in-addr.arpa. 12 localhost.']);
      const test = (await ask(KEYMASTER, 'anything.test.', 'A')).response;
      expect(rcodeToString(test.rcode)).toBe('NXDOMAIN');

      expect(root.queries.length + forwarder.queries.length).toBe(before);
      for (const ns of ['in-addr.arpa.', 'localhost.', 'onion.', 'test.']) expect(root.queriesAtOrBelow(ns), ns).toEqual([]);
    });

    it('a hosted home.arpa. wins over the default', async () => {
      const router = (await ask(KEYMASTER, 'router.home.arpa.', 'A')).response;
      expect(answers(router)).toEqual(['router.home.arpa. 1 192.168.1.1']);
      const missing = (await ask(KEYMASTER, 'nothere.home.arpa.', 'A')).response;
      expect(rcodeToString(missing.rcode)).toBe('NXDOMAIN');
      expect(soaText(missing)).toBe('ns.home.arpa. admin.home.arpa. 7 3600 600 86400 300');
    });

    it('a forwarder the operator set for a reverse zone wins, from the config and from `keymaster policy`', async () => {
      const viaConfig = (await ask(KEYMASTER, '5.4.16.172.in-addr.arpa.', 'PTR')).response;
      expect(answers(viaConfig)).toEqual(['5.4.16.172.in-addr.arpa. 12 forwarded.corp.example.']);
      const sibling = (await ask(KEYMASTER, '5.4.17.172.in-addr.arpa.', 'PTR')).response;
      expect(rcodeToString(sibling.rcode)).toBe('NXDOMAIN');
      expect(forwarder.queriesAtOrBelow('17.172.in-addr.arpa.')).toEqual([]);

      const added = await km.cli(['policy', 'add', '.10.in-addr.arpa', '--forwarders', FORWARDER]);
      expect(added.code, added.stderr).toBe(0);
      const forwarded = (await ask(KEYMASTER, '3.2.1.10.in-addr.arpa.', 'PTR')).response;
      expect(answers(forwarded)).toEqual(['3.2.1.10.in-addr.arpa. 12 forwarded.corp.example.']);
      expect(forwarder.queriesAtOrBelow('10.in-addr.arpa.').length).toBeGreaterThan(0);
      const removed = await km.cli(['policy', 'remove', '.10.in-addr.arpa']);
      expect(removed.code, removed.stderr).toBe(0);
      const local = (await ask(KEYMASTER, '3.2.1.10.in-addr.arpa.', 'PTR')).response;
      expect(rcodeToString(local.rcode)).toBe('NXDOMAIN');
      expect(soaOwner(local)).toBe('10.in-addr.arpa.');
    });

    it('a zone disabled in the config is resolved as any other name', async () => {
      const r = (await ask(KEYMASTER, 'x.invalid.', 'A')).response;
      expect(answers(r)).toEqual(['x.invalid. 1 192.0.2.9']);
      expect(root.queriesAtOrBelow('invalid.').length).toBeGreaterThan(0);
    });

    it('keymaster status lists them, and says which are hosted, forwarded or disabled', async () => {
      const json = await km.cli(['status', '--json']);
      expect(json.code, json.stderr).toBe(0);
      const status = JSON.parse(json.stdout) as ServerStatus;
      const state = (zone: string) => status.localZones?.zones.find((z) => z.zone === zone)?.state;
      expect(state('10.in-addr.arpa.')).toBe('served');
      expect(state('onion.')).toBe('served');
      expect(state('home.arpa.')).toBe('hosted');
      expect(state('invalid.')).toBe('disabled');
      expect(state('16.172.in-addr.arpa.')).toBe('forwarded');
      expect(status.localZones?.zones.length).toBe(102);
      const text = await km.cli(['status']);
      expect(text.stdout).toMatch(/Locally served zones \(99\):\n  localhost\. 127\.in-addr\.arpa\./);
      expect(text.stdout).toMatch(/\s17-31\.172\.in-addr\.arpa\.\s/);
      expect(text.stdout).toMatch(/\s64-127\.100\.in-addr\.arpa\.\s/);
      expect(text.stdout).toContain('home.arpa. (hosted here)');
    });
  });

  describe('root-anchors.xml and its signature', () => {
    it('trust-point add-root --file takes a file whose p7s verifies, and refuses it with one byte changed, saying why', async () => {
      if (!lab) return;
      copyFileSync(SHIPPED_ROOT_ANCHORS, join(dir, 'root-anchors.xml'));
      writeFileSync(join(dir, 'root-anchors.p7s'), lab.sign('root-anchors.xml', 'signer', ['inter']));
      const ok = await km.cli(['trust-point', 'add-root', '--file', join(dir, 'root-anchors.xml')]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(km.log()).toMatch(/"trust-point.root-anchors-loaded".*"verified":true/);
      const xml = readFileSync(join(dir, 'root-anchors.xml'));
      xml[xml.indexOf('38696')] = '4'.charCodeAt(0);
      writeFileSync(join(dir, 'root-anchors.xml'), xml);
      const bad = await km.cli(['trust-point', 'add-root', '--file', join(dir, 'root-anchors.xml')]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr + bad.stdout).toContain(`${join(dir, 'root-anchors.xml')} is refused: its signature ${join(dir, 'root-anchors.p7s')} does not verify`);
    });
  });

  describe('RD=0: the cache only', () => {
    it('a cached name is answered from the cache; an uncached one gets a referral and causes no upstream query', async () => {
      await ask(KEYMASTER, 'www.example.', 'A');
      const before = root.queries.length;
      const cached = (await ask(KEYMASTER, 'www.example.', 'A', { rd: false })).response;
      expect(answers(cached)).toEqual(['www.example. 1 192.0.2.1']);
      expect(cached.aa).toBe(false);
      const uncached = (await ask(KEYMASTER, 'rd0.example.', 'A', { rd: false })).response;
      expect(rcodeToString(uncached.rcode)).toBe('NOERROR');
      expect(uncached.answer).toEqual([]);
      expect(uncached.authority.map((r) => `${r.name} ${r.type}`)).toEqual(['. 2']);
      expect(root.queries.length).toBe(before);
      expect(root.queriesAtOrBelow('rd0.example.')).toEqual([]);
      // The referral was not kept as the answer: RD=1 resolves the name, then RD=0 has it.
      const resolved = (await ask(KEYMASTER, 'rd0.example.', 'A')).response;
      expect(answers(resolved)).toEqual(['rd0.example. 1 192.0.2.3']);
      const now = (await ask(KEYMASTER, 'rd0.example.', 'A', { rd: false })).response;
      expect(answers(now)).toEqual(['rd0.example. 1 192.0.2.3']);
    });

    it('dig +norecurse agrees, and a locally served name is answered with RD=0 too', async () => {
      if (!haveTool('dig')) return;
      const { stdout } = await run('dig', ['+norecurse', '+noall', '+answer', `@${KEYMASTER.host}`, 'www.example.', 'A']);
      expect(stdout).toMatch(/^www\.example\.\s+\d+\s+IN\s+A\s+192\.0\.2\.1$/m);
      const local = (await ask(KEYMASTER, 'localhost.', 'A', { rd: false })).response;
      expect(answers(local)).toEqual(['localhost. 1 127.0.0.1']);
    });

    it('a client outside recursion.allow is REFUSED, with RD=0 as with RD=1', async () => {
      for (const rd of [false, true]) {
        const query = newMessage({ id: 4242, rd, question: [{ name: Name.parse('www.example.'), type: RRType.A, class: 1 }], edns: defaultEdns() });
        const raw = await udpExchangeRaw(KEYMASTER, encodeMessage(query), { source: STRANGER, timeoutMs: 5000 });
        expect(raw).toBeDefined();
        expect(decodeMessage(raw!).rcode).toBe(Rcode.REFUSED);
      }
    });
  });

  describe('DNS cookies (RFC 7873, RFC 9018)', () => {
    const kdig = async (...args: string[]) => (await run('kdig', [`@${KEYMASTER.host}`, ...args])).stdout;
    const cookieOf = (out: string) => /;; COOKIE: ([0-9A-F]+)/i.exec(out)?.[1]?.toLowerCase();

    it('kdig +cookie gets a server cookie back, and a second query with it is answered', async () => {
      if (!haveTool('kdig')) return;
      const first = await kdig('+cookie', 'www.example.', 'A');
      expect(first).toMatch(/status: NOERROR/);
      const cookie = cookieOf(first)!;
      expect(cookie).toMatch(/^[0-9a-f]{16}01000000[0-9a-f]{8}[0-9a-f]{16}$/);
      const second = await kdig(`+cookie=${cookie}`, '+nobadcookie', 'www.example.', 'A');
      expect(second).toMatch(/status: NOERROR/);
      expect(second).toMatch(/www\.example\.\s+\d+\s+IN\s+A\s+192\.0\.2\.1/);
      expect(cookieOf(second)?.slice(0, 16)).toBe(cookie.slice(0, 16));
      // The same over TCP.
      expect(await kdig('+tcp', `+cookie=${cookie}`, 'www.example.', 'A')).toMatch(/status: NOERROR/);
    });

    it('a wrong server cookie gets BADCOOKIE with a fresh cookie over UDP, an answer over TCP', async () => {
      if (!haveTool('kdig')) return;
      const forged = 'a1b2c3d4e5f60718' + '0100000000000000aaaaaaaaaaaaaaaa';
      const bad = await kdig(`+cookie=${forged}`, '+nobadcookie', 'www.example.', 'A');
      expect(bad).toMatch(/status: BADCOOKIE/);
      expect(bad).not.toMatch(/192\.0\.2\.1/);
      const fresh = cookieOf(bad)!;
      expect(fresh.slice(0, 16)).toBe('a1b2c3d4e5f60718');
      expect(fresh).not.toBe(forged);
      expect(await kdig(`+cookie=${fresh}`, '+nobadcookie', 'www.example.', 'A')).toMatch(/status: NOERROR/);
      expect(await kdig('+tcp', `+cookie=${forged}`, 'www.example.', 'A')).toMatch(/status: NOERROR/);
    });

    it('a malformed COOKIE option is FORMERR', async () => {
      for (const length of [5, 12, 41]) {
        const query = newMessage({ id: 77, rd: true, question: [{ name: Name.parse('www.example.'), type: RRType.A, class: 1 }], edns: defaultEdns({ options: [{ code: EdnsOptionCode.COOKIE, data: new Uint8Array(length) }] }) });
        const raw = await udpExchangeRaw(KEYMASTER, encodeMessage(query), { timeoutMs: 5000 });
        expect(decodeMessage(raw!).rcode, `${length} bytes`).toBe(Rcode.FORMERR);
      }
    });

    it('the secret is in the state dir, 0600', () => {
      const mode = statSync(join(km.stateDir, COOKIE_SECRET_FILE)).mode & 0o777;
      expect(mode).toBe(0o600);
    });
  });
});

/** The same questions to Unbound (its default local zones) and to Keymaster: the same answers. */
describe('locally served zones against Unbound', () => {
  let unbound: RunningServer | undefined;
  let km: KeymasterServer;
  const QUESTIONS: [string, string][] = [
    ['3.2.1.10.in-addr.arpa.', 'PTR'], ['10.in-addr.arpa.', 'SOA'], ['10.in-addr.arpa.', 'NS'], ['10.in-addr.arpa.', 'TXT'],
    ['1.1.168.192.in-addr.arpa.', 'PTR'], ['9.9.31.172.in-addr.arpa.', 'PTR'], ['1.0.254.169.in-addr.arpa.', 'PTR'], ['1.0.64.100.in-addr.arpa.', 'PTR'],
    ['localhost.', 'A'], ['localhost.', 'AAAA'], ['localhost.', 'SOA'], ['localhost.', 'NS'], ['localhost.', 'MX'], ['localhost.', 'ANY'], ['a.b.localhost.', 'A'], ['a.localhost.', 'TXT'],
    ['1.0.0.127.in-addr.arpa.', 'PTR'], ['2.0.0.127.in-addr.arpa.', 'PTR'], ['0.0.127.in-addr.arpa.', 'PTR'], ['1.0.0.127.in-addr.arpa.', 'A'],
    [`1.${'0.'.repeat(31)}ip6.arpa.`, 'PTR'], [`${'0.'.repeat(32)}ip6.arpa.`, 'PTR'], ['1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa.', 'PTR'],
    ['x.d.f.ip6.arpa.', 'PTR'], ['1.8.b.d.0.1.0.0.2.ip6.arpa.', 'PTR'],
    ['home.arpa.', 'SOA'], ['printer.home.arpa.', 'A'], ['x.onion.', 'A'], ['onion.', 'NS'], ['x.test.', 'A'], ['test.', 'SOA'], ['x.invalid.', 'AAAA'],
  ];

  beforeAll(async () => {
    if (!haveTool('unbound')) return;
    const dir = tempDir('unbound-local');
    const conf = join(dir, 'unbound.conf');
    writeFileSync(
      conf,
      `server:\n  interface: ${UNBOUND.host}\n  port: 53\n  username: ""\n  chroot: ""\n  directory: "${dir}"\n  pidfile: "${dir}/unbound.pid"\n` +
        `  do-daemonize: no\n  use-syslog: no\n  logfile: ""\n  verbosity: 1\n  access-control: 127.0.0.0/8 allow\n  num-threads: 1\n` +
        `  module-config: "iterator"\nremote-control:\n  control-enable: no\n`,
    );
    unbound = await runUnbound(conf, dir, UNBOUND.host, 53, 'localhost.');
    km = await startKeymaster({ address: '127.10.160.6', control: '127.10.160.6:5380', rootHints: 'builtin', rootAnchors: 'none', resolverYaml: '  localZones: { enable: true }\n' });
  }, 60_000);

  afterAll(async () => {
    await km?.stop();
    await unbound?.stop();
  });

  it('every default zone answers as Unbound does: RCODE, AA, answer and authority', async () => {
    if (!unbound) return;
    const seen = (m: Message) => ({
      rcode: rcodeToString(m.rcode),
      aa: m.aa,
      answer: answers(m),
      authority: m.authority.map((r) => `${r.name} ${r.ttl} ${r.type} ${rdataToText(r.type, r.rdata)}`).sort(),
    });
    for (const [name, type] of QUESTIONS) {
      const theirs = seen((await ask(UNBOUND, name, type, { rd: true })).response);
      const ours = seen((await ask({ host: '127.10.160.6', port: 53 }, name, type, { rd: true })).response);
      expect(ours, `${name} ${type}`).toEqual(theirs);
    }
  });
});
