import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ConfigError, type ConfigIssue } from '../../src/config/config-error.js';
import { parseConfigText } from '../../src/config/loader.js';
import { createLogger } from '../../src/logging/logger.js';
import { DEFAULT_LOCALLY_SERVED_ZONES, LocallyServedZones } from '../../src/resolver/locally-served-zones.js';
import { PolicyTable } from '../../src/policy/policy-table.js';
import { COOKIE_SECRET_FILE, CookieSecretStore } from '../../src/cookies/cookie-secret.js';
import { createLocallyServedZones } from '../../src/serve/good-citizen-service.js';
import { ServerCookies } from '../../src/cookies/server-cookies.js';
import { EdnsOptionCode, appendEdnsOption, defaultEdns } from '../../src/wire/edns.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Rcode, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';

const q = (name: string, type: number = RRType.A) => ({ name: Name.parse(name), type, class: 1 });
const parse = (text: string) => parseConfigText(text, 'lab.yaml', { baseDir: '/srv/keymaster' });
function issues(text: string): readonly ConfigIssue[] {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected the config to be rejected');
}

describe('locally served zones', () => {
  it('holds exactly Unbound’s default list (unbound.conf(5), 1.17): 102 zones', () => {
    const names = DEFAULT_LOCALLY_SERVED_ZONES.map((z) => z.name.toString());
    expect(names).toHaveLength(102);
    expect(new Set(names).size).toBe(102);
    for (const n of ['localhost.', 'onion.', 'test.', 'invalid.', 'home.arpa.', '10.in-addr.arpa.', '31.172.in-addr.arpa.', '168.192.in-addr.arpa.', '254.169.in-addr.arpa.', '127.100.in-addr.arpa.', 'd.f.ip6.arpa.', 'b.e.f.ip6.arpa.', '8.b.d.0.1.0.0.2.ip6.arpa.'])
      expect(names).toContain(n);
    expect(names).not.toContain('15.172.in-addr.arpa.');
    expect(names).not.toContain('32.172.in-addr.arpa.');
  });

  it('a name outside every default, or of another class, is left to the resolver', () => {
    const z = new LocallyServedZones();
    expect(z.answer(q('www.example.'))).toBeUndefined();
    expect(z.answer(q('1.2.3.11.in-addr.arpa.', RRType.PTR))).toBeUndefined();
    expect(z.answer(q('1.15.172.in-addr.arpa.', RRType.PTR))).toBeUndefined();
    expect(z.answer({ ...q('localhost.'), class: 3 })).toBeUndefined();
    expect(z.answer(q('notonion.', RRType.A))).toBeUndefined();
  });

  it('disabled, hosted or forwarded zones step aside, and say so', () => {
    const z = new LocallyServedZones({
      disabled: [Name.parse('test.')],
      hosted: (zone) => zone.equals(Name.parse('home.arpa.')),
      forwardedBelow: (name, zone) => zone.equals(Name.parse('10.in-addr.arpa.')) && name.isSubdomainOf(Name.parse('1.10.in-addr.arpa.')),
    });
    expect(z.answer(q('x.test.'))).toBeUndefined();
    expect(z.answer(q('x.home.arpa.'))).toBeUndefined();
    expect(z.answer(q('5.1.10.in-addr.arpa.', RRType.PTR))).toBeUndefined();
    expect(z.answer(q('5.2.10.in-addr.arpa.', RRType.PTR))?.rcode).toBe(Rcode.NXDOMAIN);
    const state = new Map(z.list().map((e) => [e.zone, e.state]));
    expect(state.get('test.')).toBe('disabled');
    expect(state.get('home.arpa.')).toBe('hosted');
    expect(state.get('onion.')).toBe('served');
  });

  it('config: forwarders at or below a default zone win, forwarders for `.` or an ancestor do not (as Unbound with forward-zone ".")', () => {
    const config = parse('policy:\n  - { namespace: ., forwarders: ["192.0.2.53"] }\n  - { namespace: .in-addr.arpa, forwarders: ["192.0.2.54"] }\n  - { namespace: .5.168.192.in-addr.arpa, forwarders: ["192.0.2.55"] }\n  - { namespace: 10.in-addr.arpa, forwarders: ["192.0.2.56"] }\n');
    for (const policy of [undefined, new PolicyTable(config.policy.map((r) => ({ namespace: r.namespace, mode: 'default' as const, forwarders: r.forwarders.map((f) => ({ host: f.host, port: f.port })), source: 'config' as const })))]) {
      const z = createLocallyServedZones(config, undefined, policy, new ManualClock())!;
      const label = policy ? 'policy table' : 'config rules';
      expect(z.answer(q('1.1.168.192.in-addr.arpa.', RRType.PTR))?.rcode, label).toBe(Rcode.NXDOMAIN);
      expect(z.answer(q('1.5.168.192.in-addr.arpa.', RRType.PTR)), label).toBeUndefined();
      expect(z.answer(q('x.onion.')), label).toBeDefined();
      // An exact-name rule covers the apex only.
      expect(z.answer(q('10.in-addr.arpa.', RRType.SOA)), label).toBeUndefined();
      expect(z.answer(q('1.10.in-addr.arpa.', RRType.PTR))?.rcode, label).toBe(Rcode.NXDOMAIN);
    }
  });

  it('resolver.localZones: disable takes default zones only, enable: false turns them all off', () => {
    const config = parse('resolver:\n  localZones: { disable: [test, "10.IN-ADDR.ARPA."] }\n');
    expect(config.resolver.localZones.disable).toEqual(['test.', '10.in-addr.arpa.']);
    const z = createLocallyServedZones(config, undefined, undefined, new ManualClock())!;
    expect(z.answer(q('a.test.'))).toBeUndefined();
    expect(() => createLocallyServedZones(parse('resolver:\n  localZones: { disable: [example.com.] }\n'), undefined, undefined, new ManualClock())).toThrow(/resolver\.localZones\.disable: "example\.com\." is not a default local zone/);
    expect(createLocallyServedZones(parse('resolver:\n  localZones: { enable: false }\n'), undefined, undefined, new ManualClock())).toBeUndefined();
    expect(issues('resolver:\n  localZones: { disable: ["bad..name"] }\n')[0]).toMatchObject({ path: 'resolver.localZones.disable[0]' });
    expect(issues('resolver:\n  localZones: { disabled: [test.] }\n')[0]?.path).toMatch(/resolver\.localZones/);
  });
});

