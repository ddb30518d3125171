import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { type TsigKey, signTsig, tsigAlgorithmName } from '../../src/authority/tsig.js';
import { ZoneData } from '../../src/authority/zone-db.js';
import { ManualClock } from '../../src/clock.js';
import { createScheduler } from '../../src/scheduler.js';
import { parseCidr } from '../../src/config/cidr.js';
import type { ZoneConfig } from '../../src/config/schema.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { rrsigSignatureVerifies } from '../../src/dnssec/rrsig-signature.js';
import type { Resolver } from '../../src/resolver/resolver.js';
import { createLogger } from '../../src/logging/logger.js';
import type { ClientInfo } from '../../src/server/query-handler.js';
import { QueryPipeline } from '../../src/server/query-pipeline.js';
import { ZoneService, type ZoneServiceOptions } from '../../src/authority/zone-service.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Opcode, Rcode, type ResourceRecord, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseRecordLine } from '../../src/wire/record-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import { fromBase64 } from '../../src/wire/text-encoding.js';
import { removeDir, tempDir } from '../support/external-servers.js';

/** Shared set-up of the online-signing tests: a signed zone with an update policy, served through the query pipeline. */

export const ZONE_TEXT = '$TTL 300\n@ SOA ns h 1 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\nmail A 192.0.2.25\n@ MX 10 mail\n';
export const SECRET = 'dXBkYXRlLXNlY3JldC1mb3ItbGFiLWV4YW1wbGUtMTIzNDU2';
export const KEY: TsigKey = { name: Name.parse('ddns-key.'), algorithm: tsigAlgorithmName('hmac-sha256'), secret: fromBase64(SECRET) };
export const ZONE = Name.parse('lab.example.');

export interface Lab {
  readonly dir: string;
  readonly stateDir: string;
  readonly file: string;
  readonly clock: ManualClock;
  readonly logs: string[];
  readonly zones: ZoneConfig[];
  service: ZoneService;
  pipeline: QueryPipeline;
}

export async function startService(lab: Pick<Lab, 'stateDir' | 'zones' | 'clock' | 'logs'>, extra: Pick<ZoneServiceOptions, 'rollover'> = {}): Promise<{ service: ZoneService; pipeline: QueryPipeline }> {
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => void lab.logs.push(l) } });
  const resolver = { resolve: async () => ({ rcode: Rcode.NXDOMAIN, answer: [], authority: [] }), flush: () => 0 } as unknown as Resolver;
  let pipeline: QueryPipeline | undefined;
  const service = await ZoneService.start({
    // Zone files are written beside the state dir: that is the zones directory `zone add` may read.
    config: { stateDir: lab.stateDir, zones: lab.zones, dnssec: { enable: true, validation: true }, authority: { zonesDir: dirname(lab.stateDir), rateLimit: { responsesPerSecond: 0, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56 } } },
    clock: lab.clock,
    logger,
    serverName: 'km1',
    scheduler: createScheduler({ clock: lab.clock, mode: 'manual' }),
    onZoneChanged: (z) => pipeline?.flush(z),
    ...extra,
  });
  pipeline = new QueryPipeline({ resolver, recursionAllow: [], clock: lab.clock, logger, localZones: service });
  return { service, pipeline };
}

/** A lab zone (NSEC3 by default) with `update:` allowing KEY from 192.0.2.0/24, signed at 2026-06-01. */
export async function startLab(o: { nsec?: boolean; signatureValidity?: number; zoneText?: string } = {}): Promise<Lab> {
  const dir = tempDir('update');
  const file = join(dir, 'lab.zone');
  writeFileSync(file, o.zoneText ?? ZONE_TEXT);
  const zones: ZoneConfig[] = [
    { name: 'lab.example.', file, allowTransfer: [parseCidr('192.0.2.0/24')], signing: undefined, update: { keys: [{ name: 'ddns-key.', algorithm: 'hmac-sha256', secret: SECRET }], allow: [parseCidr('192.0.2.0/24')] } },
    { name: 'other.example.', file: join(dir, 'other.zone'), allowTransfer: [], signing: undefined },
  ];
  writeFileSync(zones[1]!.file, '$TTL 300\n@ SOA ns h 1 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\n');
  const lab = { dir, stateDir: join(dir, 'state'), file, clock: new ManualClock(Date.UTC(2026, 5, 1)), logs: [] as string[], zones };
  const { service, pipeline } = await startService(lab);
  await service.sign('lab.example', o.nsec || o.signatureValidity ? { mode: 'options', options: { ...(o.nsec ? { denial: 'nsec' } : {}), ...(o.signatureValidity ? { signatureValidity: o.signatureValidity } : {}) } } : { mode: 'defaults' });
  return { ...lab, service, pipeline };
}

