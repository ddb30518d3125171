import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { PolicyRule } from '../../src/config/schema.js';
import { PolicyRuleError, type PolicyRuleEntry } from '../../src/policy/policy-table.js';
import { createLogger } from '../../src/logging/logger.js';
import { createScheduler } from '../../src/scheduler.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { PolicyChangeError, PolicyService, startPolicyService, type PolicyChange } from '../../src/policy/policy-service.js';
import { POLICY_DOCUMENT, PolicyStoreError } from '../../src/policy/policy-store.js';
import { encodeEnvelope } from '../../src/store/document-envelope.js';

const POLICY_STORE_FILE = 'policy.json';
const encodePolicyStore = (rules: readonly PolicyRuleEntry[]) => encodeEnvelope(POLICY_DOCUMENT, [...rules], 1);
import { Name } from '../../src/wire/name.js';

const HOUR = 3_600_000;
type LogLine = Record<string, unknown> & { event?: string };

function configRule(namespace: string, fields: Partial<PolicyRule> = {}): PolicyRule {
  return { namespace, requireValidation: false, logOnly: false, noValidation: false, forwarders: [], ...fields };
}

let dir: string;
let clock: ManualClock;
let logs: LogLine[];
const services: PolicyService[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keymaster-policy-service-'));
  clock = new ManualClock(Date.UTC(2026, 0, 1));
  logs = [];
});
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
  await rm(dir, { recursive: true, force: true });
});

async function start(configRules: PolicyRule[] = []): Promise<PolicyService> {
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } });
  const service = await startPolicyService({ configRules, documents: await FileDocumentStore.open(dir), scheduler: createScheduler({ clock, mode: 'manual' }), clock, logger, configFile: '/etc/keymaster/keymaster.yaml' });
  services.push(service);
  return service;
}

const events = (name: string) => logs.filter((l) => l.event === name);
const modeAt = (service: PolicyService, name: string) => service.table.match(Name.parse(name), clock.now())?.mode;
async function storedNamespaces(): Promise<string[]> {
  const doc = JSON.parse(await readFile(join(dir, POLICY_STORE_FILE), 'utf8')) as { data: { namespace: string }[] };
  return doc.data.map((r) => r.namespace);
}

describe('PolicyService: config and store rules', () => {
  it('loads config rules, adds store rules that persist across a restart, and logs each change', async () => {
    const service = await start([configRule('.corp.example', { requireValidation: true })]);
    expect(events('policy.loaded')[0]).toMatchObject({ configRules: 1, storeRules: 0, file: join(dir, POLICY_STORE_FILE) });
    const { rule, overridesConfig } = await service.add({ namespace: '.Lab.Example.', mode: 'log-only', forwarders: [{ host: '127.0.0.9', port: 53 }] });
    expect(rule).toMatchObject({ namespace: '.lab.example', mode: 'log-only', source: 'store', addedAt: new Date(clock.now()) });
    expect(overridesConfig).toBe(false);
    expect(modeAt(service, 'www.lab.example.')).toBe('log-only'); // in effect at once
    expect(events('policy.rule-added')).toEqual([
      expect.objectContaining({ namespace: '.lab.example', mode: 'log-only', forwarders: ['127.0.0.9:53'], source: 'store', replaced: null, overridesConfig: false }),
    ]);
    expect(await storedNamespaces()).toEqual(['.lab.example']);

    await service.stop();
    const restarted = await start([configRule('.corp.example', { requireValidation: true })]);
    expect(restarted.list().map(({ rule: r }) => `${r.namespace} ${r.mode} ${r.source}`)).toEqual(['.corp.example require config', '.lab.example log-only store']);
  });

  it('a store rule overrides the config rule of the same namespace; removing it brings the config rule back', async () => {
    const service = await start([configRule('.corp.example', { requireValidation: true })]);
    const added = await service.add({ namespace: '.corp.example', mode: 'no-validation' });
    expect(added.overridesConfig).toBe(true);
    expect(added.replaced).toMatchObject({ source: 'config', mode: 'require' });
    expect(service.list()).toEqual([{ rule: expect.objectContaining({ namespace: '.corp.example', mode: 'no-validation', source: 'store' }), overridesConfig: true }]);
    expect(modeAt(service, 'a.corp.example.')).toBe('no-validation');

    const { removed, restored } = await service.remove('.corp.example', 'removed by the operator');
    expect(removed.mode).toBe('no-validation');
    expect(restored).toMatchObject({ source: 'config', mode: 'require' });
    expect(modeAt(service, 'a.corp.example.')).toBe('require');
    expect(events('policy.rule-removed')).toEqual([expect.objectContaining({ namespace: '.corp.example', reason: 'removed by the operator', restored: expect.objectContaining({ source: 'config' }) })]);
    expect(await storedNamespaces()).toEqual([]);
  });

  it('refuses to remove a config rule (it would come back at restart) and an unknown rule, changing nothing', async () => {
    const service = await start([configRule('.corp.example', { requireValidation: true })]);
    const refused = await service.remove('.corp.example', 'x').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PolicyChangeError);
    expect(refused).toMatchObject({ kind: 'config-rule' });
    expect((refused as Error).message).toContain('comes from the config file /etc/keymaster/keymaster.yaml');
    const missing = await service.remove('corp.example', 'x').catch((e: unknown) => e);
    expect(missing).toMatchObject({ kind: 'not-found', message: 'there is no policy rule for corp.example' });
    await expect(service.remove('a..b', 'x')).rejects.toBeInstanceOf(PolicyRuleError);
    expect(modeAt(service, 'a.corp.example.')).toBe('require');
    expect(events('policy.rule-removed')).toEqual([]);
    expect(await readdir(dir)).toEqual([]); // nothing written
  });

  it('refuses bad rules without writing anything', async () => {
    const service = await start();
    await expect(service.add({ namespace: '.a.example', mode: 'no-validation', until: new Date(clock.now()) })).rejects.toThrow(/not in the future/);
    await expect(service.add({ namespace: '.a.example', mode: 'require', until: new Date(clock.now() + HOUR) })).rejects.toThrow(/only to a no-validation rule/);
    await expect(service.add({ namespace: '.a.example', mode: 'default' })).rejects.toThrow(/neither a validation mode nor forwarders/);
    await expect(service.add({ namespace: '*.a.example', mode: 'require' })).rejects.toBeInstanceOf(PolicyRuleError);
    expect(service.list()).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('serialises concurrent changes: the file holds every rule', async () => {
    const service = await start();
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((l) => service.add({ namespace: `.${l}.example`, mode: 'require' })));
    expect((await storedNamespaces()).sort()).toEqual(['.a.example', '.b.example', '.c.example', '.d.example', '.e.example']);
  });

  it('calls onChange listeners after each change', async () => {
    const service = await start();
    const changes: PolicyChange[] = [];
    service.onChange((c) => changes.push(c));
    await service.add({ namespace: 'x.example', mode: 'require' });
    await service.remove('x.example', 'test');
    expect(changes.map((c) => `${c.kind} ${c.namespace}`)).toEqual(['added x.example', 'removed x.example']);
  });

  it('a damaged store stops the start with the file and the fault', async () => {
    await writeFile(join(dir, POLICY_STORE_FILE), '{"format":"keymaster-policy","version":1,"rules":[],"sha256":"00"}');
    const error = await start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyStoreError);
    expect((error as Error).message).toContain(`policy store ${join(dir, POLICY_STORE_FILE)}: checksum mismatch`);
  });
});

