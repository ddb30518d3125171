import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyRuleEntry } from '../../src/policy/policy-table.js';
import type { PolicyListBody } from '../../src/control-contract/policy.js';
import { decodePolicyStore, POLICY_DOCUMENT } from '../../src/policy/policy-store.js';
import { encodeEnvelope } from '../../src/store/document-envelope.js';

const POLICY_STORE_FILE = 'policy.json';
const encodePolicyStore = (rules: readonly PolicyRuleEntry[]) => encodeEnvelope(POLICY_DOCUMENT, [...rules], 1);
import { haveTool, type KeymasterServer, type RunningServer, startKeymaster, startNsd, tempDir, removeDir } from '../support/external-servers.js';

// Loopback 127.10.40.0/24: Keymaster (DNS and control) on .1, an NSD with a private root on .2.
const KEYMASTER = '127.10.40.1';
const CONTROL = '127.10.40.1:5380';
const ROOT = '127.10.40.2';
const CLI = resolve('dist/cli/main.js');
const DAY = 86_400_000;

const CONFIG_POLICY = `policy:
  - { namespace: .corp.example, requireValidation: true }
  - { namespace: legacy.example, noValidation: true }
  - { namespace: .split.example, forwarders: ["127.10.40.3:5353"] }
`;

const tools = haveTool('nsd');

