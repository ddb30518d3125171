import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SecondaryZones } from '../../src/authority/secondary-zones.js';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/logging/logger.js';
import { createScheduler } from '../../src/scheduler.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { Name } from '../../src/wire/name.js';
import { removeDir, tempDir } from '../support/external-servers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const COPY = '$ORIGIN copy.example.\n$TTL 300\n@ SOA ns h 42 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\n';

async function secondaries(stateDir: string, clock: ManualClock, logs: Record<string, unknown>[]) {
  return SecondaryZones.start(
    {
      stateDir,
      documents: await FileDocumentStore.open(stateDir),
      // Nothing listens there: a check fails at once (connection refused), the stored copy is what is served.
      keyring: new Map(),
      clock,
      logger: createLogger({ level: 'info', destination: { write: (l: string) => void logs.push(JSON.parse(l) as Record<string, unknown>) } }),
      scheduler: createScheduler({ clock, mode: 'manual' }),
      transferTimeoutMs: 2000,
    },
    [],
  );
}

describe('secondary zones on the store contract', () => {
  it('reads the layout before the store once: the added zone, its copy and its times; then only the store', async () => {
    const stateDir = tempDir('store-secondary');
    dirs.push(stateDir);
    const now = Date.UTC(2026, 5, 1);
    mkdirSync(join(stateDir, 'secondary'), { recursive: true });
    writeFileSync(join(stateDir, 'secondary', 'zones.json'), JSON.stringify({ zones: [{ name: 'copy.example.', primaries: ['127.10.132.2:9'], allowTransfer: ['192.0.2.0/24'] }] }));
    writeFileSync(join(stateDir, 'secondary', 'copy.example.zone'), COPY);
    writeFileSync(join(stateDir, 'secondary', 'copy.example.state'), JSON.stringify({ lastRefresh: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 86400_000).toISOString() }));
    const clock = new ManualClock(now);
    const logs: Record<string, unknown>[] = [];
    const first = await secondaries(stateDir, clock, logs);
    expect(first.show(Name.parse('copy.example.'))).toMatchObject({ serial: 42, state: 'ok', expires: new Date(now + 86400_000).toISOString() });
    expect(first.served(Name.parse('copy.example.'))?.rrset(Name.parse('www.copy.example.'), 1)).toBeDefined();
    expect(logs.filter((l) => l['event'] === 'store.migrated').map((l) => l['to']).sort()).toEqual(['secondaries/copy.example/', 'secondary-zones']);
    expect(readdirSync(join(stateDir, 'secondary'))).toEqual([]);
    expect(readdirSync(join(stateDir, 'secondaries', 'copy.example')).sort()).toEqual(['copy-000000000001-000000000000.json', 'state.json']);
    expect(existsSync(join(stateDir, 'secondary-zones.json'))).toBe(true);
    await first.stop();

    const again: Record<string, unknown>[] = [];
    const second = await secondaries(stateDir, clock, again);
    expect(second.show(Name.parse('copy.example.'))).toMatchObject({ serial: 42, state: 'ok' });
    expect(again.some((l) => l['event'] === 'store.migrated')).toBe(false);
    await second.stop();
  });
});
