import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keysDueForPurge } from '../../src/authority/key-purge.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { KeyStore, type KeyMetadata } from '../../src/authority/key-store.js';
import { openToken } from '../../src/authority/pkcs11-token.js';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfigText } from '../../src/config/loader.js';
import { Name } from '../../src/wire/name.js';
import { haveTool, removeDir, tempDir } from '../support/external-servers.js';
import { oneZoneService } from '../support/one-zone-service.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 5, 1);

function meta(id: string, state: KeyMetadata['state'], retired?: number, extra: Partial<KeyMetadata> = {}): KeyMetadata {
  return { id, zone: 'p.example.', role: 'zsk', algorithm: 13, bits: 256, keyTag: 1, flags: 256, publicKey: 'AA==', state, created: new Date(T0 - 100 * DAY).toISOString(), ...(retired === undefined ? {} : { retired: new Date(retired).toISOString() }), ...extra };
}

describe('dnssec.rollover.retiredKeyRetention', () => {
  const parse = (yaml: string) => parseConfigText(yaml, '/etc/keymaster/keymaster.yaml', { baseDir: '/etc/keymaster' });
  it('is 30d by default and takes durations as every other timer', () => {
    expect(parse('dnssec: { enable: true }\n').dnssec.rollover.retiredKeyRetention).toBe(30 * 86400);
    expect(parse('dnssec: { rollover: { retiredKeyRetention: 1w2d } }\n').dnssec.rollover.retiredKeyRetention).toBe(9 * 86400);
  });
  it('names the key of a bad value', () => {
    const error = (() => {
      try {
        parse('dnssec: { rollover: { retiredKeyRetention: soon } }\n');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(JSON.stringify((error as ConfigError).issues)).toMatch(/dnssec\.rollover\.retiredKeyRetention/);
  });
});

describe('keysDueForPurge', () => {
  it('takes retired keys at the retention and after, never a published or signing one', () => {
    const keys = [
      meta('old', 'retired', T0 - 30 * DAY),
      meta('young', 'retired', T0 - 30 * DAY + 1000),
      ...(['active', 'standby', 'next', 'inactive', 'revoked', 'presigning', 'unpublished'] as const).map((s) => meta(s, s, T0 - 365 * DAY)),
    ];
    expect(keysDueForPurge(keys, T0, 30 * 86400).map((k) => k.id)).toEqual(['old']);
  });

  it('keeps a retired key a live key still names as its rollover successor', () => {
    const keys = [meta('gone', 'retired', T0 - 60 * DAY), meta('live', 'active', undefined, { rollover: { status: 'RollStarted', since: new Date(T0).toISOString(), successor: 'gone' } as never })];
    expect(keysDueForPurge(keys, T0, 30 * 86400)).toEqual([]);
  });
});

describe('retired keys purged on the rollover timer (ZoneService, injectable clock)', () => {
  it('deletes the files and metadata of keys retired 30d (the default) ago, logs zone.key-purged, keeps the live keys', async () => {
    const { dir, clock, logs, service } = await oneZoneService('key-purge', T0);
    dirs.push(dir);
    await service.sign('p.example', { mode: 'defaults' });
    // Without RFC 5011 the standby KSK and next ZSK are not wanted: retired now.
    await service.sign('p.example', { mode: 'options', options: { rfc5011: false } });
    const keyDir = join(dir, 'state', 'keys', 'p.example');
    const states = async () => (await service.keys('p.example')).keys.map((k) => k.state).sort();
    expect(await states()).toEqual(['Active', 'Active', 'Retired', 'Retired']);
    const retiredIds = (await service.keys('p.example')).keys.filter((k) => k.state === 'Retired').map((k) => k.keyId);

    clock.advance(30 * DAY - 60_000);
    await service.runRollovers();
    expect(await states()).toEqual(['Active', 'Active', 'Retired', 'Retired']);
    expect(logs.filter((l) => l['event'] === 'zone.key-purged')).toEqual([]);

    clock.advance(2 * 3_600_000); // past the retention, and past the hourly recheck
    await service.runRollovers();
    expect(await states()).toEqual(['Active', 'Active']);
    for (const id of retiredIds) {
      expect(existsSync(join(keyDir, `${id}.json`))).toBe(false);
      expect(existsSync(join(keyDir, `${id}.pem`))).toBe(false);
    }
    expect(readdirSync(keyDir).filter((f) => f.endsWith('.pem'))).toHaveLength(2);
    const purged = logs.filter((l) => l['event'] === 'zone.key-purged');
    expect(purged.map((l) => l['keyId']).sort()).toEqual([...retiredIds].sort());
    expect(purged[0]).toMatchObject({ zone: 'p.example.', state: 'retired' });
    // The zone still signs with its live keys.
    expect(service.show('p.example')).toMatchObject({ signed: true });
    service.stopRollovers();
  });
});

describe.skipIf(!haveTool('softhsm2-util'))('a purged PKCS#11 key (SoftHSM2)', () => {
  it('destroys its token objects after its metadata is gone', async () => {
    const dir = tempDir('key-purge-hsm');
    dirs.push(dir);
    mkdirSync(join(dir, 'tokens'));
    writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    process.env['SOFTHSM2_CONF'] = join(dir, 'softhsm2.conf');
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'km-purge', '--pin', '246810', '--so-pin', '13579'], { env: process.env, stdio: 'ignore' });
    writeFileSync(join(dir, 'pin'), '246810\n');
    chmodSync(join(dir, 'pin'), 0o600);
    const token = openToken({ module: '/usr/lib/softhsm/libsofthsm2.so', token: 'km-purge', pinFile: join(dir, 'pin') });
    const zone = Name.parse('p.example.');
    const store = new KeyStore(join(dir, 'state'), await FileDocumentStore.open(join(dir, 'state')));
    store.useToken(zone, token);
    const pair = token.generate(13, 256, 'p.example-zsk');
    const m = meta('tok', 'retired', T0 - 40 * DAY, { storage: { pkcs11: { token: 'km-purge', id: pair.privateKey.id } } });
    await store.add(zone, [{ metadata: m, privateKey: pair.privateKey }]);
    expect((await store.list(zone)).map((k) => k.metadata.id)).toEqual(['tok']);

    await store.remove(zone, m);
    expect(await store.list(zone)).toEqual([]);
    expect(() => token.key(13, pair.privateKey.id)).toThrow(/no private key with CKA_ID/);
    expect(token.destroy(pair.privateKey.id)).toBe(0); // the public half went too
  });
});