describe.skipIf(!tools)('keymaster policy add / list / remove against a running server', () => {
  let rootDir: string;
  let nsd: RunningServer;
  let km: KeymasterServer;
  /** A server started by hand for the restart (km.stop() would delete the state dir). */
  let restarted: { child: ChildProcess; log: () => string } | undefined;

  beforeAll(async () => {
    rootDir = tempDir('policy-root');
    const zone = join(rootDir, 'root.zone');
    await writeFile(
      zone,
      `$TTL 3600\n. IN SOA a.root-servers.test. hostmaster.test. 1 3600 900 604800 300\n. IN NS a.root-servers.test.\na.root-servers.test. IN A ${ROOT}\n`,
    );
    const hints = join(rootDir, 'root.hints');
    await writeFile(hints, `. 3600000 NS a.root-servers.test.\na.root-servers.test. 3600000 A ${ROOT}\n`);
    nsd = await startNsd(ROOT, 53, { '.': zone });
    km = await startKeymaster({ address: KEYMASTER, control: CONTROL, rootHints: hints, extraYaml: CONFIG_POLICY });
  }, 120_000);

  afterAll(async () => {
    if (restarted && restarted.child.exitCode === null && restarted.child.signalCode === null) {
      restarted.child.kill('SIGKILL');
      await once(restarted.child, 'exit');
    }
    await km?.stop();
    await nsd?.stop();
    if (rootDir) removeDir(rootDir);
  });

  const list = async (): Promise<PolicyListBody> => {
    const { code, stdout, stderr } = await km.cli(['policy', 'list', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    return JSON.parse(stdout) as PolicyListBody;
  };
  const logEvents = (log: string, event: string) =>
    log
      .split('\n')
      .filter((l) => l.includes(`"event":"${event}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('lists the config file rules with Source config, as a table and as JSON', async () => {
    const { code, stdout } = await km.cli(['policy', 'list']);
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        'Namespace       Mode                Until  Forwarders        Source',
        '---------       ----                -----  ----------        ------',
        '.corp.example   require-validation  -      -                 config',
        'legacy.example  no-validation       -      -                 config',
        '.split.example  -                   -      127.10.40.3:5353  config',
        '',
        // startKeymaster's config has dnssec.validation: false
        'DNSSEC validation is off server-wide (dnssec.validation: false): the validation modes above do not apply until it is on.',
        '',
      ].join('\n'),
    );
    const body = await list();
    expect(body.validation).toBe(false);
    expect(body.storeFile).toBe(join(km.stateDir, POLICY_STORE_FILE));
    // canonical DNS order (RFC 4034 §6.1): labels compared from the right
    expect(body.rules).toEqual([
      { namespace: '.corp.example', mode: 'require', until: null, forwarders: [], source: 'config', overridesConfig: false, addedAt: null },
      { namespace: 'legacy.example', mode: 'no-validation', until: null, forwarders: [], source: 'config', overridesConfig: false, addedAt: null },
      { namespace: '.split.example', mode: 'default', until: null, forwarders: ['127.10.40.3:5353'], source: 'config', overridesConfig: false, addedAt: null },
    ]);
  });

  it('adds rules that take effect at once: an NTA with a relative and an absolute until, forwarders, an override of a config rule', async () => {
    const before = Date.now();
    const nta = await km.cli(['policy', 'add', '.Lab.Example.', '--no-validation', '--until', '7d']);
    const after = Date.now();
    expect(nta.stderr).toBe('');
    expect(nta.code).toBe(0);
    expect(nta.stdout).toMatch(/^Added a policy rule for \.lab\.example; in effect now and kept across restarts\.\nNamespace  : \.lab\.example\nMode       : no-validation\nUntil      : \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n/);

    const absolute = new Date(Math.ceil((Date.now() + 30 * DAY) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    expect((await km.cli(['policy', 'add', 'broken.example', '--no-validation', '--until', absolute])).code).toBe(0);
    expect((await km.cli(['policy', 'add', '.fwd.example', '--forwarders', '127.10.40.3,[::1]:5353', '--forwarders', '127.10.40.4:53'])).code).toBe(0);

    const override = await km.cli(['policy', 'add', '.corp.example', '--log-only', '--json']);
    expect(override.code).toBe(0);
    expect(JSON.parse(override.stdout)).toMatchObject({
      rule: { namespace: '.corp.example', mode: 'log-only', source: 'store', overridesConfig: true },
      replaced: { namespace: '.corp.example', mode: 'require', source: 'config' },
      overridesConfig: true,
    });

    const rules = (await list()).rules;
    const lab = rules.find((r) => r.namespace === '.lab.example')!;
    expect(lab).toMatchObject({ mode: 'no-validation', source: 'store', overridesConfig: false });
    // until is recorded as now + 7 days on the server's clock, which reads between before and after
    expect(Date.parse(lab.until!)).toBeGreaterThanOrEqual(before + 7 * DAY - 1000);
    expect(Date.parse(lab.until!)).toBeLessThanOrEqual(after + 7 * DAY + 1000);
    expect(rules.find((r) => r.namespace === 'broken.example')?.until).toBe(new Date(absolute).toISOString());
    expect(rules.find((r) => r.namespace === '.fwd.example')?.forwarders).toEqual(['127.10.40.3:53', '[::1]:5353', '127.10.40.4:53']);

    const table = (await km.cli(['policy', 'list'])).stdout;
    expect(table).toMatch(/^\.corp\.example +log-only +- +- +store \(overrides config\)$/m);
    expect(table).toMatch(/^legacy\.example +no-validation +- +- +config$/m);

    expect(logEvents(km.log(), 'policy.rule-added').map((e) => [e['namespace'], e['mode'], e['overridesConfig']])).toEqual([
      ['.lab.example', 'no-validation', false],
      ['broken.example', 'no-validation', false],
      ['.fwd.example', 'default', false],
      ['.corp.example', 'log-only', true],
    ]);
  });

  it.each([
    [['policy', 'add', '.a.example', '--require-validation', '--log-only'], /--require-validation and --log-only cannot be combined/],
    [['policy', 'add', 'a..example', '--require-validation'], /"a\.\.example" is not a namespace/],
    [['policy', 'add', '.a.example', '--forwarders', 'ns1.example'], /--forwarders: "ns1\.example" is not an IP address/],
    [['policy', 'add', '.a.example', '--forwarders', '127.0.0.1:99999'], /bad port "99999"/],
    [['policy', 'add', '.a.example', '--no-validation', '--until', '2020-01-01T00:00:00Z'], /--until: 2020-01-01T00:00:00\.000Z is in the past/],
    [['policy', 'add', '.a.example', '--no-validation', '--until', 'tomorrow'], /--until: "tomorrow" is neither an RFC 3339 time/],
    [['policy', 'add', '.a.example', '--no-validation', '--until', '2026-12-31T00:00:00'], /neither an RFC 3339 time with its offset/],
    [['policy', 'add', '.a.example', '--require-validation', '--until', '7d'], /--until applies only with --no-validation/],
    [['policy', 'add', '.a.example'], /a rule needs a mode/],
    [['policy', 'add'], /missing NAMESPACE/],
    [['policy', 'list', '--log-only'], /--log-only applies only to "policy add"/],
    [['policy', 'frob'], /unknown action "frob"/],
  ])('%j is a usage error (exit 2) that changes nothing', async (args, message) => {
    const { code, stdout, stderr } = await km.cli(args);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr).toContain('Run "keymaster policy --help" for usage.');
    expect(code).toBe(2);
  });

  it('the control API answers 400 with a message for bad bodies', async () => {
    const token = (await readFile(join(km.stateDir, 'control.token'), 'utf8')).trim();
    const post = async (body: unknown) => {
      const res = await fetch(`http://${CONTROL}/v1/policy`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
    };
    expect(await post([1])).toMatchObject({ status: 400, body: { error: { code: 'bad-rule', message: expect.stringMatching(/^the body must be a JSON object/) } } });
    expect((await post({ namespace: '.a.example', mode: 'strict' })).body.error.message).toMatch(/^mode: "strict" is not one of require, log-only, no-validation, default/);
    expect((await post({ namespace: 7, mode: 'require' })).body.error.message).toBe('namespace: missing or not a string');
    expect((await post({ namespace: '.a.example', mode: 'require', until: '1h' })).body.error.message).toMatch(/^until: applies only to a no-validation rule/);
    expect((await post({ namespace: '.a.example', mode: 'no-validation', until: '0s' })).body.error.message).toMatch(/^until: .* is not in the future/);
    expect((await post({ namespace: '.a.example', mode: 'require', forwarders: ['x'] })).body.error.message).toMatch(/^forwarders: "x" is not an IP address/);
    expect((await post({ namespace: '.a.example', mode: 'require', extra: true })).status).toBe(400);
    expect((await list()).rules.some((r) => r.namespace === '.a.example')).toBe(false);
  });

  it('refuses to remove a config rule or a rule that does not exist', async () => {
    const config = await km.cli(['policy', 'remove', 'legacy.example']);
    expect(config.code).toBe(1);
    expect(config.stderr).toContain(`keymaster policy: the rule for legacy.example comes from the config file ${km.configFile}`);
    const missing = await km.cli(['policy', 'remove', '.nothing.example']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('keymaster policy: there is no policy rule for .nothing.example\n');
    expect((await list()).rules.some((r) => r.namespace === 'legacy.example')).toBe(true);
  });

  it('removing an override brings the config rule back; "." can be added and removed', async () => {
    const removed = await km.cli(['policy', 'remove', '.corp.example']);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe("Removed the policy rule for .corp.example (log-only).\nThe config file's rule for .corp.example applies again: require-validation.\n");
    expect((await list()).rules.find((r) => r.namespace === '.corp.example')).toMatchObject({ mode: 'require', source: 'config' });

    expect((await km.cli(['policy', 'add', '.', '--log-only'])).code).toBe(0);
    expect((await list()).rules[0]).toMatchObject({ namespace: '.', mode: 'log-only', source: 'store' });
    const root = await km.cli(['policy', 'remove', '.', '--json']);
    expect(root.code).toBe(0);
    expect(JSON.parse(root.stdout)).toMatchObject({ removed: { namespace: '.', mode: 'log-only' }, restored: null });
    expect(logEvents(km.log(), 'policy.rule-removed').map((e) => [e['namespace'], e['reason']])).toEqual([
      ['.corp.example', 'removed by the operator'],
      ['.', 'removed by the operator'],
    ]);
  });

  it('after a restart the added rules are still there, and an NTA that expired meanwhile is dropped and logged', async () => {
    km.child.kill('SIGTERM');
    await once(km.child, 'exit');
    // While the server is down, an NTA in the store runs out (written as the server writes it).
    const storeFile = join(km.stateDir, POLICY_STORE_FILE);
    const stored = decodePolicyStore(await readFile(storeFile, 'utf8'), storeFile);
    expect(stored.map((r) => r.namespace)).toEqual(['.lab.example', 'broken.example', '.fwd.example']);
    const gone: PolicyRuleEntry = { namespace: '.gone.example', mode: 'no-validation', until: new Date(Date.now() - 60_000), forwarders: [], source: 'store' };
    await writeFile(storeFile, encodePolicyStore([...stored, gone]));

    const child = spawn('node', [CLI, 'serve', '--config', km.configFile], { cwd: km.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    restarted = { child, log: () => log };
    await new Promise<void>((ready, fail) => {
      child.stdout.on('data', () => log.includes('"event":"server.started"') && ready());
      child.once('exit', (code) => fail(new Error(`serve exited with ${code}:\n${log}`)));
    });

    const rules = (await list()).rules;
    expect(rules.map((r) => `${r.namespace} ${r.mode} ${r.source}`)).toEqual([
      'broken.example no-validation store',
      '.corp.example require config',
      '.fwd.example default store',
      '.lab.example no-validation store',
      'legacy.example no-validation config',
      '.split.example default config',
    ]);
    expect(logEvents(log, 'policy.nta-expired')).toEqual([
      expect.objectContaining({ namespace: '.gone.example', source: 'store', atStart: true, until: gone.until!.toISOString() }),
    ]);
    expect(logEvents(log, 'policy.loaded')).toEqual([expect.objectContaining({ configRules: 3, storeRules: 3, rules: 6 })]);
    expect(decodePolicyStore(await readFile(storeFile, 'utf8'), storeFile).map((r) => r.namespace)).not.toContain('.gone.example');
  }, 60_000);

  it('a damaged policy store stops the start, naming the file and the fault', async () => {
    restarted!.child.kill('SIGTERM');
    await once(restarted!.child, 'exit');
    const storeFile = join(km.stateDir, POLICY_STORE_FILE);
    const text = await readFile(storeFile, 'utf8');
    await writeFile(storeFile, text.slice(0, text.length / 2));
    const child = spawn('node', [CLI, 'serve', '--config', km.configFile], { cwd: km.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^keymaster serve: policy store ${storeFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not JSON \\(`));
  }, 60_000);
});
