import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyRuleEntry } from '../../src/policy/policy-table.js';
import { decodePolicyStore, POLICY_DOCUMENT, PolicyStore, PolicyStoreError } from '../../src/policy/policy-store.js';
import { encodeEnvelope } from '../../src/store/document-envelope.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';

const POLICY_STORE_FILE = 'policy.json';
const encodePolicyStore = (rules: readonly PolicyRuleEntry[]) => encodeEnvelope(POLICY_DOCUMENT, [...rules], 1);
const openStore = async (at: string) => new PolicyStore(await FileDocumentStore.open(at));

const RULES: PolicyRuleEntry[] = [
  { namespace: '.corp.example', mode: 'require', forwarders: [{ host: '10.0.0.53', port: 53 }], source: 'store', addedAt: new Date('2026-01-01T00:00:00Z') },
  { namespace: 'broken.example', mode: 'no-validation', until: new Date('2026-01-08T12:00:00Z'), forwarders: [], source: 'store', addedAt: new Date('2026-01-01T00:00:00Z') },
  { namespace: '.', mode: 'log-only', forwarders: [{ host: '2001:db8::53', port: 5353 }], source: 'store' },
  { namespace: '.split.example', mode: 'default', forwarders: [{ host: '127.0.0.1', port: 5300 }, { host: '127.0.0.2', port: 53 }], source: 'store' },
];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keymaster-policy-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The decode error for `text`, asserting it is a PolicyStoreError naming the file. */
function faultOf(text: string): string {
  try {
    decodePolicyStore(text, '/state/policy.json');
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyStoreError);
    expect((error as Error).message).toMatch(/^policy store \/state\/policy\.json: /);
    return (error as PolicyStoreError).fault;
  }
  throw new Error('decoded without an error');
}

/** A valid file's document with `change` applied, re-encoded (checksum not recomputed). */
function tampered(change: (doc: Record<string, unknown> & { data: Record<string, unknown>[] }) => void): string {
  const doc = JSON.parse(encodePolicyStore(RULES));
  change(doc);
  return JSON.stringify(doc);
}

