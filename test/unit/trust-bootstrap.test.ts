import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatAnchors, formatTrustPoints } from '../../src/cli/trust-point-command.js';
import { ManualClock } from '../../src/clock.js';
import { defaultConfig } from '../../src/config/index.js';
import type { KeymasterConfig } from '../../src/config/schema.js';
import type { TrustService } from '../../src/trust/trust-service.js';
import { TRUST_ANCHOR_STORE_FILE } from '../../src/trust/trust-anchor-store.js';
import type { DnskeyFetcher } from '../../src/trust/trust-point-refresher.js';
import { keyIdentity } from '../../src/trust/trust-point.js';
import { trustPointDetail, trustPointView } from '../../src/trust/trust-views.js';
import { dssetToText, keysetToText } from '../../src/wire/key-files.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { captureLogger, dsOf, makeKey, revoked, rootAnchorsXml, signedDnskeySet, startTrust, tempDirs, type TestKey } from './trust-fixtures.js';

/**
 * trustAnchors.import and rootAnchors are a bootstrap: what the operator or RFC 5011 removed stays
 * removed across restarts until the config entry changes; each anchor says where it came from.
 */

const dirs = tempDirs('km-trust-boot-');
afterAll(() => dirs.removeAll());
const tempDir = () => dirs.make();

const zone = Name.parse('corp.example.');
const T0 = Date.UTC(2026, 2, 1);
const DAY = 86_400_000;

function config(stateDir: string, files: readonly string[], rootAnchors: KeymasterConfig['trustAnchors']['rootAnchors'] = { kind: 'none' }): KeymasterConfig {
  const base = defaultConfig();
  return { ...base, stateDir, trustAnchors: { ...base.trustAnchors, rootAnchors, import: files } };
}

function writeKeyset(path: string, keys: readonly TestKey[]): void {
  writeFileSync(path, keysetToText(keys.map((k) => ({ name: zone, type: RRType.DNSKEY, class: 1, ttl: 3600, rdata: k.rdata }))));
}

function writeDsset(path: string, keys: readonly TestKey[]): void {
  writeFileSync(path, dssetToText(keys.map((k) => ({ name: zone, type: RRType.DS, class: 1, ttl: 3600, rdata: dsOf(zone, k) }))));
}

interface Lab {
  readonly dir: string;
  readonly clock: ManualClock;
  readonly log: ReturnType<typeof captureLogger>;
  publish?: { keys: TestKey[]; signers: TestKey[] };
}

function lab(): Lab {
  return { dir: tempDir(), clock: new ManualClock(T0), log: captureLogger() };
}

function start(l: Lab, files: readonly string[], rootAnchors?: KeymasterConfig['trustAnchors']['rootAnchors']): Promise<TrustService> {
  const fetchDnskey: DnskeyFetcher = async (name) => (l.publish && name.equals(zone) ? signedDnskeySet(zone, l.publish.keys, l.publish.signers, l.clock.now()) : undefined);
  return startTrust({ config: config(l.dir, files, rootAnchors), clock: l.clock, logger: l.log.logger, fetchDnskey, random: () => 0 });
}

/** Restarts with the same state dir and config (stop writes what is pending). */
async function restart(l: Lab, svc: TrustService, files: readonly string[]): Promise<TrustService> {
  await svc.stop();
  l.clock.advance(DAY);
  return start(l, files);
}

const tags = (svc: TrustService) => (svc.store.get(zone)?.anchors ?? []).map((a) => a.keyTag).sort((a, b) => a - b);
const tagsOf = (...keys: TestKey[]) => keys.map((k) => dsOf(zone, k)).map((ds) => (ds[0]! << 8) | ds[1]!).sort((a, b) => a - b);