describe('config: cookies and the root-anchors signature', () => {
  it('defaults: cookies on, a daily secret, client cookies upstream', () => {
    expect(parse('').cookies).toEqual({ enable: true, secretRotation: 86_400, upstream: true });
  });
  it('a rotation under an hour or above 30 days is refused, naming the key', () => {
    expect(issues('cookies: { secretRotation: 10m }\n')[0]).toMatchObject({ path: 'cookies.secretRotation' });
    expect(issues('cookies: { secretRotation: 60d }\n')[0]).toMatchObject({ path: 'cookies.secretRotation' });
    expect(issues('cookies: { answer: true }\n')[0]?.path).toMatch(/^cookies/);
  });
  it('trustAnchors.rootAnchorsSignature: a URL or a file made absolute; other schemes refused', () => {
    expect(parse('trustAnchors:\n  rootAnchorsSignature: anchors/root.p7s\n').trustAnchors.rootAnchorsSignature).toBe('/srv/keymaster/anchors/root.p7s');
    expect(parse('trustAnchors:\n  rootAnchorsSignature: https://data.iana.org/root-anchors/root-anchors.p7s\n').trustAnchors.rootAnchorsSignature).toBe('https://data.iana.org/root-anchors/root-anchors.p7s');
    expect(issues('trustAnchors:\n  rootAnchorsSignature: ftp://x/y.p7s\n')[0]).toMatchObject({ path: 'trustAnchors.rootAnchorsSignature' });
  });
});

describe('the cookie secret in the state dir', () => {
  let dir: string;
  const logs: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => void logs.push(l) } });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cookie-secret-'));
    logs.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is made once, 0600, and read back by the next process (a restart or another worker)', async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    const a = await CookieSecretStore.open(dir, 86_400, clock, logger);
    expect((await stat(join(dir, COOKIE_SECRET_FILE))).mode & 0o777).toBe(0o600);
    const b = await CookieSecretStore.open(dir, 86_400, clock, logger);
    expect(Buffer.from(b.current()).equals(Buffer.from(a.current()))).toBe(true);
    // A cookie made by one process is valid in the other.
    const made = new ServerCookies(a, clock).make(new Uint8Array(8).fill(7), '192.0.2.1');
    expect(new ServerCookies(b, clock).verify(new Uint8Array(8).fill(7), made, '192.0.2.1')).toBe(true);
  });

  it('rotates when due; the previous secret is still accepted; another process picks the rotation up', async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    const a = await CookieSecretStore.open(dir, 3600, clock, logger);
    const b = await CookieSecretStore.open(dir, 3600, clock, logger);
    const client = new Uint8Array(8).fill(1);
    const made = new ServerCookies(a, clock).make(client, '192.0.2.1');
    clock.advance(1800_000);
    expect(await a.rotateIfDue()).toBe(false);
    clock.advance(1800_000);
    expect(await a.rotateIfDue()).toBe(true);
    expect(logs.join('')).toContain('"cookies.secret-rotated"');
    expect(new ServerCookies(a, clock).verify(client, made, '192.0.2.1')).toBe(true);
    expect(await b.rotateIfDue()).toBe(false);
    expect(Buffer.from(b.current()).equals(Buffer.from(a.current()))).toBe(true);
    const file = JSON.parse(await readFile(join(dir, COOKIE_SECRET_FILE), 'utf8')) as { previous: string };
    expect(file.previous).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a damaged file is replaced and said so, never a failed start', async () => {
    await writeFile(join(dir, COOKIE_SECRET_FILE), '{"version":1,"current":"zz"}');
    const s = await CookieSecretStore.open(dir, 86_400, new ManualClock(), logger);
    expect(s.current()).toHaveLength(16);
    expect(logs.join('')).toContain('"cookies.secret-replaced"');
  });
});

describe('appendEdnsOption', () => {
  it('adds an option to the OPT at the end of an encoded message; the result decodes', () => {
    const m = newMessage({ id: 1, qr: true, question: [q('www.example.')], edns: defaultEdns({ options: [{ code: 15, data: new Uint8Array([0, 3]) }] }) });
    const wire = encodeMessage(m);
    const out = appendEdnsOption(wire, EdnsOptionCode.COOKIE, new Uint8Array(24).fill(9))!;
    const back = decodeMessage(out);
    expect(back.edns?.options.map((o) => o.code)).toEqual([15, EdnsOptionCode.COOKIE]);
    expect(back.edns?.options[1]?.data).toEqual(new Uint8Array(24).fill(9));
  });
  it('refuses a message without OPT, or with one that is not last', () => {
    const plain = encodeMessage(newMessage({ id: 1, qr: true, question: [q('www.example.')] }));
    expect(appendEdnsOption(plain, 10, new Uint8Array(8))).toBeUndefined();
    expect(appendEdnsOption(new Uint8Array(5), 10, new Uint8Array(8))).toBeUndefined();
  });
});