describe('policy store file', () => {
  it('round-trips every kind of rule through the file', async () => {
    const store = (await openStore(dir));
    expect(store.path).toBe(join(dir, POLICY_STORE_FILE));
    expect(await store.load()).toEqual([]); // no file yet: no rules
    await store.save(RULES);
    expect(await (await openStore(dir)).load()).toEqual(RULES);
  });

  it('writes versioned JSON with a checksum, mode 0600, and leaves no temp files', async () => {
    const store = (await openStore(dir));
    await store.save(RULES);
    await store.save(RULES.slice(1));
    expect(await readdir(dir)).toEqual([POLICY_STORE_FILE]);
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(await readFile(store.path, 'utf8'));
    expect(doc).toMatchObject({ format: 'keymaster-policy', version: 2, revision: 2, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(doc.data[0]).toEqual({ namespace: 'broken.example', mode: 'no-validation', until: '2026-01-08T12:00:00.000Z', forwarders: [], addedAt: '2026-01-01T00:00:00.000Z' });
    expect(doc.data[1].forwarders).toEqual(['[2001:db8::53]:5353']);
  });

  it('a failed write leaves the old file as it was and no temp file', async () => {
    const store = (await openStore(dir));
    await store.save(RULES);
    const before = await readFile(store.path, 'utf8');
    // A rule that cannot be serialised makes encode throw before anything is written.
    const bad = { ...RULES[0]!, until: new Date(NaN), mode: 'no-validation' as const };
    await expect(store.save([bad])).rejects.toThrow();
    expect(await readFile(store.path, 'utf8')).toBe(before);
    expect(await readdir(dir)).toEqual([POLICY_STORE_FILE]);
  });

  it('a write that fails at the rename removes its temp file', async () => {
    const store = (await openStore(dir));
    await mkdir(join(store.path, 'in-the-way'), { recursive: true }); // rename over a non-empty directory fails
    await expect(store.save(RULES)).rejects.toThrow();
    expect(await readdir(dir)).toEqual([POLICY_STORE_FILE]);
    expect(await readdir(store.path)).toEqual(['in-the-way']);
  });

  it('a damaged file is refused with the file and the fault', async () => {
    expect(faultOf('')).toMatch(/empty/);
    expect(faultOf('{"format": "keymaster-policy", "version": 2, "data": [')).toMatch(/^not JSON \(/);
    expect(faultOf('[1, 2]')).toMatch(/not a keymaster-policy document/);
    expect(faultOf(tampered((d) => (d['version'] = 3)))).toMatch(/^version 3 is not supported \(this Keymaster reads version 2/);
    expect(faultOf(tampered((d) => (d.data[0]!['mode'] = 'no-validation')))).toMatch(/^checksum mismatch/);
    expect(faultOf(tampered((d) => delete d['sha256']))).toMatch(/checksum is missing/);
    expect(faultOf(tampered((d) => (d['revision'] = 0)))).toMatch(/"revision" is missing or not a positive integer/);
  });

  it('a bad rule (with a matching checksum) is refused naming the rule and field', async () => {
    const withRule = (rule: Record<string, unknown>) => {
      const good = JSON.parse(encodePolicyStore([]));
      const text = JSON.stringify({ ...good, data: [rule] });
      // recompute the checksum the way the writer does, so only the rule is at fault
      const doc = JSON.parse(text);
      doc.sha256 = createHash('sha256').update(JSON.stringify(doc.data)).digest('hex');
      return JSON.stringify(doc);
    };
    expect(faultOf(withRule({ namespace: 'a..b', mode: 'require', forwarders: [] }))).toMatch(/^rules\[0\]\.namespace: "a\.\.b" is not a namespace/);
    expect(faultOf(withRule({ namespace: '.a', mode: 'strict', forwarders: [] }))).toMatch(/^rules\[0\]\.mode: "strict" is not one of/);
    expect(faultOf(withRule({ namespace: '.a', mode: 'require', forwarders: ['host.example'] }))).toMatch(/^rules\[0\]\.forwarders\[0\]: "host\.example" is not an IP address/);
    expect(faultOf(withRule({ namespace: '.a', mode: 'require', until: '2026-01-01T00:00:00Z', forwarders: [] }))).toMatch(/^rules\[0\]\.until: applies only to a no-validation rule/);
    expect(faultOf(withRule({ namespace: '.a', mode: 'no-validation', until: 'soon', forwarders: [] }))).toMatch(/^rules\[0\]\.until: "soon" is not an ISO 8601 time/);
    expect(faultOf(withRule({ namespace: '.a', mode: 'require', forwarders: [], extra: 1 }))).toMatch(/^rules\[0\]\.extra: unknown field/);
  });

  it('load() reports the file path for a damaged file on disk', async () => {
    const store = (await openStore(dir));
    await writeFile(store.path, 'not json at all');
    await expect(store.load()).rejects.toThrow(`policy store ${store.path}: not JSON`);
  });

  it('reads a version-1 file (before the store contract) once, checksum checked, and rewrites it as version 2', async () => {
    const v1 = (rules: unknown[]) => JSON.stringify({ format: 'keymaster-policy', version: 1, rules, sha256: createHash('sha256').update(JSON.stringify(rules)).digest('hex') });
    const rules = [{ namespace: '.corp.example', mode: 'require', forwarders: ['10.0.0.53'], addedAt: '2026-01-01T00:00:00.000Z' }];
    const store = await openStore(dir);
    await writeFile(store.path, v1(rules));
    expect(await store.load()).toEqual([{ namespace: '.corp.example', mode: 'require', forwarders: [{ host: '10.0.0.53', port: 53 }], source: 'store', addedAt: new Date('2026-01-01T00:00:00.000Z') }]);
    await store.save(await store.load());
    expect(JSON.parse(await readFile(store.path, 'utf8'))).toMatchObject({ version: 2, revision: 2 });
    await writeFile(store.path, v1(rules).replace('require', 'log-only'));
    await expect((await openStore(dir)).load()).rejects.toThrow(/checksum mismatch/);
  });
});