/** A `startLab` whose labs are stopped and removed after the calling file's tests. */
export function labsStoppedAfterAll(): (o?: Parameters<typeof startLab>[0]) => Promise<Lab> {
  const labs: Lab[] = [];
  afterAll(async () => {
    for (const lab of labs) {
      await lab.service.stop();
      removeDir(lab.dir);
    }
  });
  return async (o) => {
    const l = await startLab(o);
    labs.push(l);
    return l;
  };
}

export const client = (address = '192.0.2.53', transport: 'udp' | 'tcp' = 'udp'): ClientInfo => ({ address, port: 5353, transport, localAddress: '127.0.0.1' });

export const rr = (line: string): ResourceRecord => parseRecordLine(line, { origin: ZONE });

/** An UPDATE message for `zone`: prerequisites, updates (records as given, class and TTL included). */
export function updateWire(o: { id?: number; zone?: Name; prerequisites?: ResourceRecord[]; updates?: ResourceRecord[] }): Uint8Array {
  return encodeMessage(
    newMessage({
      id: o.id ?? 4321,
      opcode: Opcode.UPDATE,
      question: [{ name: o.zone ?? ZONE, type: RRType.SOA, class: 1 }],
      answer: o.prerequisites ?? [],
      authority: o.updates ?? [],
    }),
  );
}

export function signedUpdate(lab: Pick<Lab, 'clock'>, o: Parameters<typeof updateWire>[0], key: TsigKey = KEY, skew = 0): Uint8Array {
  return signTsig(updateWire(o), key, { now: Math.floor(lab.clock.now() / 1000) + skew });
}

/** An RRset deletion (class ANY, TTL 0, no RDATA) or a record deletion (class NONE, TTL 0). */
export const deleteRrset = (name: string, type: number): ResourceRecord => ({ name: Name.parse(name, ZONE), type, class: 255, ttl: 0, rdata: new Uint8Array(0) });
export const deleteRecord = (line: string): ResourceRecord => ({ ...rr(line), class: 254, ttl: 0 });

/**
 * Checks a served zone as a validator would: every RRSIG verifies with a DNSKEY of the apex and
 * is valid at `now` (seconds); every RRset that must be signed is signed. Returns the number of
 * signatures checked.
 */
export function expectZoneSignedAt(data: ZoneData, now: number): number {
  const dnskeys = data.rrset(data.origin, RRType.DNSKEY)!.records.map((r) => r.rdata);
  const byTag = new Map(dnskeys.map((k) => [keyTag(k), k]));
  let checked = 0;
  for (const set of data.rrsets()) {
    const atCut = data.isDelegation(set.name) && set.type !== RRType.DS && set.type !== RRType.NSEC;
    const belowCut = set.type !== RRType.NSEC3 && data.findCut(set.name) !== undefined && !data.isDelegation(set.name);
    if (atCut || belowCut) continue;
    expect(set.sigs.length, `${set.name.toString()} ${set.type} is signed`).toBeGreaterThan(0);
    for (const sig of set.sigs) {
      const f = decodeRrsig(sig.rdata);
      const key = byTag.get(f.keyTag);
      expect(key, `a DNSKEY with tag ${f.keyTag}`).toBeDefined();
      expect(rrsigSignatureVerifies(set.records, f, key!), `RRSIG over ${set.name.toString()} ${set.type}`).toBe(true);
      expect(f.inception, `${set.name.toString()} ${set.type} signature has begun`).toBeLessThanOrEqual(now);
      expect(f.expiration, `${set.name.toString()} ${set.type} signature has not expired`).toBeGreaterThan(now);
      checked++;
    }
  }
  return checked;
}

/** The zone as served, by AXFR through the pipeline. */
export async function servedZone(lab: Pick<Lab, 'pipeline'>, zone = ZONE): Promise<ZoneData> {
  const q = encodeMessage(newMessage({ id: 1, question: [{ name: zone, type: RRType.AXFR, class: 1 }] }));
  const messages = (await lab.pipeline.handle(q, client('192.0.2.10', 'tcp'))) as Uint8Array[];
  expect(Array.isArray(messages)).toBe(true);
  const records = messages.flatMap((m) => decodeMessage(m).answer);
  return ZoneData.fromRecords(zone, records.slice(0, -1));
}

/** Sends a message through the pipeline and decodes the answer. */
export async function exchange(lab: Pick<Lab, 'pipeline'>, wire: Uint8Array, from = client()) {
  const bytes = (await lab.pipeline.handle(wire, from)) as Uint8Array;
  return { bytes, message: decodeMessage(bytes) };
}
