import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue } from '../../src/config/config-error.js';
import { IANA_ROOT_ANCHORS_URL } from '../../src/config/defaults.js';
import { defaultConfig, loadConfigFile, parseConfigText, resolveConfig } from '../../src/config/loader.js';
import { applyOverrides } from '../../src/config/overrides.js';

const FILE = 'lab.yaml';
const BASE = '/srv/keymaster';

function parse(text: string) {
  return parseConfigText(text, FILE, { baseDir: BASE });
}

/** The issues a config text produces (fails the test if it is valid). */
function issuesOf(text: string): readonly ConfigIssue[] {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected the config to be rejected');
}

function only(text: string): ConfigIssue {
  const issues = issuesOf(text);
  expect(issues).toHaveLength(1);
  return issues[0]!;
}

describe('defaults', () => {
  it('an empty file gives DESIGN.md defaults', () => {
    const config = parse('');
    expect(config.listen).toEqual([{ host: '127.0.0.1', port: 5300, family: 4 }]);
    expect(config.stateDir).toBe('/srv/keymaster/var');
    expect(config.control).toEqual({ host: '127.0.0.1', port: 5380, family: 4 });
    expect(config.log).toEqual({ level: 'info' });
    expect(config.recursion.allow.map((p) => p.text)).toEqual([
      '127.0.0.0/8',
      '::1/128',
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.0.0/16',
      'fc00::/7',
    ]);
    expect(config.resolver).toEqual({
      rootHints: { kind: 'builtin' },
      forwarders: [],
      qnameMinimisation: true,
      aggressiveNsec: true,
      limits: { maxReferrals: 30, maxCnameChain: 12, maxNsLookupsPerDelegation: 5, maxUpstreamQueries: 100, maxDepth: 6, deadline: 10, maxMinimiseSteps: 10, maxInFlight: 1024, maxInFlightPerServer: 256, jostleAfterMs: 200 },
      cache: { maxSize: 128 * 1024 * 1024, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 3600 },
      serveStale: { enable: true, maxStale: 86_400, clientTimeoutMs: 1800 },
      prefetch: true,
      localZones: { enable: true, disable: [] },
      outgoing: { range: 1024, portMin: 32768, portMax: 60999, queriesPerSocket: 1, maxSocketAgeMs: 2000 },
    });
    expect(config.cookies).toEqual({ enable: true, secretRotation: 86_400, upstream: true });
    expect(config.dnssec).toEqual({ enable: true, validation: true, clockSkew: 300, bogusTtl: 60, keyTagSignaling: true, rootKeySentinel: true, limits: { maxKeysPerKeyTag: 4, maxSignaturesPerRrset: 8, maxSignatureChecks: 64, maxNsec3Hashes: 150, maxNsec3Iterations: 150, maxDenialRecords: 32 }, rollover: { minimumWait: 3600, propagationDelay: 300, parentPropagationDelay: 3600, dsPollingPeriod: 43200, addHoldDown: 2592000, removeHoldDown: 2592000, minRefresh: 3600, retiredKeyRetention: 2592000 } });
    expect(config.trustAnchors).toEqual({
      rootAnchors: { kind: 'url', url: IANA_ROOT_ANCHORS_URL },
      import: [],
      rfc5011: { addHoldDown: 30 * 86400, removeHoldDown: 30 * 86400, minRefresh: 3600 },
    });
    expect(config.policy).toEqual([]);
    expect(config.zones).toEqual([]);
  });

  it('a file of comments is the same as no file, and so is the shipped config/keymaster.yaml', async () => {
    expect(parse('# nothing here\n')).toEqual(defaultConfig({ baseDir: BASE }));
    const shipped = await loadConfigFile('config/keymaster.yaml', { baseDir: process.cwd() });
    // Except that the shipped file hosts and signs the sample zone home.arpa.
    expect({ ...shipped.config, zones: [] }).toEqual(defaultConfig());
    expect(shipped.config.zones.map((z) => [z.name, z.file, z.signing?.algorithm])).toEqual([['home.arpa.', join(process.cwd(), 'config/zones/home.arpa.zone'), 'ECDSAP256SHA256']]);
    expect(shipped.file).toBe(join(process.cwd(), 'config/keymaster.yaml'));
  });

  it('a partly written table keeps the defaults of the keys it leaves out', () => {
    const config = parse('trustAnchors:\n  rfc5011: { addHoldDown: 2m }\ndnssec: { validation: false }\n');
    expect(config.trustAnchors.rfc5011).toEqual({ addHoldDown: 120, removeHoldDown: 30 * 86400, minRefresh: 3600 });
    expect(config.trustAnchors.rootAnchors).toEqual({ kind: 'url', url: IANA_ROOT_ANCHORS_URL });
    expect(config.dnssec).toMatchObject({ enable: true, validation: false, clockSkew: 300 });
  });
});

