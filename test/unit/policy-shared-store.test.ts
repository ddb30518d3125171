import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/logging/logger.js';
import { type PolicyChange, startPolicyService } from '../../src/policy/policy-service.js';
import { createScheduler } from '../../src/scheduler.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { Name } from '../../src/wire/name.js';

/**
 * Two policy services over one store, as two primaries over one etcd: neither loses the other's
 * rule when both change the table (compare-and-swap, then the other's rules are taken and the
 * change applied again), and `reloadFromStore` brings a service's table to what the store holds.
 */
describe('policy rules shared by two servers through one store', () => {
  it('concurrent adds on both servers: both rules are stored; reload brings each table up to date with its events', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keymaster-policy-shared-'));
    const clock = new ManualClock();
    const documents = await FileDocumentStore.open(dir);
    const logs: { event?: string; reason?: string }[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logs.push(JSON.parse(line)) } });
    const start = () => startPolicyService({ configRules: [], documents, scheduler: createScheduler({ clock, mode: 'manual' }), clock, logger });
    const a = await start();
    const b = await start();
    try {
      await Promise.all([
        a.add({ namespace: '.a.example', mode: 'require' }),
        b.add({ namespace: '.b.example', mode: 'log-only' }),
        a.add({ namespace: '.c.example', mode: 'no-validation' }),
      ]);
      const again = await start();
      expect(again.list().map((e) => e.rule.namespace)).toEqual(['.a.example', '.b.example', '.c.example']);
      const changes: PolicyChange[] = [];
      a.onChange((c) => changes.push(c));
      await a.reloadFromStore();
      expect(a.table.match(Name.parse('x.b.example'), clock.now())?.mode).toBe('log-only');
      expect(changes.map((c) => [c.kind, c.namespace])).toEqual([['added', '.b.example']]);
      await b.remove('.a.example', 'operator');
      await a.reloadFromStore();
      expect(a.table.match(Name.parse('x.a.example'), clock.now())).toBeUndefined();
      expect(changes.map((c) => [c.kind, c.namespace])).toEqual([['added', '.b.example'], ['removed', '.a.example']]);
      expect(logs.filter((l) => l.reason === 'removed on another server').map((l) => l.event)).toEqual(['policy.rule-removed']);
      await again.stop();
    } finally {
      await a.stop();
      await b.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