describe('PolicyService: negative trust anchors', () => {
  it('sweep() removes an NTA at its until, persists that, logs policy.nta-expired, and the config rule applies again', async () => {
    const service = await start([configRule('.corp.example', { requireValidation: true })]);
    const until = new Date(clock.now() + 2 * HOUR);
    await service.add({ namespace: '.corp.example', mode: 'no-validation', until });
    await service.add({ namespace: '.other.example', mode: 'require' });
    expect(await service.sweep()).toEqual([]);
    expect(modeAt(service, 'a.corp.example.')).toBe('no-validation');

    clock.advance(2 * HOUR);
    expect(modeAt(service, 'a.corp.example.')).toBe('require'); // stops matching at once, before any sweep
    const expired = await service.sweep();
    expect(expired.map((r) => r.namespace)).toEqual(['.corp.example']);
    expect(events('policy.nta-expired')).toEqual([
      expect.objectContaining({ namespace: '.corp.example', until: until.toISOString(), source: 'store', restored: expect.objectContaining({ mode: 'require', source: 'config' }) }),
    ]);
    expect(await storedNamespaces()).toEqual(['.other.example']);
    expect(service.list().map(({ rule }) => `${rule.namespace} ${rule.source}`)).toEqual(['.corp.example config', '.other.example store']);
    expect(await service.sweep()).toEqual([]); // once only
  });

  it('drops an NTA that expired while the server was down, at start, logged and rewritten', async () => {
    const past: PolicyRuleEntry = { namespace: '.gone.example', mode: 'no-validation', until: new Date(clock.now() - 1), forwarders: [], source: 'store' };
    const kept: PolicyRuleEntry = { namespace: '.kept.example', mode: 'no-validation', until: new Date(clock.now() + HOUR), forwarders: [], source: 'store' };
    await writeFile(join(dir, POLICY_STORE_FILE), encodePolicyStore([past, kept]));
    const service = await start([configRule('.cfg.example', { noValidation: true, until: new Date(clock.now() - HOUR) })]);
    expect(service.list().map(({ rule }) => rule.namespace)).toEqual(['.kept.example']);
    expect(events('policy.nta-expired').map((l) => [l['namespace'], l['source'], l['atStart']])).toEqual([
      ['.cfg.example', 'config', true],
      ['.gone.example', 'store', true],
    ]);
    expect(await storedNamespaces()).toEqual(['.kept.example']);
  });

  it('recheck calls the hook for NTAs added at run time (not config ones); the hook removes a zone that validates again', async () => {
    const service = await start([configRule('.permanent.example', { noValidation: true })]);
    await service.add({ namespace: '.fixed.example', mode: 'no-validation', until: new Date(clock.now() + HOUR) });
    await service.add({ namespace: '.still-broken.example', mode: 'no-validation' });
    await service.add({ namespace: '.required.example', mode: 'require' });
    const asked: string[] = [];
    service.onRecheck(async (rule) => {
      asked.push(rule.namespace);
      if (rule.namespace === '.fixed.example') await service.remove(rule.namespace, 'zone validates again');
    });
    await service.recheck();
    expect(asked).toEqual(['.fixed.example', '.still-broken.example']);
    expect(events('policy.rule-removed')).toEqual([expect.objectContaining({ namespace: '.fixed.example', reason: 'zone validates again' })]);
    expect(modeAt(service, 'a.fixed.example.')).toBeUndefined();
    expect(await storedNamespaces()).toEqual(['.still-broken.example', '.required.example']);
  });

  it('a failing recheck hook is logged and does not stop the others', async () => {
    const service = await start();
    await service.add({ namespace: '.a.example', mode: 'no-validation' });
    let called = 0;
    service.onRecheck(() => {
      throw new Error('resolver down');
    });
    service.onRecheck(() => void called++);
    await service.recheck();
    expect(called).toBe(1);
    expect(events('policy.recheck-failed')).toEqual([expect.objectContaining({ namespace: '.a.example', level: 'warn' })]);
  });
});
