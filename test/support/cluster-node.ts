import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { type Clock, systemClock } from '../../src/clock.js';
import { connectEtcd } from '../../src/cluster/etcd-client.js';
import { KeyMasterRoles } from '../../src/cluster/key-master-role.js';
import { TransferRequests } from '../../src/cluster/key-master-requests.js';
import { ServerLease } from '../../src/cluster/server-lease.js';
import { EtcdDocumentStore } from '../../src/store/etcd-document-store.js';

/**
 * One primary's cluster side (etcd client, store, lease, Key Master roles), in this process
 * (`startClusterNode`) or in a child process that can be SIGKILLed or SIGSTOPped
 * (`spawnRoleHolder`, which runs the built code from dist/: `npm run build` first).
 */
export interface ClusterNode {
  readonly client: Etcd3;
  readonly store: EtcdDocumentStore;
  readonly lease: ServerLease;
  readonly roles: KeyMasterRoles;
  readonly requests: TransferRequests;
  close(): Promise<void>;
}

export function testPrefix(): string {
  return `/keymaster-test/${randomBytes(6).toString('hex')}/`;
}

export async function startClusterNode(endpoints: readonly string[], prefix: string, name: string, options: { ttlSeconds?: number; autoFailover?: boolean; clock?: Clock } = {}): Promise<ClusterNode> {
  const client = connectEtcd({ endpoints, callTimeoutMs: 1500 });
  const ns = client.namespace(prefix);
  const store = await EtcdDocumentStore.open(ns, prefix, `etcd ${prefix}`);
  const lease = new ServerLease(ns, { name, ttlSeconds: options.ttlSeconds ?? 6, clock: options.clock ?? systemClock });
  await lease.start();
  const roles = await KeyMasterRoles.start(ns, store, lease, { autoFailover: options.autoFailover ?? false });
  const requests = await TransferRequests.start(ns, roles, lease);
  return {
    client,
    store,
    lease,
    roles,
    requests,
    close: async () => {
      await requests.close();
      await roles.close();
      await lease.stop();
      await store.close();
      client.close();
    },
  };
}

const dist = (p: string): string => JSON.stringify(resolve('dist', p));

/**
 * A child process that takes the zone's Key Master role, prints `holding true`, then writes the
 * document `keys/ZONE` in a loop with the fence it read at the start (never asking `isHeld`
 * again: what stops it must be etcd's transaction), printing `ack N` or `refused CODE`, and on
 * SIGCONT prints `woke held=BOOL` (what `isHeld` says the moment it runs again).
 */
const HOLDER = `
const { connectEtcd } = await import(${dist('cluster/etcd-client.js')});
const { EtcdDocumentStore } = await import(${dist('store/etcd-document-store.js')});
const { ServerLease } = await import(${dist('cluster/server-lease.js')});
const { KeyMasterRoles } = await import(${dist('cluster/key-master-role.js')});
const [endpoints, prefix, name, ttl, zone] = process.argv.slice(1);
const print = (line) => process.stdout.write(line + '\\n');
const client = connectEtcd({ endpoints: endpoints.split(','), callTimeoutMs: 1000 });
const ns = client.namespace(prefix);
const store = await EtcdDocumentStore.open(ns, prefix, 'etcd');
const lease = new ServerLease(ns, { name, ttlSeconds: Number(ttl), clock: { now: () => Date.now() } });
await lease.start();
const roles = await KeyMasterRoles.start(ns, store, lease, { autoFailover: false });
await roles.acquire(zone);
const fence = roles.fence(zone);
print('holding ' + roles.isHeld(zone));
process.on('SIGCONT', () => print('woke held=' + roles.isHeld(zone)));
const type = { format: 'keymaster-test-counter', version: 2, encode: (v) => v, decode: (d) => d };
for (let n = 1; ; n++) {
  try {
    await store.write('keys/' + zone, type, { count: n, note: name }, { guard: fence });
    print('ack ' + n);
  } catch (e) {
    print('refused ' + (e.code ?? e.message));
  }
  await new Promise((r) => setTimeout(r, 50));
}
`;

export interface RoleHolderProcess {
  readonly child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  kill(): Promise<void>;
}

export async function spawnRoleHolder(endpoints: readonly string[], prefix: string, name: string, ttlSeconds: number, zone: string): Promise<RoleHolderProcess> {
  const child = spawn('node', ['--input-type=module', '-e', HOLDER, endpoints.join(','), prefix, name, String(ttlSeconds), zone], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const holder: RoleHolderProcess = {
    child,
    output: () => out,
    waitFor: async (pattern, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(out)) {
        if (child.exitCode !== null) throw new Error(`role holder ${name} exited:\n${out}`);
        if (Date.now() > deadline) throw new Error(`role holder ${name}: no ${pattern} after ${timeoutMs} ms:\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
  await holder.waitFor(/holding true/);
  return holder;
}
