import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZoneService } from '../../src/authority/zone-service.js';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/logging/logger.js';
import { createScheduler } from '../../src/scheduler.js';
import { type DocumentStore, StoreError } from '../../src/store/document-store.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { Name } from '../../src/wire/name.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import { removeDir, tempDir } from '../support/external-servers.js';
import { ZONE_TEXT, expectZoneSignedAt } from './authority-update-helpers.js';

/**
 * Cluster mode with the shared store (etcd) unreachable for weeks: no change can be committed,
 * so a change is refused as unavailable, and the signature refresh remakes due signatures under
 * the serial served: no answer ever carries an expired signature, and every signature verifies.
 */
const HOUR = 3600_000;
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** A shared store that can be cut off: every write and delete then fails as etcd's do. */
function severable(inner: DocumentStore): DocumentStore & { down: boolean } {
  const cut = (key: string) => Promise.reject(new StoreError('unavailable', key, 'etcd cannot be reached'));
  const store = {
    down: false,
    description: inner.description,
    locate: (key: string) => inner.locate(key),
    read: ((key, type) => (store.down ? cut(key) : inner.read(key, type))) as DocumentStore['read'],
    write: ((key, type, value, options) => (store.down ? cut(key) : inner.write(key, type, value, options))) as DocumentStore['write'],
    delete: (key: string, options?: Parameters<DocumentStore['delete']>[1]) => (store.down ? cut(key) : inner.delete(key, options)),
    keys: (prefix: string) => (store.down ? cut(prefix) : inner.keys(prefix)),
    watch: (prefix: string, listener: Parameters<DocumentStore['watch']>[1]) => inner.watch(prefix, listener),
    close: () => inner.close(),
  };
  return store as DocumentStore & { down: boolean };
}

describe('cluster mode, etcd unreachable', () => {
  it('changes are refused as unavailable; signatures are refreshed under the serial served and never expire', async () => {
    const dir = tempDir('cluster-outage');
    dirs.push(dir);
    const file = join(dir, 'lab.zone');
    writeFileSync(file, ZONE_TEXT);
    const store = severable(await FileDocumentStore.open(join(dir, 'etcd')));
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const logs: string[] = [];
    const service = await ZoneService.start({
      config: { stateDir: join(dir, 'state'), zones: [{ name: 'lab.example.', file, allowTransfer: [], signing: undefined }], dnssec: { enable: true, validation: true }, authority: { zonesDir: dir, rateLimit: { responsesPerSecond: 0, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56 } } },
      clock,
      logger: createLogger({ level: 'info', destination: { write: (l: string) => void logs.push(l) } }),
      documents: store,
      cluster: { name: 'km1' },
      scheduler: createScheduler({ clock, mode: 'manual' }),
    });
    try {
      await service.sign('lab.example', { mode: 'defaults' });
      const served = () => service.findZone(Name.parse('lab.example.'))!.served;
      const serial = served().serial;
      store.down = true;
      await expect(service.addRecord('lab.example.', { name: 'new', type: 'A', rdata: '192.0.2.7' })).rejects.toMatchObject({ name: 'StoreError', code: 'unavailable' });
      let refreshed = 0;
      for (let hour = 1; hour <= 4 * 7 * 24; hour++) {
        clock.advance(HOUR);
        refreshed += (await service.refreshSignatures()).reduce((n, r) => n + r.refreshed, 0);
        const now = Math.floor(clock.now() / 1000);
        for (const set of served().rrsets())
          for (const sig of set.sigs) expect(decodeRrsig(sig.rdata).expiration, `${set.name.toString()} ${set.type} at hour ${hour}`).toBeGreaterThan(now);
      }
      expect(refreshed).toBeGreaterThan(0);
      expect(served().serial).toBe(serial);
      expect(served().rrset(Name.parse('new.lab.example.'), 1)).toBeUndefined();
      expectZoneSignedAt(served(), Math.floor(clock.now() / 1000));
      expect(logs.join('')).toMatch(/"event":"zone.signatures-refreshed".*"committed":false/);
    } finally {
      store.down = false;
      await service.stop();
    }
  }, 120_000);
});
