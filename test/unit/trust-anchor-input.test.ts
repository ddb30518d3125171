import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { defaultConfig } from '../../src/config/index.js';
import type { ControlApi } from '../../src/control/control-api.js';
import { ControlError, ControlResponse, type ControlHandler, type ControlRequest, type HttpMethod } from '../../src/control/control-router.js';
import { registerTrustRoutes } from '../../src/control/trust-routes.js';
import { AnchorInputError, readKeyFileAnchors } from '../../src/trust/anchor-import.js';
import { TRUST_ANCHOR_STORE_FILE, TrustStoreWriteError } from '../../src/trust/trust-anchor-store.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { captureLogger, documentsWith, dsOf, makeKey, startTrust, tempDirs } from './trust-fixtures.js';

/** Bad anchor input (Deliver 8) and durable changes (Deliver 7) of the trust service. */

const dirs = tempDirs('km-trust-input-');
afterAll(() => dirs.removeAll());
const tempDir = () => dirs.make();

const zone = Name.parse('corp.example.');
const T0 = Date.UTC(2026, 2, 1);
const good = makeKey(zone);
const goodDs = rdataToText(RRType.DS, dsOf(zone, good)); // "TAG 13 2 HEX"
const [goodTag] = goodDs.split(' ');
const goodHex = goodDs.split(' ')[3]!;
const goodKey = rdataToText(RRType.DNSKEY, good.rdata); // "257 3 13 BASE64"
const goodB64 = goodKey.split(' ').slice(3).join('');

async function service(dir: string, files: string[] = [], beforeWrite?: () => void | Promise<void>) {
  const log = captureLogger();
  const base = defaultConfig();
  const svc = await startTrust({
    config: { ...base, stateDir: dir, trustAnchors: { ...base.trustAnchors, rootAnchors: { kind: 'none' }, import: files } },
    clock: new ManualClock(T0),
    logger: log.logger,
    fetchDnskey: async () => undefined,
    ...(beforeWrite ? { documents: await documentsWith(dir, beforeWrite) } : {}),
  });
  return { svc, log };
}