describe('trustAnchors.import is a bootstrap', () => {
  it('after trust-point remove: stays removed while the file is unchanged, comes back when it changes', async () => {
    const l = lab();
    const file = join(l.dir, 'dsset-corp.example.');
    const [a, b] = [makeKey(zone), makeKey(zone)];
    writeDsset(file, [a]);
    let svc = await start(l, [file]);
    expect(tags(svc)).toEqual(tagsOf(a));
    expect(await svc.removeTrustPoint('corp.example')).toBe(true);

    svc = await restart(l, svc, [file]);
    expect(svc.store.get(zone)).toBeUndefined();
    expect(svc.source.anchors()).toEqual([]);
    expect(l.log.events('trust-anchor.import-unchanged')).toEqual([expect.objectContaining({ file, zone: 'corp.example.' })]);

    writeDsset(file, [a, b]); // the config entry changed: a new digest in the file
    svc = await restart(l, svc, [file]);
    expect(tags(svc)).toEqual(tagsOf(a, b));
    expect(l.log.events('trust-anchor.imported').at(-1)).toMatchObject({ file, added: 2, firstImport: false });
    await svc.stop();
  });

  it('an entry taken out of the config and put back is imported again, even unchanged', async () => {
    const l = lab();
    const file = join(l.dir, 'dsset-corp.example');
    const a = makeKey(zone);
    writeDsset(file, [a]);
    let svc = await start(l, [file]);
    await svc.removeTrustPoint('corp.example.');
    svc = await restart(l, svc, []);
    expect(l.log.events('trust-anchor.import-forgotten')).toEqual([expect.objectContaining({ file })]);
    expect(svc.store.get(zone)).toBeUndefined();
    svc = await restart(l, svc, [file]);
    expect(tags(svc)).toEqual(tagsOf(a));
    await svc.stop();
  });

  it('after trust-anchor remove: the anchor stays removed while the file is unchanged, comes back when it changes', async () => {
    const l = lab();
    const file = join(l.dir, 'dsset-corp.example.');
    const [a, b, c] = [makeKey(zone), makeKey(zone), makeKey(zone)];
    writeDsset(file, [a, b]);
    let svc = await start(l, [file]);
    const [tagA] = tagsOf(a);
    expect(await svc.removeAnchor('corp.example.', (dsOf(zone, a)[0]! << 8) | dsOf(zone, a)[1]!)).toEqual({ removed: 1, trustPointRemoved: false });
    svc = await restart(l, svc, [file]);
    expect(tags(svc)).toEqual(tagsOf(b));
    expect(tags(svc)).not.toContain(tagA);

    writeDsset(file, [a, b, c]);
    svc = await restart(l, svc, [file]);
    expect(tags(svc)).toEqual(tagsOf(a, b, c));
    await svc.stop();
  });

  it('after RFC 5011 deleted a trust point whose keys were all revoked: stays deleted, comes back for a changed file', async () => {
    const l = lab();
    const file = join(l.dir, 'keyset-corp.example.');
    const [a, b] = [makeKey(zone), makeKey(zone)];
    writeKeyset(file, [a]);
    let svc = await start(l, [file]);
    l.publish = { keys: [revoked(a)], signers: [revoked(a)] };
    l.clock.advance(DAY);
    expect(await svc.refresh(zone)).toMatchObject({ deleted: true });
    expect(svc.store.get(zone)).toBeUndefined();

    svc = await restart(l, svc, [file]);
    expect(svc.store.get(zone)).toBeUndefined();
    expect(l.log.events('trust-anchor.import-unchanged')).toHaveLength(1);

    writeKeyset(file, [b]); // the operator distributes the zone's new key
    svc = await restart(l, svc, [file]);
    expect(svc.store.get(zone)!.anchors.map((x) => keyIdentity(x.rdata))).toEqual([keyIdentity(b.rdata)]);
    await svc.stop();
  });

  it('a store written before imports were recorded (version 1) is read, and the config files are recorded once', async () => {
    const l = lab();
    const file = join(l.dir, 'dsset-corp.example.');
    const a = makeKey(zone);
    writeDsset(file, [a]);
    let svc = await start(l, [file]);
    await svc.stop();
    const path = join(l.dir, TRUST_ANCHOR_STORE_FILE);
    const doc = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> & { data: { trustPoints: { anchors: Record<string, unknown>[] }[] } };
    const trustPoints = doc.data.trustPoints;
    for (const tp of trustPoints) for (const x of tp.anchors) delete x['source'];
    const { createHash } = await import('node:crypto');
    // As the release before the store contract wrote it: its own checksum over the trust points alone.
    const v1 = { format: doc['format'], version: 1, written: '2026-03-01T00:00:00.000Z', checksum: `sha256:${createHash('sha256').update(JSON.stringify(trustPoints)).digest('hex')}`, trustPoints };
    writeFileSync(path, JSON.stringify(v1));
    svc = await start(l, [file]);
    expect(tags(svc)).toEqual(tagsOf(a));
    expect(trustPointDetail(svc.store.get(zone)!, l.clock.now()).anchors[0]!.source).toBe('dsset (source not recorded)');
    await svc.stop();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ version: 3, data: { configImports: [{ file, zone: 'corp.example.' }] } });
    expect(l.log.events('trust-store.upgraded')).toHaveLength(1);
  });
});

