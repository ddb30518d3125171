import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeymasterServer, haveTool, removeDir, startKeymaster, tempDir } from '../support/external-servers.js';

/**
 * `keymaster serve` started on a state dir written by the release before the store contract
 * (test/fixtures/state-before-store, made by that release's own code: make-fixture.mjs): the
 * zone settings and key metadata are migrated once (`store.migrated`), and nothing is lost: the
 * same zones, the same keys, the change made by UPDATE before, and a zone that BIND's
 * dnssec-verify passes with those keys.
 */
const SERVER = '127.10.132.1';
const CONTROL = '127.10.132.1:8953';
const FIXTURE = join(import.meta.dirname, '../fixtures/state-before-store/tree');

function fixtureKeyTags(zone: string): number[] {
  const dir = join(FIXTURE, 'state/keys', zone);
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { keyTag: number }).keyTag).sort((a, b) => a - b);
}

describe.skipIf(!haveTool('dig') || !haveTool('dnssec-verify'))('a state dir of the release before the store contract', () => {
  let base: string;
  let km: KeymasterServer;
  const dig = (...args: string[]) => execFileSync('dig', [`@${SERVER}`, '+tries=1', '+time=5', ...args], { encoding: 'utf8' });

  beforeAll(async () => {
    base = tempDir('store-migration');
    cpSync(FIXTURE, base, { recursive: true });
    const zonesJson = join(base, 'state/zones.json');
    writeFileSync(zonesJson, readFileSync(zonesJson, 'utf8').replaceAll('/tmp/km-before-store', base));
    for (const zone of readdirSync(join(base, 'state/keys'))) for (const f of readdirSync(join(base, 'state/keys', zone))) if (f.endsWith('.pem')) chmodSync(join(base, 'state/keys', zone, f), 0o600);
    km = await startKeymaster({
      address: SERVER,
      control: CONTROL,
      rootHints: 'builtin',
      stateDir: join(base, 'state'),
      extraYaml:
        `zones:\n  - name: config.example.\n    file: ${JSON.stringify(join(base, 'zones/config.zone'))}\n    allowTransfer: ["127.0.0.0/8"]\n` +
        `authority:\n  zonesDir: ${JSON.stringify(join(base, 'zones'))}\n`,
      startTimeoutMs: 90_000,
    });
  }, 120_000);

  afterAll(async () => {
    await km?.stop();
    removeDir(base);
  });

  it('migrates once, logged, and the old files are gone or rewritten', () => {
    const migrated = km.log().split('\n').filter((l) => l.includes('"event":"store.migrated"'));
    expect(migrated.filter((l) => l.includes('"to":"zone-settings/"'))).toHaveLength(1);
    expect(migrated.filter((l) => l.includes('"to":"keys/"'))).toHaveLength(2);
    expect(existsSync(join(base, 'state/zones.json'))).toBe(false);
    expect(readdirSync(join(base, 'state/zone-settings')).sort()).toEqual(['added.example.json', 'config.example.json']);
  });

  it('serves the same zones with the same keys, and the change made by UPDATE', async () => {
    const { zones: list } = JSON.parse((await km.cli(['zone', 'list', '--json'])).stdout) as { zones: { name: string; signed: boolean }[] };
    expect(list.map((z) => [z.name, z.signed])).toEqual([
      ['added.example.', true],
      ['config.example.', true],
    ]);
    for (const zone of ['added.example', 'config.example']) {
      const keys = JSON.parse((await km.cli(['zone', 'keys', `${zone}.`, '--json'])).stdout) as { keys: { keyTag: number }[] };
      // Every key kept; the fixture was made months ago on the simulated clock, so a ZSK rollover may have begun since (a key more).
      expect(keys.keys.map((k) => k.keyTag)).toEqual(expect.arrayContaining(fixtureKeyTags(zone)));
    }
    expect(dig('+short', 'new.added.example.', 'A').trim()).toBe('192.0.2.99');
    expect(dig('+dnssec', '+norecurse', 'www.added.example.', 'A')).toMatch(/RRSIG\s+A 13 3 600/);
  });

  it('signs with the migrated keys: BIND dnssec-verify passes the zone', () => {
    const axfr = dig('+nocmd', '+nostats', '+nocomments', 'config.example.', 'AXFR');
    const file = join(base, 'config.axfr');
    writeFileSync(file, axfr);
    const out = execFileSync('dnssec-verify', ['-o', 'config.example.', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/Zone fully signed/);
    // The published keys include the migrated ones (their tags in the keyset the server serves).
    const tags = dig('+multiline', 'config.example.', 'DNSKEY').match(/key id = (\d+)/g)!.map((m) => Number(m.slice(9)));
    expect(tags).toEqual(expect.arrayContaining(fixtureKeyTags('config.example')));
  });
});