describe('bad anchor records in trustAnchors.import: warned with file and line, the rest imported, the start goes on', () => {
  it('a dsset with a good DS and one bad record of each kind', async () => {
    const dir = tempDir();
    const file = join(dir, 'dsset-corp.example.');
    writeFileSync(
      file,
      [
        `corp.example. 3600 IN DS ${goodDs}`,
        `corp.example. 3600 IN DS ${goodTag} 13 2 ${goodHex.slice(0, 40)}`,
        `corp.example. 3600 IN DS ${goodTag} 99 2 ${goodHex}`,
        `corp.example. 3600 IN DS ${goodTag} 13 7 ${goodHex}`,
        `corp.example. 3600 IN DS ${goodTag} 13 1 ${goodHex}`,
        `other.example. 3600 IN DS ${goodDs}`,
        `corp.example. 3600 IN DS ${goodTag} 1 2 ${goodHex}`,
        `corp.example. 3600 IN DS ${goodDs}`,
        '',
      ].join('\n'),
    );
    const { svc, log } = await service(dir, [file]);
    expect(log.events('trust-anchor.import-rejected').map((e) => [e['level'], e['problem']])).toEqual([
      ['warn', `${file}:2: the digest has 20 octets; digest type 2 (SHA-256) has 32`],
      ['warn', `${file}:3: algorithm 99 is unknown`],
      ['warn', `${file}:4: digest type 7 is unknown`],
      ['warn', `${file}:5: the digest has 32 octets; digest type 1 (SHA-1) has 20`],
      ['warn', `${file}:6: owner other.example. is not the trust point corp.example.`],
      ['warn', `${file}:7: algorithm 1 (RSAMD5) is not one Keymaster validates`],
    ]);
    // The duplicate on line 8 is one anchor (idempotent), not an error.
    expect(svc.store.get(zone)!.anchors.map((a) => rdataToText(RRType.DS, a.rdata))).toEqual([goodDs]);
    expect(log.events('trust-anchor.imported')).toEqual([expect.objectContaining({ added: 1, rejected: 6 })]);
    await svc.stop();
  });

  it('a keyset with a key without the Zone Key bit, a revoked key, an unknown algorithm and a malformed key', async () => {
    const dir = tempDir();
    const file = join(dir, 'keyset-corp.example');
    writeFileSync(
      file,
      [
        `corp.example. 3600 IN DNSKEY 1 3 13 ${goodB64}`,
        `corp.example. 3600 IN DNSKEY 385 3 13 ${goodB64}`,
        `corp.example. 3600 IN DNSKEY 257 3 200 ${goodB64}`,
        `corp.example. 3600 IN DNSKEY 257 3 13 AAAA`,
        `corp.example. 3600 IN DNSKEY 257 2 13 ${goodB64}`,
        '',
      ].join('\n'),
    );
    const { svc, log } = await service(dir, [file]);
    expect(log.events('trust-anchor.import-rejected').map((e) => e['problem'])).toEqual([
      `${file}:1: flags 1: the DNSKEY has no Zone Key flag (256); it cannot sign a zone`,
      `${file}:2: the DNSKEY has the REVOKE flag; a revoked key is never a trust anchor (RFC 5011 §2.1)`,
      `${file}:3: algorithm 200 is unknown`,
      expect.stringMatching(new RegExp(`^${file.replace(/[.]/g, '\\.')}:4: the public key is not a usable algorithm 13 key: `)),
      `${file}:5: protocol 2 is not 3`,
    ]);
    // Nothing usable: the trust point exists with no anchor, so the validator fails closed under it.
    expect(svc.store.get(zone)!.anchors).toEqual([]);
    expect(log.events('trust-point.fail-closed')).toEqual([expect.objectContaining({ level: 'warn', zone: 'corp.example.' })]);
    // What the validator is given: the zone with no key, which chain-of-trust.ts answers bogus (EDE 9), never insecure.
    expect(svc.source.anchors().map((a) => [a.zone.toString(), a.ds, a.dnskey])).toEqual([['corp.example.', [], []]]);
    await svc.stop();
  });

  it('garbage base64 or hex, or a missing file: the file is refused with its line, the zone fails closed, the start goes on', async () => {
    const dir = tempDir();
    const b64 = join(dir, 'keyset-corp.example.');
    writeFileSync(b64, `; a comment\ncorp.example. 3600 IN DNSKEY 257 3 13 !!not*base64!!\n`);
    const hex = join(dir, 'dsset-lab.example.');
    writeFileSync(hex, `lab.example. 3600 IN DS 1 13 2 XYZ123\n`);
    const missing = join(dir, 'dsset-gone.example.');
    const { svc, log } = await service(dir, [b64, hex, missing]);
    const failed = log.events('trust-anchor.import-failed');
    expect(failed.map((e) => [e['zone'], e['level']])).toEqual([
      ['corp.example.', 'warn'],
      ['lab.example.', 'warn'],
      ['gone.example.', 'warn'],
    ]);
    expect(failed[0]!['error']).toMatch(new RegExp(`^${b64.replace(/[.]/g, '\\.')}:2: .*base64`, 'i'));
    expect(failed[1]!['error']).toMatch(new RegExp(`^${hex.replace(/[.]/g, '\\.')}:1: .*hex`, 'i'));
    expect(failed[2]!['error']).toMatch(/^cannot read .*dsset-gone\.example\.: ENOENT/);
    expect(svc.store.list().map((tp) => [tp.zone, tp.anchors.length])).toEqual([
      ['corp.example.', 0],
      ['gone.example.', 0],
      ['lab.example.', 0],
    ]);
    expect(svc.source.anchors().map((a) => [a.zone.toString(), a.ds.length + a.dnskey.length])).toEqual([
      ['corp.example.', 0],
      ['gone.example.', 0],
      ['lab.example.', 0],
    ]);
    await svc.stop();
  });
});