describe('the DESIGN.md example', () => {
  const example = `
listen: ["127.0.0.1:5300", "[::1]:53"]
stateDir: ./var
control: "127.0.0.1:5380"
recursion:
  allow: ["127.0.0.0/8", "::1/128"]
resolver:
  rootHints: config/named.root
  forwarders: ["192.0.2.53", "[2001:DB8::53]:5353"]
dnssec: { enable: true, validation: true }
trustAnchors:
  rootAnchors: trust-anchors/root-anchors.xml
  import: [keys/dsset-example.com.]
  rfc5011: { addHoldDown: 1h, removeHoldDown: 90m, minRefresh: 45s }
policy:
  - { namespace: .Corp.Example, requireValidation: true }
  - { namespace: lab.example., noValidation: true, until: "2026-12-31T00:00:00Z", forwarders: ["10.0.0.53"] }
zones:
  - name: Home.Arpa
    file: config/zones/home.arpa.zone
    allowTransfer: ["127.0.0.0/8"]
    signing: defaults
  - name: lab.example.
    file: /zones/lab.zone
    signing: { denial: nsec, zskRollover: 30d, nsec3: {} }
  - name: plain.example.
    file: plain.zone
`;

  it('parses into typed values: addresses, prefixes, seconds, absolute paths, normalized names', () => {
    const config = parse(example);
    expect(config.listen).toEqual([
      { host: '127.0.0.1', port: 5300, family: 4 },
      { host: '::1', port: 53, family: 6 },
    ]);
    expect(config.resolver.rootHints).toEqual({ kind: 'file', path: '/srv/keymaster/config/named.root' });
    expect(config.resolver.forwarders).toEqual([
      { host: '192.0.2.53', port: 53, family: 4 },
      { host: '2001:db8::53', port: 5353, family: 6 },
    ]);
    expect(config.trustAnchors.rootAnchors).toEqual({ kind: 'file', path: '/srv/keymaster/trust-anchors/root-anchors.xml' });
    expect(config.trustAnchors.import).toEqual(['/srv/keymaster/keys/dsset-example.com.']);
    expect(config.trustAnchors.rfc5011).toEqual({ addHoldDown: 3600, removeHoldDown: 5400, minRefresh: 45 });
    expect(config.policy[0]).toEqual({
      namespace: '.corp.example',
      requireValidation: true,
      logOnly: false,
      noValidation: false,
      until: undefined,
      forwarders: [],
    });
    expect(config.policy[1]!.namespace).toBe('lab.example');
    expect(config.policy[1]!.until).toEqual(new Date('2026-12-31T00:00:00Z'));
    expect(config.policy[1]!.forwarders).toEqual([{ host: '10.0.0.53', port: 53, family: 4 }]);

    const [home, lab, plain] = config.zones;
    expect(home!.name).toBe('home.arpa.');
    expect(home!.file).toBe('/srv/keymaster/config/zones/home.arpa.zone');
    expect(home!.allowTransfer.map((p) => p.text)).toEqual(['127.0.0.0/8']);
    expect(home!.signing).toMatchObject({ algorithm: 'ECDSAP256SHA256', denial: 'nsec3', kskRollover: 755 * 86400, zskRollover: 90 * 86400 });
    expect(lab!.signing).toMatchObject({ algorithm: 'ECDSAP256SHA256', denial: 'nsec', zskRollover: 30 * 86400, dnskeyTtl: 3600 });
    expect(plain!.signing).toBeUndefined();
    expect(plain!.allowTransfer).toEqual([]);
  });
});

