import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { defaultConfig } from '../../src/config/index.js';
import type { KeymasterConfig } from '../../src/config/schema.js';
import { checksum } from '../../src/store/document-envelope.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { anchorFromRdataText, anchorsFromKeyFile, mergeAnchors } from '../../src/trust/anchor-import.js';
import { parseRootAnchorsXml, RootAnchorsError } from '../../src/trust/root-anchors-xml.js';
import { TRUST_ANCHOR_STORE_FILE, TrustAnchorStore, TrustStoreError } from '../../src/trust/trust-anchor-store.js';
import { dssetToText, keysetToText } from '../../src/wire/key-files.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { captureLogger, documentsWith, dsOf, makeKey, rootAnchorsXml, startTrust, manualScheduler } from './trust-fixtures.js';

const dirs: string[] = [];
const servers: Server[] = [];
afterAll(async () => {
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'km-trust-store-'));
  dirs.push(d);
  return d;
}

const zone = Name.parse('corp.example.');
const T0 = Date.UTC(2026, 2, 1);

async function storeWithAnchors(stateDir: string, clock = new ManualClock(T0)) {
  const store = await TrustAnchorStore.open({ documents: await FileDocumentStore.open(stateDir), clock, scheduler: manualScheduler(clock), logger: captureLogger().logger });
  const k = makeKey(zone);
  store.put(mergeAnchors(undefined, anchorFromRdataText('corp.example', 'DNSKEY', rdataToText(RRType.DNSKEY, k.rdata), T0), T0).trustPoint);
  store.put(mergeAnchors(store.get('corp.example.'), anchorFromRdataText('corp.example.', 'DS', rdataToText(RRType.DS, dsOf(zone, makeKey(zone))), T0), T0).trustPoint);
  await store.flush();
  return { store, key: k };
}

