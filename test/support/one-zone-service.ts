import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { createScheduler } from '../../src/scheduler.js';
import { createLogger } from '../../src/logging/logger.js';
import { ZoneService } from '../../src/authority/zone-service.js';
import { tempDir } from './external-servers.js';

/** A zone service on the injectable clock (its jobs run by `scheduler.runDue()`) serving one unsigned zone `p.example.` from a temp dir; its log lines are kept. */
export async function oneZoneService(prefix: string, start = Date.UTC(2026, 5, 1)) {
  const dir = tempDir(prefix);
  writeFileSync(join(dir, 'z.zone'), '$TTL 600\n@ SOA ns hostmaster 1 3600 900 604800 300\n@ NS ns\nns A 192.0.2.2\n');
  const clock = new ManualClock(start);
  const logs: Record<string, unknown>[] = [];
  const scheduler = createScheduler({ clock, mode: 'manual' });
  const service = await ZoneService.start({
    config: { stateDir: join(dir, 'state'), zones: [{ name: 'p.example.', file: join(dir, 'z.zone'), allowTransfer: [] }], dnssec: { enable: true, validation: true } } as never,
    clock,
    logger: createLogger({ level: 'info', destination: { write: (l: string) => void logs.push(JSON.parse(l) as Record<string, unknown>) } }),
    serverName: 'km1',
    scheduler,
    rollover: { dsAtParent: async () => undefined },
  });
  return { dir, clock, logs, service, scheduler };
}
