import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openToken } from '../../src/authority/pkcs11-token.js';
import { parseConfigText } from '../../src/config/loader.js';
import { ManualClock } from '../../src/clock.js';
import { parseCidr } from '../../src/config/cidr.js';
import type { ZoneConfig } from '../../src/config/schema.js';
import { Rcode } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { recordToText } from '../../src/wire/record-text.js';
import { haveTool, removeDir, tempDir } from '../support/external-servers.js';
import { SECRET, ZONE_TEXT, exchange, expectZoneSignedAt, rr, servedZone, signedUpdate, startService } from './authority-update-helpers.js';

/**
 * Issue 14, Deliver 10: a zone's keys made and kept in a PKCS#11 token (SoftHSM2 here): the
 * private keys are token objects that are sensitive and not extractable, the key files hold no
 * private key, signing (whole zone, UPDATE) goes through the token, a restart finds the same
 * keys, and dnssec-verify accepts the zone. Algorithms 8, 13 and 14.
 */

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const tools = haveTool('softhsm2-util') && haveTool('dnssec-verify');

describe.skipIf(!tools)('HSM keys through PKCS#11 (SoftHSM2)', () => {
  let dir: string;
  let pinFile: string;
  beforeAll(() => {
    dir = tempDir('hsm');
    mkdirSync(join(dir, 'tokens'));
    const conf = join(dir, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    // SoftHSM2 reads its config when the module is initialized: this process's environment.
    process.env['SOFTHSM2_CONF'] = conf;
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'km-test', '--pin', '246810', '--so-pin', '13579'], { env: process.env, stdio: 'ignore' });
    pinFile = join(dir, 'pin');
    writeFileSync(pinFile, '246810\n');
    chmodSync(pinFile, 0o600);
  });
  afterAll(() => removeDir(dir));

  it('(first, before any login) a wrong PIN or an unknown token stops the start with the reason, never the PIN', async () => {
    const bad = join(dir, 'bad-pin');
    writeFileSync(bad, '000000\n');
    const zoneDir = join(dir, 'bad');
    mkdirSync(zoneDir);
    writeFileSync(join(zoneDir, 'lab.zone'), ZONE_TEXT);
    const lab = (token: string, pin: string) => ({
      stateDir: join(zoneDir, 'state'),
      zones: [{ name: 'lab.example.', file: join(zoneDir, 'lab.zone'), allowTransfer: [], keyStorage: { pkcs11: { module: MODULE, token, pinFile: pin } } }] as ZoneConfig[],
      clock: new ManualClock(Date.UTC(2026, 5, 1)),
      logs: [] as string[],
    });
    await expect(startService(lab('no-such-token', pinFile))).rejects.toThrow(/zone lab\.example\.: keyStorage: .*no token labelled "no-such-token"/);
    const error = (await startService(lab('km-test', bad)).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/login failed/);
    expect(error.message).not.toContain('000000');
  });

  for (const algorithm of [8, 13, 14]) {
    it(`algorithm ${algorithm}: keys made in the token, never out of it; the zone signs, updates and passes dnssec-verify; a restart finds the keys`, async () => {
      const zoneDir = join(dir, `alg${algorithm}`);
      mkdirSync(zoneDir);
      const file = join(zoneDir, 'lab.zone');
      writeFileSync(file, ZONE_TEXT);
      const storage = { pkcs11: { module: MODULE, token: 'km-test', pinFile } };
      const zones: ZoneConfig[] = [
        { name: 'lab.example.', file, allowTransfer: [parseCidr('192.0.2.0/24')], keyStorage: storage, update: { keys: [{ name: 'ddns-key.', algorithm: 'hmac-sha256', secret: SECRET }], allow: [] } },
      ];
      const lab = { stateDir: join(zoneDir, 'state'), zones, clock: new ManualClock(Date.now()), logs: [] as string[] }; // dnssec-verify checks times against the real clock
      let { service, pipeline } = await startService(lab);
      const signed = await service.sign('lab.example', { mode: 'options', options: { algorithm } });
      expect(signed.keys.length).toBeGreaterThanOrEqual(2);
      expect(signed.keys.every((k) => k.algorithm === algorithm && k.keyStorage === 'pkcs11:km-test')).toBe(true);

      // The key files: metadata only, each naming its token object; not one private key.
      const keyDir = join(lab.stateDir, 'keys', 'lab.example');
      const files = readdirSync(keyDir);
      expect(files.filter((f) => f.endsWith('.pem'))).toEqual([]);
      const token = openToken(storage.pkcs11);
      for (const f of files.filter((x) => x.endsWith('.json'))) {
        const text = readFileSync(join(keyDir, f), 'utf8');
        expect(text).not.toMatch(/PRIVATE|BEGIN|"d"\s*:/);
        const meta = (JSON.parse(text) as { data: { storage: { pkcs11: { token: string; id: string } } } }).data; // a store document (key-metadata-document.ts)
        expect(meta.storage.pkcs11.token).toBe('km-test');
        expect(token.protection(meta.storage.pkcs11.id)).toEqual({ sensitive: true, extractable: false });
      }

      // Online signing through the token.
      const u = await exchange({ pipeline }, signedUpdate(lab, { updates: [rr('hsm 300 A 192.0.2.99')] }));
      expect(u.message.rcode).toBe(Rcode.NOERROR);
      const served = await servedZone({ pipeline });
      expect(served.node(Name.parse('hsm.lab.example.'))).toBeDefined();
      expectZoneSignedAt(served, Math.floor(lab.clock.now() / 1000));

      // BIND's dnssec-verify, an independent validator.
      const zoneFile = join(zoneDir, 'served.zone');
      writeFileSync(zoneFile, served.records({ withSignatures: true }).map(recordToText).join('\n') + '\n');
      const verify = spawnSync('dnssec-verify', ['-o', 'lab.example.', zoneFile], { encoding: 'utf8' });
      expect(verify.stdout + verify.stderr).toMatch(/Zone fully signed/);
      expect(verify.status).toBe(0);

      // A restart reads the same keys from the token and makes none.
      const ids = signed.keys.map((k) => k.keyId).sort();
      await service.stop();
      ({ service, pipeline } = await startService(lab));
      expect((await service.keys('lab.example')).keys.map((k) => k.keyId).sort()).toEqual(ids);
      expect(lab.logs.filter((l) => l.includes('"event":"zone.keys-generated"'))).toHaveLength(1);
      expectZoneSignedAt(await servedZone({ pipeline }), Math.floor(lab.clock.now() / 1000));
      await service.stop();
    }, 60_000);
  }

});