describe('the TrustAnchors store file', () => {
  it('round-trips trust points and serves only trusted anchors to the validator', async () => {
    const dir = tempDir();
    const { store, key } = await storeWithAnchors(dir);
    const again = await TrustAnchorStore.open({ documents: await FileDocumentStore.open(dir), clock: new ManualClock(T0), scheduler: manualScheduler(new ManualClock(T0)), logger: captureLogger().logger });
    expect(again.existed).toBe(true);
    expect(again.list()).toEqual(store.list());
    expect(again.anchors()).toEqual([{ zone, ds: [expect.any(Uint8Array)], dnskey: [key.rdata] }]);
    const text = readFileSync(join(dir, TRUST_ANCHOR_STORE_FILE), 'utf8');
    expect(JSON.parse(text)).toMatchObject({ format: 'keymaster-trust-anchors', version: 3, revision: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('an AddPend, Revoked or Removed key is never given to the validator', async () => {
    const dir = tempDir();
    const clock = new ManualClock(T0);
    const store = await TrustAnchorStore.open({ documents: await FileDocumentStore.open(dir), clock, scheduler: manualScheduler(clock), logger: captureLogger().logger });
    const keys = [makeKey(zone), makeKey(zone), makeKey(zone), makeKey(zone)];
    const states = ['AddPend', 'Revoked', 'Removed', 'Missing'] as const;
    store.put({
      zone: 'corp.example.',
      createdAt: T0,
      failures: 0,
      anchors: keys.map((k, i) => ({ type: 'DNSKEY' as const, rdata: k.rdata, keyTag: k.signer.keyTag, algorithm: 13, state: states[i]!, since: T0, next: T0 + 1, origin: 'rfc5011' as const })),
    });
    expect(store.anchors()).toEqual([{ zone, ds: [], dnskey: [keys[3]!.rdata] }]);
  });

  const damage: [string, (text: string) => string, RegExp][] = [
    ['truncated', (t) => t.slice(0, Math.floor(t.length / 2)), /not JSON/],
    ['empty', () => '', /the document is empty/],
    ['a flipped digest character (bad checksum)', (t) => t.replace(/"rdata": "(.)/, (_m, c: string) => `"rdata": "${c === 'A' ? 'B' : 'A'}`), /checksum mismatch/],
    ['an unknown version', (t) => t.replace('"version": 3', '"version": 4'), /version 4 is not supported/],
    ['not a store', () => '{"hello": 1}', /not a keymaster-trust-anchors document/],
  ];
  for (const [what, mangle, message] of damage)
    it(`refuses a store with ${what}, naming the file`, async () => {
      const dir = tempDir();
      await storeWithAnchors(dir);
      const path = join(dir, TRUST_ANCHOR_STORE_FILE);
      writeFileSync(path, mangle(readFileSync(path, 'utf8')));
      const open = TrustAnchorStore.open({ documents: await FileDocumentStore.open(dir), clock: new ManualClock(T0), scheduler: manualScheduler(new ManualClock(T0)), logger: captureLogger().logger });
      await expect(open).rejects.toThrow(TrustStoreError);
      await expect(open).rejects.toThrow(path);
      await expect(open).rejects.toThrow(message);
    });

  it('refuses a well-checksummed store whose content is invalid, naming the field', async () => {
    const dir = tempDir();
    const { store } = await storeWithAnchors(dir);
    const [tp] = store.list();
    const bad = { ...tp!, anchors: tp!.anchors.map((a) => ({ ...a, state: 'Valid' as const, keyTag: a.keyTag })) };
    store.put(bad);
    await store.flush();
    const path = join(dir, TRUST_ANCHOR_STORE_FILE);
    const doc = JSON.parse(readFileSync(path, 'utf8').replace(/"state": "Valid"/, '"state": "Trusted"')) as { data: unknown; sha256: string };
    doc.sha256 = checksum(JSON.stringify(doc.data)); // re-checksummed, so only the state is wrong
    writeFileSync(path, JSON.stringify(doc));
    await expect(TrustAnchorStore.open({ documents: await FileDocumentStore.open(dir), clock: new ManualClock(T0), scheduler: manualScheduler(new ManualClock(T0)), logger: captureLogger().logger })).rejects.toThrow(
      /trustPoints\[0\]\.anchors\[0\]\.state: "Trusted" is not one of Start, AddPend, Valid, Missing, Revoked, Removed/,
    );
  });

  it('a failed write is retried on the scheduler with doubling delays until it succeeds; the anchors stay in service meanwhile', async () => {
    const dir = tempDir();
    const log = captureLogger();
    const clock = new ManualClock(T0);
    const scheduler = manualScheduler(clock);
    let failuresLeft = 3;
    let attempts = 0;
    const store = await TrustAnchorStore.open({
      clock,
      scheduler,
      logger: log.logger,
      retryDelayMs: 1000,
      maxRetryDelayMs: 3000,
      documents: await documentsWith(dir, () => {
        attempts++;
        if (failuresLeft-- > 0) throw Object.assign(new Error(`EROFS: read-only file system, open '${dir}'`), { code: 'EROFS' });
      }),
    });
    const k = makeKey(zone);
    store.put(mergeAnchors(undefined, anchorFromRdataText(zone, 'DNSKEY', rdataToText(RRType.DNSKEY, k.rdata), T0), T0).trustPoint);
    expect(store.anchors()).toHaveLength(1);
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };
    await settle();
    // Each failure waits on the scheduler: nothing is tried before its time, and later changes join the retry.
    for (const [delay, failures] of [[1000, 1], [2000, 2], [3000, 3]] as const) {
      expect(log.events('trust-store.write-failed')).toHaveLength(failures);
      expect(log.events('trust-store.write-failed').at(-1)).toMatchObject({ level: 'error', err: expect.stringContaining('EROFS'), failures, retryInMs: delay });
      expect(scheduler.pending()).toEqual([{ name: 'trust-store.write-retry', when: clock.now() + delay }]);
      store.put({ ...store.get(zone)!, failures });
      clock.advance(delay - 1);
      await scheduler.runDue();
      expect(attempts).toBe(failures);
      clock.advance(1);
      await scheduler.runDue();
      await settle();
    }
    expect(attempts).toBe(4);
    expect(log.events('trust-store.write-recovered')).toEqual([expect.objectContaining({ failures: 3 })]);
    expect(scheduler.pending()).toEqual([]);
    const reopened = await TrustAnchorStore.open({ documents: await FileDocumentStore.open(dir), clock, scheduler, logger: log.logger });
    expect(reopened.anchors().map((a) => ({ ...a, zone: a.zone.toString() }))).toEqual([{ zone: 'corp.example.', ds: [], dnskey: [k.rdata] }]);
    expect(reopened.get(zone)!.failures).toBe(3); // the change made while writes failed was written too
  });
});

describe('root-anchors.xml (RFC 9718)', () => {
  it('parses the shipped IANA file: three KeyDigests, whitespace-free digests, PublicKey checked against Digest', () => {
    const xml = parseRootAnchorsXml(readFileSync('trust-anchors/root-anchors.xml', 'utf8'));
    expect(xml.keyDigests.map((k) => [k.id, k.keyTag, k.validUntil !== undefined, k.dnskey !== undefined])).toEqual([
      ['Kjqmt7v', 19036, true, false],
      ['Klajeyz', 20326, false, true],
      ['Kmyv6jo', 38696, false, true],
    ]);
    expect(xml.keyDigests[1]!.validFrom).toBe(Date.parse('2017-02-02T00:00:00Z'));
  });

  it('accepts white space inside Digest and optional PublicKey/Flags', () => {
    const key = makeKey(Name.root);
    const xml = parseRootAnchorsXml(rootAnchorsXml([{ id: 'A', key, validFrom: '2026-01-01T00:00:00+00:00', withPublicKey: true }, { id: 'B', key: makeKey(Name.root), validFrom: '2026-01-01T00:00:00Z' }]));
    expect(xml.keyDigests[0]!.ds).toEqual(dsOf(Name.root, key));
    expect(xml.keyDigests[0]!.dnskey).toEqual(key.rdata);
    expect(xml.keyDigests[1]!.dnskey).toBeUndefined();
  });

  const garbage: [string, string, RegExp][] = [
    ['not XML', 'hello <', /not well-formed XML/],
    ['another root element', '<Foo/>', /root element must be <TrustAnchor>/],
    ['a zone other than the root', '<TrustAnchor><Zone>example.</Zone></TrustAnchor>', /a root-anchors file is for "\."/],
    ['no KeyDigest', '<TrustAnchor><Zone>.</Zone></TrustAnchor>', /no <KeyDigest> elements/],
    ['a bad date', '<TrustAnchor><Zone>.</Zone><KeyDigest id="x" validFrom="yesterday"><KeyTag>1</KeyTag></KeyDigest></TrustAnchor>', /validFrom "yesterday" is not an xsd:dateTime/],
    ['a short digest', '<TrustAnchor><Zone>.</Zone><KeyDigest id="x" validFrom="2017-02-02T00:00:00+00:00"><KeyTag>1</KeyTag><Algorithm>8</Algorithm><DigestType>2</DigestType><Digest>ABCD</Digest></KeyDigest></TrustAnchor>', /has 2 octets; digest type 2 has 32/],
    ['a non-hex digest', '<TrustAnchor><Zone>.</Zone><KeyDigest id="x" validFrom="2017-02-02T00:00:00+00:00"><KeyTag>1</KeyTag><Algorithm>8</Algorithm><DigestType>2</DigestType><Digest>XYZ</Digest></KeyDigest></TrustAnchor>', /is not hexadecimal/],
  ];
  for (const [what, text, message] of garbage)
    it(`rejects ${what} with a clear error`, () => {
      expect(() => parseRootAnchorsXml(text, 'test.xml')).toThrow(RootAnchorsError);
      expect(() => parseRootAnchorsXml(text, 'test.xml')).toThrow(message);
    });

  it('rejects a PublicKey that does not hash to the Digest', () => {
    const text = rootAnchorsXml([{ id: 'A', key: makeKey(Name.root), validFrom: '2026-01-01T00:00:00Z', withPublicKey: true }]);
    const other = Buffer.from(makeKey(Name.root).rdata.subarray(4)).toString('base64');
    expect(() => parseRootAnchorsXml(text.replace(/<PublicKey>[^<]*</, `<PublicKey>${other}<`))).toThrow(/KeyTag> \d+ is not the tag of its <PublicKey>|not the digest of its <PublicKey>/);
  });
});

describe('keyset-/dsset- import', () => {
  const k = makeKey(zone);
  const ds = dsOf(zone, k);
  it.each([
    ['keyset-corp.example.', 'keyset' as const],
    ['keyset-corp.example', 'keyset' as const],
    ['dsset-corp.example.', 'dsset' as const],
    ['dsset-corp.example', 'dsset' as const],
  ])('imports %s (trailing dot optional)', (fileName, kind) => {
    const dotless = (text: string) => text.replace(/^corp\.example\./gm, 'corp.example');
    const text =
      kind === 'keyset'
        ? dotless(keysetToText([{ name: zone, type: RRType.DNSKEY, class: 1, ttl: 3600, rdata: k.rdata }]))
        : dotless(dssetToText([{ name: zone, type: RRType.DS, class: 1, ttl: 3600, rdata: ds }]));
    const c = anchorsFromKeyFile(kind, text, `/tmp/${fileName}`, T0);
    expect(c.zone).toBe('corp.example.');
    expect(c.anchors).toEqual([expect.objectContaining({ type: kind === 'keyset' ? 'DNSKEY' : 'DS', state: 'Valid', keyTag: k.signer.keyTag, origin: kind })]);
  });

  it('rejects a keyset holding a revoked key and a file of another zone, naming the file', () => {
    const revokedKey = Uint8Array.from(k.rdata);
    revokedKey[1] = revokedKey[1]! | 0x80;
    expect(() => anchorsFromKeyFile('keyset', keysetToText([{ name: zone, type: RRType.DNSKEY, class: 1, ttl: 60, rdata: revokedKey }]), 'keyset-corp.example.', T0)).toThrow(
      /keyset-corp\.example\.:1: .*REVOKE/,
    );
    expect(() => anchorsFromKeyFile('dsset', dssetToText([{ name: Name.parse('other.example.'), type: RRType.DS, class: 1, ttl: 60, rdata: ds }]), 'dsset-corp.example.', T0)).toThrow(
      /dsset-corp\.example\./,
    );
  });
});

describe('the trust service at start', () => {
  function config(stateDir: string, trustAnchors: Partial<KeymasterConfig['trustAnchors']>): KeymasterConfig {
    const base = defaultConfig();
    return { ...base, stateDir, trustAnchors: { ...base.trustAnchors, ...trustAnchors } };
  }
  const noFetch = async () => undefined;

  it('bootstraps the root from a file on first start, and a restart never re-bootstraps over RFC 5011 state', async () => {
    const dir = tempDir();
    const file = join(dir, 'root-anchors.xml');
    const key = makeKey(Name.root);
    writeFileSync(file, rootAnchorsXml([{ id: 'K1', key, validFrom: '2020-01-01T00:00:00Z' }]));
    const clock = new ManualClock(T0);
    const log = captureLogger();
    const cfg = config(dir, { rootAnchors: { kind: 'file', path: file } });
    const first = await startTrust({ config: cfg, clock, logger: log.logger, fetchDnskey: noFetch });
    expect(first.source.anchors()).toEqual([{ zone: Name.root, ds: [dsOf(Name.root, key)], dnskey: [] }]);
    expect(log.events('trust-point.root-bootstrapped')).toHaveLength(1);
    await first.removeTrustPoint('.');
    await first.stop();
    // The operator removed the root trust point: a restart keeps it removed.
    const second = await startTrust({ config: cfg, clock, logger: log.logger, fetchDnskey: noFetch });
    expect(second.source.anchors()).toEqual([]);
    expect(log.events('trust-point.root-bootstrapped')).toHaveLength(1);
    await second.stop();
  });

  it('fetches root-anchors.xml over HTTP with undici, and falls back to the shipped copy when the URL fails', async () => {
    const key = makeKey(Name.root);
    const server = createServer((req, res) => {
      if (req.url === '/root-anchors.xml' || req.url === '/forged.xml') res.writeHead(200, { 'content-type': 'application/xml' }).end(rootAnchorsXml([{ id: 'Khttp', key, validFrom: '2020-01-01T00:00:00Z' }]));
      else if (req.url === '/forged.p7s') res.writeHead(200).end('not a signature');
      else res.writeHead(404).end();
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.10.30.1', r));
    const base = `http://127.10.30.1:${(server.address() as AddressInfo).port}`;
    const log = captureLogger();
    // A download is used only with a root-anchors.p7s that verifies (test/unit/root-anchors-source-signature.test.ts):
    // without one, or with a bad one, the shipped copy stands in and the reason names the URL.
    const unsigned = await startTrust({ config: config(tempDir(), { rootAnchors: { kind: 'url', url: `${base}/root-anchors.xml` } }), clock: new ManualClock(T0), logger: log.logger, fetchDnskey: noFetch });
    expect(unsigned.store.get('.')!.anchors.map((a) => a.keyTag)).toEqual([20326, 38696]);
    expect(log.events('trust-point.root-anchors-fallback')[0]).toMatchObject({ level: 'warn', reason: expect.stringMatching(/^no signature for http:.*root-anchors\.xml: .*HTTP 404/) });
    await unsigned.stop();
    const forged = await startTrust({ config: config(tempDir(), { rootAnchors: { kind: 'url', url: `${base}/forged.xml` } }), clock: new ManualClock(T0), logger: log.logger, fetchDnskey: noFetch });
    expect(forged.store.get('.')!.anchors.map((a) => a.label)).not.toContain('Khttp');
    expect(log.events('trust-point.root-anchors-fallback')[1]).toMatchObject({ reason: expect.stringContaining(`${base}/forged.xml is refused: its signature ${base}/forged.p7s does not verify`) });
    await forged.stop();

    const log2 = captureLogger();
    const fell = await startTrust({ config: config(tempDir(), { rootAnchors: { kind: 'url', url: `${base}/missing.xml` } }), clock: new ManualClock(T0), logger: log2.logger, fetchDnskey: noFetch });
    expect(fell.store.get('.')!.anchors.map((a) => a.keyTag)).toEqual([20326, 38696]); // 19036 expired in 2019
    expect(log2.events('trust-point.root-anchors-fallback')[0]).toMatchObject({ level: 'warn', reason: expect.stringContaining('HTTP 404'), used: expect.stringContaining('trust-anchors/root-anchors.xml') });
    await fell.stop();
  });

  it('rootAnchors: none skips the bootstrap; configured dsset files are imported', async () => {
    const dir = tempDir();
    const k = makeKey(zone);
    const dsset = join(dir, 'dsset-corp.example');
    writeFileSync(dsset, dssetToText([{ name: zone, type: RRType.DS, class: 1, ttl: 3600, rdata: dsOf(zone, k) }]).replace('corp.example.', 'corp.example'));
    const svc = await startTrust({ config: config(dir, { rootAnchors: { kind: 'none' }, import: [dsset] }), clock: new ManualClock(T0), logger: captureLogger().logger, fetchDnskey: noFetch });
    expect(svc.store.list().map((tp) => tp.zone)).toEqual(['corp.example.']);
    await svc.stop();
  });

  it('a damaged store stops the start with the file and the fault', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, TRUST_ANCHOR_STORE_FILE), '{"format": "keymaster-trust-anchors", "version": 1, "checksum": "sha256:00", "trustPoints": [');
    await expect(startTrust({ config: config(dir, { rootAnchors: { kind: 'none' } }), clock: new ManualClock(T0), logger: captureLogger().logger, fetchDnskey: noFetch })).rejects.toThrow(
      new RegExp(`${join(dir, TRUST_ANCHOR_STORE_FILE).replace(/[.]/g, '\\.')}: not JSON`),
    );
  });

  it('lowered hold-downs log a warning at start; the RFC values do not', async () => {
    const log = captureLogger();
    const lab = await startTrust({ config: config(tempDir(), { rootAnchors: { kind: 'none' }, rfc5011: { addHoldDown: 120, removeHoldDown: 60, minRefresh: 3600 } }), clock: new ManualClock(T0), logger: log.logger, fetchDnskey: noFetch });
    expect(log.events('trust-anchor.timers-lowered')).toEqual([expect.objectContaining({ level: 'warn', lowered: ['addHoldDown', 'removeHoldDown'] })]);
    await lab.stop();
    const quiet = captureLogger();
    const rfc = await startTrust({ config: config(tempDir(), { rootAnchors: { kind: 'none' } }), clock: new ManualClock(T0), logger: quiet.logger, fetchDnskey: noFetch });
    expect(quiet.events('trust-anchor.timers-lowered')).toEqual([]);
    await rfc.stop();
  });
});
