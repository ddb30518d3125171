import { chmodSync, cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ZoneStateStore } from '../../src/authority/zone-state-store.js';
import { ManualClock } from '../../src/clock.js';
import { createScheduler } from '../../src/scheduler.js';
import { createLogger } from '../../src/logging/logger.js';
import { ZoneService } from '../../src/authority/zone-service.js';
import type { DocumentStore } from '../../src/store/document-store.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { removeDir, tempDir } from '../support/external-servers.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/state-before-store/tree');
const ZONE_TEXT = '$TTL 600\n@ SOA ns hostmaster 1 3600 900 604800 300\n@ NS ns\nns A 192.0.2.2\n';
const started: ZoneService[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const s of started.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) removeDir(d);
});

function logger(logs: Record<string, unknown>[]) {
  return createLogger({ level: 'info', destination: { write: (l: string) => void logs.push(JSON.parse(l) as Record<string, unknown>) } });
}

async function start(o: { stateDir: string; zonesDir: string; configZone?: string; documents?: DocumentStore; serverName?: string; logs?: Record<string, unknown>[] }) {
  const clock = new ManualClock(Date.UTC(2026, 5, 2));
  const service = await ZoneService.start({
    config: {
      stateDir: o.stateDir,
      zones: o.configZone ? [{ name: 'config.example.', file: o.configZone, allowTransfer: [] }] : [],
      dnssec: { enable: true, validation: true },
      authority: { zonesDir: o.zonesDir, rateLimit: { responsesPerSecond: 0, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56 } },
    } as never,
    clock,
    logger: logger(o.logs ?? []),
    serverName: o.serverName ?? 'km1',
    scheduler: createScheduler({ clock, mode: 'manual' }),
    rollover: { dsAtParent: async () => undefined },
    ...(o.documents ? { documents: o.documents } : {}),
  });
  started.push(service);
  return service;
}

/** The fixture (made by the release before the store contract: make-fixture.mjs) moved to a temp dir. */
function stateBeforeStore(): { base: string; stateDir: string; zonesDir: string } {
  const base = tempDir('before-store');
  dirs.push(base);
  cpSync(FIXTURE, base, { recursive: true });
  const zonesJson = join(base, 'state/zones.json');
  writeFileSync(zonesJson, readFileSync(zonesJson, 'utf8').replaceAll('/tmp/km-before-store', base));
  // git keeps no file modes: the private keys are 0600 as that release wrote them.
  for (const zone of readdirSync(join(base, 'state/keys'))) for (const f of readdirSync(join(base, 'state/keys', zone))) if (f.endsWith('.pem')) chmodSync(join(base, 'state/keys', zone, f), 0o600);
  return { base, stateDir: join(base, 'state'), zonesDir: join(base, 'zones') };
}

function fixtureKeyTags(zone: string): number[] {
  const dir = join(FIXTURE, 'state/keys', zone);
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { keyTag: number }).keyTag).sort((a, b) => a - b);
}