describe('config: keyStorage, authority.rateLimit, authority.zonesDir, update.maxRecords', () => {
  const zone = (extra: string) => `zones:\n  - name: lab.example.\n    file: lab.zone\n${extra}`;
  it('reads them, with the defaults (rate limiting off, 2000 records per UPDATE)', () => {
    expect(parseConfigText(zone('    keyStorage: file\n'), '/etc/km.yaml', { baseDir: '/etc' }).zones[0]!.keyStorage).toBe('file');
    const hsm = parseConfigText(zone('    keyStorage: { pkcs11: { module: /usr/lib/softhsm/libsofthsm2.so, token: km, pinFile: pin } }\n'), '/etc/km.yaml', { baseDir: '/etc' });
    expect(hsm.zones[0]!.keyStorage).toEqual({ pkcs11: { module: '/usr/lib/softhsm/libsofthsm2.so', token: 'km', pinFile: '/etc/pin' } });
    const d = parseConfigText('', '/etc/km.yaml', { baseDir: '/etc' });
    expect(d.authority).toEqual({ rateLimit: { responsesPerSecond: 0, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56 } });
    const u = parseConfigText(zone('    update:\n      keys: [{ name: k, secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQ=" }]\n'), '/etc/km.yaml', { baseDir: '/etc' });
    expect(u.zones[0]!.update!.maxRecords).toBe(2000);
    const a = parseConfigText('authority:\n  zonesDir: zones\n  rateLimit: { responsesPerSecond: 10, slip: 3 }\n', '/etc/km.yaml', { baseDir: '/etc' });
    expect(a.authority).toMatchObject({ zonesDir: '/etc/zones', rateLimit: { responsesPerSecond: 10, slip: 3 } });
  });
  it('names the key of a bad value', () => {
    expect(() => parseConfigText(zone('    keyStorage: hsm\n'), '/etc/km.yaml', { baseDir: '/etc' })).toThrow(/zones\[0\]\.keyStorage/);
    expect(() => parseConfigText(zone('    keyStorage: { pkcs11: { module: m.so } }\n'), '/etc/km.yaml', { baseDir: '/etc' })).toThrow(/zones\[0\]\.keyStorage\.pkcs11: missing required key "token"/);
    expect(() => parseConfigText('authority:\n  rateLimit: { slip: 99 }\n', '/etc/km.yaml', { baseDir: '/etc' })).toThrow(/authority\.rateLimit\.slip/);
  });
});
