import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.js';
import { haveTool, type KeymasterServer, removeDir, startKeymaster, tempDir } from '../support/external-servers.js';
import { testPrefix } from '../support/cluster-node.js';
import { ask } from '../support/dns-hierarchy.js';

/**
 * Two Keymasters in cluster mode against one 3-member etcd: what is on the store contract today
 * (policy rules, trust anchors) is shared — a change through one server's control API is applied
 * by the other through the store's watch — and `keymaster cluster status` shows members, servers
 * and leases. With every etcd member down, the servers keep answering and a change is refused
 * with the store's 'unavailable' error; with etcd back, changes go through again.
 */
const ETCD = ['127.10.136.21', '127.10.136.22', '127.10.136.23'];
const enabled = haveTool('etcd');

interface PolicyList {
  rules: { namespace: string; mode: string; source: string }[];
}
interface AnchorList {
  anchors: { zone: string; keyTag: number; type: string }[];
}
interface ClusterStatusJson {
  server: { name: string; lease: string; inDoubt: boolean };
  members: { name: string; healthy: boolean; leader: boolean }[];
  servers: { name: string }[];
  zones: unknown[];
}

describe.skipIf(!enabled)('cluster mode: two Keymasters sharing policy and trust anchors through etcd', () => {
  let etcd: EtcdCluster;
  const servers: KeymasterServer[] = [];
  let a: KeymasterServer;
  let b: KeymasterServer;

  const clusterYaml = (name: string, prefix: string) =>
    `cluster:\n  name: ${name}\n  etcd:\n    endpoints: [${etcd.endpoints.map((e) => JSON.stringify(e)).join(', ')}]\n    prefix: ${prefix}\n    callTimeout: 1s\n  keyMaster: { leaseTtl: 3s }\n`;

  async function json<T>(server: KeymasterServer, args: string[]): Promise<T> {
    const r = await server.cli([...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  }

  beforeAll(async () => {
    etcd = await startEtcdCluster(ETCD);
    const prefix = testPrefix();
    a = await startKeymaster({ address: '127.10.137.1', control: '127.10.137.1:5380', rootHints: 'builtin', extraYaml: clusterYaml('ns1', prefix) });
    servers.push(a);
    b = await startKeymaster({ address: '127.10.137.2', control: '127.10.137.2:5380', rootHints: 'builtin', extraYaml: clusterYaml('ns2', prefix) });
    servers.push(b);
  }, 120_000);
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await etcd?.destroy();
  });

  it('a policy rule added through one server is applied by the other; removed there, gone here', async () => {
    const added = await a.cli(['policy', 'add', '.corp.example', '--require-validation']);
    expect(added.code, added.stderr).toBe(0);
    await expect
      .poll(async () => (await json<PolicyList>(b, ['policy', 'list'])).rules.find((r) => r.namespace === '.corp.example'), { timeout: 10_000 })
      .toMatchObject({ mode: 'require', source: 'store' });
    const removed = await b.cli(['policy', 'remove', '.corp.example']);
    expect(removed.code, removed.stderr).toBe(0);
    await expect.poll(async () => (await json<PolicyList>(a, ['policy', 'list'])).rules.some((r) => r.namespace === '.corp.example'), { timeout: 10_000 }).toBe(false);
    expect(b.log()).toMatch(/"event":"policy.rule-added".*"reason":"added on another server"/);
  }, 60_000);

  it('a trust anchor added through one server is in the other\'s trust anchors', async () => {
    const ds = '12345 13 2 8f1bbd4a71ac3d4ee5f1d7c06d2bfc7eab3e30f6ac6a1d1f1cb3a6c1d0c9b8a7';
    const added = await b.cli(['trust-anchor', 'add', 'corp.example', '--ds', ds]);
    expect(added.code, added.stderr).toBe(0);
    await expect
      .poll(async () => (await json<AnchorList>(a, ['trust-anchor', 'list'])).anchors.filter((x) => x.zone === 'corp.example.').map((x) => [x.type, x.keyTag]), { timeout: 10_000 })
      .toEqual([['DS', 12345]]);
  }, 60_000);

  it('cluster status: members and health, this server and its lease, the primaries', async () => {
    const status = await json<ClusterStatusJson>(a, ['cluster', 'status']);
    expect(status.server).toMatchObject({ name: 'ns1', inDoubt: false });
    expect(status.server.lease).toMatch(/^\d+$/);
    expect(status.members.map((m) => [m.name, m.healthy])).toEqual([['m1', true], ['m2', true], ['m3', true]]);
    expect(status.members.filter((m) => m.leader)).toHaveLength(1);
    expect(status.servers.map((s) => s.name)).toEqual(['ns1', 'ns2']);
    const table = await b.cli(['cluster', 'status']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^Server\s+:\s+ns2$/m);
    expect(table.stdout).toMatch(/^Member\s+Endpoint\s+Healthy\s+Leader/m);
    expect(table.stdout).toMatch(/3 of 3 members healthy/);
  }, 60_000);

  it('one etcd member killed: status shows it, changes still go through and are shared', async () => {
    await etcd.stop(2, 'SIGKILL');
    try {
      const status = await json<ClusterStatusJson>(a, ['cluster', 'status']);
      expect(status.members.map((m) => [m.name, m.healthy])).toEqual([['m1', true], ['m2', true], ['m3', false]]);
      const added = await a.cli(['policy', 'add', '.one-down.example', '--log-only']);
      expect(added.code, added.stderr).toBe(0);
      await expect.poll(async () => (await json<PolicyList>(b, ['policy', 'list'])).rules.some((r) => r.namespace === '.one-down.example'), { timeout: 10_000 }).toBe(true);
    } finally {
      await etcd.restart(2);
    }
  }, 60_000);

  it('all of etcd stopped: DNS answers go on, a change is refused as unavailable; etcd back, changes go through', async () => {
    await etcd.stopAll('SIGKILL');
    try {
      const refused = await a.cli(['policy', 'add', '.during-outage.example', '--require-validation']);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/etcd cannot be reached/);
      for (const host of ['127.10.137.1', '127.10.137.2'])
        expect((await ask({ host, port: 53 }, 'localhost.', 'A', { timeoutMs: 3000 })).response).toMatchObject({ rcode: 0 });
      expect((await json<PolicyList>(b, ['policy', 'list'])).rules.some((r) => r.namespace === '.one-down.example')).toBe(true);
    } finally {
      await etcd.restartAll();
    }
    await expect.poll(async () => (await a.cli(['policy', 'add', '.after-outage.example', '--require-validation'])).code, { timeout: 30_000, interval: 1000 }).toBe(0);
    await expect.poll(async () => (await json<PolicyList>(b, ['policy', 'list'])).rules.some((r) => r.namespace === '.after-outage.example'), { timeout: 20_000 }).toBe(true);
    expect((await json<PolicyList>(a, ['policy', 'list'])).rules.some((r) => r.namespace === '.during-outage.example')).toBe(false);
    // Leases that lapsed during the outage were granted again: both primaries are back, not in doubt.
    await expect
      .poll(async () => {
        const s = await json<ClusterStatusJson>(b, ['cluster', 'status']);
        return { servers: s.servers.map((x) => x.name), inDoubt: s.server.inDoubt };
      }, { timeout: 20_000, interval: 500 })
      .toEqual({ servers: ['ns1', 'ns2'], inDoubt: false });
    expect(a.alive() && b.alive()).toBe(true);
  }, 120_000);

  it('a second server with a live server\'s name is refused at start, naming the clash', async () => {
    const clash = startKeymaster({ address: '127.10.137.3', control: '127.10.137.3:5380', rootHints: 'builtin', extraYaml: clusterYaml('ns1', (a.log().match(/"prefix":"([^"]+)"/) ?? [])[1] ?? '/x/'), startTimeoutMs: 15_000 });
    await expect(clash).rejects.toThrow(/another live server is registered as ns1/);
  }, 60_000);

  it('a key-encryption key file readable by others stops the start, naming the file', async () => {
    const dir = tempDir('kek');
    try {
      const kek = join(dir, 'kek');
      writeFileSync(kek, randomBytes(32).toString('hex'), { mode: 0o644 });
      chmodSync(kek, 0o644);
      const start = startKeymaster({ address: '127.10.137.4', control: '127.10.137.4:5380', rootHints: 'builtin', extraYaml: `${clusterYaml('ns4', testPrefix())}  keyEncryptionKey: ${JSON.stringify(kek)}\n`, startTimeoutMs: 15_000 });
      await expect(start).rejects.toThrow(new RegExp(`${kek}: the key-encryption key file is readable or writable by group or others`));
    } finally {
      removeDir(dir);
    }
  }, 60_000);
});