describe('key files as BIND writes them', () => {
  it('a multi-line record is named by the line it starts on', () => {
    const text = `$ORIGIN .\ncorp.example 3600 IN DNSKEY 257 3 13 (\n  ${goodB64}\n  ) ; KSK\ncorp.example 3600 IN DNSKEY 1 3 13 (\n  ${goodB64}\n  )\n`;
    const read = readKeyFileAnchors('keyset', text, 'keyset-corp.example.', T0);
    expect(read.anchors.map((a) => a.keyTag)).toEqual([good.signer.keyTag]);
    expect(read.rejected).toEqual(['keyset-corp.example.:5: flags 1: the DNSKEY has no Zone Key flag (256); it cannot sign a zone']);
  });
});

describe('bad anchor input through the API: an error naming the field, nothing changed', () => {
  const cases: [string, 'DS' | 'DNSKEY', string, RegExp | string][] = [
    ['a DS digest too short for SHA-256', 'DS', `${goodTag} 13 2 ${goodHex.slice(0, 62)}`, 'ds: the digest has 31 octets; digest type 2 (SHA-256) has 32'],
    ['a DS digest too long for SHA-384', 'DS', `${goodTag} 13 4 ${goodHex}`, 'ds: the digest has 32 octets; digest type 4 (SHA-384) has 48'],
    ['a DS of an unknown algorithm', 'DS', `${goodTag} 99 2 ${goodHex}`, 'ds: algorithm 99 is unknown'],
    ['a DS of an unknown digest type', 'DS', `${goodTag} 13 9 ${goodHex}`, 'ds: digest type 9 is unknown'],
    ['a DS with GOST', 'DS', `${goodTag} 13 3 ${goodHex}`, 'ds: digest type 3 (GOST R 34.11-94) is not one Keymaster validates'],
    ['a DS with garbage hex', 'DS', `${goodTag} 13 2 ZZ${goodHex.slice(2)}`, /^ds: bad DS RDATA ".*": /],
    ['a DNSKEY without the Zone Key bit', 'DNSKEY', `1 3 13 ${goodB64}`, 'dnskey: flags 1: the DNSKEY has no Zone Key flag (256); it cannot sign a zone'],
    ['a DNSKEY of an unknown algorithm', 'DNSKEY', `257 3 123 ${goodB64}`, 'dnskey: algorithm 123 is unknown'],
    ['a DNSKEY of a withdrawn algorithm', 'DNSKEY', `257 3 3 ${goodB64}`, 'dnskey: algorithm 3 (DSA) is not one Keymaster validates'],
    ['a DNSKEY with garbage base64', 'DNSKEY', '257 3 13 @@@@', /^dnskey: bad DNSKEY RDATA "257 3 13 @@@@": /],
    ['a DNSKEY whose key is not a P-256 point', 'DNSKEY', `257 3 13 ${Buffer.alloc(64, 7).toString('base64')}`, /^dnskey: the public key is not a usable algorithm 13 key: /],
  ];
  for (const [what, type, text, message] of cases)
    it(`refuses ${what}`, async () => {
      const { svc } = await service(tempDir());
      const attempt = svc.addAnchor('corp.example.', type, text);
      await expect(attempt).rejects.toThrow(AnchorInputError);
      await expect(attempt).rejects.toThrow(message);
      expect(svc.store.list()).toEqual([]);
      await svc.stop();
    });

  it('refuses a dsset import whose DS is owned by another name, naming the file and line', async () => {
    const { svc } = await service(tempDir());
    const text = `corp.example. 60 IN DS ${goodDs}\nevil.example. 60 IN DS ${goodDs}\n`;
    await expect(svc.importKeyFile('dsset', text, '/op/dsset-corp.example.')).rejects.toThrow('/op/dsset-corp.example.:2: owner evil.example. is not the trust point corp.example.');
    expect(svc.store.list()).toEqual([]);
    await svc.stop();
  });

  it('a duplicate add is idempotent: nothing added, nothing written', async () => {
    const writes: number[] = [];
    const { svc } = await service(tempDir(), [], () => void writes.push(writes.length));
    await svc.store.flush();
    const before = writes.length;
    expect(await svc.addAnchor('corp.example', 'DS', goodDs)).toMatchObject({ added: 1, skipped: 0 });
    expect(await svc.addAnchor('CORP.example.', 'DS', goodDs.toLowerCase())).toMatchObject({ added: 0, skipped: 1 });
    expect(writes.length - before).toBe(1);
    expect(svc.store.get(zone)!.anchors).toHaveLength(1);
    await svc.stop();
  });
});

