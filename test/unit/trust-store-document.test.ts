import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { StoreError } from '../../src/store/document-store.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { anchorFromRdataText, mergeAnchors } from '../../src/trust/anchor-import.js';
import {
  TRUST_ANCHORS_DOCUMENT,
  TRUST_ANCHORS_KEY,
  TrustAnchorStore,
  TrustStoreError,
  type ConfigImportRecord,
} from '../../src/trust/trust-anchor-store.js';
import type { TrustPoint } from '../../src/trust/trust-point.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { captureLogger, dsOf, makeKey, manualScheduler } from './trust-fixtures.js';

/** The trust anchors as a document of the store contract, and the files of the two releases before it. */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'km-trust-doc-'));
  dirs.push(d);
  return d;
}

const T0 = Date.UTC(2026, 2, 1);
const zone = Name.parse('corp.example.');

function trustPoint(): TrustPoint {
  const k = makeKey(zone);
  const withKey = mergeAnchors(undefined, anchorFromRdataText(zone, 'DNSKEY', rdataToText(RRType.DNSKEY, k.rdata), T0), T0).trustPoint;
  return mergeAnchors(withKey, anchorFromRdataText(zone, 'DS', rdataToText(RRType.DS, dsOf(zone, makeKey(zone))), T0, 'manual'), T0).trustPoint;
}

const imported: ConfigImportRecord = { file: '/etc/keymaster/dsset-corp.example.', sha256: 'ab'.repeat(32), zone: 'corp.example.', importedAt: T0 };

/**
 * A file as the releases before the store contract wrote it (version 1: trust points alone,
 * summed alone; version 2: with config imports, summed together), written here independently
 * of the code that reads it. The trust points' JSON is the same in every version.
 */
function legacyFile(trustPoints: TrustPoint[], configImports: ConfigImportRecord[], version: 1 | 2): string {
  const data = JSON.parse(JSON.stringify(TRUST_ANCHORS_DOCUMENT.encode({ trustPoints, configImports }))) as { trustPoints: unknown; configImports: unknown };
  const sum = (x: unknown) => `sha256:${createHash('sha256').update(JSON.stringify(x)).digest('hex')}`;
  const written = new Date(T0).toISOString();
  const doc =
    version === 1
      ? { format: 'keymaster-trust-anchors', version, written, checksum: sum(data.trustPoints), trustPoints: data.trustPoints }
      : { format: 'keymaster-trust-anchors', version, written, checksum: sum(data), trustPoints: data.trustPoints, configImports: data.configImports };
  return `${JSON.stringify(doc, null, 1)}\n`;
}