describe('zone settings on the store contract', () => {
  it('migrates a state dir of the release before the store once, losing nothing', async () => {
    const { stateDir, zonesDir } = stateBeforeStore();
    const logs: Record<string, unknown>[] = [];
    const service = await start({ stateDir, zonesDir, configZone: join(zonesDir, 'config.zone'), logs });
    expect(logs.filter((l) => l['event'] === 'store.migrated' && l['to'] === 'zone-settings/')).toMatchObject([{ zones: 2 }]);
    expect(existsSync(join(stateDir, 'zones.json'))).toBe(false);
    expect(readdirSync(join(stateDir, 'zone-settings')).sort()).toEqual(['added.example.json', 'config.example.json']);

    const zones = service.list() as { name: string; signed: boolean; source: string; serial: number; allowTransfer: string[] }[];
    expect(zones.map((z) => [z.name, z.source, z.signed])).toEqual([
      ['added.example.', 'added', true],
      ['config.example.', 'config', true],
    ]);
    expect(zones[0]!.allowTransfer).toEqual(['192.0.2.0/24']);
    for (const zone of ['added.example', 'config.example']) {
      const keys = (await service.keys(`${zone}.`)).keys.map((k) => k.keyTag).sort((a, b) => a - b);
      expect(keys).toEqual(fixtureKeyTags(zone)); // the same keys: none generated, none lost
    }
    // Key metadata: read where it was, rewritten as documents of the store (the private keys stay 0600 PEM files).
    expect(logs.filter((l) => l['event'] === 'store.migrated' && l['to'] === 'keys/').map((l) => [l['zone'], l['keys']]).sort()).toEqual([
      ['added.example.', 4],
      ['config.example.', 4],
    ]);
    for (const f of readdirSync(join(stateDir, 'keys/added.example')).filter((x) => x.endsWith('.json')))
      expect(JSON.parse(readFileSync(join(stateDir, 'keys/added.example', f), 'utf8'))).toMatchObject({ format: 'keymaster-key', version: 1, data: { zone: 'added.example.' } });
    // The journal: read once, its change now a snapshot in the store, the old files kept aside.
    const journalsMigrated = logs.filter((l) => l['event'] === 'store.migrated' && String(l['to']).includes('journals'));
    expect(journalsMigrated.map((l) => l['zone']).sort()).toEqual(['added.example.', 'config.example.']);
    expect(journalsMigrated.find((l) => l['zone'] === 'added.example.')?.['changes']).toBeGreaterThanOrEqual(1);
    expect(readdirSync(join(stateDir, 'journal')).filter((f) => f.endsWith('.jnl'))).toEqual([]);
    expect(readdirSync(join(stateDir, 'journal')).filter((f) => f.includes('.jnl.migrated-'))).toHaveLength(2);
    // The record added by UPDATE before the restart comes back from the journal, signed.
    const added = service.lookup(Name.parse('new.added.example.'), RRType.A)!;
    expect(added.answer.map((r) => r.type)).toEqual([RRType.A, RRType.RRSIG]);
    await service.stop();
    started.length = 0;

    // Read once: the next start finds the documents and nothing to migrate.
    const again: Record<string, unknown>[] = [];
    const restarted = await start({ stateDir, zonesDir, configZone: join(zonesDir, 'config.zone'), logs: again });
    expect(again.some((l) => l['event'] === 'store.migrated')).toBe(false);
    expect(restarted.list().map((z) => z.name)).toEqual(['added.example.', 'config.example.']);
  });

  it('refuses a damaged zone settings document with its file named, and changes nothing', async () => {
    const { stateDir, zonesDir } = stateBeforeStore();
    writeFileSync(join(stateDir, 'zones.json'), '{"version": 1, "zones": [{"name": "no-dot"}]}');
    await expect(start({ stateDir, zonesDir })).rejects.toThrow(/zones\.json: .*zones\[0\]\.name: missing or not a fully qualified name/);
    expect(readFileSync(join(stateDir, 'zones.json'), 'utf8')).toContain('no-dot');
    expect(existsSync(join(stateDir, 'zone-settings'))).toBe(false);
  });

  it('refuses key metadata that does not check, naming the file and the field', async () => {
    const { stateDir, zonesDir } = stateBeforeStore();
    const dir = join(stateDir, 'keys/added.example');
    const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.json'))!);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"role": "ksk"', '"role": "csk"'));
    const logs: Record<string, unknown>[] = [];
    await start({ stateDir, zonesDir, logs });
    // An added zone that cannot load is logged and left out; its keys are not touched.
    expect(logs.find((l) => l['event'] === 'zone.load-failed')?.['error']).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}: cannot read key metadata: role: "csk" is not ksk or zsk`));
    expect(readFileSync(file, 'utf8')).toContain('"role": "csk"');
  });

  it('a second server on the same store sees zones added, changed and removed by the first', async () => {
    const base = tempDir('two-writers');
    dirs.push(base);
    writeFileSync(join(base, 'shared.zone'), ZONE_TEXT);
    const documents = await FileDocumentStore.open(join(base, 'store'));
    const a = await start({ stateDir: join(base, 'a'), zonesDir: base, documents, serverName: 'km1' });
    const bLogs: Record<string, unknown>[] = [];
    const b = await start({ stateDir: join(base, 'b'), zonesDir: base, documents, serverName: 'km2', logs: bLogs });

    await a.add('shared.example.', 'shared.zone');
    await vi.waitFor(() => expect(b.list().map((z) => z.name)).toEqual(['shared.example.']));
    expect(b.lookup(Name.parse('ns.shared.example.'), RRType.A)?.answer).toHaveLength(1);
    await vi.waitFor(() => expect(bLogs.filter((l) => l['event'] === 'zone.added')).toMatchObject([{ zone: 'shared.example.', by: 'store' }]));
    // The writer itself is not told of its own write.
    expect(a.list()).toHaveLength(1);

    // Someone else (an operator's tool, another primary) hands the Key Master role to km2.
    const settings = new ZoneStateStore(documents);
    const stored = (await settings.readKey(settings.keyOf('shared.example.')))!;
    await settings.save({ ...stored.zone, keyMaster: 'km2' });
    await vi.waitFor(() => expect(a.keyMasterOf('shared.example.')).toMatchObject({ keyMaster: 'km2', isThisServer: false }));
    await vi.waitFor(() => expect(b.keyMasterOf('shared.example.')).toMatchObject({ keyMaster: 'km2', isThisServer: true }));

    await a.remove('shared.example.');
    await vi.waitFor(() => expect(b.list()).toEqual([]));
    expect(b.lookup(Name.parse('ns.shared.example.'), RRType.A)).toBeUndefined();
    await documents.close();
  });
});