describe('durable before acknowledged', () => {
  it('a change resolves only after the store file holding it is written; a failed write rejects and changes nothing', async () => {
    const dir = tempDir();
    let failing = false;
    const { svc, log } = await service(dir, [], () => {
      if (failing) throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
    });
    const path = join(dir, TRUST_ANCHOR_STORE_FILE);
    await svc.addAnchor('corp.example.', 'DS', goodDs);
    // Resolved: the anchor is in the file, not only in memory.
    expect(readFileSync(path, 'utf8')).toContain(Buffer.from(dsOf(zone, good)).toString('base64'));

    failing = true;
    const onDisk = readFileSync(path, 'utf8');
    const other = makeKey(zone);
    const add = svc.addAnchor('corp.example.', 'DNSKEY', rdataToText(RRType.DNSKEY, other.rdata));
    await expect(add).rejects.toThrow(TrustStoreWriteError);
    await expect(add).rejects.toThrow(/ENOSPC.*nothing was changed/);
    expect(svc.store.get(zone)!.anchors).toHaveLength(1);
    expect(svc.source.anchors()[0]!.dnskey).toEqual([]);
    await expect(svc.removeAnchor('corp.example.', Number(goodTag))).rejects.toThrow(TrustStoreWriteError);
    await expect(svc.removeTrustPoint('corp.example.')).rejects.toThrow(TrustStoreWriteError);
    expect(svc.store.get(zone)!.anchors).toHaveLength(1);
    expect(svc.source.anchors()[0]!.ds).toHaveLength(1);
    expect(readFileSync(path, 'utf8')).toBe(onDisk);
    expect(log.events('trust-store.commit-failed')).toHaveLength(3);

    failing = false;
    expect(await svc.removeAnchor('corp.example.', Number(goodTag))).toEqual({ removed: 1, trustPointRemoved: true });
    expect(JSON.parse(readFileSync(path, 'utf8')).data.trustPoints).toEqual([]);
    await svc.stop();
  });

  it('writes run one at a time: concurrent adds all land in the file', async () => {
    const dir = tempDir();
    const { svc } = await service(dir, [], () => new Promise((r) => setTimeout(r, 2)));
    const keys = Array.from({ length: 8 }, () => makeKey(zone));
    const results = await Promise.all(keys.map((k) => svc.addAnchor('corp.example.', 'DNSKEY', rdataToText(RRType.DNSKEY, k.rdata))));
    expect(results.map((r) => r.added)).toEqual(keys.map(() => 1));
    const stored = JSON.parse(readFileSync(join(dir, TRUST_ANCHOR_STORE_FILE), 'utf8')) as { data: { trustPoints: { anchors: unknown[] }[] } };
    expect(stored.data.trustPoints[0]!.anchors).toHaveLength(8);
    await svc.stop();
  });
});

