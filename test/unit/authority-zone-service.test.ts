import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { parseCidr } from '../../src/config/cidr.js';
import type { ZoneConfig } from '../../src/config/schema.js';
import type { Resolver } from '../../src/resolver/resolver.js';
import { createLogger } from '../../src/logging/logger.js';
import type { ClientInfo } from '../../src/server/query-handler.js';
import { QueryPipeline } from '../../src/server/query-pipeline.js';
import { ZoneService } from '../../src/authority/zone-service.js';
import { defaultEdns } from '../../src/wire/edns.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Rcode, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { removeDir, tempDir } from '../support/external-servers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const ZONE = '$TTL 300\n@ SOA ns h 1 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\n';

async function setup(enable: boolean) {
  const dir = tempDir('zone-service');
  dirs.push(dir);
  const file = join(dir, 'lab.zone');
  writeFileSync(file, ZONE);
  const zones: ZoneConfig[] = [{ name: 'lab.example.', file, allowTransfer: [parseCidr('192.0.2.0/24')], signing: undefined }];
  const logs: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => void logs.push(l) } });
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const resolved: string[] = [];
  const resolver = {
    resolve: async (q: { name: Name }) => {
      resolved.push(q.name.toString());
      return { rcode: Rcode.NXDOMAIN, answer: [], authority: [] };
    },
    flush: () => 0,
  } as unknown as Resolver;
  let pipeline: QueryPipeline | undefined;
  const flushed: string[] = [];
  const service = await ZoneService.start({
    config: { stateDir: join(dir, 'state'), zones, dnssec: { enable, validation: true } },
    clock,
    logger,
    serverName: 'km1',
    onZoneChanged: (z) => {
      flushed.push(z.toString());
      pipeline?.flush(z);
    },
  });
  pipeline = new QueryPipeline({ resolver, recursionAllow: [], clock, logger, localZones: service });
  await service.sign('lab.example', { mode: 'defaults' });
  return { service, pipeline, resolved, logs, flushed };
}

const client = (transport: 'udp' | 'tcp', address = '203.0.113.9'): ClientInfo => ({ address, port: 5353, transport, localAddress: '127.0.0.1' });
const query = (name: string, type: number, dnssecOk = true) =>
  encodeMessage(newMessage({ id: 42, rd: true, question: [{ name: Name.parse(name), type, class: 1 }], edns: defaultEdns({ dnssecOk }) }));

describe('local zones in the query pipeline', () => {
  it('answer every client (even without recursion), with AA and no AD, and are never cached', async () => {
    const { pipeline, resolved, flushed } = await setup(true);
    expect(flushed).toEqual(['lab.example.', 'lab.example.']);
    for (let i = 0; i < 2; i++) {
      const r = decodeMessage((await pipeline.handle(query('www.lab.example.', RRType.A), client('udp'))) as Uint8Array);
      expect(r).toMatchObject({ id: 42, rcode: Rcode.NOERROR, aa: true, ad: false, ra: false });
      expect(r.answer.map((x) => x.type)).toEqual([RRType.A, RRType.RRSIG]);
    }
    expect(pipeline.stats.cachedResponses).toBe(0);
    const other = decodeMessage((await pipeline.handle(query('www.example.net.', RRType.A), client('udp'))) as Uint8Array);
    expect(other.rcode).toBe(Rcode.REFUSED);
    expect(resolved).toEqual([]);
  });

  it('transfer the zone over TCP to allowed clients as SOA ... SOA; refuse others', async () => {
    const { pipeline, logs } = await setup(true);
    const stream = (await pipeline.handle(query('lab.example.', RRType.AXFR, false), client('tcp', '192.0.2.7'))) as Uint8Array[];
    expect(Array.isArray(stream)).toBe(true);
    const records = stream.flatMap((m) => decodeMessage(m).answer);
    expect(records[0]!.type).toBe(RRType.SOA);
    expect(records.at(-1)!.type).toBe(RRType.SOA);
    expect(records.some((r) => r.type === RRType.NSEC3PARAM)).toBe(true);
    const refused = decodeMessage((await pipeline.handle(query('lab.example.', RRType.AXFR, false), client('tcp'))) as Uint8Array);
    expect(refused.rcode).toBe(Rcode.REFUSED);
    expect(logs.some((l) => l.includes('"zone.transfer-refused"'))).toBe(true);
  });

  it('dnssec.enable: false omits DNSSEC records from every answer, even with DO', async () => {
    const { pipeline } = await setup(false);
    const r = decodeMessage((await pipeline.handle(query('www.lab.example.', RRType.A), client('udp'))) as Uint8Array);
    expect(r.answer.map((x) => x.type)).toEqual([RRType.A]);
    const nx = decodeMessage((await pipeline.handle(query('nope.lab.example.', RRType.A), client('udp'))) as Uint8Array);
    expect(nx.rcode).toBe(Rcode.NXDOMAIN);
    expect(nx.authority.map((x) => x.type)).toEqual([RRType.SOA]);
  });
});