describe('errors name the file, line and key path', () => {
  it('a bad CIDR prefix in a list', () => {
    const issue = only('recursion:\n  allow: ["10.0.0.0/8", "::1/128", "10.0.0.0/33"]\n');
    expect(issue).toMatchObject({ file: FILE, line: 2, column: 36, path: 'recursion.allow[2]' });
    expect(issue.message).toContain('"10.0.0.0/33" is not a CIDR prefix');
  });

  it('host bits set in a prefix, with the fix suggested', () => {
    const issue = only('recursion:\n  allow:\n    - 192.168.1.1/24\n');
    expect(issue).toMatchObject({ line: 3, path: 'recursion.allow[0]' });
    expect(issue.message).toContain('did you mean "192.168.1.0/24"');
  });

  it('an unknown key at the top, in a table and in a list item, pointing at the key', () => {
    const issues = issuesOf('listn: []\ndnssec:\n  enabel: true\nzones:\n  - { name: a.example., file: a.zone, sgning: defaults }\n');
    expect(issues.map((i) => [i.path, i.line])).toEqual([
      ['listn', 1],
      ['dnssec.enabel', 3],
      ['zones[0].sgning', 5],
    ]);
    expect(issues[0]!.message).toBe('unknown key (did you mean "listen"?)');
    expect(issues[1]!.message).toBe('unknown key (did you mean "enable"?)');
    expect(issues[2]!.column).toBe(39);
    expect(only('frobnicate: 1\n').message).toMatch(/^unknown key \(expected one of: listen, stateDir, control/);
  });

  it('wrong types say what was expected and what was found', () => {
    expect(only('dnssec:\n  validation: yes\n')).toMatchObject({ path: 'dnssec.validation', line: 2, message: 'must be true or false, got "yes"' });
    expect(only('listen: "127.0.0.1:53"\n')).toMatchObject({ path: 'listen', message: expect.stringMatching(/^must be a list .*got "127.0.0.1:53"$/) });
    expect(only('log: { level: loud }\n').message).toContain('must be one of "fatal", "error"');
    expect(only('- 1\n- 2\n')).toMatchObject({ path: '', message: 'must be a table, got a list' });
  });

  it('a key written with no value is an error, not a silent default', () => {
    const issue = only('recursion:\n  allow:\n');
    expect(issue.path).toBe('recursion.allow');
    expect(issue.message).toMatch(/^has no value/);
  });

  it('bad addresses: no port, bad port, host names, IPv6 needing brackets, non-loopback control', () => {
    expect(only('control: "127.0.0.1"\n').message).toContain('has no port');
    expect(only('listen: ["127.0.0.1:65536"]\n')).toMatchObject({ path: 'listen[0]', message: expect.stringContaining('bad port') });
    expect(only('listen: ["ns.example:53"]\n').message).toContain('is not an IP address');
    expect(parse('listen: ["[::1]", "192.0.2.1"]\n').listen.map((a) => a.port)).toEqual([53, 53]); // listen defaults to port 53
    expect(only('control: "192.0.2.1:5380"\n')).toMatchObject({ path: 'control', message: expect.stringContaining('not a loopback address') });
    expect(() => parse('control: "[::1]:5380"\nlisten: ["[::1]:53", "0.0.0.0:53"]\n')).not.toThrow();
  });

  it('durations', () => {
    const issue = only('trustAnchors:\n  rfc5011: { addHoldDown: 30x }\n');
    expect(issue).toMatchObject({ path: 'trustAnchors.rfc5011.addHoldDown', line: 2 });
    expect(issue.message).toContain('"30x" is not a duration');
    expect(only('trustAnchors: { rfc5011: { minRefresh: 0 } }\n').message).toContain('must be at least 1s, got 0s');
    expect(only('zones: [{ name: a., file: a.zone, signing: { kskRollover: 30m } }]\n').message).toContain('must be at least 1h, got 30m');
  });

  it('serve-stale and prefetch keys are named in their errors', () => {
    expect(only('resolver:\n  serveStale: { maxStale: 1w2 }\n')).toMatchObject({ path: 'resolver.serveStale.maxStale', line: 2 });
    expect(only('resolver:\n  serveStale: { enable: sometimes }\n')).toMatchObject({ path: 'resolver.serveStale.enable', message: 'must be true or false, got "sometimes"' });
    expect(only('resolver:\n  serveStale: { clientTimeoutMs: -1 }\n').path).toBe('resolver.serveStale.clientTimeoutMs');
    expect(only('resolver:\n  prefetch: 1\n').path).toBe('resolver.prefetch');
  });

  it('missing required keys point at the table that lacks them', () => {
    const issue = only('zones:\n  - name: home.arpa.\n');
    expect(issue).toMatchObject({ path: 'zones[0]', line: 2, message: 'missing required key "file" (a file path)' });
  });

  it('duplicates in lists are reported at the later entry', () => {
    const issue = only('zones:\n  - { name: a.example., file: a }\n  - { name: A.Example, file: b }\n');
    expect(issue).toMatchObject({ path: 'zones[1].name', line: 3, message: '"a.example." is already listed at index 0' });
    expect(only('listen: ["127.0.0.1:53", "127.0.0.1:53"]\n').path).toBe('listen[1]');
  });

  it('names, namespaces, policy modes, timestamps and signing options are checked', () => {
    expect(only('zones: [{ name: "bad name", file: z }]\n').path).toBe('zones[0].name');
    expect(only('zones: [{ name: "a..b", file: z }]\n').message).toContain('empty label');
    expect(only('policy: [{ namespace: "..corp" }]\n').path).toBe('policy[0].namespace');
    expect(only('policy: [{ namespace: .corp, requireValidation: true, logOnly: true }]\n')).toMatchObject({
      path: 'policy[0].logOnly',
      message: 'cannot be combined with requireValidation: a rule has one validation mode',
    });
    expect(only('policy: [{ namespace: .corp, until: "2026-01-01" }]\n').path).toBe('policy[0].until');
    expect(only('policy: [{ namespace: .corp, noValidation: true, until: "next week" }]\n').message).toContain('not an ISO 8601 time');
    expect(only('zones: [{ name: z., file: z, signing: maybe }]\n').message).toBe('must be "defaults" or a table of signing options, got "maybe"');
    expect(only('zones: [{ name: z., file: z, signing: { algorithm: DSA } }]\n').path).toBe('zones[0].signing.algorithm');
    expect(only('zones: [{ name: z., file: z, signing: { nsec3: { iterations: 1000 } } }]\n').message).toBe(
      'must be an integer from 0 to 500, got 1000',
    );
  });

  it('YAML syntax errors and duplicate keys carry a line', () => {
    expect(only('a: [1, 2\nb: 3\n')).toMatchObject({ file: FILE, path: '', line: 2, message: expect.stringMatching(/^YAML: /) });
    expect(only('dnssec:\n  enable: true\n  enable: false\n')).toMatchObject({ line: 3, message: expect.stringContaining('unique') });
  });

  it('every problem in the file is reported at once, and the message lists them as file:line:col: path: why', () => {
    let error: ConfigError | undefined;
    try {
      parse('listen: []\ncontrol: "10.0.0.1:1"\ndnssec: { enable: 1 }\n');
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error?.issues.map((i) => i.path)).toEqual(['listen', 'control', 'dnssec.enable']);
    expect(error?.message.split('\n')[0]).toBe('lab.yaml:1:9: listen: must have at least 1 item');
  });

  it('an unreadable file is reported with its name', async () => {
    await expect(loadConfigFile('/nonexistent/keymaster.yaml')).rejects.toMatchObject({
      issues: [{ file: '/nonexistent/keymaster.yaml', path: '', message: 'cannot read the config file: no such file' }],
    });
  });
});

describe('command-line overrides', () => {
  const base = () => parse('listen: ["127.0.0.1:5300", "[::1]:5300"]\n');

  it('replace the file values, with relative paths resolved against the working directory', () => {
    const config = applyOverrides(
      base(),
      {
        listen: ['127.10.0.1:53'],
        stateDir: 'state',
        control: '127.10.0.1:8053',
        rootHints: 'hints/named.root',
        rootAnchors: 'https://example.net/root-anchors.xml',
      },
      { baseDir: '/run' },
    );
    expect(config.listen).toEqual([{ host: '127.10.0.1', port: 53, family: 4 }]);
    expect(config.stateDir).toBe('/run/state');
    expect(config.control).toEqual({ host: '127.10.0.1', port: 8053, family: 4 });
    expect(config.resolver.rootHints).toEqual({ kind: 'file', path: '/run/hints/named.root' });
    expect(config.trustAnchors.rootAnchors).toEqual({ kind: 'url', url: 'https://example.net/root-anchors.xml' });
    expect(config.dnssec).toEqual(base().dnssec);
  });

  it('leave the file values alone when absent', () => {
    expect(applyOverrides(base(), {})).toEqual(base());
  });

  it('are validated, and errors name the flag', () => {
    expect(() => applyOverrides(base(), { listen: ['127.0.0.1:53', 'nowhere'], control: '0.0.0.0:1', rootAnchors: 'ftp://x/y' })).toThrow(
      ConfigError,
    );
    try {
      applyOverrides(base(), { listen: ['nowhere'], control: '0.0.0.0:1', rootAnchors: 'ftp://x/y' });
    } catch (error) {
      const issues = (error as ConfigError).issues;
      expect(issues.map((i) => i.path)).toEqual(['--listen', '--control', '--root-anchors']);
      expect(issues.every((i) => i.file === undefined)).toBe(true);
      expect((error as ConfigError).message.split('\n')[0]).toMatch(/^--listen: "nowhere" is not an IP address/);
    }
  });
});

describe('resolveConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keymaster-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses built-in defaults when there is no config/keymaster.yaml', async () => {
    const loaded = await resolveConfig({ baseDir: dir, overrides: { control: '127.10.0.2:9999' } });
    expect(loaded.file).toBeUndefined();
    expect(loaded.config.stateDir).toBe(join(dir, 'var'));
    expect(loaded.config.control.port).toBe(9999);
  });

  it('reads the named file, then applies the flags', async () => {
    await writeFile(join(dir, 'k.yaml'), 'stateDir: /var/lib/keymaster\ncontrol: "127.0.0.1:1234"\n');
    const loaded = await resolveConfig({ baseDir: dir, file: 'k.yaml', overrides: { stateDir: '/tmp/other' } });
    expect(loaded.file).toBe(join(dir, 'k.yaml'));
    expect(loaded.config.stateDir).toBe('/tmp/other');
    expect(loaded.config.control.port).toBe(1234);
  });
});

describe('resolver limits and cache', () => {
  it('reads limits, cache size units and durations', () => {
    const config = parse('resolver:\n  qnameMinimisation: false\n  limits: { maxReferrals: 10, deadline: 3s }\n  cache: { maxSize: 64m, maxTtl: 2h }\n');
    expect(config.resolver.qnameMinimisation).toBe(false);
    expect(config.resolver.limits.maxReferrals).toBe(10);
    expect(config.resolver.limits.deadline).toBe(3);
    expect(config.resolver.limits.maxCnameChain).toBe(12);
    expect(config.resolver.cache.maxSize).toBe(64 * 1024 * 1024);
    expect(config.resolver.cache.maxTtl).toBe(7200);
  });

  it('names the key of a bad limit or size', () => {
    expect(only('resolver:\n  limits: { maxReferrals: 0 }\n')).toMatchObject({ path: 'resolver.limits.maxReferrals', line: 2 });
    expect(only('resolver:\n  cache: { maxSize: lots }\n')).toMatchObject({ path: 'resolver.cache.maxSize', line: 2 });
  });
});
