import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../../src/control-contract/cluster.js';
import { haveTool, removeDir, tempDir } from '../support/external-servers.js';

/**
 * The README's three-primary lab (scripts/cluster-lab.sh: a 3-member etcd and three Keymasters
 * from dist/) started as an operator would, then: `cluster status` names every primary with its
 * replication lag and the root trust point's one RFC 5011 refresher; a policy change through one
 * primary is applied by all (lag 0 everywhere); the refresher SIGKILLed, another takes its role
 * by itself; a refresher frozen (SIGSTOP) past its lease loses the role, and once resumed it
 * knows it is not the refresher and refreshes nothing; all of etcd killed, every primary keeps
 * its trust anchors and a change is refused as unavailable. `npm run build` first.
 */
const NET = '127.10.139';
const FIRST = 11; // etcd members and primaries on .11-.13 (etcd on 2379/2380, DNS on 53, control on 5380)
const enabled = haveTool('etcd') && haveTool('openssl');
const run = promisify(execFile);
const CLI = resolve('dist/cli/main.js');

describe.skipIf(!enabled)('scripts/cluster-lab.sh: a three-primary lab on loopback', () => {
  const dir = join(tempDir('cluster-lab'), 'lab');
  const lab = (action: 'start' | 'stop') =>
    run(resolve('scripts/cluster-lab.sh'), [action, dir], { env: { ...process.env, ETCD_NET: NET, KM_NET: NET, FIRST: String(FIRST), LEASE_TTL: '3s' }, timeout: 120_000 });
  const config = (name: string) => join(dir, `${name}.yaml`);
  const pidOf = (name: string) => Number(readFileSync(join(dir, `${name}.pid`), 'utf8'));
  const log = (name: string) => readFileSync(join(dir, `${name}.log`), 'utf8');

  async function cli(name: string, args: string[]): Promise<string> {
    const { stdout } = await run('node', [CLI, ...args, '--config', config(name)], { timeout: 30_000 });
    return stdout;
  }
  const status = async (name: string): Promise<ClusterStatus> => JSON.parse(await cli(name, ['cluster', 'status', '--json'])) as ClusterStatus;
  const alivePrimaries = (): string[] =>
    ['ns1', 'ns2', 'ns3'].filter((n) => {
      try {
        process.kill(pidOf(n), 0);
        return true;
      } catch {
        return false;
      }
    });
  const refresherSeenBy = async (name: string): Promise<string | undefined> => (await status(name)).trustPoints.find((t) => t.name === '.')?.refresher;

  beforeAll(async () => {
    const started = await lab('start');
    expect(started.stdout).toMatch(/lab up in/);
  }, 150_000);
  afterAll(async () => {
    for (const name of ['ns1', 'ns2', 'ns3']) {
      try {
        process.kill(pidOf(name), 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await lab('stop').catch(() => undefined);
    removeDir(join(dir, '..'));
  }, 60_000);

  it('cluster status: three primaries, their lag, one refresher for the root trust point; a change through one is applied by all', async () => {
    const first = await status('ns1');
    expect(first.servers.map((s) => s.name)).toEqual(['ns1', 'ns2', 'ns3']);
    expect(first.members.map((m) => m.healthy)).toEqual([true, true, true]);
    const holder = first.trustPoints.find((t) => t.name === '.')!;
    expect(holder.refresher).toMatch(/^ns[123]$/);
    expect(holder.leaseRemaining).toBeGreaterThan(0);

    await cli('ns1', ['policy', 'add', '.lab.example', '--require-validation']);
    await expect
      .poll(async () => (await status('ns2')).servers.map((s) => [s.name, s.lag, s.applied['policy']]), { timeout: 20_000, interval: 500 })
      .toEqual([['ns1', 0, 1], ['ns2', 0, 1], ['ns3', 0, 1]]);
    const table = await cli('ns3', ['cluster', 'status']);
    expect(table).toMatch(/^Primary\s+Since\s+Lag\s+Applied/m);
    expect(table).toMatch(/^Trust point\s+RFC 5011 refresher\s+Lease left/m);
    expect(table).toMatch(new RegExp(`^\\.\\s+${holder.refresher}\\s+\\d+ s$`, 'm'));
    // Only the refresher ever refreshed the root.
    for (const name of ['ns1', 'ns2', 'ns3'].filter((n) => n !== holder.refresher)) expect(log(name)).not.toMatch(/"event":"trust-point.refreshed"/);
  }, 60_000);

  it('the refresher SIGKILLed: another primary takes the role by itself once its lease expired', async () => {
    const dead = (await refresherSeenBy('ns1'))!;
    process.kill(pidOf(dead), 'SIGKILL');
    const witness = ['ns1', 'ns2', 'ns3'].find((n) => n !== dead)!;
    await expect.poll(() => refresherSeenBy(witness), { timeout: 20_000, interval: 500 }).toMatch(new RegExp(`^(?!${dead}$)ns[123]$`));
    const next = (await refresherSeenBy(witness))!;
    expect(log(next)).toMatch(/"event":"trust-refresher.acquired","zone":"\."/);
    expect((await status(witness)).servers.map((s) => s.name)).not.toContain(dead);
  }, 60_000);

  it('the refresher frozen (SIGSTOP) past its lease loses the role; resumed, it refreshes nothing', async () => {
    const alive = alivePrimaries();
    const frozen = (await refresherSeenBy(alive[0]!))!;
    const witness = alive.find((n) => n !== frozen)!;
    const refreshesBefore = (log(frozen).match(/"event":"trust-point.refreshed"/g) ?? []).length;
    process.kill(pidOf(frozen), 'SIGSTOP');
    await expect.poll(() => refresherSeenBy(witness), { timeout: 20_000, interval: 500 }).toBe(witness);
    process.kill(pidOf(frozen), 'SIGCONT');
    // Resumed, it sees the role with the witness (and its own lease granted anew), not with itself.
    await expect.poll(() => refresherSeenBy(frozen), { timeout: 20_000, interval: 500 }).toBe(witness);
    await expect.poll(async () => (await status(witness)).servers.map((s) => s.name), { timeout: 20_000, interval: 500 }).toContain(frozen);
    expect((log(frozen).match(/"event":"trust-point.refreshed"/g) ?? []).length).toBe(refreshesBefore);
    expect(log(frozen)).toMatch(/"event":"cluster.lease-lost"/);
  }, 90_000);

  it('all of etcd killed: every primary keeps its trust anchors, a trust anchor change is refused as unavailable', async () => {
    const alive = alivePrimaries();
    const anchorsOf = async (name: string) => JSON.parse(await cli(name, ['trust-anchor', 'list', '.', '--json'])) as { anchors: { keyTag: number; state: string }[] };
    const before = await anchorsOf(alive[0]!);
    expect(before.anchors.length).toBeGreaterThan(0);
    for (const m of [1, 2, 3]) process.kill(Number(readFileSync(join(dir, `etcd-m${m}.pid`), 'utf8')), 'SIGKILL');
    const refused = await run('node', [CLI, 'trust-anchor', 'add', 'lab.example', '--ds', '12345 13 2 8f1bbd4a71ac3d4ee5f1d7c06d2bfc7eab3e30f6ac6a1d1f1cb3a6c1d0c9b8a7', '--config', config(alive[0]!)], { timeout: 30_000 }).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(refused?.code).not.toBe(0);
    expect(refused?.stderr).toMatch(/etcd cannot be reached/);
    for (const name of alive) expect(await anchorsOf(name)).toEqual(before);
  }, 60_000);
});