describe('the root trust point from rootAnchors', () => {
  it('is bootstrapped once and says which file it came from; removed, it stays removed', async () => {
    const l = lab();
    const xml = join(l.dir, 'root-anchors.xml');
    writeFileSync(xml, rootAnchorsXml([{ id: 'K1', key: makeKey(Name.root), validFrom: '2020-01-01T00:00:00Z' }]));
    let svc = await start(l, [], { kind: 'file', path: xml });
    const view = trustPointView(svc.store.get('.')!, l.clock.now());
    expect(view.sources).toEqual([`config rootAnchors ${xml}`]);
    await svc.removeTrustPoint('.');
    await svc.stop();
    svc = await startTrust({ config: config(l.dir, [], { kind: 'file', path: xml }), clock: l.clock, logger: l.log.logger, fetchDnskey: async () => undefined });
    expect(svc.store.get('.')).toBeUndefined();
    expect(l.log.events('trust-point.root-bootstrapped')).toHaveLength(1);
    await svc.stop();
  });
});

describe('where each anchor came from', () => {
  it('config import FILE, trust-anchor add, trust-anchor import FILE, trust-point add-root FILE, RFC 5011: in the views, the JSON and the tables', async () => {
    const l = lab();
    const file = join(l.dir, 'dsset-corp.example.');
    const [a, b, c, d] = [makeKey(zone), makeKey(zone), makeKey(zone), makeKey(zone)];
    writeDsset(file, [a]);
    const svc = await start(l, [file]);
    await svc.addAnchor('corp.example.', 'DNSKEY', rdataToText(RRType.DNSKEY, b.rdata));
    await svc.importKeyFile('keyset', keysetToText([{ name: zone, type: RRType.DNSKEY, class: 1, ttl: 60, rdata: c.rdata }]), '/home/op/keyset-corp.example.');
    l.publish = { keys: [b, d], signers: [b] };
    expect(await svc.refresh(zone)).toMatchObject({ ok: true });
    const xml = join(l.dir, 'root-anchors.xml');
    writeFileSync(xml, rootAnchorsXml([{ id: 'K1', key: makeKey(Name.root), validFrom: '2020-01-01T00:00:00Z' }]));
    await svc.addRoot({ kind: 'file', path: xml });

    const detail = trustPointDetail(svc.store.get(zone)!, l.clock.now());
    const bySource = detail.anchors.map((x) => [x.type, x.source, x.sourceKind, x.sourceLocation]);
    expect(bySource).toEqual([
      ['DS', `config import ${file}`, 'config-import', file],
      ['DNSKEY', 'trust-anchor add', 'add', undefined],
      ['DNSKEY', 'trust-anchor import /home/op/keyset-corp.example.', 'import', '/home/op/keyset-corp.example.'],
      ['DNSKEY', 'RFC 5011', 'rfc5011', undefined],
    ]);
    expect(trustPointView(svc.store.get('.')!, l.clock.now()).sources).toEqual([`trust-point add-root ${xml}`]);
    const table = formatTrustPoints(svc.store.list().map((tp) => trustPointView(tp, l.clock.now())), { wide: true });
    expect(table.split('\n')[0]).toMatch(/\sSource$/);
    expect(table).toMatch(new RegExp(`^corp\\.example\\. .*config import ${file.replace(/[.]/g, '\\.')}; trust-anchor add; trust-anchor import /home/op/keyset-corp\\.example\\.; RFC 5011$`, 'm'));
    expect(formatAnchors(detail.anchors, false)).toMatch(/ RFC 5011\n$/);
    await svc.stop();
  });

  it('a DNSKEY that replaced a DS anchor at a validated refresh keeps the DS anchor\'s source', async () => {
    const l = lab();
    const file = join(l.dir, 'dsset-corp.example.');
    const a = makeKey(zone);
    writeDsset(file, [a]);
    const svc = await start(l, [file]);
    l.publish = { keys: [a], signers: [a] };
    expect(await svc.refresh(zone)).toMatchObject({ ok: true });
    const [anchor] = trustPointDetail(svc.store.get(zone)!, l.clock.now()).anchors;
    expect(anchor).toMatchObject({ type: 'DNSKEY', origin: 'ds-match', source: `config import ${file}`, sourceKind: 'config-import' });
    await svc.stop();
  });
});
