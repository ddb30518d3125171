import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SealedPrivateKey } from '../../src/authority/sealed-private-key.js';
import type { ZoneKeyAuthority } from '../../src/authority/zone-key-authority.js';
import { ZoneService } from '../../src/authority/zone-service.js';
import { ManualClock } from '../../src/clock.js';
import { type SealedKey, openPrivateKey, sealPrivateKey } from '../../src/cluster/key-envelope.js';
import { defaultSigningOptions } from '../../src/config/zone-schema.js';
import { createLogger } from '../../src/logging/logger.js';
import { createScheduler } from '../../src/scheduler.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { Name } from '../../src/wire/name.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import { removeDir, tempDir } from '../support/external-servers.js';
import { ZONE_TEXT, expectZoneSignedAt } from './authority-update-helpers.js';

/**
 * Cluster mode, signature refresh over simulated weeks: three primaries share one store (the
 * file store standing in for etcd, its watch delivering the journal), ns1 the Key Master. The
 * Key Master's refresh is the cluster's one serial change: the others refresh their own copies
 * as they apply it, never commit a refresh of their own while it does its job, and serve its
 * serial; a primary started hours later falls into step at the first refresh. With the Key
 * Master silent (frozen, its role not yet taken), the others still never serve an expired
 * signature: each commits a refresh once a signature of its own turns urgent.
 */
const HOUR = 3600_000;
const ZONE = 'lab.example.';
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function keyAuthority(me: string): ZoneKeyAuthority {
  return {
    claim: async () => 'ns1',
    holderOf: () => 'ns1',
    isHeld: () => me === 'ns1',
    fence: () => [],
    move: () => Promise.reject(new Error('not in this test')),
    setSafePoint: () => undefined,
    onHolderChanged: () => undefined,
  };
}

describe('cluster mode: one signature-refresh serial for the cluster', () => {
  it('the Key Master refreshes, the others follow its serial and refresh with it; with it silent, none of theirs expires', async () => {
    const dir = tempDir('cluster-refresh-serial');
    dirs.push(dir);
    const file = join(dir, 'lab.zone');
    writeFileSync(file, ZONE_TEXT);
    const store = await FileDocumentStore.open(join(dir, 'shared'));
    const kek = randomBytes(32);
    const sealing = {
      seal: (name: string, plaintext: Buffer) => ({ ...sealPrivateKey(kek, name, plaintext) }) as SealedPrivateKey,
      open: (name: string, sealed: SealedPrivateKey) => openPrivateKey(kek, name, sealed as unknown as SealedKey),
    };
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const logs = new Map<string, string[]>();
    const start = async (name: string) => {
      const lines: string[] = [];
      logs.set(name, lines);
      return ZoneService.start({
        config: {
          stateDir: join(dir, name),
          zones: [{ name: ZONE, file, allowTransfer: [], signing: defaultSigningOptions() }],
          dnssec: { enable: true, validation: true },
          authority: { zonesDir: dir, rateLimit: { responsesPerSecond: 0, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56 } },
        } as never,
        clock,
        logger: createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(l) } }),
        documents: store,
        cluster: { name, keyAuthority: keyAuthority(name), sealing },
        scheduler: createScheduler({ clock, mode: 'manual' }),
      });
    };
    const ns1 = await start('ns1');
    const ns2 = await start('ns2');
    clock.advance(5 * HOUR); // ns3 signs its copy hours after the others
    const ns3 = await start('ns3');
    const primaries = [ns1, ns2, ns3];
    const served = (s: ZoneService) => s.findZone(Name.parse(ZONE))!.served;
    const refreshes = (name: string) => logs.get(name)!.filter((l) => l.includes('"event":"zone.signatures-refreshed"')).length;
    const settle = async () => {
      // The journal's watch applies a committed change in a later turn: wait until all serve one serial.
      await expect.poll(() => new Set(primaries.map((s) => served(s).serial)).size, { timeout: 10_000, interval: 5 }).toBe(1);
    };
    const checkFresh = (hour: number, who: readonly ZoneService[]) => {
      const now = Math.floor(clock.now() / 1000);
      for (const s of who)
        for (const set of served(s).rrsets())
          for (const sig of set.sigs) expect(decodeRrsig(sig.rdata).expiration, `${set.name.toString()} ${set.type} at hour ${hour}`).toBeGreaterThan(now);
    };
    try {
      await settle();
      const serials = new Set<number>([served(ns1).serial]);
      for (let hour = 1; hour <= 4 * 7 * 24; hour++) {
        clock.advance(HOUR);
        for (const s of primaries) await s.refreshSignatures();
        await settle();
        serials.add(served(ns1).serial);
        checkFresh(hour, primaries);
      }
      expect(refreshes('ns1')).toBeGreaterThan(2);
      // Every serial change was the Key Master's; the others refreshed with it.
      expect(serials.size).toBe(refreshes('ns1') + 1);
      expect([refreshes('ns2'), refreshes('ns3')]).toEqual([0, 0]);
      for (const s of primaries) expectZoneSignedAt(served(s), Math.floor(clock.now() / 1000));

      // The Key Master goes silent (frozen, its role not yet taken): the others keep their own
      // signatures valid, each committing a refresh once one of its signatures turns urgent.
      await ns1.stop();
      const followers = [ns2, ns3];
      for (let hour = 1; hour <= 3 * 7 * 24; hour++) {
        clock.advance(HOUR);
        for (const s of followers) await s.refreshSignatures();
        await expect.poll(() => served(ns2).serial === served(ns3).serial, { timeout: 10_000, interval: 5 }).toBe(true);
        checkFresh(hour, followers);
      }
      expect(refreshes('ns2') + refreshes('ns3')).toBeGreaterThan(0);
      expect(logs.get('ns2')!.concat(logs.get('ns3')!).join('')).toMatch(/"reason":"urgent here before the Key Master ns1 refreshed"/);
      for (const s of followers) expectZoneSignedAt(served(s), Math.floor(clock.now() / 1000));
    } finally {
      for (const s of [ns2, ns3]) await s.stop();
      await store.close().catch(() => undefined);
    }
  }, 300_000);
});