describe('trustAnchors.import in the config', () => {
  it('a file not named keyset-ZONE or dsset-ZONE stops the start with the key and the reason', async () => {
    const { parseConfigText } = await import('../../src/config/loader.js');
    const { ConfigError } = await import('../../src/config/config-error.js');
    const parse = (text: string) => parseConfigText(text, 'lab.yaml', { baseDir: '/srv/km' });
    expect(parse('trustAnchors:\n  import: ["anchors/dsset-corp.example."]\n').trustAnchors.import).toEqual(['/srv/km/anchors/dsset-corp.example.']);
    let error: unknown;
    try {
      parse('trustAnchors:\n  import: ["dsset-ok.example", "corp.ds"]\n');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as InstanceType<typeof ConfigError>).message).toMatch(/trustAnchors\.import\[1\].*"corp\.ds": the file name must be keyset-ZONE or dsset-ZONE/);
  });
});

describe('the trust routes of the control API', () => {
  async function routes(beforeWrite: () => void) {
    const { svc } = await service(tempDir(), [], beforeWrite);
    const handlers = new Map<string, ControlHandler>();
    const api = { registerRoute: (r: { method: string; path: string }, handler: ControlHandler) => void handlers.set(`${r.method} ${r.path}`, handler) };
    registerTrustRoutes(api as unknown as ControlApi, svc, () => T0);
    const call = async (method: HttpMethod, path: string, init: { query?: string; body?: unknown } = {}) => {
      try {
        const result = await handlers.get(`${method} ${path}`)!({ method, path, params: {}, query: new URLSearchParams(init.query ?? ''), body: init.body } as ControlRequest);
        return result instanceof ControlResponse ? { status: result.status, body: result.body } : { status: 200, body: result };
      } catch (error) {
        if (error instanceof ControlError) return { status: error.status, body: { code: error.code, message: error.message } };
        throw error;
      }
    };
    return { svc, call };
  }

  it('bad input is a 400 naming the field; a store that cannot be written is a 503 and changes nothing', async () => {
    let failing = false;
    const { svc, call } = await routes(() => {
      if (failing) throw new Error('EROFS: read-only file system');
    });
    expect(await call('POST', '/v1/trust-anchors', { body: { zone: 'corp.example', ds: `${goodTag} 13 2 ABCD` } })).toEqual({
      status: 400,
      body: { code: 'bad-anchor', message: 'ds: the digest has 2 octets; digest type 2 (SHA-256) has 32' },
    });
    expect(await call('POST', '/v1/trust-anchors', { body: { zone: 'corp.example', ds: goodDs } })).toMatchObject({ status: 201, body: { added: 1 } });
    failing = true;
    const other = rdataToText(RRType.DNSKEY, makeKey(zone).rdata);
    for (const [method, path, init] of [
      ['POST', '/v1/trust-anchors', { body: { zone: 'corp.example', dnskey: other } }],
      ['DELETE', '/v1/trust-anchors', { query: `zone=corp.example&keyTag=${goodTag}` }],
      ['DELETE', '/v1/trust-points', { query: 'zone=corp.example' }],
    ] as const)
      expect(await call(method, path, init), `${method} ${path}`).toEqual({
        status: 503,
        body: { code: 'store-write-failed', message: expect.stringMatching(/trust-anchors\.json: EROFS: read-only file system; nothing was changed$/) },
      });
    expect(svc.store.get(zone)!.anchors.map((a) => a.type)).toEqual(['DS']);
    // A refresh's result is the server's own change: in force at once, but the reply says it is not on disk yet.
    expect(await call('POST', '/v1/trust-points/refresh', { body: { zone: 'corp.example' } })).toEqual({
      status: 503,
      body: { code: 'store-write-failed', message: expect.stringMatching(/EROFS: read-only file system; the change is in force but not yet on disk/) },
    });
    failing = false;
    expect(await call('POST', '/v1/trust-points/refresh', { body: { zone: 'corp.example' } })).toMatchObject({ status: 200, body: { ok: false, result: expect.stringMatching(/^failed: /) } });
    await svc.stop();
  });
});