describe('the trust-anchors document on the file store', () => {
  it('is STATEDIR/trust-anchors.json, version 3, and reads back what was written', async () => {
    const dir = tempDir();
    const documents = await FileDocumentStore.open(dir);
    expect(documents.locate(TRUST_ANCHORS_KEY)).toBe(join(dir, 'trust-anchors.json'));
    const content = { trustPoints: [trustPoint()], configImports: [imported] };
    expect((await documents.write(TRUST_ANCHORS_KEY, TRUST_ANCHORS_DOCUMENT, content)).revision).toBe(1);
    const again = await FileDocumentStore.open(dir);
    expect(await again.read(TRUST_ANCHORS_KEY, TRUST_ANCHORS_DOCUMENT)).toEqual({ value: content, revision: 1 });
    expect(JSON.parse(readFileSync(join(dir, 'trust-anchors.json'), 'utf8'))).toMatchObject({ format: 'keymaster-trust-anchors', version: 3, revision: 1 });
  });

  for (const version of [1, 2] as const)
    it(`upgrades a version-${version} file once: read, logged, rewritten as version 3 with nothing lost`, async () => {
      const dir = tempDir();
      const tp = trustPoint();
      // Version 1 had no anchor sources and no config imports.
      const old = version === 1 ? { ...tp, anchors: tp.anchors.map(({ source: _s, ...a }) => a) } : tp;
      writeFileSync(join(dir, 'trust-anchors.json'), legacyFile([old], version === 1 ? [] : [imported], version));
      const documents = await FileDocumentStore.open(dir);
      expect(await documents.read(TRUST_ANCHORS_KEY, TRUST_ANCHORS_DOCUMENT)).toEqual({
        value: { trustPoints: [old], configImports: version === 1 ? [] : [imported] },
        revision: 1,
        upgraded: true,
      });
      const log = captureLogger();
      const store = await TrustAnchorStore.open({ documents, clock: new ManualClock(T0), scheduler: manualScheduler(new ManualClock(T0)), logger: log.logger });
      expect(store.existed).toBe(true);
      expect(store.list()).toEqual([old]);
      await store.flush();
      expect(log.events('trust-store.upgraded')).toEqual([expect.objectContaining({ path: join(dir, 'trust-anchors.json'), version: 3 })]);
      expect(JSON.parse(readFileSync(join(dir, 'trust-anchors.json'), 'utf8'))).toMatchObject({ version: 3, revision: 2 });
      const reopened = await TrustAnchorStore.open({ documents: await FileDocumentStore.open(dir), clock: new ManualClock(T0), scheduler: manualScheduler(new ManualClock(T0)), logger: log.logger });
      expect(reopened.list()).toEqual([old]);
      expect(reopened.configImports()).toEqual(version === 1 ? [] : [imported]);
      expect(log.events('trust-store.upgraded')).toHaveLength(1);
    });

  const damagedLegacy: [string, (doc: Record<string, unknown>) => void, RegExp][] = [
    ['a version-2 file whose checksum does not match', (d) => void (d['checksum'] = `sha256:${'0'.repeat(64)}`), /checksum: does not match the content/],
    ['a version-1 file holding config imports', (d) => void ((d['version'] = 1), (d['checksum'] = 'x')), /configImports: is not part of version 1/],
    ['a version-2 file with an unknown field', (d) => void (d['extra'] = true), /unknown field "extra"/],
    ['a version-2 file without its checksum', (d) => void delete d['checksum'], /checksum: missing/],
  ];
  for (const [what, damage, message] of damagedLegacy)
    it(`refuses ${what}, naming the file; the start stops`, async () => {
      const dir = tempDir();
      const doc = JSON.parse(legacyFile([trustPoint()], [imported], 2)) as Record<string, unknown>;
      damage(doc);
      const path = join(dir, 'trust-anchors.json');
      writeFileSync(path, JSON.stringify(doc));
      const documents = await FileDocumentStore.open(dir);
      await expect(documents.read(TRUST_ANCHORS_KEY, TRUST_ANCHORS_DOCUMENT)).rejects.toThrow(StoreError);
      const open = TrustAnchorStore.open({ documents, clock: new ManualClock(T0), scheduler: manualScheduler(new ManualClock(T0)), logger: captureLogger().logger });
      await expect(open).rejects.toThrow(TrustStoreError);
      await expect(open).rejects.toThrow(path);
      await expect(open).rejects.toThrow(message);
      expect(readFileSync(path, 'utf8')).toBe(JSON.stringify(doc)); // refused, not rewritten
    });

  it('a version-3 document whose data is not the trust anchors is refused, naming the field', async () => {
    const dir = tempDir();
    const documents = await FileDocumentStore.open(dir);
    const { checksum } = await import('../../src/store/document-envelope.js');
    const data = { trustPoints: [], configImports: [], extra: 1 };
    writeFileSync(documents.locate(TRUST_ANCHORS_KEY), JSON.stringify({ format: 'keymaster-trust-anchors', version: 3, revision: 1, data, sha256: checksum(JSON.stringify(data)) }));
    await expect(documents.read(TRUST_ANCHORS_KEY, TRUST_ANCHORS_DOCUMENT)).rejects.toThrow(/trust-anchors\.json: data: unknown field "extra"/);
  });
});
